/* POP3 command-line parsing and RETR/TOP byte-stuffing (RFC 1939 §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_dotstuff.h"
#include "pop3/pop3_parser.h"

static enum pop3_parse_error parse(const char *text, char *buf, struct pop3_cmdline *cmd)
{
	strcpy(buf, text);
	return pop3_parse_line(buf, strlen(buf), cmd);
}

static void test_keywords(void **state)
{
	struct pop3_cmdline cmd;
	char buf[256];

	assert_int_equal(parse("stat", buf, &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.keyword, "STAT");
	assert_int_equal(cmd.nargs, 0);
	assert_int_equal(parse("Top 1 10", buf, &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.keyword, "TOP");
	assert_int_equal(cmd.nargs, 2);
	assert_string_equal(cmd.args[0], "1");
	assert_string_equal(cmd.args[1], "10");
	assert_int_equal(parse("", buf, &cmd), POP3_PARSE_EMPTY);
	assert_int_equal(parse("ST", buf, &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("STATS", buf, &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("ST\x01T", buf, &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse(" STAT", buf, &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("LIST 1 2 3 4 5", buf, &cmd), POP3_PARSE_OK);
	assert_true(cmd.too_many_args);
	assert_int_equal(parse("LIST 1 2 3 4", buf, &cmd), POP3_PARSE_OK);
	assert_false(cmd.too_many_args);
}

static void test_embedded_nul(void **state)
{
	struct pop3_cmdline cmd;
	char buf[] = "DELE\0 1";

	assert_int_equal(pop3_parse_line(buf, sizeof(buf) - 1, &cmd), POP3_PARSE_BAD_KEYWORD);
}

static void test_pass_keeps_spaces(void **state)
{
	struct pop3_cmdline cmd;
	char buf[256];

	/* RFC 1939 §7: the password may contain spaces. */
	assert_int_equal(parse("PASS  my secret  pw", buf, &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 3);
	assert_string_equal(pop3_cmdline_rest(&cmd), " my secret  pw");
	assert_int_equal(parse("PASS a b c d e f", buf, &cmd), POP3_PARSE_OK);
	assert_string_equal(pop3_cmdline_rest(&cmd), "a b c d e f");
}

static void test_numbers(void **state)
{
	unsigned long n;

	assert_int_equal(pop3_parse_number("1", 10, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pop3_parse_number("0010", 10, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(pop3_parse_number("11", 10, &n), -1);
	assert_int_equal(pop3_parse_number("-1", 10, &n), -1);
	assert_int_equal(pop3_parse_number("+1", 10, &n), -1);
	assert_int_equal(pop3_parse_number("1x", 10, &n), -1);
	assert_int_equal(pop3_parse_number("", 10, &n), -1);
	assert_int_equal(pop3_parse_number("99999999999999999999999", (unsigned long)-1, &n), -1);
	assert_int_equal(pop3_parse_number("4294967296", 4294967295UL, &n), -1);
	assert_int_equal(pop3_parse_number("4294967295", 4294967295UL, &n), 0);
	/* a digit larger than max must not wrap the bound check around */
	assert_int_equal(pop3_parse_number("9", 3, &n), -1);
	assert_int_equal(pop3_parse_number("4", 3, &n), -1);
	assert_int_equal(pop3_parse_number("3", 3, &n), 0);
	assert_int_equal(pop3_parse_number("0", 0, &n), 0);
}

/* Runs input through the encoder in pieces of chunk bytes. */
static char *stuff(const char *in, long top, size_t chunk)
{
	struct dotstuff ds;
	size_t len = strlen(in), o = 0;
	char *out = malloc(2 * len + 8);

	dotstuff_init(&ds, top);
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;

		o += dotstuff_feed(&ds, in + i, n, out + o);
	}
	o += dotstuff_end(&ds, out + o);
	out[o] = '\0';
	return out;
}

static void check_all_chunkings(const char *in, long top, const char *want)
{
	/* Fed whole and byte by byte, the result is the same. */
	for (size_t chunk = 1; chunk <= strlen(in) + 1; chunk++) {
		char *got = stuff(in, top, chunk);

		assert_string_equal(got, want);
		free(got);
	}
}

static void test_dotstuff_retr(void **state)
{
	check_all_chunkings("A: b\n\nhello\n.\n..x\n", -1,
			    "A: b\r\n\r\nhello\r\n..\r\n...x\r\n.\r\n");
	/* CRLF kept as is, missing final newline added. */
	check_all_chunkings("A: b\r\n\r\nbody", -1, "A: b\r\n\r\nbody\r\n.\r\n");
	/* A dot after a bare CR is not at a line start. */
	check_all_chunkings("x\r.y\n", -1, "x\r.y\r\n.\r\n");
	check_all_chunkings("", -1, ".\r\n");
}

static void test_dotstuff_top(void **state)
{
	const char *msg = "Subject: s\nFrom: f\n\nl1\n.l2\nl3\n";

	check_all_chunkings(msg, 0, "Subject: s\r\nFrom: f\r\n\r\n.\r\n");
	check_all_chunkings(msg, 2, "Subject: s\r\nFrom: f\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check_all_chunkings(msg, 99, "Subject: s\r\nFrom: f\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* CRLF blank line counts as the separator too. */
	check_all_chunkings("A: b\r\n\r\nx\r\ny\r\n", 1, "A: b\r\n\r\nx\r\n.\r\n");
	/* No body at all: the whole header. */
	check_all_chunkings("A: b\nC: d", 5, "A: b\r\nC: d\r\n.\r\n");
}

/* RFC 1939 §3 by the letter, a byte at a time: what the encoder must
 * produce for any input, however it is chunked. */
static size_t reference_stuff(const char *in, size_t len, long top, char *out)
{
	bool line_start = true, cr = false, empty = true, body = false;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			if (!cr)
				out[o++] = '\r';
			out[o++] = '\n';
			if (!body && empty)
				body = true;
			else if (body && top > 0)
				top--;
			line_start = empty = true;
			cr = false;
			if (body && top == 0)
				break;
			continue;
		}
		if (line_start && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		line_start = false;
		cr = in[i] == '\r';
		empty = empty && in[i] == '\r';
	}
	if (!line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

static void test_dotstuff_matches_the_reference(void **state)
{
	static const char alphabet[] = ".\r\na";
	char in[64], want[200], got[200];

	srand(1939);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand() % (int)sizeof(in)), o = 0, wlen;
		long top = rand() % 4 - 1;	/* -1 (RETR), 0, 1, 2 */
		struct dotstuff ds;

		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rand() % 4];
		wlen = reference_stuff(in, len, top, want);
		dotstuff_init(&ds, top);
		for (size_t i = 0; i < len;) {
			size_t n = 1 + (size_t)(rand() % 8);

			n = n > len - i ? len - i : n;
			o += dotstuff_feed(&ds, in + i, n, got + o);
			i += n;
		}
		o += dotstuff_end(&ds, got + o);
		assert_int_equal(o, wlen);
		assert_memory_equal(got, want, wlen);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_pass_keeps_spaces),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_dotstuff_retr),
		cmocka_unit_test(test_dotstuff_top),
		cmocka_unit_test(test_dotstuff_matches_the_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
