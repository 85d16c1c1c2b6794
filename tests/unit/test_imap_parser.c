/* The IMAP command parser: RFC 3501 §9 syntax, RFC 7888 literals, limits,
 * the command so far when a literal is announced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"

static const struct imap_parser_limits limits = {
	.max_command = 1000, .max_literal = 100000, .max_nonsync = 4096,
	.max_depth = 4, .max_args = 20,
};

static struct imap_parser *p;

static int setup(void **state)
{
	p = imap_parser_new(&limits);
	return 0;
}

static int teardown(void **state)
{
	imap_parser_free(&p);
	assert_null(p);
	return 0;
}

static enum imap_parse_result line(const char *text)
{
	return imap_parser_line(p, text, strlen(text));
}

static const struct imap_command *done(const char *text)
{
	enum imap_parse_result r = line(text);

	if (r != IMAP_PARSE_DONE)
		fail_msg("'%s': result %d (%s)", text, r,
			 r == IMAP_PARSE_ERROR ? imap_parser_error(p)->text : "literal");
	return imap_parser_command(p);
}

static const char *error(const char *text)
{
	if (line(text) != IMAP_PARSE_ERROR)
		fail_msg("'%s' was accepted", text);
	return imap_parser_error(p)->text;
}

static void test_simple(void **state)
{
	const struct imap_command *c = done("a1 noop");

	assert_string_equal(c->tag, "a1");
	assert_string_equal(c->name, "NOOP");
	assert_int_equal(c->nargs, 0);

	c = done("A003 LOGIN \"us\\\"er\" \"pa\\\\ss\"");
	assert_int_equal(c->nargs, 2);
	assert_int_equal(c->args[0].type, IMAP_ARG_QUOTED);
	assert_string_equal(c->args[0].str, "us\"er");
	assert_string_equal(c->args[1].str, "pa\\ss");

	c = done("t UID FETCH 1:*,7 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>)");
	assert_string_equal(c->name, "UID");
	assert_int_equal(c->nargs, 3);
	assert_string_equal(c->args[0].str, "FETCH");
	assert_string_equal(c->args[1].str, "1:*,7");
	assert_int_equal(c->args[2].type, IMAP_ARG_LIST);
	assert_int_equal(c->args[2].count, 2);
	assert_string_equal(c->args[2].list[1].str, "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>");

	c = done("x STORE 2 +FLAGS.SILENT (\\Seen \\Deleted $Label1)");
	assert_int_equal(c->args[2].count, 3);
	assert_string_equal(c->args[2].list[0].str, "\\Seen");

	c = done("x LIST \"\" %");
	assert_int_equal(c->args[0].len, 0);
	assert_string_equal(c->args[1].str, "%");

	c = done("x SELECT INBOX ");	/* a trailing space is tolerated */
	assert_int_equal(c->nargs, 1);

	c = done("x SEARCH (OR (FROM a) (TO b)) ()");
	assert_int_equal(c->args[0].count, 3);
	assert_int_equal(c->args[0].list[1].type, IMAP_ARG_LIST);
	assert_int_equal(c->args[1].count, 0);

	c = done("x APPEND box \"\xc3\xbc\"");	/* 8-bit in quoted: UTF8=ACCEPT */
	assert_string_equal(c->args[1].str, "\xc3\xbc");
}

