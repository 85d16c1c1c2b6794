/* LIST patterns (RFC 3501 §6.3.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imap/imap_match.h"

static void test_match(void **state)
{
	const struct {
		const char *pattern, *name;
		bool want;
	} cases[] = {
		{ "*", "INBOX", true },
		{ "*", "a/b/c", true },
		{ "%", "a", true },
		{ "%", "a/b", false },
		{ "a/%", "a/b", true },
		{ "a/%", "a/b/c", false },
		{ "a/*", "a/b/c", true },
		{ "a/*", "a", false },
		{ "a*", "a", true },
		{ "a*", "ab/c", true },
		{ "a%", "ab", true },
		{ "a%", "ab/c", false },
		{ "%/%", "a/b", true },
		{ "inbox", "INBOX", true },	/* RFC 3501 §5.1 */
		{ "Inbox/%", "INBOX/x", true },
		{ "Sent", "sent", false },	/* other names are case-sensitive */
		{ "", "", true },
		{ "*b", "a/b", true },
		{ "%b", "a/b", false },
		{ "Entw&APw-rfe", "Entw&APw-rfe", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (imap_match(cases[i].pattern, cases[i].name) != cases[i].want)
			fail_msg("'%s' vs '%s': expected %d", cases[i].pattern, cases[i].name,
				 cases[i].want);
	}
}

static void test_prefix(void **state)
{
	/* "a/%" can match children of "a", not of "b" */
	assert_true(imap_match_prefix("a/%", "a"));
	assert_false(imap_match_prefix("a/%", "b"));
	assert_true(imap_match_prefix("%/x", "q"));
	assert_true(imap_match_prefix("*", "q"));
	assert_false(imap_match_prefix("%", "q"));	/* only one level */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
