/*
 * SEARCH arguments to key trees (RFC 3501 §6.4.4, §9 search-key): every
 * key, implicit AND, parenthesized lists, OR/NOT nesting, CHARSET, dates
 * (§9 date-text), and every kind of bad input.  Arguments come from the
 * real command parser, so what is tested is what a client can send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"

static const struct imap_parser_limits limits = {
	.max_command = 1 << 20, .max_literal = 1 << 20, .max_nonsync = 4096,
	.max_depth = 32, .max_args = 100000,
};

/* Parses "t SEARCH <args>" and returns the dump, or "BAD: text" or
 * "BADCHARSET". */
static char *parse_args(const struct imap_command *cmd)
{
	struct search_key *key = (struct search_key *)1;
	char err[128] = "";
	struct buf b;
	char *out;

	buf_init(&b, 1 << 20);
	switch (imap_search_parse(cmd->args, cmd->nargs, &key, err, sizeof(err))) {
	case IMAP_SEARCH_OK:
		assert_non_null(key);
		imap_search_key_dump(&b, key);
		imap_search_key_free(&key);
		assert_null(key);
		break;
	case IMAP_SEARCH_BAD:
		assert_null(key);
		assert_true(err[0] != '\0');
		buf_printf(&b, "BAD: %s", err);
		break;
	case IMAP_SEARCH_BADCHARSET:
		assert_null(key);
		buf_printf(&b, "BADCHARSET");
		break;
	}
	out = malloc(buf_len(&b) + 1);		/* a literal may hold a NUL */
	memcpy(out, buf_ptr(&b), buf_len(&b) + 1);
	buf_free(&b);
	return out;
}

static char *parse(const char *args)
{
	struct imap_parser *p = imap_parser_new(&limits);
	char *line = NULL, *out;

	assert_true(asprintf(&line, "t SEARCH %s", args) > 0);
	if (imap_parser_line(p, line, strlen(line)) != IMAP_PARSE_DONE)
		fail_msg("command parser refused '%s'", line);
	out = parse_args(imap_parser_command(p));
	free(line);
	imap_parser_free(&p);
	return out;
}

#define assert_parse(args, want) do { \
		char *got_ = parse(args); \
		if (strcmp(got_, want) != 0) \
			fail_msg("SEARCH %s\n  got  %s\n  want %s", args, got_, want); \
		free(got_); \
	} while (0)

static void test_flag_keys(void **state)
{
	assert_parse("ALL", "(ALL)");
	assert_parse("ANSWERED", "(FLAGS(+ANSWERED))");
	assert_parse("DELETED", "(FLAGS(+DELETED))");
	assert_parse("DRAFT", "(FLAGS(+DRAFT))");
	assert_parse("FLAGGED", "(FLAGS(+FLAGGED))");
	assert_parse("RECENT", "(FLAGS(+RECENT))");
	assert_parse("SEEN", "(FLAGS(+SEEN))");
	assert_parse("UNANSWERED", "(FLAGS(-ANSWERED))");
	assert_parse("UNDELETED", "(FLAGS(-DELETED))");
	assert_parse("UNDRAFT", "(FLAGS(-DRAFT))");
	assert_parse("UNFLAGGED", "(FLAGS(-FLAGGED))");
	assert_parse("UNSEEN", "(FLAGS(-SEEN))");
	/* "NEW ... is functionally equivalent to (RECENT UNSEEN)" */
	assert_parse("NEW", "(FLAGS(-SEEN +RECENT))");
	/* OLD is NOT RECENT, not NOT NEW */
	assert_parse("OLD", "(FLAGS(-RECENT))");
	/* keywords (flag-keyword = atom); UNKEYWORD is NOT KEYWORD */
	assert_parse("KEYWORD $Forwarded", "(KEYWORD($Forwarded))");
	assert_parse("UNKEYWORD foo", "(NOT(KEYWORD(foo)))");
	/* key names are case-insensitive */
	assert_parse("seen unSeen aLL", "(FLAGS(+SEEN) FLAGS(-SEEN) ALL)");
}