static void test_literals(void **state)
{
	const struct imap_literal_info *li;
	const struct imap_command *c;

	/* RFC 3501 §7.5 style: LOGIN with two synchronising literals */
	assert_int_equal(line("a LOGIN {5}"), IMAP_PARSE_LITERAL);
	li = imap_parser_literal(p);
	assert_int_equal(li->size, 5);
	assert_true(li->sync);
	assert_true(li->fits_inline);
	imap_parser_literal_data(p, "alice", 5);
	assert_int_equal(line(" {6+}"), IMAP_PARSE_LITERAL);
	assert_false(imap_parser_literal(p)->sync);
	imap_parser_literal_data(p, "se\0ret", 6);
	c = done("");
	assert_int_equal(c->nargs, 2);
	assert_int_equal(c->args[0].type, IMAP_ARG_LITERAL);
	assert_string_equal(c->args[0].str, "alice");
	assert_int_equal(c->args[1].len, 6);
	assert_memory_equal(c->args[1].str, "se\0ret", 6);

	/* a literal inside a list, then more of the list */
	assert_int_equal(line("b SEARCH (SUBJECT {3}"), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "a b", 3);
	c = done(" FROM x)");
	assert_int_equal(c->args[0].count, 4);
	assert_string_equal(c->args[0].list[1].str, "a b");

	/* a literal inside a section spec (header-fld-name is an astring,
	 * RFC 3501 §9): joined into the atom as a quoted string */
	assert_int_equal(line("f FETCH 1 (BODY.PEEK[HEADER.FIELDS ({7}"), IMAP_PARSE_LITERAL);
	assert_true(imap_parser_literal(p)->sync);
	imap_parser_literal_data(p, "Sub\"ect", 7);
	assert_int_equal(line(" {2+}"), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "To", 2);
	c = done(" From)]<0.10> FLAGS)");
	assert_int_equal(c->nargs, 2);
	assert_int_equal(c->args[1].count, 2);
	assert_int_equal(c->args[1].list[0].type, IMAP_ARG_ATOM);
	assert_string_equal(c->args[1].list[0].str,
			    "BODY.PEEK[HEADER.FIELDS (\"Sub\\\"ect\" \"To\" From)]<0.10>");
	assert_string_equal(c->args[1].list[1].str, "FLAGS");
	/* the section must still close; APPEND never takes one */
	assert_int_equal(line("g FETCH 1 BODY[HEADER.FIELDS ({1}"), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "X", 1);
	error(")");
	error("h APPEND INBOX x[{3}");
	/* a field name is printable ASCII, and no bracket */
	assert_int_equal(line("j FETCH 1 BODY[HEADER.FIELDS ({3}"), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "a]b", 3);
	error(")]");
	assert_int_equal(line("k FETCH 1 BODY[HEADER.FIELDS ({3}"), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "a\r\n", 3);
	error(")]");
	/* outside brackets "{" is no atom char: no change there */
	error("i FETCH 1 BODY{3}");

	/* APPEND of a big message: the caller streams it */
	assert_int_equal(line("c APPEND INBOX (\\Seen) ~{50000}"), IMAP_PARSE_LITERAL);
	li = imap_parser_literal(p);
	assert_true(li->literal8);
	assert_false(li->fits_inline);
	assert_string_equal(imap_parser_command_name(p), "APPEND");
	imap_parser_literal_external(p);
	c = done("");
	assert_int_equal(c->args[2].type, IMAP_ARG_LITERAL_EXTERNAL);
	assert_int_equal(c->args[2].len, 50000);

	/* an empty literal */
	assert_int_equal(line("d LOGIN {0}"), IMAP_PARSE_LITERAL);
	imap_parser_literal_data(p, "", 0);
	c = done(" x");
	assert_int_equal(c->args[0].len, 0);
}

/* What APPEND's message literal comes after (imap_append.c needs the
 * mailbox, flags and date before the message streams by). */
static void test_command_so_far(void **state)
{
	const struct imap_command *c;
	unsigned depth;

	assert_int_equal(line("t1 APPEND Drafts (\\Seen $Label) \" 7-Feb-1994 21:52:25 -0800\" {9}"),
			 IMAP_PARSE_LITERAL);
	c = imap_parser_command_so_far(p, &depth);
	assert_int_equal(depth, 0);
	assert_string_equal(c->tag, "t1");
	assert_string_equal(c->name, "APPEND");
	assert_int_equal(c->nargs, 3);
	assert_string_equal(c->args[0].str, "Drafts");
	assert_int_equal(c->args[1].type, IMAP_ARG_LIST);
	assert_int_equal(c->args[1].count, 2);
	assert_string_equal(c->args[1].list[1].str, "$Label");
	assert_int_equal(c->args[2].type, IMAP_ARG_QUOTED);
	imap_parser_literal_external(p);
	c = done("");
	assert_int_equal(c->nargs, 4);
	assert_int_equal(c->args[3].type, IMAP_ARG_LITERAL_EXTERNAL);
	assert_int_equal(c->args[3].len, 9);

	/* the mailbox name as a literal: nothing before it */
	assert_int_equal(line("t2 APPEND {5}"), IMAP_PARSE_LITERAL);
	c = imap_parser_command_so_far(p, &depth);
	assert_int_equal(c->nargs, 0);
	imap_parser_literal_data(p, "INBOX", 5);
	/* a literal inside a list is not at the top level */
	assert_int_equal(line(" (a {3}"), IMAP_PARSE_LITERAL);
	c = imap_parser_command_so_far(p, &depth);
	assert_int_equal(depth, 1);
	assert_int_equal(c->nargs, 1);
	assert_string_equal(c->args[0].str, "INBOX");
	imap_parser_literal_data(p, "xyz", 3);
	c = done(")");
	assert_int_equal(c->nargs, 2);
}

