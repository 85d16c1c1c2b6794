/*
 * Body sections over the MIME corpus in tests/data/mime/ (RFC 3501 §6.4.5):
 * part numbers through nested multiparts and MESSAGE/RFC822 (the RFC's own
 * example structure), HEADER / TEXT / MIME, HEADER.FIELDS[.NOT] subsets
 * (case-insensitive, folded lines, the blank line kept), sections that do
 * not exist, broken MIME, 8-bit and NUL, no trailing newline, a header past
 * the parser's keep limit, a digest, and bare LF sent as CRLF.
 *
 * Every section is cut with the stored bytes fed in chunks of 1, 2, 7, 64
 * and 4096 bytes and whole, and all must agree; an unfiltered section must
 * be exactly the size imap_fetch_locate() announced (the literal's length).
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
#include "store/message.h"

static const struct imap_parser_limits limits = {
	.max_command = 65536, .max_literal = 65536, .max_nonsync = 4096,
	.max_depth = 8, .max_args = 1000,
};

struct file {
	char *data;
	size_t len;
};

static struct file load(const char *name)
{
	char path[512];
	struct file f = { 0 };
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/mime/%s", DUOMAIL_TEST_DATA, name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f.data = malloc((size_t)n + 1);
	assert_int_equal(fread(f.data, 1, (size_t)n, fp), (size_t)n);
	f.data[n] = '\0';
	f.len = (size_t)n;
	fclose(fp);
	return f;
}

/* Every bare LF as CRLF: what IMAP counts and sends (RFC 3501 §2.3.4). */
static char *crlf(const char *s, size_t len, size_t *len_r)
{
	char *out = malloc(2 * len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = s[i];
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

static struct fetch_items spec_items(const char *spec)
{
	struct imap_parser *p = imap_parser_new(&limits);
	char line[4096];
	struct fetch_items items;
	const char *err;

	snprintf(line, sizeof(line), "a FETCH 1 BODY.PEEK[%s]", spec);
	assert_int_equal(imap_parser_line(p, line, strlen(line)), IMAP_PARSE_DONE);
	if (imap_fetch_items_parse(&imap_parser_command(p)->args[1], false, &items, &err) < 0)
		fail_msg("[%s]: %s", spec, err);
	imap_parser_free(&p);
	return items;
}

/* Runs the transform over the range in pieces of chunk bytes. */
static char *cut(const struct file *f, const struct fetch_range *r, const struct fetch_section *sec,
		 size_t chunk, size_t *len_r)
{
	struct fetch_xform x;
	struct buf b;
	char *out = malloc(FETCH_XFORM_OUT_MAX(chunk)), *result;

	buf_init(&b, (size_t)-1);
	imap_fetch_xform_init(&x, r->filtered ? sec : NULL);
	for (uint64_t pos = r->start; pos < r->end; pos += chunk) {
		size_t n = r->end - pos < chunk ? (size_t)(r->end - pos) : chunk;

		buf_append(&b, out, imap_fetch_xform_feed(&x, f->data + pos, n, out));
	}
	buf_append(&b, out, imap_fetch_xform_end(&x, out));
	*len_r = buf_len(&b);
	result = malloc(buf_len(&b) + 1);
	memcpy(result, buf_ptr(&b), buf_len(&b) + 1);
	buf_free(&b);
	free(out);
	return result;
}

/* The bytes BODY[spec] of file sends, NULL for NIL. */
static char *section(const char *name, const char *spec, size_t *len_r)
{
	static const size_t chunks[] = { 1, 2, 7, 64, 4096, 1 << 20 };
	struct file f = load(name);
	struct message_parser *p = message_parser_new();
	struct message_part *root;
	struct fetch_items items = spec_items(spec);
	const struct fetch_section *sec = &items.items[0].section;
	struct fetch_range r;
	size_t vlen;
	char *whole = crlf(f.data, f.len, &vlen), *first = NULL;

	message_parser_feed(p, f.data, f.len);
	root = message_parser_finish(&p);
	imap_fetch_locate(root, sec, f.len, vlen, &r);
	if (!r.exists) {
		*len_r = 0;
	} else {
		assert_true(r.start <= r.end && r.end <= f.len);
		for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
			size_t len;
			char *got = cut(&f, &r, sec, chunks[i], &len);

			if (!r.filtered && len != r.vsize)
				fail_msg("%s [%s]: %zu bytes, announced %llu", name, spec, len,
					 (unsigned long long)r.vsize);
			if (first == NULL) {
				first = got;
				*len_r = len;
				continue;
			}
			if (len != *len_r || memcmp(got, first, len) != 0)
				fail_msg("%s [%s]: chunks of %zu differ", name, spec, chunks[i]);
			free(got);
		}
	}
	message_part_free(&root);
	imap_fetch_items_free(&items);
	free(whole);
	free(f.data);
	return first;
}

static void expect(const char *name, const char *spec, const char *want)
{
	size_t len;
	char *got = section(name, spec, &len);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s [%s]: want NIL, got '%s'", name, spec, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s [%s]: NIL, want '%s'", name, spec, want);
	if (len != strlen(want) || memcmp(got, want, len) != 0)
		fail_msg("%s [%s]:\n got '%.*s'\nwant '%s'", name, spec, (int)len, got, want);
	free(got);
}