static void test_string_keys(void **state)
{
	assert_parse("FROM smith", "(HEADER(From \"smith\"))");
	assert_parse("TO \"a b\"", "(HEADER(To \"a b\"))");
	assert_parse("CC x", "(HEADER(Cc \"x\"))");
	assert_parse("BCC x", "(HEADER(Bcc \"x\"))");
	assert_parse("SUBJECT \"quoted \\\"q\\\" \\\\\"", "(HEADER(Subject \"quoted \\\"q\\\" \\\\\"))");
	assert_parse("BODY hello", "(BODY \"hello\")");
	assert_parse("TEXT hello", "(TEXT \"hello\")");
	assert_parse("HEADER X-Mailer mutt", "(HEADER(X-Mailer \"mutt\"))");
	assert_parse("HEADER \"List-Id\" \"\"", "(HEADER(List-Id \"\"))");
	/* an empty string is in every body; SUBJECT "" and HEADER need the
	 * field (a message without Subject has nothing to contain it; as
	 * Dovecot, tests/peer) */
	assert_parse("SUBJECT \"\"", "(HEADER(Subject \"\"))");
	assert_parse("BODY \"\" TEXT \"\"", "(ALL ALL)");
	/* an atom is an astring too, NIL included */
	assert_parse("SUBJECT NIL", "(HEADER(Subject \"NIL\"))");
	/* UTF-8 in a quoted string */
	assert_parse("CHARSET UTF-8 SUBJECT \"Gr\xc3\xbc\xc3\x9f" "e\"",
		     "(HEADER(Subject \"Gr\xc3\xbc\xc3\x9f" "e\"))");
}

static void test_literal(void **state)
{
	struct imap_parser *p = imap_parser_new(&limits);
	static const char subject[] = "K\xc3\xb6ln \"x\"";
	char *out;

	assert_int_equal(imap_parser_line(p, "t SEARCH CHARSET UTF-8 SUBJECT {9}", 34),
			 IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, subject, sizeof(subject) - 1);
	assert_int_equal(imap_parser_line(p, " BODY {3+}", 10), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "a\0b", 3);
	assert_int_equal(imap_parser_line(p, "", 0), IMAP_PARSE_DONE);
	out = parse_args(imap_parser_command(p));
	/* a NUL in a literal is part of the string */
	assert_memory_equal(out, "(HEADER(Subject \"K\xc3\xb6ln \\\"x\\\"\") BODY \"a\0b\")", 43);
	free(out);
	imap_parser_free(&p);
}

static void test_other_keys(void **state)
{
	assert_parse("LARGER 1000", "(LARGER 1000)");
	assert_parse("SMALLER 0", "(SMALLER 0)");
	assert_parse("LARGER 4294967295", "(LARGER 4294967295)");
	assert_parse("UID 1:*", "(UID(1:*))");
	assert_parse("UID 5,3:4,*", "(UID(5,3:4,*))");
	assert_parse("1:3,7", "(SEQ(1:3,7))");
	assert_parse("*", "(SEQ(*))");
	assert_parse("2:4 UID 443:557", "(SEQ(2:4) UID(443:557))");
	/* §9 date: date-text or quoted; 1 or 2 day digits; any case month */
	assert_parse("BEFORE 1-Feb-1994", "(BEFORE 19940201)");
	assert_parse("ON \"01-feb-1994\"", "(ON 19940201)");
	assert_parse("SINCE 31-DEC-2025", "(SINCE 20251231)");
	assert_parse("SENTBEFORE 29-Feb-2024", "(SENTBEFORE 20240229)");
	assert_parse("SENTON 29-Feb-2000", "(SENTON 20000229)");
	assert_parse("SENTSINCE 9-Sep-1999", "(SENTSINCE 19990909)");
}

