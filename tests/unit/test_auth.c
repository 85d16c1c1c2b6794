/*
 * The auth core: password schemes (known answers made with Python's crypt
 * module, an independent implementation), the passwd-file database with
 * FILE:LINE errors and reload, APOP (RFC 1939 §7) and the SASL PLAIN
 * (RFC 4616) and LOGIN mechanisms with their base64 framing.
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

#include "core/auth.h"
#include "core/sasl.h"
#include "core/userdb.h"

/* What a login does with the passwd-file (core/userdb.c, core/login.c):
 * the user's record, then checks against its stored secret. */
static int user_exists(struct auth_db *db, const char *user)
{
	struct userdb_record rec;
	int found = auth_db_lookup(db, user, &rec);

	userdb_record_free(&rec);
	return found;
}

static enum auth_result check_plain(struct auth_db *db, const char *user, const char *password)
{
	struct userdb_record rec;
	enum auth_result ar;

	(void)auth_db_lookup(db, user, &rec);	/* not found: no password, fails */
	ar = auth_verify_stored(rec.password, password);
	userdb_record_free(&rec);
	return ar;
}

static enum auth_result check_apop(struct auth_db *db, const char *user, const char *timestamp,
				   const char *digest_hex)
{
	struct userdb_record rec;
	enum auth_result ar;

	(void)auth_db_lookup(db, user, &rec);
	ar = auth_verify_apop_stored(rec.password, timestamp, digest_hex);
	userdb_record_free(&rec);
	return ar;
}

static int lookup_plaintext(struct auth_db *db, const char *user, char **plain_r)
{
	struct userdb_record rec;
	const char *plain;
	int ret = 0;

	if (auth_db_lookup(db, user, &rec) == 1 && rec.password != NULL &&
	    password_is_plaintext(rec.password, &plain)) {
		*plain_r = strdup(plain);
		ret = 1;
	}
	userdb_record_free(&rec);
	return ret;
}

static const struct {
	const char *stored;
	const char *good;
} vectors[] = {
	{ "{SHA512-CRYPT}$6$0gxurAd2UhLDpSuZ$m/lHA4sYREKjYHbNpdgzU2dGIf/VI9cgvc1c38GkYpegnnX.mwb5Q6ENvm82BcmF3H/GxX./hQOxb4O77.W5o1",
	  "correct horse" },
	{ "{SHA256-CRYPT}$5$hNBD7O5547TbpIE4$0btGtBsMZSJMs/I81fmWvdyQqus9Wl0iKeURKUKbPh4", "correct horse" },
	{ "{MD5-CRYPT}$1$crevdiyV$3WOnVVYNpsdAASZXQlVMs1", "correct horse" },
	{ "{BLF-CRYPT}$2b$05$bm9zZ/25KODEDI6E6U8Lju6xrXDj16N9.89weNptC0tCEgb3pv81y", "correct horse" },
	{ "{CRYPT}abhv/ZnAzL36k", "secret12" },
	{ "$6$0gxurAd2UhLDpSuZ$m/lHA4sYREKjYHbNpdgzU2dGIf/VI9cgvc1c38GkYpegnnX.mwb5Q6ENvm82BcmF3H/GxX./hQOxb4O77.W5o1",
	  "correct horse" },	/* bare hash = CRYPT */
	{ "{PLAIN}correct horse", "correct horse" },
	{ "{clear}correct horse", "correct horse" },
};

static void test_known_answers(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_true(password_verify(vectors[i].stored, vectors[i].good));
		assert_false(password_verify(vectors[i].stored, "wrong"));
		assert_false(password_verify(vectors[i].stored, ""));
	}
	assert_false(password_verify("{NOSUCH}x", "x"));
	assert_false(password_verify("{PLAIN}", ""));
}

static void test_hash_round_trip(void **state)
{
	const char *schemes[] = { "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT",
				  "CRYPT", "PLAIN" };
	char err[256];

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		char *h = password_hash(schemes[i], "p@ss w0rd", err, sizeof(err));

		assert_non_null(h);
		assert_true(strncmp(h + 1, schemes[i], strlen(schemes[i])) == 0);
		assert_true(password_verify(h, "p@ss w0rd"));
		assert_false(password_verify(h, "p@ss w0rD"));
		free(h);
	}
	assert_null(password_hash("ROT13", "x", err, sizeof(err)));
	assert_non_null(strstr(err, "unknown scheme"));
}

