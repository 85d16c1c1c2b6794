/*
 * LMTP command lines (RFC 2033 §4 on RFC 5321 §4.1): verbs, MAIL/RCPT paths
 * (§4.1.2 grammar: Dot-string, Quoted-string, source routes, address
 * literals), ESMTP parameters, SIZE values (RFC 1870 §3), LHLO domains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp_parser.h"

static enum lmtp_parse_error cmd(const char *text, struct lmtp_cmdline *c)
{
	return lmtp_parse_command(text, strlen(text), c);
}

static void test_verbs(void **state)
{
	struct lmtp_cmdline c;
	static const char nul_line[] = "MAIL\0FROM:<a>";

	assert_int_equal(cmd("lhlo mx.example", &c), LMTP_PARSE_OK);
	assert_string_equal(c.verb, "LHLO");
	assert_string_equal(c.args, "mx.example");
	assert_int_equal(cmd("DATA", &c), LMTP_PARSE_OK);
	assert_string_equal(c.verb, "DATA");
	assert_string_equal(c.args, "");
	/* several spaces are tolerated, leading ones too */
	assert_int_equal(cmd("  Rcpt   TO:<a@b>", &c), LMTP_PARSE_OK);
	assert_string_equal(c.verb, "RCPT");
	assert_string_equal(c.args, "TO:<a@b>");
	assert_int_equal(cmd("STARTTLS", &c), LMTP_PARSE_OK);
	assert_int_equal(cmd("", &c), LMTP_PARSE_EMPTY);
	assert_int_equal(cmd("   ", &c), LMTP_PARSE_EMPTY);
	/* not a verb: digits, over 8 letters, control bytes, NUL */
	assert_int_equal(cmd("MA1L FROM:<>", &c), LMTP_PARSE_BAD);
	assert_int_equal(cmd("VERYLONGVERB", &c), LMTP_PARSE_BAD);
	assert_int_equal(cmd("NOOP \x01", &c), LMTP_PARSE_BAD);
	assert_int_equal(lmtp_parse_command(nul_line, sizeof(nul_line) - 1, &c), LMTP_PARSE_BAD);
}

static enum lmtp_path_error path(const char *args, const char *prefix, bool null_ok,
				 struct lmtp_path *p, const char **params)
{
	const char *dummy;

	return lmtp_parse_path(args, prefix, null_ok, p, params ? params : &dummy);
}

static void test_paths(void **state)
{
	struct lmtp_path p;
	const char *params;

	assert_int_equal(path("FROM:<alice@example.org>", "FROM:", true, &p, &params),
			 LMTP_PATH_OK);
	assert_string_equal(p.address, "alice@example.org");
	assert_string_equal(p.local, "alice");
	assert_true(p.has_domain);
	assert_string_equal(params, "");
	/* the prefix in any case; a space after the colon is tolerated */
	assert_int_equal(path("to: <Bob.Smith+x@mx.example>", "TO:", false, &p, NULL),
			 LMTP_PATH_OK);
	assert_string_equal(p.local, "Bob.Smith+x");
	/* the null reverse-path: MAIL only (RFC 5321 §4.5.5) */
	assert_int_equal(path("FROM:<>", "FROM:", true, &p, NULL), LMTP_PATH_OK);
	assert_string_equal(p.address, "");
	assert_int_equal(path("TO:<>", "TO:", false, &p, NULL), LMTP_PATH_SYNTAX);
	/* a bare local part: LMTP delivers to local users */
	assert_int_equal(path("TO:<postmaster>", "TO:", false, &p, NULL), LMTP_PATH_OK);
	assert_string_equal(p.local, "postmaster");
	assert_false(p.has_domain);
	/* a source route is dropped (RFC 5321 §4.1.1.3, Appendix C) */
	assert_int_equal(path("TO:<@hosta.int,@jkl.org:userc@d.bar.org>", "TO:", false, &p, NULL),
			 LMTP_PATH_OK);
	assert_string_equal(p.address, "userc@d.bar.org");
	assert_string_equal(p.local, "userc");
	/* Quoted-string: kept quoted in the address, unquoted as local part */
	assert_int_equal(path("TO:<\"John \\\"Q\\\" Doe\"@example.org>", "TO:", false, &p, NULL),
			 LMTP_PATH_OK);
	assert_string_equal(p.address, "\"John \\\"Q\\\" Doe\"@example.org");
	assert_string_equal(p.local, "John \"Q\" Doe");
	/* a '>' inside quotes does not end the path */
	assert_int_equal(path("TO:<\"a>b\"@x>", "TO:", false, &p, NULL), LMTP_PATH_OK);
	assert_string_equal(p.local, "a>b");
	/* address literals (RFC 5321 §4.1.3) */
	assert_int_equal(path("TO:<u@[192.0.2.1]>", "TO:", false, &p, NULL), LMTP_PATH_OK);
	assert_int_equal(path("TO:<u@[IPv6:2001:db8::1]>", "TO:", false, &p, NULL), LMTP_PATH_OK);
	assert_string_equal(p.address, "u@[IPv6:2001:db8::1]");
}

