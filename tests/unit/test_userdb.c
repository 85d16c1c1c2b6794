/*
 * The user database pieces that need no server: the [auth] userdb and
 * [pgsql] config keys, the per-user protocols= and maildir= fields, an SQL
 * result row as a user record (core/userdb_pgsql_row.c, on results built
 * with libpq's own PQmakeEmptyPGresult), and login_check() on a record:
 * unknown user, wrong password, disallowed protocol, invalid fields and a
 * maildir outside the store root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/auth.h"
#include "core/config.h"
#include "core/login.h"
#include "core/policy.h"
#include "core/userdb.h"
#include "core/userdb_private.h"
#include "store/store.h"

/* ---- config ---- */

static char path[64];

static int load(const char *text, struct config **cfg_r, char *err, size_t errlen)
{
	int fd, ret;

	strcpy(path, "/tmp/duomail-test-userdb-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ret = config_load(path, cfg_r, err, errlen);
	unlink(path);
	return ret;
}

#define BASE "[listen]\nimap = 127.0.0.1:1143\n[store]\nroot = /mail\n"

static void expect_config_error(const char *text, const char *want)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(load(text, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_config_pgsql(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(load(BASE "[auth]\nuserdb = pgsql\n[pgsql]\n"
			      "connect = host=127.0.0.1 port=5432 dbname=mail user=duomail\n"
			      "password_query = SELECT password FROM users WHERE name = $1\n"
			      "pool_size = 3\nquery_timeout = 2\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->userdb, USERDB_PGSQL);
	assert_null(cfg->passwd_file);		/* not needed for pgsql */
	assert_string_equal(cfg->pgsql_connect, "host=127.0.0.1 port=5432 dbname=mail user=duomail");
	assert_int_equal(cfg->pgsql_pool_size, 3);
	assert_int_equal(cfg->pgsql_timeout_ms, 2000);
	/* user_query defaults to password_query */
	assert_null(cfg->pgsql_user_query);
	assert_string_equal(userdb_pgsql_query(cfg, USERDB_USER), cfg->pgsql_password_query);
	assert_false(cfg->allow_maildir_outside_root);
	config_free(&cfg);

	assert_int_equal(load(BASE "[auth]\npasswd_file = /u\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->userdb, USERDB_PASSWD_FILE);
	assert_int_equal(cfg->pgsql_pool_size, 4);
	assert_int_equal(cfg->pgsql_timeout_ms, 5000);
	config_free(&cfg);

	assert_int_equal(load(BASE "allow_maildir_outside_root = yes\n[auth]\npasswd_file = /u\n",
			      &cfg, err, sizeof(err)), 0);
	assert_true(cfg->allow_maildir_outside_root);
	config_free(&cfg);
}

static void test_config_pgsql_errors(void **state)
{
	expect_config_error(BASE "[auth]\nuserdb = ldap\n", ":6: [auth] userdb: 'ldap' is not");
	expect_config_error(BASE "[auth]\nuserdb = pgsql\n", "[pgsql] connect: missing");
	expect_config_error(BASE "[auth]\nuserdb = pgsql\n[pgsql]\nconnect = dbname=x\n",
			    "[pgsql] password_query: missing");
	expect_config_error(BASE "[pgsql]\nconnect = nosuchoption=1\n",
			    ":6: [pgsql] connect: not a libpq connection string");
	expect_config_error(BASE "[pgsql]\npassword_query = SELECT password FROM users "
			    "WHERE name = 'x'\n", ":6: [pgsql] password_query: the query must "
			    "use $1");
	expect_config_error(BASE "[pgsql]\nuser_query = SELECT 1\n", ":6: [pgsql] user_query:");
	expect_config_error(BASE "[pgsql]\npool_size = 0\n", ":6: [pgsql] pool_size:");
	expect_config_error(BASE "[pgsql]\nquery_timeout = 0\n", ":6: [pgsql] query_timeout:");
	expect_config_error(BASE "[pgsql]\ndriver = pgsql\n", ":6: [pgsql] driver: unknown key");
	expect_config_error(BASE "allow_maildir_outside_root = maybe\n",
			    ":5: [store] allow_maildir_outside_root:");
}

/* SQL queries are long: past inih's 199-byte lines, and continued over
 * lines with a backslash as in Dovecot's dovecot-sql.conf.ext. */
static void test_config_long_lines(void **state)
{
	struct config *cfg = NULL;
	char text[4096], query[1200], err[512];
	size_t n;

	n = (size_t)snprintf(query, sizeof(query), "SELECT password");
	while (n < 900)
		n += (size_t)snprintf(query + n, sizeof(query) - n, ", password AS p%zu", n);
	snprintf(query + n, sizeof(query) - n, " FROM users WHERE name = $1");
	snprintf(text, sizeof(text), BASE "[auth]\nuserdb = pgsql\n[pgsql]\n"
		 "connect = dbname=mail\npassword_query = %s   # a comment\n", query);
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->pgsql_password_query, query);
	config_free(&cfg);

	assert_int_equal(load(BASE "[auth]\nuserdb = pgsql\n[pgsql]\nconnect = dbname=mail\n"
			      "password_query = SELECT password, maildir \\\n"
			      "    FROM users \\\n"
			      "    WHERE name = $1\n"
			      "# a comment that ends in a backslash \\\n"
			      "pool_size = 2\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->pgsql_password_query,
			    "SELECT password, maildir     FROM users     WHERE name = $1");
	assert_int_equal(cfg->pgsql_pool_size, 2);
	config_free(&cfg);

	/* line numbers stay the file's: the bad key is on line 12 */
	expect_config_error(BASE "[pgsql]\nconnect = dbname=mail\npassword_query = SELECT \\\n"
			    "password \\\nFROM users WHERE name = $1\n[auth]\nuserdb = pgsql\n"
			    "bogus = 1\n", ":12: [auth] bogus: unknown key");
	/* a long value of another key is checked like a short one */
	memset(query, 'x', 400);
	query[400] = '\0';
	snprintf(text, sizeof(text), BASE "[auth]\npasswd_file = /u\n[server]\nhostname = a %s\n",
		 query);
	expect_config_error(text, ":8: [server] hostname: not a host name");
}

/* ---- per-user fields ---- */

static void test_protocols(void **state)
{
	unsigned p;
	char err[160];

	assert_int_equal(policy_parse_protocols("imap", &p, err, sizeof(err)), 0);
	assert_int_equal(p, POLICY_PROTO_IMAP);
	assert_int_equal(policy_parse_protocols("POP3, imap", &p, err, sizeof(err)), 0);
	assert_int_equal(p, POLICY_PROTO_ALL);
	assert_int_equal(policy_parse_protocols("pop3 imap", &p, err, sizeof(err)), 0);
	assert_int_equal(p, POLICY_PROTO_ALL);
	assert_int_equal(policy_parse_protocols("none", &p, err, sizeof(err)), 0);
	assert_int_equal(p, 0);
	assert_int_equal(policy_parse_protocols("smtp", &p, err, sizeof(err)), -1);
	assert_int_equal(policy_parse_protocols("", &p, err, sizeof(err)), -1);
	assert_int_equal(policy_parse_protocols(" , ", &p, err, sizeof(err)), -1);
	assert_int_equal(policy_parse_protocols("none,imap", &p, err, sizeof(err)), -1);
	assert_int_equal(policy_parse_protocols("imap4", &p, err, sizeof(err)), -1);
}

static void test_maildir_paths(void **state)
{
	static const char *const bad[] = {
		"", "Maildir", "~/Maildir", "maildir:~/Maildir", "/a/../b", "/a/./b", "/..",
		"/a/b/..", "/a\nb", "mbox:/var/mail/x",
	};
	char err[160], *dir;

	assert_int_equal(policy_parse_maildir("/srv/mail/alice", &dir, err, sizeof(err)), 0);
	assert_string_equal(dir, "/srv/mail/alice");
	free(dir);
	/* Dovecot's mail location prefix, and trailing slashes */
	assert_int_equal(policy_parse_maildir("maildir:/srv/mail/bob//", &dir, err, sizeof(err)), 0);
	assert_string_equal(dir, "/srv/mail/bob");
	free(dir);
	/* dots inside names are fine: Maildir++ folders look so */
	assert_int_equal(policy_parse_maildir("/srv/..mail/.x./a..b", &dir, err, sizeof(err)), 0);
	free(dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dir = NULL;
		if (policy_parse_maildir(bad[i], &dir, err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_null(dir);
	}

	assert_true(policy_path_inside("/srv/mail", "/srv/mail/alice"));
	assert_true(policy_path_inside("/srv/mail/", "/srv/mail/a/b"));
	assert_false(policy_path_inside("/srv/mail", "/srv/mail"));
	assert_false(policy_path_inside("/srv/mail", "/srv/mailx/alice"));
	assert_false(policy_path_inside("/srv/mail", "/srv/other"));
	assert_false(policy_path_inside("/srv/mail", "/etc"));
	assert_true(policy_path_inside("/", "/anything"));
}

static void test_extra_field(void **state)
{
	struct user_settings us, copy;
	char err[160];

	assert_int_equal(user_extra_parse("protocols=imap userdb_maildir=/m/x quota_messages=5",
					  &us, NULL, NULL, err, sizeof(err)), 0);
	assert_true(us.set & USER_SET_PROTOCOLS);
	assert_int_equal(us.protocols, POLICY_PROTO_IMAP);
	assert_string_equal(us.maildir, "/m/x");
	user_settings_copy(&copy, &us);
	user_settings_free(&us);
	assert_string_equal(copy.maildir, "/m/x");
	user_settings_free(&copy);
	assert_int_equal(user_extra_parse("maildir=relative", &us, NULL, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "maildir: 'relative' is not an absolute path"));
	assert_int_equal(user_extra_parse("protocols=smtp", &us, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "protocols: 'smtp'"));
}

/* ---- SQL rows ---- */

#define TEXTOID 25
#define INT8OID 20
#define BOOLOID 16

/* A result with the given column names and types and rows of values
 * (NULL = SQL NULL), as libpq would hand one over. */
static PGresult *make_result(int ncols, const char *const names[], const unsigned types[],
			     int nrows, const char *const *values)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[16];

	assert_true(ncols <= 16);
	memset(attrs, 0, sizeof(attrs));
	for (int c = 0; c < ncols; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].typid = types[c];
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	assert_int_equal(PQsetResultAttrs(res, ncols, attrs), 1);
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++) {
			const char *v = values[r * ncols + c];

			assert_int_equal(PQsetvalue(res, r, c, (char *)v, v ? (int)strlen(v) : -1), 1);
		}
	return res;
}

static void test_sql_row(void **state)
{
	static const char *const names[] = { "password", "userdb_quota_messages", "maildir",
					     "protocols", "pop3_retr_seen", "uid", "whatever" };
	static const unsigned types[] = { TEXTOID, INT8OID, TEXTOID, TEXTOID, BOOLOID, INT8OID,
					  TEXTOID };
	static const char *const row[] = { "{PLAIN}pw", "7", NULL, "pop3", "f", "1000", "x" };
	static const char *const two[] = { "{PLAIN}a", "1", NULL, NULL, NULL, NULL, NULL,
					   "{PLAIN}b", "2", NULL, NULL, NULL, NULL, NULL };
	static const char *const bad[] = { "{PLAIN}pw", "lots", NULL, NULL, NULL, NULL, NULL };
	static const char *const scheme[] = { "{ROT13}pw", NULL, NULL, NULL, NULL, NULL, NULL };
	struct userdb_record rec;
	PGresult *res;

	res = make_result(7, names, types, 1, row);
	assert_int_equal(userdb_pgsql_row(res, "alice", &rec), 1);
	assert_string_equal(rec.password, "{PLAIN}pw");
	assert_false(rec.invalid);
	assert_true(rec.settings.set & USER_SET_QUOTA_MESSAGES);
	assert_true(rec.settings.quota_messages == 7);
	assert_false(rec.settings.set & USER_SET_MAILDIR);	/* NULL: the default */
	assert_null(rec.settings.maildir);
	assert_int_equal(rec.settings.protocols, POLICY_PROTO_POP3);
	assert_true(rec.settings.set & USER_SET_POP3_RETR_SEEN);
	assert_false(rec.settings.pop3_retr_seen);		/* boolean 'f' */
	userdb_record_free(&rec);
	PQclear(res);

	res = make_result(7, names, types, 0, NULL);
	assert_int_equal(userdb_pgsql_row(res, "nobody", &rec), 0);
	PQclear(res);

	/* two users of one name: which password is right is a guess */
	res = make_result(7, names, types, 2, two);
	assert_int_equal(userdb_pgsql_row(res, "twice", &rec), -1);
	PQclear(res);

	/* a bad value: the user exists but is refused until it is fixed */
	res = make_result(7, names, types, 1, bad);
	assert_int_equal(userdb_pgsql_row(res, "carol", &rec), 1);
	assert_true(rec.invalid);
	assert_string_equal(rec.password, "{PLAIN}pw");
	userdb_record_free(&rec);
	PQclear(res);

	/* an unknown scheme can match nothing */
	res = make_result(7, names, types, 1, scheme);
	assert_int_equal(userdb_pgsql_row(res, "dave", &rec), 1);
	assert_string_equal(rec.password, "");
	userdb_record_free(&rec);
	PQclear(res);
}

/* ---- login_check() on a record ---- */

static char root[64];

static enum login_status check(const struct config *cfg, int found, const char *stored,
			       const char *extra, unsigned protocol, const char *password)
{
	struct login_request req = { .cfg = cfg, .user = "alice", .protocol = protocol,
				     .password = password, .lookup_result = found };
	struct store *st = NULL;
	enum login_status status;
	char err[160];

	if (found > 0) {
		req.rec.password = strdup(stored);
		if (extra != NULL && user_extra_parse(extra, &req.rec.settings, NULL, NULL, err,
						      sizeof(err)) < 0)
			req.rec.invalid = true;
	}
	status = login_check(&req, &st);
	assert_true((status == LOGIN_OK) == (st != NULL));
	store_close(&st);
	login_request_clear(&req);
	return status;
}

static void test_login_check(void **state)
{
	struct config cfg = { 0 };
	char inside[128], outside[256], extra[400];

	strcpy(root, "/tmp/duomail-test-userdb-root-XXXXXX");
	assert_non_null(mkdtemp(root));
	cfg.store_root = root;

	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", NULL, POLICY_PROTO_IMAP, "pw"), LOGIN_OK);
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", NULL, POLICY_PROTO_IMAP, "no"), LOGIN_FAILED);
	assert_int_equal(check(&cfg, 0, NULL, NULL, POLICY_PROTO_IMAP, "pw"), LOGIN_FAILED);
	assert_int_equal(check(&cfg, -1, NULL, NULL, POLICY_PROTO_IMAP, "pw"), LOGIN_TEMPFAIL);
	/* no password stored: nobody can log in */
	assert_int_equal(check(&cfg, 1, "", NULL, POLICY_PROTO_IMAP, ""), LOGIN_FAILED);
	/* protocols= */
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", "protocols=pop3", POLICY_PROTO_POP3, "pw"),
			 LOGIN_OK);
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", "protocols=pop3", POLICY_PROTO_IMAP, "pw"),
			 LOGIN_FAILED);
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", "protocols=none", POLICY_PROTO_POP3, "pw"),
			 LOGIN_FAILED);
	/* invalid fields: only the right password learns "try later" */
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", "quota_storage=lots", POLICY_PROTO_IMAP, "no"),
			 LOGIN_FAILED);
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", "quota_storage=lots", POLICY_PROTO_IMAP, "pw"),
			 LOGIN_TEMPFAIL);
	/* maildir= inside the root is made there; outside it only if allowed */
	snprintf(inside, sizeof(inside), "%s/elsewhere", root);
	snprintf(extra, sizeof(extra), "maildir=%s", inside);
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", extra, POLICY_PROTO_IMAP, "pw"), LOGIN_OK);
	snprintf(outside, sizeof(outside), "%s/new", inside);
	assert_int_equal(access(outside, F_OK), 0);
	snprintf(outside, sizeof(outside), "%s-outside", root);
	snprintf(extra, sizeof(extra), "maildir=%s", outside);
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", extra, POLICY_PROTO_IMAP, "pw"),
			 LOGIN_TEMPFAIL);
	assert_int_equal(access(outside, F_OK), -1);
	cfg.allow_maildir_outside_root = true;
	assert_int_equal(check(&cfg, 1, "{PLAIN}pw", extra, POLICY_PROTO_IMAP, "pw"), LOGIN_OK);
	assert_int_equal(access(outside, F_OK), 0);

	snprintf(extra, sizeof(extra), "rm -rf %s %s", root, outside);
	assert_int_equal(system(extra), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_pgsql),
		cmocka_unit_test(test_config_pgsql_errors),
		cmocka_unit_test(test_config_long_lines),
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_maildir_paths),
		cmocka_unit_test(test_extra_field),
		cmocka_unit_test(test_sql_row),
		cmocka_unit_test(test_login_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