/* want given with bare LF: compared as CRLF */
static void expect_lf(const char *name, const char *spec, const char *want_lf)
{
	size_t len;
	char *want = crlf(want_lf, strlen(want_lf), &len);

	expect(name, spec, want);
	free(want);
}

static void test_whole_message(void **state)
{
	static const char *const files[] = {
		"simple.eml", "nested.eml", "forward.eml", "encoded.eml", "broken_noboundary.eml",
		"broken_unclosed.eml", "no_trailing_newline.eml", "huge_header.eml",
		"header_only.eml", "digest.eml",
	};

	/* BODY[] is the stored message with CRLF line ends, byte for byte */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct file f = load(files[i]);
		size_t len;
		char *want = crlf(f.data, f.len, &len);

		expect(files[i], "", want);
		free(want);
		free(f.data);
	}
}

static void test_simple(void **state)
{
	const char *header =
		"Return-Path: <alice@example.org>\r\n"
		"Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n"
		"\tby mail.example.com with ESMTPS id 4711\r\n"
		"\tfor <bob@example.com>; Mon, 12 Jan 2026 10:00:00 +0100\r\n"
		"From: Alice Example <alice@example.org>\r\n"
		"To: Bob <bob@example.com>\r\n"
		"Subject: Lunch on Friday?\r\n"
		"Date: Mon, 12 Jan 2026 09:59:58 +0100\r\n"
		"Message-ID: <20260112095958.1@example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"\r\n";
	const char *body = "Hi Bob,\r\n\r\nare you free for lunch on Friday?\r\n\r\nAlice\r\n";

	expect("simple.eml", "HEADER", header);
	expect("simple.eml", "TEXT", body);
	/* §6.4.5: a non-multipart message has only a part 1, its body */
	expect("simple.eml", "1", body);
	expect("simple.eml", "1.MIME", header);
	expect("simple.eml", "2", NULL);
	expect("simple.eml", "1.1", NULL);
	expect("simple.eml", "1.HEADER", NULL);	/* part 1 is no MESSAGE/RFC822 */
	expect("simple.eml", "1.TEXT", NULL);
	/* folded lines go with their field; the blank line is included */
	expect("simple.eml", "HEADER.FIELDS (Received)",
	       "Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n"
	       "\tby mail.example.com with ESMTPS id 4711\r\n"
	       "\tfor <bob@example.com>; Mon, 12 Jan 2026 10:00:00 +0100\r\n"
	       "\r\n");
	/* header order, not list order; names case-insensitive */
	expect("simple.eml", "HEADER.FIELDS (subject FROM date)",
	       "From: Alice Example <alice@example.org>\r\n"
	       "Subject: Lunch on Friday?\r\n"
	       "Date: Mon, 12 Jan 2026 09:59:58 +0100\r\n"
	       "\r\n");
	expect("simple.eml", "HEADER.FIELDS.NOT (Received Return-Path MIME-Version Content-Type "
	       "Content-Transfer-Encoding Message-ID)",
	       "From: Alice Example <alice@example.org>\r\n"
	       "To: Bob <bob@example.com>\r\n"
	       "Subject: Lunch on Friday?\r\n"
	       "Date: Mon, 12 Jan 2026 09:59:58 +0100\r\n"
	       "\r\n");
	/* no such field: just the blank line */
	expect("simple.eml", "HEADER.FIELDS (X-Nothing)", "\r\n");
	/* "Subj" is no prefix match */
	expect("simple.eml", "HEADER.FIELDS (Subj)", "\r\n");
}

