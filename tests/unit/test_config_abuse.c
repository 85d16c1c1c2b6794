/*
 * The abuse-defence keys of the config: [auth] penalty_*, [server]
 * max_connections_per_ip/_user, max_bad_commands in [imap], [pop3] and
 * [lmtp]: their secure defaults, durations in s or ms, and errors naming
 * file, line and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char path[64];

/* Loads a minimal config plus extra; returns 0 or -1 with err filled. */
static int load(const char *extra, struct config **cfg_r, char *err, size_t errlen)
{
	char text[2048];
	int fd, ret;

	snprintf(text, sizeof(text), "[listen]\nimap = 127.0.0.1:143\n[auth]\n"
		 "passwd_file = /users\n[store]\nroot = /mail\n%s", extra);
	strcpy(path, "/tmp/duomail-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ret = config_load(path, cfg_r, err, errlen);
	unlink(path);
	return ret;
}

static struct config *load_ok(const char *extra)
{
	struct config *cfg = NULL;
	char err[256];

	if (load(extra, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return cfg;
}

static void expect_error(const char *extra, const char *what)
{
	struct config *cfg = NULL;
	char err[256], want[300];

	assert_int_equal(load(extra, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:%s", path, what);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_defaults(void **state)
{
	struct config *cfg = load_ok("");

	assert_int_equal(cfg->penalty_initial_ms, 1000);
	assert_int_equal(cfg->penalty_max_ms, 15000);
	assert_int_equal(cfg->penalty_reset_ms, 600000);
	assert_false(cfg->penalty_exempt_loopback);
	assert_int_equal(cfg->max_connections_per_ip, 100);
	assert_int_equal(cfg->max_connections_per_user, 50);
	assert_int_equal(cfg->imap_max_bad_commands, 20);
	assert_int_equal(cfg->pop3_max_bad_commands, 20);
	assert_int_equal(cfg->lmtp_max_bad_commands, 20);
	config_free(&cfg);
}

static void test_values(void **state)
{
	struct config *cfg = load_ok("[auth]\npenalty_initial = 250ms\npenalty_max = 4s\n"
				     "penalty_reset = 90\npenalty_exempt_loopback = yes\n"
				     "[server]\nmax_connections_per_ip = 0\n"
				     "max_connections_per_user = 7\n"
				     "[imap]\nmax_bad_commands = 3\n[pop3]\nmax_bad_commands = 4\n"
				     "[lmtp]\nmax_bad_commands = 5\n");

	assert_int_equal(cfg->penalty_initial_ms, 250);
	assert_int_equal(cfg->penalty_max_ms, 4000);
	assert_int_equal(cfg->penalty_reset_ms, 90000);
	assert_true(cfg->penalty_exempt_loopback);
	assert_int_equal(cfg->max_connections_per_ip, 0);
	assert_int_equal(cfg->max_connections_per_user, 7);
	assert_int_equal(cfg->imap_max_bad_commands, 3);
	assert_int_equal(cfg->pop3_max_bad_commands, 4);
	assert_int_equal(cfg->lmtp_max_bad_commands, 5);
	config_free(&cfg);

	cfg = load_ok("[auth]\npenalty_max = 0\n");
	assert_int_equal(cfg->penalty_max_ms, 0);
	config_free(&cfg);
}

static void test_errors(void **state)
{
	/* line numbers: the base config has 6 lines, [section] is line 7 */
	expect_error("[auth]\npenalty_max = 2m\n", "8: [auth] penalty_max:");
	expect_error("[auth]\npenalty_max = 61s\n", "8: [auth] penalty_max:");
	expect_error("[auth]\npenalty_initial = 0\n", "8: [auth] penalty_initial:");
	expect_error("[auth]\npenalty_reset = -1\n", "8: [auth] penalty_reset:");
	expect_error("[auth]\npenalty_exempt_loopback = maybe\n",
		     "8: [auth] penalty_exempt_loopback:");
	expect_error("[auth]\npenalty_typo = 1\n", "8: [auth] penalty_typo: unknown key");
	expect_error("[server]\nmax_connections_per_ip = lots\n",
		     "8: [server] max_connections_per_ip:");
	expect_error("[server]\nmax_connections_per_user = -3\n",
		     "8: [server] max_connections_per_user:");
	expect_error("[imap]\nmax_bad_commands = 0\n", "8: [imap] max_bad_commands:");
	expect_error("[imap]\nother = 1\n", "8: [imap] other: unknown key");
	expect_error("[lmtp]\nmax_bad_commands = 1001\n", "8: [lmtp] max_bad_commands:");
	expect_error("[pop3]\nmax_bad_commands = x\n", "8: [pop3] max_bad_commands:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
