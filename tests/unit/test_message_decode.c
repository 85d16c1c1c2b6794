/*
 * The decoders between a message and its text (store/message_decode.h,
 * store/message_charset.h) and case folding (store/text_fold.h,
 * store/text_find.h): base64 (RFC 2045 §6.8) and quoted-printable
 * (RFC 2045 §6.7) with their edge cases and at every chunking, RFC 2047
 * encoded words including the RFC's own section 8 examples, charset
 * conversion with iconv (stateful, multibyte cut across feeds, invalid
 * sequences, unknown charsets), the fold table against glibc, streaming
 * substring search, the day of an RFC 5322 Date:, and random input through
 * all of them under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "core/buf.h"
#include "store/message_charset.h"
#include "store/message_date.h"
#include "store/message_decode.h"
#include "store/text_find.h"
#include "store/text_fold.h"

/* ---- helpers: each decoder fed in chunks of a given size ---- */

static char *b64(const char *in, size_t chunk, size_t *len_r)
{
	struct base64_decoder d;
	size_t len = strlen(in), n = 0;
	char *out = malloc(len + 1);

	base64_decoder_init(&d);
	for (size_t i = 0; i < len; i += chunk)
		n += base64_decode(&d, in + i, len - i < chunk ? len - i : chunk, out + n);
	out[n] = '\0';
	if (len_r)
		*len_r = n;
	return out;
}

static char *qp_len(const char *in, size_t len, size_t chunk, size_t *len_r)
{
	struct qp_decoder d;
	size_t n = 0;
	char *out = malloc(QP_DECODE_OUT_MAX(len) + 1);

	qp_decoder_init(&d);
	for (size_t i = 0; i < len; i += chunk) {
		size_t c = len - i < chunk ? len - i : chunk;

		n += qp_decode(&d, in + i, c, out + n);
	}
	n += qp_decode_finish(&d, out + n);
	out[n] = '\0';
	if (len_r)
		*len_r = n;
	return out;
}

static char *qp(const char *in, size_t chunk)
{
	return qp_len(in, strlen(in), chunk, NULL);
}

static char *hdr(const char *in)
{
	struct buf b;
	char *out;

	buf_init(&b, 1 << 20);
	message_decode_header(in, strlen(in), &b);
	out = strdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}

static void emit_buf(void *ctx, const char *data, size_t len)
{
	buf_append(ctx, data, len);
}

static char *conv(const char *charset, const char *in, size_t len, size_t chunk)
{
	struct charset_conv *cv = charset_conv_new(charset);
	struct buf b;
	char *out;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < len; i += chunk)
		charset_conv_feed(cv, in + i, len - i < chunk ? len - i : chunk, emit_buf, &b);
	charset_conv_finish(cv, emit_buf, &b);
	charset_conv_free(&cv);
	assert_null(cv);
	out = strdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}

#define assert_decoded(expr, expected) do { \
		char *got_ = (expr); \
		assert_string_equal(got_, expected); \
		free(got_); \
	} while (0)

/* ---- base64 ---- */

static void test_base64(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 1000 };

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		size_t k = chunks[c];

		assert_decoded(b64("TWFu", k, NULL), "Man");
		assert_decoded(b64("TWE=", k, NULL), "Ma");
		assert_decoded(b64("TQ==", k, NULL), "M");
		assert_decoded(b64("", k, NULL), "");
		/* §6.8: line breaks and other characters outside the alphabet are ignored */
		assert_decoded(b64("SGVs\r\nbG8s\r\nIHdv\n cmxk!", k, NULL), "Hello, world");
		/* "=" ends a quantum: two encodings back to back */
		assert_decoded(b64("TQ==TWE=TWFu", k, NULL), "MMaMan");
		/* padding missing: the full octets still come out */
		assert_decoded(b64("TWE", k, NULL), "Ma");
		/* a lone sextet at the end is not an octet */
		assert_decoded(b64("TWFuT", k, NULL), "Man");
		assert_decoded(b64("+/+/", k, NULL), "\xfb\xff\xbf");
	}
	size_t n;
	char *out = b64("AAAA", 1, &n);		/* NUL octets are data */
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\0\0\0", 3);
	free(out);
}

/* ---- quoted-printable ---- */

