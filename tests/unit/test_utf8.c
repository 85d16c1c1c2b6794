/*
 * core/utf8.c against RFC 3629: §3's table of well-formed sequences (and
 * nothing else: overlong forms, surrogates, values past U+10FFFF, stray
 * continuation bytes, cut-off characters), and encoding as the inverse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/utf8.h"

static int32_t decode(const char *s, size_t len, size_t *n_r)
{
	return utf8_decode((const unsigned char *)s, len, n_r);
}

static void test_well_formed(void **state)
{
	size_t n;

	(void)state;
	assert_int_equal(decode("A", 1, &n), 0x41);
	assert_int_equal(n, 1);
	assert_int_equal(decode("\xc3\xa9", 2, &n), 0xe9);	/* é */
	assert_int_equal(n, 2);
	assert_int_equal(decode("\xe2\x82\xac", 3, &n), 0x20ac);	/* € */
	assert_int_equal(n, 3);
	assert_int_equal(decode("\xf0\x9f\x98\x80", 4, &n), 0x1f600);
	assert_int_equal(n, 4);
	/* the edges of §4's table */
	assert_int_equal(decode("\xc2\x80", 2, &n), 0x80);
	assert_int_equal(decode("\xe0\xa0\x80", 3, &n), 0x800);
	assert_int_equal(decode("\xed\x9f\xbf", 3, &n), 0xd7ff);
	assert_int_equal(decode("\xee\x80\x80", 3, &n), 0xe000);
	assert_int_equal(decode("\xf0\x90\x80\x80", 4, &n), 0x10000);
	assert_int_equal(decode("\xf4\x8f\xbf\xbf", 4, &n), 0x10ffff);
}

static void test_ill_formed(void **state)
{
	static const char *const bad[] = {
		"\x80", "\xbf",				/* a continuation byte alone */
		"\xc0\x80", "\xc1\xbf",			/* overlong 2-byte */
		"\xe0\x80\x80", "\xe0\x9f\xbf",		/* overlong 3-byte */
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",	/* overlong 4-byte */
		"\xed\xa0\x80", "\xed\xbf\xbf",		/* surrogates */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",	/* past U+10FFFF */
		"\xc3\x41", "\xe2\x82\x41",		/* a continuation missing */
	};
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode(bad[i], strlen(bad[i]), &n), -1);
	/* cut off by the length, even with the rest in memory */
	assert_int_equal(decode("\xe2\x82\xac", 2, &n), -1);
	assert_int_equal(decode("\xf0\x9f\x98\x80", 3, &n), -1);
	assert_int_equal(decode("A", 0, &n), -1);
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
	assert_false(utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 8));
	assert_false(utf8_valid("a\xed\xa0\x80z", 5));
	assert_true(utf8_valid("", 0));
}

static void test_encode_is_the_inverse(void **state)
{
	char out[4];

	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp += cp < 0x1000 ? 1 : 97) {
		size_t len, n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		len = utf8_encode(cp, out);
		assert_int_equal(len, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
		assert_int_equal(utf8_decode((const unsigned char *)out, len, &n), (int32_t)cp);
		assert_int_equal(n, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_ill_formed),
		cmocka_unit_test(test_encode_is_the_inverse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
