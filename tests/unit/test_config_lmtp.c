/*
 * The LMTP part of the config: [listen] lmtp as host:port or unix:/path,
 * the [lmtp] keys with their defaults, and errors naming file, line, key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char path[64];

static void write_config(const char *text)
{
	int fd;

	strcpy(path, "/tmp/duomail-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static struct config *load(const char *listen_lmtp, const char *lmtp_section)
{
	struct config *cfg = NULL;
	char text[2048], err[256];

	snprintf(text, sizeof(text), "[listen]\nlmtp = %s\n[auth]\npasswd_file = /users\n"
		 "[store]\nroot = /mail\n%s", listen_lmtp, lmtp_section);
	write_config(text);
	if (config_load(path, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	unlink(path);
	return cfg;
}

static void test_defaults(void **state)
{
	struct config *cfg = load("127.0.0.1:24", "");

	assert_true(cfg->listen[LISTEN_LMTP].enabled);
	assert_string_equal(cfg->listen[LISTEN_LMTP].host, "127.0.0.1");
	assert_int_equal(cfg->listen[LISTEN_LMTP].port, 24);
	assert_string_equal(cfg->listen[LISTEN_LMTP].unix_path, "");
	assert_true(cfg->lmtp_max_message_size == 50u * 1024 * 1024);
	assert_int_equal(cfg->lmtp_max_recipients, 1000);
	assert_false(cfg->lmtp_quota_tempfail);
	assert_string_equal(cfg->lmtp_recipient_delimiter, "+");
	assert_int_equal(cfg->lmtp_idle_timeout, 300);
	assert_int_equal(cfg->lmtp_socket_mode, 0660);
	assert_int_equal(cfg->lmtp_socket_gid, -1);
	assert_string_equal(cfg->lmtp_spool_dir, "/tmp");
	config_free(&cfg);
}

static void test_values(void **state)
{
	struct group *gr = getgrgid(getegid());
	char section[512];
	struct config *cfg;

	assert_non_null(gr);
	snprintf(section, sizeof(section),
		 "[lmtp]\nmax_message_size = 10M\nmax_recipients = 100\n"
		 "quota_full_tempfail = yes\nrecipient_delimiter = +-\nidle_timeout = 600\n"
		 "socket_mode = 0600\nsocket_group = %s\nspool_dir = /var/tmp\n", gr->gr_name);
	cfg = load("unix:/run/duomail/lmtp.sock", section);
	assert_true(cfg->listen[LISTEN_LMTP].enabled);
	assert_string_equal(cfg->listen[LISTEN_LMTP].unix_path, "/run/duomail/lmtp.sock");
	assert_true(cfg->lmtp_max_message_size == 10u * 1024 * 1024);
	assert_int_equal(cfg->lmtp_max_recipients, 100);
	assert_true(cfg->lmtp_quota_tempfail);
	assert_string_equal(cfg->lmtp_recipient_delimiter, "+-");
	assert_int_equal(cfg->lmtp_idle_timeout, 600);
	assert_int_equal(cfg->lmtp_socket_mode, 0600);
	assert_int_equal(cfg->lmtp_socket_gid, (long)gr->gr_gid);
	assert_string_equal(cfg->lmtp_spool_dir, "/var/tmp");
	config_free(&cfg);
	/* sizes in plain bytes and K; an empty delimiter turns it off */
	cfg = load("[::1]:24", "[lmtp]\nmax_message_size = 4096\nrecipient_delimiter =\n");
	assert_true(cfg->lmtp_max_message_size == 4096);
	assert_string_equal(cfg->lmtp_recipient_delimiter, "");
	config_free(&cfg);
	cfg = load("127.0.0.1:24", "[lmtp]\nmax_message_size = 64k\n");
	assert_true(cfg->lmtp_max_message_size == 65536);
	config_free(&cfg);
}