static void test_qp(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 1000 };

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		size_t k = chunks[c];

		assert_decoded(qp("caf=E9", k), "caf\xe9");
		assert_decoded(qp("caf=e9", k), "caf\xe9");		/* lower case, liberally */
		assert_decoded(qp("a=3Db", k), "a=b");
		/* rule (5): "=" at the end of a line is a soft line break */
		assert_decoded(qp("long=\r\nline", k), "longline");
		assert_decoded(qp("long=\nline", k), "longline");
		/* white space after the "=" of a soft break was added in transport */
		assert_decoded(qp("long= \t\r\nline", k), "longline");
		/* rule (3): trailing white space is deleted, inner kept */
		assert_decoded(qp("a b  \r\nc\t\r\n", k), "a b\r\nc\r\n");
		assert_decoded(qp("a=20\r\n", k), "a \r\n");	/* encoded space stays */
		/* hard line breaks come out as CRLF, bare LF too */
		assert_decoded(qp("one\ntwo\r\n", k), "one\r\ntwo\r\n");
		/* note (2): a malformed "=" stays as it is */
		assert_decoded(qp("=G1 x", k), "=G1 x");
		assert_decoded(qp("a=4", k), "a=4");
		assert_decoded(qp("100% = all", k), "100% = all");
		assert_decoded(qp("==41", k), "=A");
		/* a final "=" is a soft break before the end */
		assert_decoded(qp("end=", k), "end");
		assert_decoded(qp("end=  ", k), "end");
		/* white space ending the text goes like at a line end */
		assert_decoded(qp("end  ", k), "end");
		/* a bare CR is text */
		assert_decoded(qp("a\rb", k), "a\rb");
	}
	/* more white space than is held back: passed on, not lost */
	char in[2 * QP_WS_MAX + 3];
	memset(in, ' ', sizeof(in) - 1);
	in[sizeof(in) - 2] = 'x';
	in[sizeof(in) - 1] = '\0';
	assert_decoded(qp(in, 1), in);
	assert_decoded(qp(in, 1000), in);
	/* NUL bytes pass */
	size_t n;
	char *out = qp_len("a\0=00", 5, 1, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\0\0", 3);
	free(out);
}

/* ---- RFC 2047 ---- */

