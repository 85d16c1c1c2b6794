/*
 * Streaming string search in messages (store/message_search.h), as IMAP
 * SEARCH needs it (RFC 3501 §6.4.4): header fields with RFC 2047 words
 * decoded, base64 and quoted-printable text bodies in their charsets, MIME
 * structure (RFC 2046 §5.1: boundaries, preamble and epilogue, nesting,
 * digests, message/rfc822 inside), what is skipped (non-text parts, unknown
 * transfer encodings), long lines and big bodies, and the same answers
 * whatever the chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/message_search.h"

struct needle {
	enum message_search_scope scope;
	const char *field;
	const char *str;
};

#define H(f, s)	{ MESSAGE_SEARCH_HEADER, f, s }
#define B(s)	{ MESSAGE_SEARCH_BODY, NULL, s }
#define T(s)	{ MESSAGE_SEARCH_TEXT, NULL, s }

/* Searches text for the needles, fed in chunks of chunk bytes; returns the
 * found ones as a string of '1'/'0', in order. */
static char *search(const struct needle *n, size_t count, const char *text, size_t len,
		    size_t chunk, char **date_r)
{
	struct message_search *ms = message_search_new();
	char *res = calloc(count + 1, 1);

	for (size_t i = 0; i < count; i++)
		assert_int_equal(message_search_add(ms, n[i].scope, n[i].field, n[i].str,
						    strlen(n[i].str)), i);
	message_search_keep_field(ms, "Date");
	/* twice, to show begin() forgets the last message */
	for (int pass = 0; pass < 2; pass++) {
		message_search_begin(ms);
		for (size_t i = 0; i < len; i += chunk)
			message_search_feed(ms, text + i, len - i < chunk ? len - i : chunk);
		message_search_finish(ms);
		assert_true(message_search_header_done(ms));
	}
	for (size_t i = 0; i < count; i++)
		res[i] = message_search_found(ms, (unsigned)i) ? '1' : '0';
	if (date_r != NULL) {
		const char *d = message_search_field(ms);
		*date_r = d ? strdup(d) : NULL;
	}
	message_search_free(&ms);
	assert_null(ms);
	return res;
}

/* Every chunking gives one answer, which must be want. */
static void check(const struct needle *n, size_t count, const char *text, const char *want)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 1 << 20 };
	size_t len = strlen(text);

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		char *got = search(n, count, text, len, chunks[c], NULL);

		if (strcmp(got, want) != 0)
			fail_msg("chunk %zu: found %s, want %s", chunks[c], got, want);
		free(got);
	}
}

#define CHECK(needles, text, want) \
	check(needles, sizeof(needles) / sizeof(needles[0]), text, want)

static const char simple[] =
	"Return-Path: <a@example.org>\r\n"
	"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.be>\r\n"
	"To: Keld <keld@example.dk>,\r\n"
	" Bob <bob@example.com>\r\n"
	"Subject : =?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
	"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
	"Date: Tue, 8 Feb 1994 00:00:00 +0000\r\n"
	"X-Empty:\r\n"
	"\r\n"
	"Hello Andr\xc3\xa9,\r\n"
	"the MEETING is at noon.\r\n";

static void test_headers(void **state)
{
	static const struct needle n[] = {
		H("from", "andré"),		/* decoded, case-insensitive */
		H("FROM", "ANDRÉ PIRARD"),
		H("Subject", "grüße aus köln"),	/* "Subject :" is Subject */
		H("To", "keld <keld@example.dk>, bob"),	/* unfolded */
		H("Cc", ""),			/* no such field */
		H("X-Empty", ""),		/* has the field: "" matches */
		H("Subject", ""),
		H("To", "meeting"),		/* body text is not a header */
		H("Date", "8 Feb"),		/* any occurrence of the field */
		H("Subject", "=?utf-8"),	/* the encoded form is not what counts */
	};
	char *date;

	CHECK(n, simple, "1111011010");
	free(search(n, 1, simple, strlen(simple), 5, &date));
	/* the first Date, as written */
	assert_string_equal(date, "Mon, 7 Feb 1994 21:52:25 -0800 (PST)");
	free(date);
}