/* The part specifiers of the RFC 3501 §6.4.5 example, on a message of
 * that shape stored with bare LF line ends. */
static void test_rfc3501_example(void **state)
{
	expect_lf("nested.eml", "1", "Part one, plain text.");
	expect_lf("nested.eml", "1.MIME", "Content-Type: text/plain; charset=us-ascii\n\n");
	expect_lf("nested.eml", "2", "AAECAwQFBgcICQ==");
	expect_lf("nested.eml", "3.MIME", "Content-Type: message/rfc822\n\n");
	expect_lf("nested.eml", "3.HEADER",
		  "From: Erin <erin@example.org>\n"
		  "Subject: Forwarded inside\n"
		  "Message-ID: <inner3@example.org>\n"
		  "MIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=\"in3\"\n\n");
	expect_lf("nested.eml", "3.TEXT",
		  "--in3\nContent-Type: text/plain\n\nPart 3.1 text.\n"
		  "--in3\nContent-Type: application/octet-stream\n"
		  "Content-Transfer-Encoding: base64\n\n/////w==\n--in3--");
	/* BODY[3] of a MESSAGE/RFC822 part is the whole message inside */
	expect_lf("nested.eml", "3",
		  "From: Erin <erin@example.org>\n"
		  "Subject: Forwarded inside\n"
		  "Message-ID: <inner3@example.org>\n"
		  "MIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=\"in3\"\n\n"
		  "--in3\nContent-Type: text/plain\n\nPart 3.1 text.\n"
		  "--in3\nContent-Type: application/octet-stream\n"
		  "Content-Transfer-Encoding: base64\n\n/////w==\n--in3--");
	expect_lf("nested.eml", "3.1", "Part 3.1 text.");
	expect_lf("nested.eml", "3.2", "/////w==");
	expect_lf("nested.eml", "4.1", "R0lGODlhAQABAAAAACw=");
	expect_lf("nested.eml", "4.1.MIME",
		  "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n"
		  "Content-ID: <gif41@example.net>\n\n");
	expect_lf("nested.eml", "4.2.HEADER",
		  "From: Frank <frank@example.org>\nSubject: Deep inside\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=\"in42\"\n\n");
	expect_lf("nested.eml", "4.2.1", "Part 4.2.1 text.");
	expect_lf("nested.eml", "4.2.2.1", "Part 4.2.2.1 plain.");
	expect_lf("nested.eml", "4.2.2.2", "<bold>Part 4.2.2.2 rich.</bold>");
	expect_lf("nested.eml", "4.2.2",
		  "--alt\nContent-Type: text/plain\n\nPart 4.2.2.1 plain.\n"
		  "--alt\nContent-Type: text/richtext\n\n<bold>Part 4.2.2.2 rich.</bold>\n--alt--");
	expect_lf("nested.eml", "4.2.2.2.MIME", "Content-Type: text/richtext\n\n");
	expect_lf("nested.eml", "4.2.HEADER.FIELDS.NOT (From MIME-Version)",
		  "Subject: Deep inside\nContent-Type: multipart/mixed; boundary=\"in42\"\n\n");
	expect_lf("nested.eml", "HEADER.FIELDS (subject FROM)",
		  "From: Carol <carol@example.net>\nSubject: The complex example\n\n");
	/* TEXT of the top level: preamble through epilogue */
	{
		struct file f = load("nested.eml");
		const char *text = strstr(f.data, "\n\n") + 2;

		expect_lf("nested.eml", "TEXT", text);
		free(f.data);
	}
	/* sections that are not there */
	expect("nested.eml", "5", NULL);
	expect("nested.eml", "1.1", NULL);
	expect("nested.eml", "1.HEADER", NULL);
	expect("nested.eml", "4.1.1", NULL);
	expect("nested.eml", "4.3", NULL);
	expect("nested.eml", "3.3", NULL);
	expect("nested.eml", "4.2.2.3", NULL);
	expect("nested.eml", "4.HEADER", NULL);		/* multipart, not a message */
	expect("nested.eml", "4.2.3.1", NULL);
}