static void test_rfc2047_examples(void **state)
{
	/* RFC 2047 §8, the header examples */
	assert_decoded(hdr("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>"),
		       "Keith Moore <moore@cs.utk.edu>");
	assert_decoded(hdr("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>"),
		       "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>");
	assert_decoded(hdr("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
		       "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>");
	/* two words in two charsets, folded (unfolding leaves the space) */
	assert_decoded(hdr("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= "
			   "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="),
		       "If you can read this you understand the example.");
	assert_decoded(hdr("=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?= <paf@nada.kth.se>"),
		       "Patrik F\xc3\xa4ltstr\xc3\xb6m <paf@nada.kth.se>");
	assert_decoded(hdr("Nathaniel Borenstein <nsb@thumper.bellcore.com> "
			   "(=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)"),
		       "Nathaniel Borenstein <nsb@thumper.bellcore.com> (\xd7\x9d\xd7\x95\xd7\x9c"
		       "\xd7\xa9 \xd7\x9f\xd7\x91 \xd7\x99\xd7\x9c\xd7\x98\xd7\xa4\xd7\xa0)");
	/* RFC 2047 §8, the table of displayed forms */
	assert_decoded(hdr("(=?ISO-8859-1?Q?a?=)"), "(a)");
	assert_decoded(hdr("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
	assert_decoded(hdr("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_decoded(hdr("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_decoded(hdr("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_decoded(hdr("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
	assert_decoded(hdr("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
}

static void test_rfc2047_more(void **state)
{
	/* RFC 2231 §5: a language after the charset */
	assert_decoded(hdr("=?US-ASCII*EN?Q?Keith_Moore?="), "Keith Moore");
	/* lower-case encoding letter, UTF-8 */
	assert_decoded(hdr("=?utf-8?b?R3LDvMOfZQ==?="), "Gr\xc3\xbc\xc3\x9f" "e");
	/* a UTF-8 character split over two words (encoder bug) survives */
	assert_decoded(hdr("=?UTF-8?Q?Gr=C3?= =?UTF-8?Q?=BC=C3=9Fe?="), "Gr\xc3\xbc\xc3\x9f" "e");
	assert_decoded(hdr("=?UTF-8?B?w6Q=?= =?utf-8?B?w7Y=?="), "\xc3\xa4\xc3\xb6");
	/* words next to plain text, as mail readers decode them */
	assert_decoded(hdr("Re:=?utf-8?q?_Caf=C3=A9?=!"), "Re: Caf\xc3\xa9!");
	/* text between two words is kept, with its white space */
	assert_decoded(hdr("=?utf-8?q?a?= and =?utf-8?q?b?="), "a and b");
	/* empty encoded text */
	assert_decoded(hdr("x=?utf-8?q?" "?=y"), "xy");
	/* an unknown charset gives the raw octets */
	assert_decoded(hdr("=?x-no-such-charset?q?caf=E9?="), "caf\xe9");
	/* Q "=" that is not followed by two hex digits stays */
	assert_decoded(hdr("=?utf-8?q?a=G=4?="), "a=G=4");
	/* not encoded words: left alone */
	assert_decoded(hdr("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
	assert_decoded(hdr("=?utf-8?q?no end"), "=?utf-8?q?no end");
	assert_decoded(hdr("=??q?abc?="), "=??q?abc?=");
	assert_decoded(hdr("=?utf-8?q?a b?="), "=?utf-8?q?a b?=");
	assert_decoded(hdr("=?"), "=?");
	assert_decoded(hdr("a = b ?= c"), "a = b ?= c");
	/* raw 8-bit UTF-8 (RFC 6532) passes */
	assert_decoded(hdr("Gr\xc3\xbc\xc3\x9f" "e"), "Gr\xc3\xbc\xc3\x9f" "e");
	/* KOI8-R, Shift_JIS */
	assert_decoded(hdr("=?koi8-r?b?9qPM1NnK?="),
		       "\xd0\x96\xd1\x91\xd0\xbb\xd1\x82\xd1\x8b\xd0\xb9");
	assert_decoded(hdr("=?shift_jis?b?k/qWe4zq?="), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");

	/* output stops at the buffer's maximum, no overrun */
	struct buf b;
	buf_init(&b, 4);
	message_decode_header("=?utf-8?q?abcdef?= ghi", 22, &b);
	assert_int_equal(buf_len(&b), 4);
	assert_memory_equal(buf_ptr(&b), "abcd", 4);
	buf_free(&b);
}

/* ---- charsets ---- */

static void test_charset(void **state)
{
	static const char sjis[] = "\x93\xfa\x96{\x8c\xea";		/* 日本語 */
	static const char jis[] = "\x1b$BF|K\\8l\x1b(B";		/* 日本語, ISO-2022-JP */
	static const char utf16[] = "\x00h\x00\xe9";			/* "hé" UTF-16BE */
	static const size_t chunks[] = { 1, 2, 3, 4096 };

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		size_t k = chunks[c];

		assert_decoded(conv("ISO-8859-1", "caf\xe9", 4, k), "caf\xc3\xa9");
		/* iso-8859-1 read as windows-1252: 0x80 is the euro sign */
		assert_decoded(conv("iso-8859-1", "\x80", 1, k), "\xe2\x82\xac");
		assert_decoded(conv("windows-1251", "\xc6", 1, k), "\xd0\x96");
		assert_decoded(conv("Shift_JIS", sjis, 6, k), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
		assert_decoded(conv("ISO-2022-JP", jis, strlen(jis), k),
			       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
		assert_decoded(conv("UTF-16BE", utf16, 4, k), "h\xc3\xa9");
		assert_decoded(conv("ks_c_5601-1987", "\xc7\xd1", 2, k), "\xed\x95\x9c");
		/* invalid sequences become U+FFFD and conversion goes on */
		assert_decoded(conv("Shift_JIS", "a\xff" "b", 3, k), "a\xef\xbf\xbd" "b");
		/* a character cut off at the end */
		assert_decoded(conv("Shift_JIS", "a\x93", 2, k), "a\xef\xbf\xbd");
		/* pass-through: UTF-8, US-ASCII, none, unknown, unsafe names */
		assert_decoded(conv("utf-8", "\xc3\xa9\xff", 3, k), "\xc3\xa9\xff");
		assert_decoded(conv("us-ascii", "\xc3\xa9", 2, k), "\xc3\xa9");
		assert_decoded(conv(NULL, "x\xe9", 2, k), "x\xe9");
		assert_decoded(conv("x-unknown", "x\xe9", 2, k), "x\xe9");
		assert_decoded(conv("utf-8//IGNORE", "x\xe9", 2, k), "x\xe9");
		/* code points past U+10FFFF, which glibc's UCS-4 and UTF-8
		 * decoders let through, are no UTF-8: U+FFFD (found by
		 * fuzz_decode, tests/fuzz/corpus/fuzz_decode/crash-utf8-past-10ffff) */
		assert_decoded(conv("UCS-4BE", "\0\0\0a\0\x20\0\0\x7f\0\0\0\0\x10\xff\xff", 16, k),
			       "a\xef\xbf\xbd\xef\xbf\xbd\xf4\x8f\xbf\xbf");
		assert_decoded(conv("utf+8", "\xf4\x8d\x8d\x8d\xf4\xb6\xac\xb0!", 9, k),
			       "\xf4\x8d\x8d\x8d\xef\xbf\xbd!");
	}
	struct charset_conv *cv = charset_conv_new("us-ascii");
	assert_true(charset_conv_passthrough(cv));
	charset_conv_free(&cv);
	cv = charset_conv_new("koi8-r");
	assert_false(charset_conv_passthrough(cv));
	charset_conv_free(&cv);

	/* more than one staging buffer's worth, converted whole */
	size_t big = 3 * 4096 + 17;
	char *in = malloc(big);
	for (size_t i = 0; i < big; i++)
		in[i] = (char)0xe9;
	char *out = conv("iso-8859-15", in, big, 1000);
	assert_int_equal(strlen(out), 2 * big);
	for (size_t i = 0; i < big; i++)
		assert_memory_equal(out + 2 * i, "\xc3\xa9", 2);
	free(out);
	free(in);

	struct buf b;
	buf_init(&b, 100);
	charset_to_utf8("iso-8859-2", "\xb1", 1, &b);		/* ą */
	assert_string_equal(buf_ptr(&b), "\xc4\x85");
	buf_free(&b);
}

/* ---- folding and finding ---- */

static char *fold(const char *s)
{
	size_t n;

	return text_fold_string(s, strlen(s), &n);
}

static void test_fold(void **state)
{
	assert_decoded(fold("Hello WORLD 123"), "hello world 123");
	assert_decoded(fold("\xc3\x84RGER \xc3\x9c" "BER"), "\xc3\xa4rger \xc3\xbc" "ber");	/* ÄRGER ÜBER */
	assert_decoded(fold("\xce\x9a\xce\x91\xce\x9b\xce\x97\xce\x9c\xce\x95\xce\xa1\xce\x91"),
		       "\xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xb5\xcf\x81\xce\xb1");	/* ΚΑΛΗΜΕΡΑ */
	assert_decoded(fold("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2 \xd0\x81"),
		       "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd1\x91");	/* ПРИВЕТ Ё */
	/* final sigma and sigma are one letter; long s is s */
	assert_decoded(fold("\xcf\x82\xce\xa3"), "\xcf\x83\xcf\x83");
	assert_decoded(fold("\xc5\xbf"), "s");
	/* İ (U+0130) to i: shorter; Ⱥ (U+023A) to ⱥ (U+2C65): longer */
	assert_decoded(fold("\xc4\xb0"), "i");
	assert_decoded(fold("\xc8\xba"), "\xe2\xb1\xa5");
	/* CR dropped; invalid UTF-8 passes byte for byte */
	assert_decoded(fold("a\r\nB"), "a\nb");
	assert_decoded(fold("\xff\xc3(\xe2\x82X\xed\xa0\x80\xf4\x90\x80\x80"),
		       "\xff\xc3(\xe2\x82x\xed\xa0\x80\xf4\x90\x80\x80");
	assert_decoded(fold("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");	/* 4-byte: kept */
	assert_int_equal(text_fold_cp(0x0041), 0x0061);
	assert_int_equal(text_fold_cp(0x0139), 0x013A);
	assert_int_equal(text_fold_cp(0x013A), 0x013A);		/* a run of step 2 */
	assert_int_equal(text_fold_cp(0x1E9E), 0x00DF);		/* ẞ to ß */
	assert_int_equal(text_fold_cp(0x4E00), 0x4E00);

	/* a sequence cut at every place folds like the whole */
	const char *text = "\xc3\x84 \xe2\xb1\xa5 \xf0\x9f\x98\x80 \xce\xa3\xff";
	size_t len = strlen(text);
	char *whole = fold(text);
	for (size_t cut = 0; cut <= len; cut++) {
		struct text_folder f;
		char out[64];
		size_t n;

		text_folder_init(&f);
		n = text_fold(&f, text, cut, out);
		n += text_fold(&f, text + cut, len - cut, out + n);
		n += text_fold_finish(&f, out + n);
		assert_int_equal(n, strlen(whole));
		assert_memory_equal(out, whole, n);
	}
	free(whole);
}

/* The table against glibc's towlower() in C.UTF-8, for every code point of
 * the blocks it claims (text_fold.h). */
static void test_fold_table(void **state)
{
	static const uint32_t blocks[][2] = {
		{ 0x0000, 0x024F }, { 0x0370, 0x03FF }, { 0x0400, 0x052F }, { 0x0530, 0x058F },
		{ 0x1E00, 0x1EFF }, { 0xFF00, 0xFFEF },
	};
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

	if (loc == (locale_t)0)
		skip();
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		for (uint32_t cp = blocks[b][0]; cp <= blocks[b][1]; cp++) {
			uint32_t want = (uint32_t)towlower_l((wint_t)cp, loc);

			if (cp == 0x03C2 || cp == 0x017F)
				continue;	/* folded further on purpose */
			if (text_fold_cp(cp) != want)
				fail_msg("U+%04X folds to U+%04X, towlower says U+%04X", cp,
					 text_fold_cp(cp), want);
		}
	}
	freelocale(loc);
}

static bool find_chunked(const char *needle, const char *hay, size_t chunk)
{
	struct text_find *f = text_find_new(needle, strlen(needle));
	struct text_folder fo;
	size_t len = strlen(hay);
	bool found = text_find_folded(f, "", 0);	/* the haystack starts */

	text_folder_init(&fo);
	for (size_t i = 0; i < len; i += chunk) {
		char out[TEXT_FOLD_OUT_MAX(64)];
		size_t c = len - i < chunk ? len - i : chunk;

		found |= text_find_folded(f, out, text_fold(&fo, hay + i, c, out));
	}
	text_find_free(&f);
	assert_null(f);
	return found;
}

static void test_find(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 64 };

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		size_t k = chunks[c];

		assert_true(find_chunked("world", "Hello, WORLD!", k));
		assert_true(find_chunked("aab", "aaab", k));		/* KMP fallback */
		assert_true(find_chunked("abab", "abaabab", k));
		assert_false(find_chunked("abab", "abaaba", k));
		assert_true(find_chunked("", "", k));			/* "" is everywhere */
		assert_true(find_chunked("\xc3\xbc" "ber", "\xc3\x9c" "BER", k));	/* über / ÜBER */
		assert_true(find_chunked("\xce\xbf\xce\xb4\xce\xbf\xcf\x82",
					 "\xce\x9f\xce\x94\xce\x9f\xce\xa3", k));	/* οδος / ΟΔΟΣ */
		assert_false(find_chunked("xyz", "xy", k));
		/* a line break in CRLF text matches one written as LF */
		assert_true(find_chunked("a\nb", "A\r\nB", k));
	}
	struct text_find *f = text_find_new("Ab", 2);
	size_t n;
	assert_memory_equal(text_find_needle(f, &n), "ab", 2);
	assert_int_equal(n, 2);
	assert_false(text_find_empty(f));
	assert_false(text_find_folded(f, "xa", 2));
	text_find_restart(f);			/* a new haystack: "a" is forgotten */
	assert_false(text_find_folded(f, "b", 1));
	assert_true(text_find_folded(f, "ab", 2));
	text_find_free(&f);
}

/* ---- Date: days (RFC 5322 §3.3, §4.3) ---- */

static uint32_t day_of(const char *value)
{
	uint32_t d = 12345;

	if (message_date_day(value, &d) < 0) {
		assert_int_equal(d, 12345);	/* untouched */
		return 0;
	}
	return d;
}

static void test_date(void **state)
{
	/* RFC 5322 Appendix A examples */
	assert_int_equal(day_of("Fri, 21 Nov 1997 09:55:06 -0600"), 19971121);
	assert_int_equal(day_of("Tue, 1 Jul 2003 10:52:37 +0200"), 20030701);
	/* A.5: folding white space everywhere, a comment at the end (the
	 * header reader has unfolded it) */
	assert_int_equal(day_of("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n"
				"      23:32\r\n               -0330 (Newfoundland Time)"), 19690213);
	/* no day name, no comma, comments, full month names, "-" between */
	assert_int_equal(day_of("7 Feb 1994 21:52:25 -0800"), 19940207);
	assert_int_equal(day_of("(sent) Mon (day) 7 (x) feb (y) 1994"), 19940207);
	assert_int_equal(day_of("Mon 07 February 1994 10:00"), 19940207);
	assert_int_equal(day_of("7-Feb-1994"), 19940207);
	/* §4.3: two-digit years 00-49 are 20xx, 50-99 19xx, three digits +1900 */
	assert_int_equal(day_of("21 Nov 97 09:55:06 GMT"), 19971121);
	assert_int_equal(day_of("1 Jan 49"), 20490101);
	assert_int_equal(day_of("1 Jan 50"), 19500101);
	assert_int_equal(day_of("1 Jan 103"), 20030101);
	/* what is no date */
	assert_int_equal(day_of(""), 0);
	assert_int_equal(day_of("Mon Feb  7 21:52:25 1994"), 0);	/* asctime */
	assert_int_equal(day_of("32 Jan 2020"), 0);
	assert_int_equal(day_of("0 Jan 2020"), 0);
	assert_int_equal(day_of("123 Jan 2020"), 0);
	assert_int_equal(day_of("7 Foo 1994"), 0);
	assert_int_equal(day_of("7 Feb"), 0);
	assert_int_equal(day_of("7 Feb 1"), 0);
	assert_int_equal(day_of("7 Feb 123456"), 0);
	assert_int_equal(day_of("(unterminated comment 7 Feb 1994"), 0);
}

/* Random input through every decoder, whole and in random chunks: no
 * crash, no overrun (ASan), and the chunking never changes the result. */
static void test_random(void **state)
{
	static const char alphabet[] = "=?_QBqb\r\n \tAZaz09+/\xc3\xa9\xff\x80-";
	unsigned seed = 2047;

	for (int round = 0; round < 3000; round++) {
		size_t len = rand_r(&seed) % 200, chunk = 1 + rand_r(&seed) % 17;
		char *in = malloc(len + 1);

		for (size_t i = 0; i < len; i++)
			in[i] = rand_r(&seed) % 4 == 0 ? (char)rand_r(&seed) :
				alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		in[len] = '\0';

		size_t n1, n2;
		char *a = qp_len(in, len, len ? len : 1, &n1), *b = qp_len(in, len, chunk, &n2);
		assert_int_equal(n1, n2);
		assert_memory_equal(a, b, n1);
		free(a);
		free(b);

		a = b64(in, 1000, &n1);
		b = b64(in, chunk, &n2);
		assert_int_equal(n1, n2);
		assert_memory_equal(a, b, n1);
		free(a);
		free(b);

		uint32_t day;
		(void)message_date_day(in, &day);

		struct buf hb;
		buf_init(&hb, 1 << 16);
		message_decode_header(in, len, &hb);
		buf_free(&hb);

		static const char *const charsets[] = { "utf-8", "shift_jis", "iso-2022-jp",
							"utf-16", "gb2312", "koi8-r" };
		const char *cs = charsets[round % 6];
		a = conv(cs, in, len, len ? len : 1);
		b = conv(cs, in, len, chunk);
		assert_string_equal(a, b);
		free(a);
		free(b);

		size_t fl;
		char *whole = text_fold_string(in, len, &fl);
		struct text_folder f;
		char *pieces = malloc(TEXT_FOLD_OUT_MAX(len) + 8 * (len / chunk + 1));
		size_t pn = 0;
		text_folder_init(&f);
		for (size_t i = 0; i < len; i += chunk)
			pn += text_fold(&f, in + i, len - i < chunk ? len - i : chunk, pieces + pn);
		pn += text_fold_finish(&f, pieces + pn);
		assert_int_equal(pn, fl);
		assert_memory_equal(pieces, whole, fl);
		free(pieces);
		free(whole);
		free(in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_rfc2047_examples),
		cmocka_unit_test(test_rfc2047_more),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_fold_table),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