static void test_text_and_body(void **state)
{
	static const struct needle n[] = {
		B("meeting is"),
		B("andré,\nthe"),		/* across a line break (CRLF as LF) */
		B("pirard"),			/* only in the header */
		T("pirard"),			/* TEXT: header too */
		T("subject: grüße"),		/* a field as "Name: value" */
		T("noon"),
		B(""),
		T(""),
		B("nowhere"),
	};

	CHECK(n, simple, "110111110");
}

static const char multipart[] =
	"From: x@example.org\r\n"
	"Subject: parts\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer b\"\r\n"
	"\r\n"
	"preamble words are not text\r\n"
	"--outer b\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Gr=FC=DFe aus K=F6ln, soft=\r\n"
	"break and =3D sign\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	/* "<p>Привет, мир</p>" */
	"PHA+0J/RgNC40LLQtdGCLCDQvNC4\r\n"
	"0YA8L3A+\r\n"
	"--inner--\r\n"
	"inner epilogue\r\n"
	"--outer b\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0IGJpbmFyeQ==\r\n"		/* "secret binary" */
	"--outer b\r\n"
	"Content-Type: text/plain; charset=koi8-r\r\n"
	"Content-Transfer-Encoding: x-unknown\r\n"
	"\r\n"
	"unknown encoding words\r\n"
	"--outer b\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: =?utf-8?q?Inner_subj=C3=A9ct?=\r\n"
	"Content-Type: text/plain; charset=windows-1251\r\n"
	"\r\n"
	"\xc6\xc5\xcb\xd2\xdb\xc9 inner body\r\n"	/* "ЖЕЛТЫЙ" in cp1251 */
	"--outer b--\r\n"
	"epilogue words\r\n";

static void test_mime(void **state)
{
	static const struct needle n[] = {
		B("grüße aus köln"),		/* QP, latin1 */
		B("softbreak"),			/* across a soft line break */
		B("= sign"),
		B("привет, мир"),		/* base64, utf-8; found as ПРИВЕТ would be too */
		B("ПРИВЕТ"),
		B("secret"),			/* application/octet-stream: skipped */
		B("unknown encoding"),		/* unknown CTE: skipped (RFC 2045 §6.4) */
		B("subject: inner subjéct"),	/* the inner message's header is body text */
		B("желтый"),			/* inner body, cp1251 */
		B("preamble"),
		B("epilogue"),
		B("multipart/alternative"),	/* MIME headers are not text */
		H("Subject", "inner"),		/* nor is the inner header the message's */
		H("Subject", "parts"),
		B("sign\n"),			/* the line break before a boundary is the boundary's */
		B("--inner"),
	};

	CHECK(n, multipart, "1111100110000100");
}

static void test_structure_edges(void **state)
{
	/* a digest's parts are message/rfc822 by default (RFC 2046 §5.1.5) */
	static const char digest[] =
		"Content-Type: multipart/digest; boundary=d\n"
		"\n"
		"--d\n"
		"\n"
		"Subject: first\n"
		"\n"
		"digest body one\n"
		"--d\n"
		"Content-Type: text/plain\n"
		"\n"
		"digest body two\n"
		"--d--\n";
	static const struct needle nd[] = {
		B("subject: first"), B("digest body one"), B("digest body two"), B("content-type"),
	};
	CHECK(nd, digest, "1110");

	/* boundary lines: padding allowed, anything else makes it text; a
	 * boundary of an outer multipart ends the inner one */
	static const char edges[] =
		"Content-Type: multipart/mixed; boundary=b\n"
		"\n"
		"--b  \t\n"
		"\n"
		"first --b\n"
		"--bx not a boundary\n"
		"--b-- trailing makes it text\n"
		"--b\n"
		"Content-Type: multipart/mixed; boundary=c\n"
		"\n"
		"--c\n"
		"\n"
		"in c\n"
		"--b\n"
		"\n"
		"after c\n"
		"--b--";		/* no final line break */
	static const struct needle ne[] = {
		B("first --b\n--bx not a boundary\n--b-- trailing"),
		B("in c"), B("after c"), B("after c\n"), B("it text\n--b"),
	};
	CHECK(ne, edges, "11100");

	/* no blank line: all of it is header (as store/message.c reads it) */
	static const char nobody[] = "Subject: only a header\nX-Other: yes";
	static const struct needle nn[] = {
		H("subject", "only"), H("x-other", "yes"), B("yes"), T("x-other: yes"), B(""),
	};
	CHECK(nn, nobody, "11011");

	/* a multipart with no boundary parameter is one body */
	static const char noboundary[] = "Content-Type: multipart/mixed\n\n--x\n\nbody text\n";
	static const struct needle nb[] = { B("body text"), B("--x") };
	CHECK(nb, noboundary, "11");

	/* empty message, and one that is a lone message/rfc822 header */
	static const struct needle ns[] = { B(""), H("Subject", ""), B("x") };
	CHECK(ns, "", "100");
	CHECK(ns, "Content-Type: message/rfc822\n", "100");
	CHECK(ns, "Content-Type: message/rfc822\n\nSubject: x\n", "101");

	/* LF-only and CRLF messages read alike; a bare CR is kept */
	static const char lf[] = "Subject: a\n\nline one\nline two\n";
	static const struct needle nl[] = { B("one\nline"), B("two") };
	CHECK(nl, lf, "11");
}

