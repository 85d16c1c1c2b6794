/* IMAP sequence sets (RFC 3501 §9) and modified UTF-7 (RFC 3501 §5.1.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap_seqset.h"
#include "imap/imap_utf7.h"

static void parse_ok(const char *text, uint32_t star, const char *want_resolved)
{
	struct seqset set;
	const char *error = NULL;
	uint32_t nums[64];
	size_t n = 0;
	char *got;

	if (imap_seqset_parse(text, strlen(text), &set, &error) < 0)
		fail_msg("'%s' rejected: %s", text, error);
	imap_seqset_resolve(&set, star);
	for (size_t i = 0; i < set.count; i++)
		for (uint64_t k = set.ranges[i].lo; k <= set.ranges[i].hi && n < 64; k++)
			nums[n++] = (uint32_t)k;
	got = imap_seqset_format(nums, n);
	assert_string_equal(got, want_resolved);
	free(got);
	imap_seqset_free(&set);
}

static void parse_bad(const char *text)
{
	struct seqset set;
	const char *error = NULL;

	if (imap_seqset_parse(text, strlen(text), &set, &error) == 0)
		fail_msg("'%s' accepted", text);
	assert_non_null(error);
	assert_null(set.ranges);
}

static void test_seqset_valid(void **state)
{
	parse_ok("1", 10, "1");
	parse_ok("1:3", 10, "1:3");
	parse_ok("3:1", 10, "1:3");			/* RFC 3501 §9: either order */
	parse_ok("2,4:7,9,12:*", 15, "2,4:7,9,12:15");	/* RFC 3501 §9 example */
	parse_ok("*:4,5:7", 10, "4:10");		/* merged */
	parse_ok("*", 7, "7");
	parse_ok("8:*", 5, "5:8");			/* §6.4.8: "*" below the start */
	parse_ok("1,1,1", 3, "1");
	parse_ok("4294967295", 1, "4294967295");
}

static void test_seqset_invalid(void **state)
{
	const char *bad[] = { "", "0", "0:5", "5:0", "4294967296", "99999999999999999999",
			      "1:*:3", "1,", ",1", "1,,2", "1:", ":1", "a", "1 2", "01", "1:02",
			      "-1", "+1", "1;2", "**", "1:**" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i]);
}

static void test_seqset_contains(void **state)
{
	struct seqset set;
	const char *error;

	assert_int_equal(imap_seqset_parse("10:12,1,5:*", 11, &set, &error), 0);
	imap_seqset_resolve(&set, 6);
	assert_true(imap_seqset_contains(&set, 1));
	assert_false(imap_seqset_contains(&set, 2));
	assert_true(imap_seqset_contains(&set, 5));
	assert_true(imap_seqset_contains(&set, 6));
	assert_false(imap_seqset_contains(&set, 7));
	assert_true(imap_seqset_contains(&set, 11));
	assert_false(imap_seqset_contains(&set, 13));
	imap_seqset_free(&set);
}

static void test_seqset_format(void **state)
{
	uint32_t nums[] = { 1, 2, 3, 5, 7, 8, 100 };
	char *s = imap_seqset_format(nums, 7);

	assert_string_equal(s, "1:3,5,7:8,100");
	free(s);
	s = imap_seqset_format(NULL, 0);
	assert_string_equal(s, "");
	free(s);
}

static const struct {
	const char *utf8, *mutf7;
} pairs[] = {
	{ "INBOX", "INBOX" },
	{ "Sent & Received", "Sent &- Received" },
	/* RFC 3501 §5.1.3 example */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },		/* U+1F600: a surrogate pair */
	{ "\xce\xa9\xe2\x82\xac", "&A6kgrA-" },		/* one run for two */
	{ "", "" },
};

static void test_utf7_round_trip(void **state)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *e = imap_utf7_encode(pairs[i].utf8);
		char *d = imap_utf7_decode(pairs[i].mutf7);

		assert_non_null(e);
		assert_non_null(d);
		assert_string_equal(e, pairs[i].mutf7);
		assert_string_equal(d, pairs[i].utf8);
		free(e);
		free(d);
	}
}

static void test_utf7_invalid(void **state)
{
	const char *bad_mutf7[] = {
		"&",			/* unterminated */
		"&U,BTFw",		/* unterminated run */
		"&-&",
		"&AGE-",		/* "a" must not be encoded */
		"&U,BTFw-&ZeVnLIqe-",	/* adjacent runs */
		"&2D0-",		/* high surrogate alone */
		"&3gA-",		/* low surrogate alone */
		"&U,BTFx-",		/* non-zero padding bits */
		"&U/BTFw-",		/* "/" is not modified base64 */
		"a\tb",			/* control */
		"\xc3\xbc",		/* raw 8-bit */
		"&AAk-",		/* encoded control (TAB) */
	};
	const char *bad_utf8[] = { "\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\x01", "\xff" };

	for (size_t i = 0; i < sizeof(bad_mutf7) / sizeof(bad_mutf7[0]); i++) {
		char *d = imap_utf7_decode(bad_mutf7[i]);

		if (d != NULL)
			fail_msg("'%s' decoded to '%s'", bad_mutf7[i], d);
	}
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++)
		assert_null(imap_utf7_encode(bad_utf8[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seqset_valid),
		cmocka_unit_test(test_seqset_invalid),
		cmocka_unit_test(test_seqset_contains),
		cmocka_unit_test(test_seqset_format),
		cmocka_unit_test(test_utf7_round_trip),
		cmocka_unit_test(test_utf7_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