static void test_nesting(void **state)
{
	/* §6.4.4 example: implicit AND */
	assert_parse("DELETED FROM \"SMITH\" SINCE 1-Feb-1994",
		     "(FLAGS(+DELETED) HEADER(From \"SMITH\") SINCE 19940201)");
	assert_parse("OR SEEN FLAGGED", "(OR(FLAGS(+SEEN) FLAGS(+FLAGGED)))");
	assert_parse("NOT SEEN", "(NOT(FLAGS(+SEEN)))");
	assert_parse("NOT NOT SEEN", "(NOT(NOT(FLAGS(+SEEN))))");
	assert_parse("OR (SEEN FLAGGED) NOT (DELETED)",
		     "(OR((FLAGS(+SEEN) FLAGS(+FLAGGED)) NOT((FLAGS(+DELETED)))))");
	assert_parse("OR OR SEEN DRAFT UID 4", "(OR(OR(FLAGS(+SEEN) FLAGS(+DRAFT)) UID(4)))");
	assert_parse("(((ALL)))", "((((ALL))))");
	assert_parse("NOT OR FROM a TO b SUBJECT c",
		     "(NOT(OR(HEADER(From \"a\") HEADER(To \"b\"))) HEADER(Subject \"c\"))");
	assert_parse("(1:2 (3)) UNSEEN", "((SEQ(1:2) (SEQ(3))) FLAGS(-SEEN))");
}

static void test_charset(void **state)
{
	assert_parse("CHARSET UTF-8 ALL", "(ALL)");
	assert_parse("charset us-ascii SEEN", "(FLAGS(+SEEN))");
	assert_parse("CHARSET \"utf-8\" SEEN", "(FLAGS(+SEEN))");
	/* §6.4.4: an unsupported charset is NO [BADCHARSET], not BAD */
	assert_parse("CHARSET ISO-8859-1 SEEN", "BADCHARSET");
	assert_parse("CHARSET KOI8-R TEXT x", "BADCHARSET");
	assert_parse("CHARSET", "BAD: CHARSET needs a charset name.");
	assert_parse("CHARSET UTF-8", "BAD: Missing search keys.");
	assert_parse("CHARSET (UTF-8) ALL", "BAD: CHARSET needs a charset name.");
	/* only first: elsewhere it is no key */
	assert_parse("ALL CHARSET UTF-8", "BAD: Unknown search key.");
}