static void test_forward(void **state)
{
	const char *inner_header =
		"From: Ivan <ivan@example.com>\r\nSubject: minutes\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n";
	const char *inner_text = "Minutes of the meeting.\r\nNothing decided.";
	char whole[512];

	snprintf(whole, sizeof(whole), "%s%s", inner_header, inner_text);
	expect("forward.eml", "1", "See below.");
	expect("forward.eml", "2", whole);
	expect("forward.eml", "2.MIME",
	       "Content-Type: message/rfc822\r\nContent-Description: the original\r\n\r\n");
	expect("forward.eml", "2.HEADER", inner_header);
	expect("forward.eml", "2.TEXT", inner_text);
	/* the message inside is not multipart: its part 1 is its body */
	expect("forward.eml", "2.1", inner_text);
	expect("forward.eml", "2.1.MIME", inner_header);
	expect("forward.eml", "2.HEADER.FIELDS (SUBJECT)", "Subject: minutes\r\n\r\n");
	expect("forward.eml", "2.2", NULL);
	expect("forward.eml", "2.1.1", NULL);
	expect("forward.eml", "1.TEXT", NULL);
}

static void test_encoded_and_folded(void **state)
{
	/* encoded words (RFC 2047) pass untouched; both Subject fields,
	 * the second with white space before its colon (RFC 5322 §4.5.3) */
	expect("encoded.eml", "HEADER.FIELDS (Subject)",
	       "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
	       " =?UTF-8?Q?_und_mehr?=\r\n"
	       "Subject : second subject with space before the colon\r\n"
	       "\r\n");
	expect("encoded.eml", "HEADER.FIELDS (to)",
	       "To: \"Ken\" <ken@example.com>,\r\n \"Lea\" <lea@example.com>\r\n\r\n");
	expect("encoded.eml", "HEADER.FIELDS (FROM)",
	       "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>\r\n\r\n");
	expect("encoded.eml", "HEADER.FIELDS.NOT (Subject To From)",
	       "X-Long-Header-Name-That-Goes-On: a\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n"
	       "\r\n");
	expect("encoded.eml", "HEADER.FIELDS (X-Long-Header-Name-That-Goes)", "\r\n");
	expect("encoded.eml", "1", "Gr=C3=BC=C3=9Fe!\r\n");
}

static void test_broken(void **state)
{
	/* a multipart without boundary is one body (as BODYSTRUCTURE says) */
	expect_lf("broken_noboundary.eml", "1",
		  "--x\nContent-Type: text/plain\n\nnot really a part\n--x--\n");
	expect("broken_noboundary.eml", "2", NULL);
	expect("broken_noboundary.eml", "1.1", NULL);
	/* a missing close-delimiter: the last part runs to the end */
	expect("broken_unclosed.eml", "1", "first");
	expect("broken_unclosed.eml", "2", "<p>second, never closed</p>\r\n");
	expect("broken_unclosed.eml", "2.MIME", "Content-Type: text/html\r\n\r\n");
	expect("broken_unclosed.eml", "3", NULL);
}