static void test_literal_limits(void **state)
{
	/* Refused before a byte of it is read (issue 3, "Bad input"). */
	assert_string_equal(error("a APPEND box {100001}"), "[TOOBIG] Literal too big");
	assert_false(imap_parser_error(p)->fatal);	/* sync: the client waits */
	assert_true(imap_parser_error(p)->too_big);	/* APPEND answers NO [TOOBIG] */
	assert_string_equal(imap_parser_error(p)->tag, "a");
	error("a APPEND box (");
	assert_false(imap_parser_error(p)->too_big);
	/* non-sync over LITERAL-'s 4096: the bytes come anyway, so close */
	error("a APPEND box {5000+}");
	assert_true(imap_parser_error(p)->fatal);
	/* only APPEND may have a literal beyond the command size */
	assert_string_equal(error("a LOGIN {5000}"), "[TOOBIG] Literal too big");
	error("a LOGIN {99999999999999999999999}");
	error("a LOGIN {}");
	error("a LOGIN {5} x");
	error("a LOGIN {5");
	/* the parser is usable again */
	done("b NOOP");
}

static void test_errors(void **state)
{
	assert_string_equal(error(""), "Missing tag");
	assert_null(imap_parser_error(p)->tag);
	assert_string_equal(error("+ NOOP"), "Missing tag");
	assert_string_equal(error("tag"), "Missing command");
	assert_string_equal(error("tag "), "Missing command");
	assert_string_equal(error("a (NOOP)"), "Missing command");
	error("a NO\"OP");
	assert_string_equal(error("a SELECT (INBOX"), "Missing )");
	assert_string_equal(error("a SELECT INBOX)"), "Unexpected )");
	assert_string_equal(error("a SELECT \"INBOX"), "Missing closing quote");
	error("a SELECT \"a\\nb\"");
	assert_string_equal(error("a SELECT  INBOX"), "Double space");
	assert_string_equal(error("a SELECT \"x\"y"), "Missing space between arguments");
	error("a FETCH 1 BODY[TEXT");
	error("a FETCH 1 BODY[[TEXT]]");
	error("a SELECT IN\x80" "BOX");	/* 8-bit atom */
	error("a SELECT IN\x01" "BOX");
	{
		char nul[] = "a SELECT IN\0BOX";

		assert_int_equal(imap_parser_line(p, nul, sizeof(nul) - 1), IMAP_PARSE_ERROR);
	}
	assert_string_equal(imap_parser_error(p)->tag, "a");
	done("b NOOP");
}

static void test_limits(void **state)
{
	char big[1100];

	assert_string_equal(error("a X (((((1)))))"), "Too deeply nested lists");
	done("a X ((((1))))");
	assert_string_equal(error("a X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"),
			    "Too many arguments");
	assert_string_equal(error("a X (1 2 3 4 5 6 7 8 9) (10 11 12 13 14 15 16 17 18 19)"),
			    "Too many arguments");
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "a X ", 4);
	big[sizeof(big) - 1] = '\0';
	assert_string_equal(error(big), "Command too long");
	/* A bad line ending in a non-sync literal: its octets come anyway and
	 * must not run as commands, so the connection has to go (fatal). */
	assert_string_equal(error("a X (( {3+}"), "Double space");
	assert_true(imap_parser_error(p)->fatal);
	error("a X (( {3}");	/* synchronising: the client waits for "+" */
	assert_false(imap_parser_error(p)->fatal);
	done("b NOOP");
}

/* Random lines and literals: never a crash, a hang or a limit exceeded. */
static void test_random(void **state)
{
	const char alphabet[] = "a1 (){}[]<>\"\\*%+~:.,NIL\x80\x01";
	unsigned seed = 777;

	for (int n = 0; n < 20000; n++) {
		char line[64];
		int len = (int)(rand_r(&seed) % 63);
		enum imap_parse_result r;

		for (int i = 0; i < len; i++)
			line[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		line[len] = '\0';
		r = imap_parser_line(p, line, (size_t)len);
		for (int k = 0; r == IMAP_PARSE_LITERAL && k < 4; k++) {
			const struct imap_literal_info *li = imap_parser_literal(p);

			if (li->fits_inline && li->size < 64) {
				char data[64] = { 0 };

				imap_parser_literal_data(p, data, (size_t)li->size);
			} else {
				imap_parser_literal_external(p);
			}
			r = imap_parser_line(p, ")", 1);
		}
		if (r == IMAP_PARSE_LITERAL)
			imap_parser_reset(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_simple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_so_far, setup, teardown),
		cmocka_unit_test_setup_teardown(test_literal_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
