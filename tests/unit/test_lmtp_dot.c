/*
 * DATA text decoding (RFC 5321 §4.1.1.4 end of data, §4.5.2 transparency):
 * every case is fed whole, one byte at a time and in random splits, and
 * must give the same message, the same end and leave the same bytes for
 * the next command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp_dot.h"

struct dot_case {
	const char *in;
	size_t in_len;
	const char *out;	/* the message */
	size_t out_len;
	bool done;
	const char *rest;	/* input left after the end, for the next command */
};

#define CASE(i, o, d, r) { i, sizeof(i) - 1, o, sizeof(o) - 1, d, r }

static const struct dot_case cases[] = {
	/* CRLF; the last line's CRLF belongs to the message */
	CASE("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", true, ""),
	/* dot-stuffing undone: ".." at a line start is "." */
	CASE("a\r\n..b\r\n...\r\n..\r\n.\r\n", "a\r\n.b\r\n..\r\n.\r\n", true, ""),
	/* a leading dot before other text is dropped too (§4.5.2) */
	CASE(".x\r\n.\r\n", "x\r\n", true, ""),
	/* a dot inside a line is data */
	CASE("a.b\r\nc .\r\n.\r\n", "a.b\r\nc .\r\n", true, ""),
	/* bare LF ends lines, and ".\n" ends the data, as for commands */
	CASE("a\nb\n.\n", "a\nb\n", true, ""),
	CASE("a\r\nb\n.\r\n", "a\r\nb\n", true, ""),
	CASE("a\n..\n.\n", "a\n.\n", true, ""),
	/* an empty message */
	CASE(".\r\n", "", true, ""),
	/* a lone CR is data, never a line end: "\r.\r" ends nothing */
	CASE("a\r.\rb\r\n.\r\n", "a\r.\rb\r\n", true, ""),
	/* ".\r" plus more on the line: the dot goes, the CR stays */
	CASE(".\rx\r\n.\r\n", "\rx\r\n", true, ""),
	CASE(".\r\rx\n.\n", "\r\rx\n", true, ""),
	/* NUL and 8-bit bytes are data */
	CASE("a\0b\xff\r\n.\r\n", "a\0b\xff\r\n", true, ""),
	/* pipelined commands after the end are left alone */
	CASE("x\r\n.\r\nQUIT\r\n", "x\r\n", true, "QUIT\r\n"),
	CASE("x\n.\nMAIL FROM:<>\n.\n", "x\n", true, "MAIL FROM:<>\n.\n"),
	/* not finished yet: text so far; a held-back dot comes out later */
	CASE("a\r\nb", "a\r\nb", false, ""),
	CASE("a\r\n.", "a\r\n", false, ""),
	CASE("a\r\n.\r", "a\r\n", false, ""),
	CASE("a\r\n\r\n", "a\r\n\r\n", false, ""),
	/* a line "." not at a line start is data */
	CASE("a.\r\n.\r\n", "a.\r\n", true, ""),
};

/* Decodes c split at the given cut points (ascending, in 0..in_len). */
static void run_split(const struct dot_case *c, const size_t *cuts, size_t ncuts)
{
	struct lmtp_dot d;
	char *out = malloc(c->in_len + 16);
	size_t out_len = 0, pos = 0;

	assert_non_null(out);
	lmtp_dot_init(&d);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : c->in_len;
		size_t piece = end - pos, got, used;

		if (d.done)
			break;
		used = lmtp_dot_decode(&d, c->in + pos, piece, out + out_len, &got);
		assert_true(used <= piece);
		/* the slack: at most one byte more than went in */
		assert_true(got <= piece + LMTP_DOT_SLACK);
		out_len += got;
		pos += used;
		if (!d.done)
			assert_int_equal(used, piece);
	}
	assert_int_equal(d.done, c->done);
	if (out_len != c->out_len || memcmp(out, c->out, out_len) != 0)
		fail_msg("case %.*s: got %zu bytes '%.*s'", (int)c->in_len, c->in, out_len,
			 (int)out_len, out);
	if (c->done)
		assert_string_equal(c->in + pos, c->rest);
	free(out);
}

static void test_whole(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_split(&cases[i], NULL, 0);
}

static void test_byte_by_byte(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dot_case *c = &cases[i];
		size_t *cuts = malloc(c->in_len * sizeof(*cuts) + 1);

		for (size_t k = 0; k < c->in_len; k++)
			cuts[k] = k + 1;
		run_split(c, cuts, c->in_len);
		free(cuts);
	}
}

static void test_random_splits(void **state)
{
	srand(2033);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct dot_case *c = &cases[i];
			size_t cuts[8], n = 0, at = 0;

			while (n < 8 && at < c->in_len) {
				at += (size_t)rand() % 4;
				if (at > c->in_len)
					at = c->in_len;
				cuts[n++] = at;
			}
			run_split(c, cuts, n);
		}
	}
}

static void test_discard(void **state)
{
	static const char in[] = "big\r\n..text\r\n.\r\nRSET\r\n";
	struct lmtp_dot d;
	size_t got, used;

	/* A NULL out only counts: an oversized message is read to its end. */
	lmtp_dot_init(&d);
	used = lmtp_dot_decode(&d, in, sizeof(in) - 1, NULL, &got);
	assert_true(d.done);
	assert_int_equal(got, strlen("big\r\n.text\r\n"));
	assert_string_equal(in + used, "RSET\r\n");
	/* once done, nothing more is taken */
	assert_int_equal(lmtp_dot_decode(&d, "x", 1, NULL, &got), 0);
	assert_int_equal(got, 0);
}

static void test_large(void **state)
{
	/* Many lines, some stuffed, through small pieces of a big buffer. */
	size_t lines = 20000, cap = lines * 16 + 8, n = 0, want_n = 0;
	char *in = malloc(cap), *want = malloc(cap), *out = malloc(cap);
	struct lmtp_dot d;
	size_t pos = 0, out_len = 0;

	for (size_t i = 0; i < lines; i++) {
		int len = snprintf(in + n, cap - n, "%s%zu\r\n", i % 3 == 0 ? ".." : "", i);

		n += (size_t)len;
		want_n += (size_t)snprintf(want + want_n, cap - want_n, "%s%zu\r\n",
					   i % 3 == 0 ? "." : "", i);
	}
	memcpy(in + n, ".\r\n", 3);
	n += 3;
	lmtp_dot_init(&d);
	while (!d.done) {
		size_t piece = n - pos < 1000 ? n - pos : 1000, got;

		pos += lmtp_dot_decode(&d, in + pos, piece, out + out_len, &got);
		out_len += got;
	}
	assert_int_equal(pos, n);
	assert_int_equal(out_len, want_n);
	assert_memory_equal(out, want, want_n);
	free(in);
	free(want);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_random_splits),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