static void test_eightbit(void **state)
{
	size_t len;
	char *got = section("eightbit.eml", "TEXT", &len);
	/* 8-bit as is; NUL, which no literal may hold (RFC 3501 §9 CHAR8),
	 * becomes 0x80 at the same size; a lone CR stays */
	static const char want[] = "Gr\xfc\xdf" "e aus K\xf6ln\r\nnul:\x80:end\r\nlone\rcr\r\n";

	assert_non_null(got);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	free(got);
	expect("eightbit.eml", "HEADER.FIELDS (content-transfer-encoding)",
	       "Content-Transfer-Encoding: 8bit\r\n\r\n");
}

static void test_no_trailing_newline(void **state)
{
	expect("no_trailing_newline.eml", "TEXT", "last line without newline");
	expect("no_trailing_newline.eml", "1", "last line without newline");
	expect("no_trailing_newline.eml", "HEADER", "From: p@example.com\r\nSubject: cut\r\n\r\n");
}

static void test_header_only(void **state)
{
	/* §6.4.5: no blank line when the message has no body and none */
	expect("header_only.eml", "HEADER", "From: r@example.com\r\nSubject: nothing else\r\n");
	expect("header_only.eml", "HEADER.FIELDS (Subject)", "Subject: nothing else\r\n");
	expect("header_only.eml", "HEADER.FIELDS (X-None)", "");
	expect("header_only.eml", "TEXT", "");
	expect("header_only.eml", "1", "");
}

static void test_huge_header(void **state)
{
	size_t len, hlen;
	struct file f = load("huge_header.eml");
	char *hdr = crlf(f.data, (size_t)(strstr(f.data, "\n\n") + 2 - f.data), &hlen);
	char *got = section("huge_header.eml", "HEADER", &len);
	char *want, *p;

	/* past the 64 KiB the parser keeps of a header: still all of it */
	assert_true(hlen > 65536);
	assert_int_equal(len, hlen);
	assert_memory_equal(got, hdr, len);
	free(got);
	expect("huge_header.eml", "HEADER.FIELDS (Subject)", "Subject: after the flood\r\n\r\n");
	expect("huge_header.eml", "TEXT", "body\r\n");

	/* a 1500-byte field */
	want = malloc(2000);
	strcpy(want, "X-Very-Long: ");
	memset(want + 13, 'y', 1500);
	strcpy(want + 1513, "\r\n\r\n");
	expect("huge_header.eml", "HEADER.FIELDS (x-very-long)", want);

	/* a name longer than any we look for (FETCH_MAX_FIELD_NAME) is kept
	 * by .NOT and by nothing else */
	got = section("huge_header.eml", "HEADER.FIELDS.NOT (Received Subject X-Very-Long From)",
		      &len);
	assert_non_null(got);
	assert_int_equal(len, 2 + 1200 + strlen(": long name\r\n\r\n"));
	assert_memory_equal(got, "X-nnnn", 6);
	p = got + len - strlen(": long name\r\n\r\n");
	assert_memory_equal(p, ": long name\r\n\r\n", strlen(": long name\r\n\r\n"));
	free(got);

	/* every Received line, and nothing else but the blank line */
	got = section("huge_header.eml", "HEADER.FIELDS (received)", &len);
	assert_int_equal(len, hlen - strlen("From: q@example.com\r\n") -
				      strlen("Subject: after the flood\r\n") - strlen(want) + 2 -
				      (2 + 1200 + strlen(": long name\r\n")));
	free(got);
	free(want);
	free(hdr);
	free(f.data);
}

static void test_digest(void **state)
{
	/* RFC 2046 §5.1.5: the parts of a digest are MESSAGE/RFC822 */
	expect("digest.eml", "1",
	       "From: s@example.org\r\nSubject: first post\r\n\r\nHello list.");
	expect("digest.eml", "1.MIME", "\r\n");
	expect("digest.eml", "1.HEADER", "From: s@example.org\r\nSubject: first post\r\n\r\n");
	expect("digest.eml", "2.TEXT", "Hello again.");
	expect("digest.eml", "1.1", "Hello list.");
	expect("digest.eml", "3", NULL);
}

