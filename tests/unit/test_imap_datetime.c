/*
 * The IMAP date-time of APPEND (RFC 3501 §9): the RFC's own forms, zones
 * both ways, leap days, the one-digit day clients send, and what is not a
 * date-time.  Expected values are seconds since the epoch, UTC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "imap/imap_datetime.h"

static void test_valid(void **state)
{
	static const struct {
		const char *text;
		long long t;
	} cases[] = {
		{ "17-Jul-1996 02:44:25 -0700", 837596665 },	/* RFC 3501 §6.4.5 */
		{ " 7-Feb-1994 21:52:25 -0800", 760686745 },	/* day-fixed: SP DIGIT */
		{ "07-Feb-1994 21:52:25 -0800", 760686745 },
		{ "7-Feb-1994 21:52:25 -0800", 760686745 },	/* as clients send it */
		{ "01-jan-1970 00:00:00 +0000", 0 },		/* month in any case */
		{ "01-JAN-1970 01:00:00 +0100", 0 },
		{ "29-Feb-2024 12:00:00 +0000", 1709208000 },	/* a leap day */
		{ "29-Feb-2000 00:00:00 +0000", 951782400 },	/* 400-year rule */
		{ "31-Dec-2099 23:59:59 -2359", 4102531139LL },
		{ "01-Jan-1969 00:00:00 +0000", -31536000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 1;

		if (imap_datetime_parse(cases[i].text, strlen(cases[i].text), &t) != 0)
			fail_msg("'%s' refused", cases[i].text);
		if ((long long)t != cases[i].t)
			fail_msg("'%s': %lld, not %lld", cases[i].text, (long long)t, cases[i].t);
	}
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 0700",
		"17-Jul-1996 02:44:25 -07000", "17-Jul-1996 02:44:25 -070", "17-Jul-96 02:44:25 -0700",
		"17-Jux-1996 02:44:25 -0700", "32-Jul-1996 02:44:25 -0700", "00-Jul-1996 02:44:25 -0700",
		"29-Feb-1900 00:00:00 +0000", "30-Feb-2024 00:00:00 +0000", "31-Apr-2024 00:00:00 +0000",
		"17-Jul-1996 24:00:00 -0700", "17-Jul-1996 02:60:00 -0700", "17-Jul-1996 02:44:61 -0700",
		"17-Jul-1996 02:44:25 -0760", "17-Jul-1996 02:44:25 -2400", " 17-Jul-1996 02:44:25 -0700",
		"117-Jul-1996 02:44:25 -0700", "17-Jul-1996  02:44:25 -0700", "17 Jul 1996 02:44:25 -0700",
		"17-Jul-1996 2:44:25 -0700", "17-Jul-1996 02:44:25 -0700 ", "17-Jul-1899 02:44:25 -0700",
		"Wed, 17 Jul 1996 02:44:25 -0700",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t;

		if (imap_datetime_parse(bad[i], strlen(bad[i]), &t) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
	/* the length counts, not a NUL */
	time_t t;
	assert_int_equal(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", 25, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
