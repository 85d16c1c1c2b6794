/*
 * FETCH data items (RFC 3501 §6.4.5, §9 fetch-att / section / partial):
 * every item, the three macros, sections with part paths, HEADER.FIELDS
 * lists with atoms and quoted names, partials, duplicates, UID FETCH's
 * implicit UID (§6.4.8), and the bad input that must be a BAD.
 *
 * The arguments come from the real command parser, so the section specs
 * reach imap_fetch_items_parse() exactly as a client's line makes them.
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
#include "imap/imap_fetch.h"
#include "imap/imap_parser.h"

static const struct imap_parser_limits limits = {
	.max_command = 65536, .max_literal = 65536, .max_nonsync = 4096,
	.max_depth = 8, .max_args = 1000,
};

/* "a FETCH 1 <items>" through the parser; the item argument. */
static const struct imap_arg *items_arg(struct imap_parser *p, const char *items)
{
	char line[4096];
	const struct imap_command *cmd;

	snprintf(line, sizeof(line), "a FETCH 1 %s", items);
	if (imap_parser_line(p, line, strlen(line)) != IMAP_PARSE_DONE)
		fail_msg("parser refused '%s': %s", line, imap_parser_error(p)->text);
	cmd = imap_parser_command(p);
	assert_int_equal(cmd->nargs, 2);
	return &cmd->args[1];
}

/* Items as one line: "UID FLAGS BODY[1]<0.10>!" (! after a peek). */
static char *describe(const struct fetch_items *items)
{
	static const char *const names[] = {
		[FETCH_UID] = "UID", [FETCH_FLAGS] = "FLAGS", [FETCH_INTERNALDATE] = "INTERNALDATE",
		[FETCH_RFC822_SIZE] = "RFC822.SIZE", [FETCH_ENVELOPE] = "ENVELOPE",
		[FETCH_BODY] = "BODY", [FETCH_BODYSTRUCTURE] = "BODYSTRUCTURE",
	};
	struct buf b;
	char *out;

	buf_init(&b, 1 << 16);
	for (unsigned i = 0; i < items->count; i++) {
		const struct fetch_item *it = &items->items[i];

		if (i > 0)
			buf_append(&b, " ", 1);
		if (it->att != FETCH_SECTION) {
			buf_printf(&b, "%s", names[it->att]);
			continue;
		}
		buf_printf(&b, "%s", it->name);
		if (it->partial)
			buf_printf(&b, "<%u.%u>", it->origin, it->count);
		if (it->peek)
			buf_append(&b, "!", 1);
	}
	out = strdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}

static void check(const char *items_text, bool uid, const char *want)
{
	struct imap_parser *p = imap_parser_new(&limits);
	struct fetch_items items;
	const char *err = NULL;
	char *got;

	if (imap_fetch_items_parse(items_arg(p, items_text), uid, &items, &err) < 0)
		fail_msg("'%s' refused: %s", items_text, err);
	got = describe(&items);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': got '%s', want '%s'", items_text, got, want);
	free(got);
	imap_fetch_items_free(&items);
	imap_parser_free(&p);
}

static void check_bad(const char *items_text)
{
	struct imap_parser *p = imap_parser_new(&limits);
	struct fetch_items items;
	const char *err = NULL;

	if (imap_fetch_items_parse(items_arg(p, items_text), false, &items, &err) == 0) {
		char *got = describe(&items);

		fail_msg("'%s' accepted as '%s'", items_text, got);
	}
	assert_non_null(err);
	assert_true(strlen(err) > 5);	/* a text a person can act on */
	imap_parser_free(&p);
}

static struct fetch_items parse_ok(const char *items_text, bool uid)
{
	struct imap_parser *p = imap_parser_new(&limits);
	struct fetch_items items;
	const char *err = NULL;

	if (imap_fetch_items_parse(items_arg(p, items_text), uid, &items, &err) < 0)
		fail_msg("'%s' refused: %s", items_text, err);
	imap_parser_free(&p);	/* items own their strings */
	return items;
}