/* The header's end found by reading only the header is where the MIME
 * parser puts it, on every corpus file, fed whole and byte by byte. */
static void check_scan(const char *data, size_t len)
{
	struct message_parser *p = message_parser_new();
	struct message_part *root;

	message_parser_feed(p, data, len);
	root = message_parser_finish(&p);
	for (size_t chunk = 1; chunk <= len + 1; chunk = chunk < 8 ? chunk + 1 : chunk * 16) {
		struct fetch_header_scan h;
		bool done = false;

		imap_fetch_header_scan_init(&h);
		for (size_t i = 0; i < len && !done; i += chunk)
			done = imap_fetch_header_scan(&h, data + i, len - i < chunk ? len - i : chunk);
		if (h.raw != root->body_offset || h.vsize != root->header_vsize)
			fail_msg("'%.40s': scan %llu/%llu, parser %llu/%llu (chunk %zu)", data,
				 (unsigned long long)h.raw, (unsigned long long)h.vsize,
				 (unsigned long long)root->body_offset,
				 (unsigned long long)root->header_vsize, chunk);
		/* a body follows: the scan stopped at the blank line */
		if (root->body_offset < len)
			assert_true(done);
	}
	message_part_free(&root);
}

static void test_header_scan(void **state)
{
	static const char *const files[] = {
		"simple.eml", "nested.eml", "forward.eml", "encoded.eml", "broken_noboundary.eml",
		"broken_unclosed.eml", "eightbit.eml", "no_trailing_newline.eml",
		"huge_header.eml", "header_only.eml", "digest.eml",
	};
	static const char *const texts[] = {
		"\nbody\n", "\r\nbody", "A: b\r\r\n\r\nbody", "A: b\n\r\r\n\nx", "A: b\r\n \r\n\r\nx",
		"A: b", "A: b\n", "A: b\r\n", "", "\r", "\r\n", "A: b\n\n", "A: b\n\r\n",
		"A\rB: c\n\nd", "X: y\n\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct file f = load(files[i]);

		check_scan(f.data, f.len);
		free(f.data);
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		check_scan(texts[i], strlen(texts[i]));
}

/* The transform alone: bare LF, CRLF split between chunks, a last line
 * with no line end that a header subset still decides. */
static void test_xform(void **state)
{
	struct fetch_items items = spec_items("HEADER.FIELDS (A)");
	struct fetch_xform x;
	char out[FETCH_XFORM_OUT_MAX(16)];
	size_t n;

	imap_fetch_xform_init(&x, NULL);
	n = imap_fetch_xform_feed(&x, "a\r", 2, out);
	n += imap_fetch_xform_feed(&x, "\nb\n", 3, out + n);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "a\r\nb\r\n", 6);

	imap_fetch_xform_init(&x, &items.items[0].section);
	n = imap_fetch_xform_feed(&x, "B: 1\nA", 6, out);
	assert_int_equal(n, 0);				/* "A" might be "AB:" */
	n = imap_fetch_xform_feed(&x, ": 2", 3, out);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "A: 2", 4);
	n = imap_fetch_xform_end(&x, out);
	assert_int_equal(n, 0);

	imap_fetch_xform_init(&x, &items.items[0].section);
	n = imap_fetch_xform_feed(&x, "a:1\n\tmore\nAB: no\n", 17, out);
	assert_int_equal(n, 12);			/* "AB" is not "A" */
	assert_memory_equal(out, "a:1\r\n\tmore\r\n", 12);
	imap_fetch_items_free(&items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_message),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_rfc3501_example),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_encoded_and_folded),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_eightbit),
		cmocka_unit_test(test_no_trailing_newline),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_huge_header),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_header_scan),
		cmocka_unit_test(test_xform),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