static void test_bad(void **state)
{
	assert_parse("FROBNICATE", "BAD: Unknown search key.");
	assert_parse("SEEN BOGUS", "BAD: Unknown search key.");
	assert_parse("\"SEEN\"", "BAD: Search key expected, not a string.");
	assert_parse("()", "BAD: Empty list of search keys.");
	/* missing arguments */
	assert_parse("FROM", "BAD: FROM needs a string.");
	assert_parse("SUBJECT (x)", "BAD: SUBJECT needs a string.");
	assert_parse("HEADER", "BAD: HEADER needs a field name and a string.");
	assert_parse("HEADER Subject", "BAD: HEADER needs a string.");
	assert_parse("HEADER \"\" x", "BAD: Invalid header field name.");
	assert_parse("HEADER \"a:b\" x", "BAD: Invalid header field name.");
	assert_parse("HEADER \"a b\" x", "BAD: Invalid header field name.");
	assert_parse("BEFORE", "BAD: BEFORE needs a date.");
	assert_parse("KEYWORD", "BAD: KEYWORD needs a keyword.");
	assert_parse("UNKEYWORD \"x\"", "BAD: UNKEYWORD needs a keyword.");
	assert_parse("KEYWORD \\Seen", "BAD: KEYWORD needs a keyword.");	/* a flag, no atom */
	assert_parse("KEYWORD a*b", "BAD: KEYWORD needs a keyword.");
	assert_parse("KEYWORD a]", "BAD: KEYWORD needs a keyword.");
	assert_parse("NOT", "BAD: NOT needs a search key.");
	assert_parse("OR SEEN", "BAD: OR needs two search keys.");
	assert_parse("OR", "BAD: OR needs two search keys.");
	assert_parse("(OR SEEN) FLAGGED", "BAD: OR needs two search keys.");
	assert_parse("UID", "BAD: UID needs a sequence set.");
	/* bad dates */
	assert_parse("BEFORE 1994-02-01", "BAD: Invalid date for BEFORE (like 1-Feb-1994).");
	assert_parse("ON 32-Jan-2020", "BAD: Invalid date for ON (like 1-Feb-1994).");
	assert_parse("ON 0-Jan-2020", "BAD: Invalid date for ON (like 1-Feb-1994).");
	assert_parse("ON 29-Feb-2023", "BAD: Invalid date for ON (like 1-Feb-1994).");
	assert_parse("ON 29-Feb-1900", "BAD: Invalid date for ON (like 1-Feb-1994).");
	assert_parse("ON 31-Apr-2020", "BAD: Invalid date for ON (like 1-Feb-1994).");
	assert_parse("SINCE 1-Foo-2020", "BAD: Invalid date for SINCE (like 1-Feb-1994).");
	assert_parse("SINCE 1-Feb-94", "BAD: Invalid date for SINCE (like 1-Feb-1994).");
	assert_parse("SINCE 001-Feb-1994", "BAD: Invalid date for SINCE (like 1-Feb-1994).");
	assert_parse("SINCE 1-Feb-1994x", "BAD: Invalid date for SINCE (like 1-Feb-1994).");
	assert_parse("SENTON \"1-Feb-1994 \"", "BAD: Invalid date for SENTON (like 1-Feb-1994).");
	/* bad numbers */
	assert_parse("LARGER", "BAD: LARGER needs a number.");
	assert_parse("LARGER -1", "BAD: LARGER needs a number.");
	assert_parse("LARGER 1k", "BAD: LARGER needs a number.");
	assert_parse("SMALLER \"10\"", "BAD: SMALLER needs a number.");
	assert_parse("LARGER 4294967296", "BAD: Number out of range for LARGER.");
	assert_parse("SMALLER 99999999999", "BAD: SMALLER needs a number.");
	/* bad sets */
	assert_parse("0", "BAD: Invalid sequence number 0.");
	assert_parse("1:x", "BAD: Invalid sequence set.");
	assert_parse("1,,2", "BAD: Invalid sequence set.");
	assert_parse("UID 4294967296", "BAD: Sequence number out of range.");
	assert_parse("UID \"1:2\"", "BAD: UID needs a sequence set.");
	assert_parse("UID (1)", "BAD: UID needs a sequence set.");
}

static void test_depth(void **state)
{
	char args[8192];
	size_t n = 0;

	/* NOT needs no parentheses to nest: the limit counts it too */
	for (int i = 0; i < IMAP_SEARCH_MAX_DEPTH; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "NOT ");
	snprintf(args + n, sizeof(args) - n, "SEEN");
	char *ok = parse(args);
	assert_true(strncmp(ok, "(NOT(NOT(", 9) == 0);
	free(ok);
	n = 0;
	for (int i = 0; i <= IMAP_SEARCH_MAX_DEPTH; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "NOT ");
	snprintf(args + n, sizeof(args) - n, "SEEN");
	assert_parse(args, "BAD: Search keys nested too deeply.");
	n = 0;
	for (int i = 0; i <= IMAP_SEARCH_MAX_DEPTH; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "OR SEEN ");
	snprintf(args + n, sizeof(args) - n, "SEEN");
	assert_parse(args, "BAD: Search keys nested too deeply.");
	/* lists and NOTs count together: 20 lists (the command parser's own
	 * limit is 32) inside 50 NOTs */
	n = 0;
	for (int i = 0; i < 50; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "NOT ");
	for (int i = 0; i < 20; i++)
		args[n++] = '(';
	n += (size_t)snprintf(args + n, sizeof(args) - n, "SEEN");
	for (int i = 0; i < 20; i++)
		args[n++] = ')';
	args[n] = '\0';
	assert_parse(args, "BAD: Search keys nested too deeply.");

	/* long, flat: no limit but the command's */
	n = 0;
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "SEEN ");
	snprintf(args + n, sizeof(args) - n, "ALL");
	char *flat = parse(args);
	assert_true(strlen(flat) > 1000 * 12);
	free(flat);
}