static void test_bad_paths(void **state)
{
	static const char *const bad[] = {
		"TO:alice@example.org",		/* no angle brackets */
		"TO:<alice@example.org",	/* unclosed */
		"TO:<alice@>",			/* empty domain */
		"TO:<@example.org>",		/* route without a mailbox */
		"TO:<a b@example.org>",		/* space in a Dot-string */
		"TO:<\"unterminated@x>",
		"TO:<\"ctl\x01\"@x>",
		"TO:<a@b>junk",			/* no space before parameters */
		"FROM:<a@b>",			/* the wrong prefix */
		"TO:<a@[1.2.3.4>",
		"TO:<a@[]>",
		"TO:<(comment)a@b>",
	};
	struct lmtp_path p;
	char text[2048], local[LMTP_MAX_PATH];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (path(bad[i], "TO:", false, &p, NULL) != LMTP_PATH_SYNTAX)
			fail_msg("accepted: %s", bad[i]);
	}
	/* 8-bit needs SMTPUTF8 (RFC 6531), which is not offered */
	assert_int_equal(path("TO:<j\xc3\xb6rg@example.org>", "TO:", false, &p, NULL),
			 LMTP_PATH_8BIT);
	/* LMTP_MAX_PATH: at the limit fine, past it refused */
	memset(local, 'a', LMTP_MAX_PATH - 2);
	local[LMTP_MAX_PATH - 2] = '\0';
	snprintf(text, sizeof(text), "TO:<%s@x>", local);
	assert_int_equal(path(text, "TO:", false, &p, NULL), LMTP_PATH_OK);
	assert_int_equal(strlen(p.address), LMTP_MAX_PATH);
	snprintf(text, sizeof(text), "TO:<%0*d@x>", LMTP_MAX_PATH, 7);
	assert_int_equal(path(text, "TO:", false, &p, NULL), LMTP_PATH_TOO_LONG);
	snprintf(text, sizeof(text), "TO:<a@%0*d>", LMTP_MAX_PATH, 7);
	assert_int_equal(path(text, "TO:", false, &p, NULL), LMTP_PATH_TOO_LONG);
}

static void test_params(void **state)
{
	struct lmtp_path p;
	struct lmtp_param prm;
	const char *params;

	assert_int_equal(path("FROM:<a@b>  SIZE=12345 body=8BITMIME X-FLAG", "FROM:", true, &p,
			      &params), LMTP_PATH_OK);
	assert_int_equal(lmtp_next_param(&params, &prm), 1);
	assert_string_equal(prm.keyword, "SIZE");
	assert_int_equal(prm.value_len, 5);
	assert_memory_equal(prm.value, "12345", 5);
	assert_int_equal(lmtp_next_param(&params, &prm), 1);
	assert_string_equal(prm.keyword, "BODY");
	assert_memory_equal(prm.value, "8BITMIME", 8);
	assert_int_equal(lmtp_next_param(&params, &prm), 1);
	assert_string_equal(prm.keyword, "X-FLAG");
	assert_null(prm.value);
	assert_int_equal(lmtp_next_param(&params, &prm), 0);
	/* syntax errors (RFC 5321 §4.1.2 esmtp-param) */
	params = "SIZE=";
	assert_int_equal(lmtp_next_param(&params, &prm), -1);
	params = "-X=1";
	assert_int_equal(lmtp_next_param(&params, &prm), -1);
	params = "A=b=c";
	assert_int_equal(lmtp_next_param(&params, &prm), -1);
	params = "A_B=1";
	assert_int_equal(lmtp_next_param(&params, &prm), -1);
}

static void test_size(void **state)
{
	uint64_t n;

	assert_int_equal(lmtp_parse_size("0", 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lmtp_parse_size("52428800", 8, &n), 0);
	assert_int_equal(n, 52428800);
	assert_int_equal(lmtp_parse_size("18446744073709551615", 20, &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(lmtp_parse_size("18446744073709551616", 20, &n), -1);
	assert_int_equal(lmtp_parse_size("12a", 3, &n), -1);
	assert_int_equal(lmtp_parse_size("-1", 2, &n), -1);
	assert_int_equal(lmtp_parse_size("", 0, &n), -1);
}

static void test_domain(void **state)
{
	char big[300];

	assert_true(lmtp_domain_ok("mx.example.org"));
	assert_true(lmtp_domain_ok("[192.0.2.1]"));
	assert_false(lmtp_domain_ok(""));
	assert_false(lmtp_domain_ok("two words"));
	assert_false(lmtp_domain_ok("evil\r\nX-Injected: 1"));
	assert_false(lmtp_domain_ok("caf\xc3\xa9"));
	memset(big, 'a', 256);
	big[256] = '\0';
	assert_false(lmtp_domain_ok(big));
	big[255] = '\0';
	assert_true(lmtp_domain_ok(big));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