static void test_simple_items(void **state)
{
	check("UID", false, "UID");
	check("flags", false, "FLAGS");			/* case-insensitive */
	check("INTERNALDATE", false, "INTERNALDATE");
	check("RFC822.SIZE", false, "RFC822.SIZE");
	check("ENVELOPE", false, "ENVELOPE");
	check("BODY", false, "BODY");
	check("BodyStructure", false, "BODYSTRUCTURE");
	check("(UID FLAGS)", false, "UID FLAGS");
	check("(FLAGS UID ENVELOPE)", false, "FLAGS UID ENVELOPE");	/* order kept */
}

static void test_macros(void **state)
{
	/* §6.4.5 */
	check("ALL", false, "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
	check("fast", false, "FLAGS INTERNALDATE RFC822.SIZE");
	check("FULL", false, "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");
	/* "A macro must be used by itself" */
	check_bad("(ALL)");
	check_bad("(FLAGS FAST)");
	check_bad("(FULL UID)");
}

static void test_rfc822_items(void **state)
{
	/* §6.4.5: RFC822 = BODY[], RFC822.HEADER = BODY.PEEK[HEADER],
	 * RFC822.TEXT = BODY[TEXT], each under its own name */
	check("RFC822", false, "RFC822");
	check("RFC822.HEADER", false, "RFC822.HEADER!");
	check("rfc822.text", false, "RFC822.TEXT");

	struct fetch_items items = parse_ok("(RFC822.HEADER RFC822.TEXT)", false);

	assert_int_equal(items.items[0].section.text, FETCH_TEXT_HEADER);
	assert_int_equal(items.items[1].section.text, FETCH_TEXT_TEXT);
	assert_true(items.set_seen);			/* RFC822.TEXT sets \Seen */
	imap_fetch_items_free(&items);
	items = parse_ok("RFC822.HEADER", false);
	assert_false(items.set_seen);
	imap_fetch_items_free(&items);
}

static void test_sections(void **state)
{
	check("BODY[]", false, "BODY[]");
	check("body.peek[]", false, "BODY[]!");
	check("BODY[HEADER]", false, "BODY[HEADER]");
	check("BODY[TEXT]", false, "BODY[TEXT]");
	check("BODY[1]", false, "BODY[1]");
	check("BODY[1.2.3]", false, "BODY[1.2.3]");
	check("BODY[4.2.HEADER]", false, "BODY[4.2.HEADER]");
	check("BODY[3.text]", false, "BODY[3.TEXT]");
	check("BODY[4.1.MIME]", false, "BODY[4.1.MIME]");
	check("BODY[4294967295]", false, "BODY[4294967295]");
	/* the RFC 3501 §6.4.5 example */
	check("(FLAGS BODY[HEADER.FIELDS (DATE FROM)])", false,
	      "FLAGS BODY[HEADER.FIELDS (DATE FROM)]");
	/* names as the client wrote them; quoted ones as atoms when they can be */
	check("BODY.PEEK[HEADER.FIELDS (From \"To\" x-Mailer)]", false,
	      "BODY[HEADER.FIELDS (From To x-Mailer)]!");
	check("BODY[header.fields.not (Received)]", false, "BODY[HEADER.FIELDS.NOT (Received)]");
	check("BODY[2.HEADER.FIELDS (Subject)]", false, "BODY[2.HEADER.FIELDS (Subject)]");
	check("BODY[HEADER.FIELDS (\"X*Odd\")]", false, "BODY[HEADER.FIELDS (\"X*Odd\")]");
	check("BODY[HEADER.FIELDS (a  b)]", false, "BODY[HEADER.FIELDS (a b)]");

	struct fetch_items items = parse_ok("BODY[1.22.333.HEADER.FIELDS.NOT (A B)]", false);
	const struct fetch_section *sec = &items.items[0].section;

	assert_int_equal(sec->depth, 3);
	assert_int_equal(sec->path[0], 1);
	assert_int_equal(sec->path[1], 22);
	assert_int_equal(sec->path[2], 333);
	assert_int_equal(sec->text, FETCH_TEXT_FIELDS_NOT);
	assert_int_equal(sec->nfields, 2);
	assert_string_equal(sec->fields[0], "A");
	assert_string_equal(sec->fields[1], "B");
	imap_fetch_items_free(&items);
}

static void test_partial(void **state)
{
	check("BODY[]<0.2048>", false, "BODY[]<0.2048>");
	check("BODY.PEEK[TEXT]<100.1>", false, "BODY[TEXT]<100.1>!");
	check("BODY[1]<4294967295.4294967295>", false, "BODY[1]<4294967295.4294967295>");
	check("BODY[]<007.10>", false, "BODY[]<7.10>");	/* number = 1*DIGIT */
	/* "<" number "." nz-number ">" */
	check_bad("BODY[]<0.0>");
	check_bad("BODY[]<5>");
	check_bad("BODY[]<1.>");
	check_bad("BODY[]<.5>");
	check_bad("BODY[]<1.2");
	check_bad("BODY[]<1.2>x");
	check_bad("BODY[]<-1.2>");
	check_bad("BODY[]<4294967296.1>");
	check_bad("BODY[]<0.4294967296>");
	check_bad("BODY[]<0.01>");		/* nz-number has no leading zero */
	check_bad("RFC822<0.10>");		/* only BODY[...] takes a partial */
}

static void test_flags_needed(void **state)
{
	struct fetch_items items = parse_ok("(FLAGS UID RFC822.SIZE INTERNALDATE)", false);

	/* metadata only: no file is opened, nothing parsed */
	assert_false(items.need_structure);
	assert_false(items.need_header);
	assert_false(items.need_content);
	assert_false(items.set_seen);
	imap_fetch_items_free(&items);

	items = parse_ok("BODY[]", false);
	assert_false(items.need_structure);		/* the whole file, no tree */
	assert_true(items.need_content);
	assert_true(items.set_seen);
	imap_fetch_items_free(&items);

	/* the top-level header and text: only the header is read */
	items = parse_ok("(BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (A)] RFC822.TEXT)", false);
	assert_false(items.need_structure);
	assert_true(items.need_header);
	assert_true(items.need_content);
	assert_true(items.set_seen);
	imap_fetch_items_free(&items);

	items = parse_ok("BODY.PEEK[1]", false);
	assert_true(items.need_structure);		/* parts need the tree */
	assert_false(items.need_header);
	assert_false(items.set_seen);
	imap_fetch_items_free(&items);

	items = parse_ok("BODY.PEEK[2.HEADER]", false);
	assert_true(items.need_structure);
	imap_fetch_items_free(&items);

	items = parse_ok("ENVELOPE", false);
	assert_true(items.need_structure);
	assert_false(items.need_content);
	imap_fetch_items_free(&items);

	items = parse_ok("BODYSTRUCTURE", false);
	assert_true(items.need_structure);
	assert_true((items.atts & (1u << FETCH_BODYSTRUCTURE)) != 0);
	assert_false((items.atts & (1u << FETCH_FLAGS)) != 0);
	imap_fetch_items_free(&items);
}

static void test_uid_fetch(void **state)
{
	/* §6.4.8: UID FETCH always answers with UID */
	check("FLAGS", true, "UID FLAGS");
	check("(FLAGS UID)", true, "UID FLAGS");
	check("UID", true, "UID");
	check("FAST", true, "UID FLAGS INTERNALDATE RFC822.SIZE");
}

static void test_duplicates(void **state)
{
	check("(FLAGS FLAGS UID flags)", false, "FLAGS UID");
	/* one response name: one item; a non-peek one sets \Seen */
	check("(BODY.PEEK[] BODY[])", false, "BODY[]");
	check("(BODY.PEEK[1] BODY.PEEK[1])", false, "BODY[1]!");
	check("(BODY[1]<0.10> BODY[1]<10.10> BODY[1])", false,
	      "BODY[1]<0.10> BODY[1]<10.10> BODY[1]");
	check("(RFC822 BODY[])", false, "RFC822 BODY[]");
}

/* A list of n distinct items, BODY[1] ... BODY[n], parsed. */
static int parse_many(unsigned n, struct fetch_items *items, const char **err)
{
	struct imap_arg *list = calloc(n, sizeof(*list));
	struct imap_arg arg = { .type = IMAP_ARG_LIST, .list = list, .count = n };
	int r;

	for (unsigned i = 0; i < n; i++) {
		char *s = malloc(32);

		snprintf(s, 32, "BODY[%u]", i + 1);
		list[i].type = IMAP_ARG_ATOM;
		list[i].str = s;
		list[i].len = strlen(s);
	}
	r = imap_fetch_items_parse(&arg, false, items, err);
	for (unsigned i = 0; i < n; i++)
		free((char *)list[i].str);
	free(list);
	return r;
}

/* Each item is checked against those before it for a duplicate: a list
 * is capped, so a command of 80,000 items (10 s of the loop's time) is a
 * BAD at once (found reviewing what fuzz_imap_fetch_items drives). */
static void test_item_limit(void **state)
{
	struct fetch_items items;
	const char *err = NULL;

	assert_int_equal(parse_many(FETCH_MAX_ITEMS, &items, &err), 0);
	assert_int_equal(items.count, FETCH_MAX_ITEMS);
	imap_fetch_items_free(&items);
	assert_int_equal(parse_many(FETCH_MAX_ITEMS + 1, &items, &err), -1);
	assert_string_equal(err, "Too many FETCH items");
	assert_int_equal(parse_many(80000, &items, &err), -1);
}

static void test_bad_items(void **state)
{
	check_bad("FOO");
	check_bad("(FLAGS FOO)");
	check_bad("()");
	check_bad("(FLAGS (UID))");
	check_bad("\"FLAGS\"");
	check_bad("BODY.PEEK");
	check_bad("BODYPEEK[]");
	check_bad("BINARY[]");		/* not advertised */
	check_bad("RFC822.FOO");
	check_bad("UID2");
}

static void test_bad_sections(void **state)
{
	check_bad("BODY[0]");
	check_bad("BODY[1.0]");
	check_bad("BODY[01]");
	check_bad("BODY[1.]");
	check_bad("BODY[.1]");
	check_bad("BODY[1..2]");
	check_bad("BODY[4294967296]");
	check_bad("BODY[MIME]");		/* §6.4.5: MIME needs part numbers */
	check_bad("BODY[HEADERS]");
	check_bad("BODY[1HEADER]");
	check_bad("BODY[HEADER.TEXT]");
	check_bad("BODY[TEXT.1]");
	check_bad("BODY[1.MIME.HEADER]");
	check_bad("BODY[HEADER.FIELDS]");
	check_bad("BODY[HEADER.FIELDS ()]");
	check_bad("BODY[HEADER.FIELDS (A]");
	check_bad("BODY[HEADER.FIELDS A]");
	check_bad("BODY[HEADER.FIELDS (A:B)]");	/* no colon in a field name */
	check_bad("BODY[HEADER.FIELDS (\"\")]");
	check_bad("BODY[HEADER.FIELDS (\"A B\")]");
	check_bad("BODY[HEADER.FIELDS (\"A)]");
	check_bad("BODY[HEADER.FIELDS (A)x]");
	check_bad("BODY[HEADER.FIELDS.NOT(A)]");
	check_bad("BODY[TEXT]x");
	check_bad("BODY[1]]");

	/* deeper than any message nests */
	char deep[512] = "BODY[1";

	for (int i = 0; i < FETCH_MAX_PATH; i++)
		strcat(deep, ".1");
	strcat(deep, "]");
	check_bad(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_items),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_rfc822_items),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_flags_needed),
		cmocka_unit_test(test_uid_fetch),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_item_limit),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_bad_sections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