/* A big body: a base64 text part of several MB on a single line (the worst
 * case for a line-based reader), the needle at its very end, and a header
 * field longer than what is kept of it. */
static void test_big(void **state)
{
	const size_t body = 6u << 20;
	const char *head =
		"Subject: big\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"X-Long: ";
	size_t hlen = strlen(head), xlen = 200000;
	char *msg = malloc(hlen + xlen + 4 + body + 64), *p = msg;

	memcpy(p, head, hlen);
	p += hlen;
	memset(p, 'x', xlen);
	p += xlen;
	memcpy(p, "\r\n\r\n", 4);
	p += 4;
	/* "aaa" is "YWFh"; then "needle!!" */
	for (size_t i = 0; i < body / 4; i++, p += 4)
		memcpy(p, "YWFh", 4);
	memcpy(p, "bmVlZGxlISE=", 12);
	p += 12;
	*p = '\0';

	static const struct needle n[] = {
		B("aaaneedle!!"), H("subject", "big"), H("x-long", "xxxxxxxx"), B("needles"),
	};
	char *got = search(n, 4, msg, (size_t)(p - msg), 65536, NULL);
	assert_string_equal(got, "1110");
	free(got);
	got = search(n, 4, msg, (size_t)(p - msg), 4093, NULL);
	assert_string_equal(got, "1110");
	free(got);
	free(msg);
}

/* Random messages made of the pieces that matter: the answer is the same
 * at any chunking, and nothing overruns (ASan). */
static void test_random(void **state)
{
	static const char *const pieces[] = {
		"\r\n", "\n", "--b", "--b--", "--c", "Content-Type: multipart/mixed; boundary=b\n",
		"Content-Type: multipart/mixed; boundary=c\n", "Content-Type: message/rfc822\n",
		"Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n",
		"Content-Type: text/plain; charset=shift_jis\n", "Subject: =?utf-8?q?a=C3?=\n",
		"=", "=C3", "=A9", "w6k=", "abc", " ", "\t", "\r", "\xc3", "\xa9", "caf", "\xff",
		"Content-Type: multipart/digest; boundary=b\n",
	};
	static const struct needle n[] = {
		B("café"), B("abc\nabc"), T("subject: a"), H("subject", ""), B("--b"), T("é"),
	};
	unsigned seed = 3501;

	for (int round = 0; round < 1500; round++) {
		char msg[4096];
		size_t len = 0;
		int count = rand_r(&seed) % 60;

		for (int i = 0; i < count; i++) {
			const char *piece = pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t plen = strlen(piece);

			memcpy(msg + len, piece, plen);
			len += plen;
		}
		msg[len] = '\0';
		char *whole = search(n, 6, msg, len, len ? len : 1, NULL);
		char *bytes = search(n, 6, msg, len, 1, NULL);
		char *odd = search(n, 6, msg, len, 1 + rand_r(&seed) % 13, NULL);

		assert_string_equal(whole, bytes);
		assert_string_equal(whole, odd);
		free(whole);
		free(bytes);
		free(odd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_text_and_body),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_structure_edges),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
