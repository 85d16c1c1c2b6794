/* Config loading: values, defaults, and errors that name file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/auth.h"
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

static const char base[] =
	"[server]\nhostname = mail.example.test   # greeting name\n"
	"[listen]\npop3 = 127.0.0.1:1110\npop3s = [::1]:1995\n"
	"[tls]\ncert = /c.pem\nkey = /k.pem\n"
	"[auth]\npasswd_file = /users\n"
	"[store]\nroot = /mail\n";

static void test_valid(void **state)
{
	struct config *cfg = NULL;
	char err[256];

	write_config(base);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->hostname, "mail.example.test");
	assert_true(cfg->listen[LISTEN_POP3].enabled);
	assert_string_equal(cfg->listen[LISTEN_POP3].host, "127.0.0.1");
	assert_int_equal(cfg->listen[LISTEN_POP3].port, 1110);
	assert_string_equal(cfg->listen[LISTEN_POP3S].host, "::1");
	assert_false(cfg->listen[LISTEN_IMAP].enabled);
	assert_string_equal(cfg->store_root, "/mail");
	/* defaults */
	assert_int_equal(cfg->pop3_idle_timeout, 600);
	assert_int_equal(cfg->pop3_expire_days, -1);
	assert_int_equal(cfg->pop3_login_delay, 0);
	config_free(&cfg);
	assert_null(cfg);
	unlink(path);
}

static void expect_error(const char *text, const char *want)
{
	struct config *cfg = NULL;
	char err[256], full[300];

	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	/* want names the file as "FILE"; put the real path in. */
	const char *at = strstr(want, "FILE");
	snprintf(full, sizeof(full), "%.*s%s%s", (int)(at - want), want, path, at + 4);
	if (strstr(err, full) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, full);
	unlink(path);
}

static void test_errors(void **state)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s[pop3]\nbogus = 1\n", base);
	expect_error(text, "FILE:14: [pop3] bogus: unknown key");
	expect_error("[nosuch]\nx = 1\n", "FILE:2: unknown section [nosuch]");
	expect_error("[listen]\npop3 = localhost:110\n", "FILE:2: [listen] pop3:");
	expect_error("[listen]\npop3 = 127.0.0.1:0\n", "FILE:2: [listen] pop3:");
	expect_error("[listen]\npop3 = 127.0.0.1:70000\n", "FILE:2: [listen] pop3:");
	expect_error("[pop3]\nidle_timeout = 60\n", "FILE:2: [pop3] idle_timeout:");
	expect_error("[pop3]\nexpire = sometimes\n", "FILE:2: [pop3] expire:");
	expect_error("[server]\nworkers = -1\n", "FILE:2: [server] workers:");
	expect_error("garbage line\n", "FILE:1: syntax error");
	expect_error("[listen]\npop3s = 127.0.0.1:995\n[auth]\npasswd_file=/u\n[store]\nroot=/m\n",
		     "FILE: [tls] cert: missing");
	expect_error("[listen]\npop3 = 127.0.0.1:110\n[store]\nroot=/m\n",
		     "FILE: [auth] passwd_file: missing");
}

static void test_expire(void **state)
{
	struct config *cfg = NULL;
	char err[256], text[1024];

	snprintf(text, sizeof(text), "%s[pop3]\nexpire = 30\nlogin_delay = 900\n", base);
	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->pop3_expire_days, 30);
	assert_int_equal(cfg->pop3_login_delay, 900);
	config_free(&cfg);
	unlink(path);
}

static void test_policy_defaults_and_keys(void **state)
{
	struct config *cfg = NULL;
	char err[256], text[1024];

	write_config(base);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->pop3_delete, POP3_DELETE_EXPUNGE);
	assert_int_equal(cfg->pop3_folders.count, 1);
	assert_string_equal(cfg->pop3_folders.names[0], "INBOX");
	assert_true(cfg->pop3_retr_seen);
	assert_true(cfg->quota_storage == 0 && cfg->quota_messages == 0);
	config_free(&cfg);
	unlink(path);

	snprintf(text, sizeof(text), "%s[pop3]\ndelete = hide\nfolders = Junk, INBOX   # both\n"
		 "retr_sets_seen = no\n[quota]\nstorage = 1G\nmessages = 10000\n", base);
	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->pop3_delete, POP3_DELETE_HIDE);
	assert_int_equal(cfg->pop3_folders.count, 2);
	assert_string_equal(cfg->pop3_folders.names[0], "INBOX");
	assert_string_equal(cfg->pop3_folders.names[1], "Junk");
	assert_false(cfg->pop3_retr_seen);
	assert_true(cfg->quota_storage == 1ull << 30);
	assert_true(cfg->quota_messages == 10000);
	config_free(&cfg);
	unlink(path);

	snprintf(text, sizeof(text), "%s[pop3]\ndelete = trash\nfolders = INBOX\n"
		 "[quota]\nstorage = 512K\n", base);
	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->pop3_delete, POP3_DELETE_TRASH);
	assert_true(cfg->quota_storage == 512 * 1024);
	config_free(&cfg);
	unlink(path);
}

static void test_policy_errors(void **state)
{
	expect_error("[pop3]\ndelete = destroy\n", "FILE:2: [pop3] delete: 'destroy'");
	expect_error("[pop3]\nfolders = INBOX,,Junk\n", "FILE:2: [pop3] folders: an empty");
	expect_error("[pop3]\nfolders = INBOX,inbox\n", "FILE:2: [pop3] folders: folder 'INBOX' "
		     "is listed twice");
	expect_error("[pop3]\nretr_sets_seen = maybe\n", "FILE:2: [pop3] retr_sets_seen:");
	expect_error("[pop3]\nretr_seen = no\n", "FILE:2: [pop3] retr_seen: unknown key");
	expect_error("[quota]\nstorage = 1GB\n", "FILE:2: [quota] storage: '1GB' is not a size");
	expect_error("[quota]\nstorage = -1\n", "FILE:2: [quota] storage:");
	expect_error("[quota]\nmessages = many\n", "FILE:2: [quota] messages:");
	expect_error("[quota]\nbytes = 1\n", "FILE:2: [quota] bytes: unknown key");
}

/* [auth] mechanisms: auto by default, or exactly the ones listed. */
static void test_mechanisms(void **state)
{
	struct config *cfg = NULL;
	char err[256], text[1024];

	write_config(base);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_true(cfg->mechanisms_auto);
	config_free(&cfg);
	unlink(path);

	snprintf(text, sizeof(text), "%s[auth]\nmechanisms = SCRAM-SHA-256, cram-md5\n", base);
	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_false(cfg->mechanisms_auto);
	assert_int_equal(cfg->mechanisms, AUTH_MECH_SCRAM_SHA256 | AUTH_MECH_CRAM_MD5);
	config_free(&cfg);
	unlink(path);

	snprintf(text, sizeof(text), "%s[auth]\nmechanisms = scram-sha-256 digest-md5\n", base);
	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mechanisms"));
	assert_non_null(strstr(err, "'digest-md5' is not auto or a list"));
	unlink(path);
}

static void test_missing_file(void **state)
{
	struct config *cfg = NULL;
	char err[256];

	assert_int_equal(config_load("/nonexistent/duomail.conf", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/duomail.conf: cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_policy_defaults_and_keys),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