static void test_dates(void **state)
{
	uint32_t d = 0;

	assert_int_equal(imap_search_parse_date("1-Jan-1970", 10, &d), 0);
	assert_int_equal(d, 19700101);
	assert_int_equal(imap_search_parse_date("17-jul-1996", 11, &d), 0);
	assert_int_equal(d, 19960717);
	assert_int_equal(imap_search_parse_date("29-Feb-2400", 11, &d), 0);
	assert_int_equal(imap_search_parse_date("29-Feb-2100", 11, &d), -1);
	assert_int_equal(imap_search_parse_date("1-Jan-1970", 9, &d), -1);	/* cut */
	assert_int_equal(imap_search_parse_date("", 0, &d), -1);
	assert_int_equal(imap_search_parse_date("-Jan-1970", 9, &d), -1);
	assert_int_equal(imap_search_parse_date("1 Jan 1970", 10, &d), -1);
}

/* Random token soup: every command the command parser takes is either a
 * tree or a BAD from ours, never a crash or a leak (ASan). */
static void test_random(void **state)
{
	static const char *const tokens[] = {
		"ALL", "SEEN", "NOT", "OR", "(", ")", "FROM", "\"x\"", "HEADER", "Subject",
		"\"\"", "1:*", "*", "0", "UID", "BEFORE", "1-Feb-1994", "32-Feb-1994", "LARGER",
		"123", "-5", "CHARSET", "UTF-8", "KOI8-R", "KEYWORD", "$x", "TEXT", "BODY", "NIL",
		"{3+}\r\nabc", "SENTON", "\"5-may-2020\"", "UNKEYWORD", "NEW", "x", "()",
	};
	unsigned seed = 3501, done = 0, ok = 0;
	struct imap_parser *p = imap_parser_new(&limits);

	for (int round = 0; round < 20000; round++) {
		char line[2048] = "t SEARCH";
		int n = 1 + rand_r(&seed) % 12;
		bool literal = false;

		for (int i = 0; i < n && !literal; i++) {
			const char *t = tokens[rand_r(&seed) % (sizeof(tokens) / sizeof(tokens[0]))];

			strcat(line, " ");
			strcat(line, t);
			literal = strchr(t, '{') != NULL;
		}
		char *lf = strchr(line, '\r');
		enum imap_parse_result r;

		if (lf != NULL) {
			/* "{3+}" CRLF "abc": a literal, then the line goes on */
			*lf = '\0';
			r = imap_parser_line(p, line, strlen(line));
			if (r != IMAP_PARSE_LITERAL)
				continue;
			imap_parser_literal_data(p, "abc", 3);
			r = imap_parser_line(p, "", 0);
		} else {
			r = imap_parser_line(p, line, strlen(line));
		}
		if (r != IMAP_PARSE_DONE)
			continue;
		char *out = parse_args(imap_parser_command(p));

		done++;
		ok += out[0] == '(';
		assert_true(out[0] == '(' || strncmp(out, "BAD: ", 5) == 0 ||
			    strcmp(out, "BADCHARSET") == 0);
		free(out);
	}
	imap_parser_free(&p);
	/* the soup reaches the search parser, and some of it is good */
	assert_true(done > 5000);
	assert_true(ok > 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_keys),
		cmocka_unit_test(test_string_keys),
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_other_keys),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