static char path[64];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	int fd;

	strcpy(path, "/tmp/duomail-users-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void test_passwd_file(void **state)
{
	struct auth_db *db;
	char err[256], *plain;

	write_file("# Dovecot style, extra fields kept\n\n"
		   "alice:{SHA256-CRYPT}$5$hNBD7O5547TbpIE4$0btGtBsMZSJMs/I81fmWvdyQqus9Wl0iKeURKUKbPh4:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n"
		   "carol:{PLAIN}tanstaaf\n"
		   "alice:{PLAIN}second-line-loses\n");
	assert_int_equal(auth_db_open(path, &db, err, sizeof(err)), 0);
	assert_int_equal(user_exists(db, "alice"), 1);
	assert_int_equal(user_exists(db, "bob"), 0);
	assert_int_equal(check_plain(db, "alice", "correct horse"), AUTH_OK);
	assert_int_equal(check_plain(db, "alice", "second-line-loses"), AUTH_FAILED);
	assert_int_equal(check_plain(db, "alice", "nope"), AUTH_FAILED);
	assert_int_equal(check_plain(db, "nobody", "correct horse"), AUTH_FAILED);
	assert_int_equal(lookup_plaintext(db, "carol", &plain), 1);
	assert_string_equal(plain, "tanstaaf");
	free(plain);
	assert_int_equal(lookup_plaintext(db, "alice", &plain), 0);

	/* RFC 1939 §7 example: secret "tanstaaf" gives c4c9334b... */
	assert_int_equal(check_apop(db, "carol", "<1896.697170952@dbc.mtview.ca.us>",
					  "c4c9334bac560ecc979e58001b3e22fb"), AUTH_OK);
	assert_int_equal(check_apop(db, "carol", "<1896.697170952@dbc.mtview.ca.us>",
					  "c4c9334bac560ecc979e58001b3e22fc"), AUTH_FAILED);
	assert_int_equal(check_apop(db, "alice", "<x@y>", "c4c9334bac560ecc979e58001b3e22fb"),
			 AUTH_FAILED);

	/* Reload on SIGHUP picks up a new user; a broken file keeps the old list. */
	write_file("dave:{PLAIN}d\n");
	assert_int_equal(auth_db_reload(db, err, sizeof(err)), 0);
	assert_int_equal(check_plain(db, "dave", "d"), AUTH_OK);
	assert_int_equal(user_exists(db, "alice"), 0);
	write_file("dave:{PLAIN}d\nbroken line\n");
	assert_int_equal(auth_db_reload(db, err, sizeof(err)), -1);
	assert_int_equal(check_plain(db, "dave", "d"), AUTH_OK);
	auth_db_close(&db);
	assert_null(db);
}

static void expect_load_error(const char *text, const char *want)
{
	struct auth_db *db = NULL;
	char err[256], full[300];

	write_file(text);
	assert_int_equal(auth_db_open(path, &db, err, sizeof(err)), -1);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	if (strstr(err, full) == NULL)
		fail_msg("error '%s' lacks '%s'", err, full);
}

static void test_passwd_errors(void **state)
{
	expect_load_error("ok:{PLAIN}x\nno-colon-here\n", "2: expected user:password");
	expect_load_error("../evil:{PLAIN}x\n", "1: invalid user name");
	expect_load_error("a/b:{PLAIN}x\n", "1: invalid user name");
	expect_load_error("#c\nx:{ROT13}abc\n", "2: user x: unknown password scheme");
}

static const struct sasl_context plain_ctx = { .plaintext_allowed = true };

static void test_sasl_plain(void **state)
{
	const unsigned char *ch;
	size_t chlen;
	const char *error;
	struct sasl *s = sasl_begin("plain", &plain_ctx);

	assert_non_null(s);
	assert_true(sasl_is_plaintext(s));
	assert_int_equal(sasl_step(s, false, NULL, 0, &ch, &chlen, &error), SASL_CONTINUE);
	assert_int_equal(chlen, 0);
	assert_int_equal(sasl_step(s, true, (const unsigned char *)"alice\0alice\0pw", 14, &ch,
				   &chlen, &error), SASL_DONE);
	assert_string_equal(sasl_user(s), "alice");
	assert_string_equal(sasl_password(s), "pw");
	sasl_free(&s);

	const struct {
		const char *data;
		size_t len;
		enum sasl_status want;
	} cases[] = {
		{ "\0bob\0secret", 11, SASL_DONE },
		{ "eve\0bob\0secret", 14, SASL_FAIL },	/* authzid differs */
		{ "\0bob", 4, SASL_FAIL },		/* one NUL */
		{ "\0bob\0secret\0x", 13, SASL_FAIL },	/* three NULs */
		{ "\0\0secret", 8, SASL_FAIL },		/* empty authcid */
		{ "\0bob\0", 5, SASL_FAIL },		/* empty password */
		{ "", 0, SASL_FAIL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = sasl_begin("PLAIN", &plain_ctx);
		assert_int_equal(sasl_step(s, true, (const unsigned char *)cases[i].data, cases[i].len,
					   &ch, &chlen, &error), cases[i].want);
		sasl_free(&s);
	}
	assert_null(sasl_begin("NOSUCH", &plain_ctx));
}

static void test_sasl_login(void **state)
{
	const unsigned char *ch;
	size_t chlen;
	const char *error;
	struct sasl *s = sasl_begin("LOGIN", &plain_ctx);

	assert_int_equal(sasl_step(s, false, NULL, 0, &ch, &chlen, &error), SASL_CONTINUE);
	assert_memory_equal(ch, "Username:", chlen);
	assert_int_equal(sasl_step(s, true, (const unsigned char *)"bob", 3, &ch, &chlen, &error),
			 SASL_CONTINUE);
	assert_memory_equal(ch, "Password:", chlen);
	assert_int_equal(sasl_step(s, true, (const unsigned char *)"pw pw", 5, &ch, &chlen, &error),
			 SASL_DONE);
	assert_string_equal(sasl_user(s), "bob");
	assert_string_equal(sasl_password(s), "pw pw");
	sasl_free(&s);

	/* With an initial response it is the user name. */
	s = sasl_begin("login", &plain_ctx);
	assert_int_equal(sasl_step(s, true, (const unsigned char *)"bob", 3, &ch, &chlen, &error),
			 SASL_CONTINUE);
	assert_memory_equal(ch, "Password:", chlen);
	sasl_free(&s);
	s = sasl_begin("LOGIN", &plain_ctx);
	assert_int_equal(sasl_step(s, true, (const unsigned char *)"b\0b", 3, &ch, &chlen, &error),
			 SASL_FAIL);
	sasl_free(&s);
}

/* The line framing both protocols share (RFC 5034 §4, RFC 3501 §6.2.2). */
static void test_sasl_text(void **state)
{
	const char *error;
	char *line;
	struct sasl *s = sasl_begin("LOGIN", &plain_ctx);

	assert_int_equal(sasl_step_text(s, NULL, 0, true, &line, &error), SASL_CONTINUE);
	assert_string_equal(line, "+ VXNlcm5hbWU6\r\n");		/* "Username:" */
	free(line);
	assert_int_equal(sasl_step_text(s, "!!", 2, false, &line, &error), SASL_BAD_BASE64);
	assert_null(line);
	assert_int_equal(sasl_step_text(s, "*", 1, false, &line, &error), SASL_CANCELLED);
	assert_int_equal(sasl_step_text(s, "Ym9i", 4, false, &line, &error), SASL_CONTINUE);
	free(line);
	assert_int_equal(sasl_step_text(s, "cHc=", 4, false, &line, &error), SASL_DONE);
	assert_string_equal(sasl_user(s), "bob");
	assert_string_equal(sasl_password(s), "pw");
	sasl_free(&s);

	/* "=" is an empty initial response, not base64; "*" is not a cancel there */
	s = sasl_begin("PLAIN", &plain_ctx);
	assert_int_equal(sasl_step_text(s, "=", 1, true, &line, &error), SASL_FAIL);
	sasl_free(&s);
	s = sasl_begin("PLAIN", &plain_ctx);
	assert_int_equal(sasl_step_text(s, "*", 1, true, &line, &error), SASL_BAD_BASE64);
	assert_int_equal(sasl_step_text(s, "AGJvYgBwdw==", 12, true, &line, &error), SASL_DONE);
	sasl_free(&s);
}

static void test_base64(void **state)
{
	unsigned char *out;
	size_t len;
	char *enc;

	assert_int_equal(sasl_b64_decode("AGFsaWNlAHNlY3JldA==", 20, &out, &len), 0);
	assert_int_equal(len, 13);
	assert_memory_equal(out, "\0alice\0secret", 13);
	enc = sasl_b64_encode(out, len);
	assert_string_equal(enc, "AGFsaWNlAHNlY3JldA==");
	free(enc);
	free(out);
	assert_int_equal(sasl_b64_decode("", 0, &out, &len), 0);
	assert_int_equal(len, 0);
	free(out);
	const char *bad[] = { "abc", "ab=c", "a===", "!!!!", "AGFs aWNl", "QQ==QQ==" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sasl_b64_decode(bad[i], strlen(bad[i]), &out, &len), -1);
	/* long challenges are not wrapped */
	unsigned char big[300];
	memset(big, 'x', sizeof(big));
	enc = sasl_b64_encode(big, sizeof(big));
	assert_null(strchr(enc, '\n'));
	assert_int_equal(strlen(enc), 400);
	free(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_hash_round_trip),
		cmocka_unit_test_setup_teardown(test_passwd_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passwd_errors, setup, teardown),
		cmocka_unit_test(test_sasl_plain),
		cmocka_unit_test(test_sasl_login),
		cmocka_unit_test(test_sasl_text),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