static void expect_error(const char *text, const char *want)
{
	struct config *cfg = NULL;
	char err[256], full[300];
	const char *at = strstr(want, "FILE");

	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	snprintf(full, sizeof(full), "%.*s%s%s", (int)(at - want), want, path, at + 4);
	if (strstr(err, full) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, full);
	unlink(path);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[listen]\nlmtp = unix:relative.sock\n", "FILE:2: [listen] lmtp:" },
		{ "[listen]\nlmtp = unix:\n", "FILE:2: [listen] lmtp:" },
		{ "[listen]\npop3 = unix:/run/pop3.sock\n",
		  "FILE:2: [listen] pop3: unix: sockets are only for lmtp" },
		{ "[lmtp]\nmax_message_size = 0\n", "FILE:2: [lmtp] max_message_size:" },
		{ "[lmtp]\nmax_message_size = 2G\n", "FILE:2: [lmtp] max_message_size:" },
		{ "[lmtp]\nmax_message_size = 10X\n", "FILE:2: [lmtp] max_message_size:" },
		{ "[lmtp]\nmax_message_size = 99999999999999999999999\n",
		  "FILE:2: [lmtp] max_message_size:" },
		{ "[lmtp]\nmax_recipients = 99\n", "FILE:2: [lmtp] max_recipients:" },
		{ "[lmtp]\nquota_full_tempfail = maybe\n", "FILE:2: [lmtp] quota_full_tempfail:" },
		{ "[lmtp]\nrecipient_delimiter = @\n", "FILE:2: [lmtp] recipient_delimiter:" },
		{ "[lmtp]\nidle_timeout = 60\n", "FILE:2: [lmtp] idle_timeout:" },
		{ "[lmtp]\nsocket_mode = 660\n", "FILE:2: [lmtp] socket_mode:" },
		{ "[lmtp]\nsocket_mode = 0440\n", "FILE:2: [lmtp] socket_mode:" },
		{ "[lmtp]\nsocket_mode = 01777\n", "FILE:2: [lmtp] socket_mode:" },
		{ "[lmtp]\nsocket_group = no-such-group-here\n", "FILE:2: [lmtp] socket_group:" },
		{ "[lmtp]\nspool_dir = tmp\n", "FILE:2: [lmtp] spool_dir:" },
		{ "[lmtp]\n\nbogus = 1\n", "FILE:3: [lmtp] bogus: unknown key" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].want);
}

/* etc/duomail.conf.example loads (with its lmtp line switched on), and its
 * [lmtp] values are the defaults it claims to show. */
static void test_example_file(void **state)
{
	FILE *f = fopen(DUOMAIL_TEST_DATA "/../../etc/duomail.conf.example", "r");
	char *text = calloc(1, 65536), err[256];
	struct config *cfg = NULL, *defaults;
	size_t n;
	char *line;

	assert_non_null(f);
	n = fread(text, 1, 65535, f);
	fclose(f);
	text[n] = '\0';
	line = strstr(text, "# lmtp  = 127.0.0.1:24");
	assert_non_null(line);
	memcpy(line, "  ", 2);
	write_config(text);
	if (config_load(path, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	unlink(path);
	assert_true(cfg->listen[LISTEN_LMTP].enabled);
	assert_int_equal(cfg->listen[LISTEN_LMTP].port, 24);
	defaults = load("127.0.0.1:24", "");
	assert_true(cfg->lmtp_max_message_size == defaults->lmtp_max_message_size);
	assert_int_equal(cfg->lmtp_max_recipients, defaults->lmtp_max_recipients);
	assert_int_equal(cfg->lmtp_quota_tempfail, defaults->lmtp_quota_tempfail);
	assert_string_equal(cfg->lmtp_recipient_delimiter, defaults->lmtp_recipient_delimiter);
	assert_int_equal(cfg->lmtp_idle_timeout, defaults->lmtp_idle_timeout);
	assert_int_equal(cfg->lmtp_socket_mode, defaults->lmtp_socket_mode);
	assert_int_equal(cfg->lmtp_socket_gid, defaults->lmtp_socket_gid);
	assert_string_equal(cfg->lmtp_spool_dir, defaults->lmtp_spool_dir);
	config_free(&defaults);
	config_free(&cfg);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_example_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
