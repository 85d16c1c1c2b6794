/*
 * The MIME structure parser (RFC 2045, 2046): part trees, offsets, sizes
 * with CRLF line ends and body line counts, Content-* fields, broken MIME,
 * and the same result whatever the chunking.
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
#include "store/message.h"

static void dump(const struct message_part *p, struct buf *b)
{
	buf_printf(b, "%s/%s h=%llu+%llu b=%llu+%llu l=%llu e=%llu", p->type, p->subtype,
		   (unsigned long long)p->header_offset, (unsigned long long)p->header_vsize,
		   (unsigned long long)p->body_offset, (unsigned long long)p->body_vsize,
		   (unsigned long long)p->body_lines, (unsigned long long)p->end_offset);
	if (p->children) {
		buf_printf(b, " [");
		for (const struct message_part *c = p->children; c; c = c->next) {
			dump(c, b);
			if (c->next)
				buf_printf(b, ", ");
		}
		buf_printf(b, "]");
	}
}

/* Parses text in chunks of chunk bytes and returns the dump. */
static char *parse(const char *text, size_t chunk, struct message_part **tree_r)
{
	struct message_parser *p = message_parser_new();
	struct message_part *tree;
	size_t len = strlen(text);
	struct buf b;
	char *out;

	for (size_t i = 0; i < len; i += chunk)
		message_parser_feed(p, text + i, len - i < chunk ? len - i : chunk);
	tree = message_parser_finish(&p);
	assert_null(p);
	buf_init(&b, 1 << 20);
	dump(tree, &b);
	out = strdup(buf_ptr(&b));
	buf_free(&b);
	if (tree_r != NULL)
		*tree_r = tree;
	else
		message_part_free(&tree);
	return out;
}

/* Whole, byte by byte and in odd chunks: one answer. */
static void check(const char *text, const char *want)
{
	size_t chunks[] = { 100000, 1, 2, 3, 7, 64 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *got = parse(text, chunks[i], NULL);

		if (strcmp(got, want) != 0)
			fail_msg("chunk %zu:\n got  %s\n want %s", chunks[i], got, want);
		free(got);
	}
}

static void test_simple(void **state)
{
	struct message_part *t;
	char *d;

	/* header 12 bytes on disk, 14 with CRLF; body 12 -> 14, 2 lines */
	check("Subject: x\n\nHello\nWorld\n",
	      "text/plain h=0+14 b=12+14 l=2 e=24");
	check("Subject: x\r\n\r\nHello\r\nWorld\r\n",
	      "text/plain h=0+14 b=14+14 l=2 e=28");
	/* no final newline: lines are line breaks (as Dovecot counts), so 0 */
	check("Subject: x\n\nHello", "text/plain h=0+14 b=12+5 l=0 e=17");
	/* no blank line at all: everything is header */
	check("Subject: x\nFrom: y", "text/plain h=0+19 b=18+0 l=0 e=18");
	check("", "text/plain h=0+0 b=0+0 l=0 e=0");
	d = parse("Subject: x\nsubject: second\nFrom:  A <a@b>\n (folded)\n\n", 1000, &t);
	assert_string_equal(message_param(t->params, t->nparams, "charset"), "us-ascii");
	assert_string_equal(t->env[ENV_SUBJECT], "x");		/* the first one */
	assert_string_equal(t->env[ENV_FROM], "A <a@b> (folded)");
	assert_null(t->env[ENV_DATE]);
	message_part_free(&t);
	free(d);
}

static const char mixed[] =
	"Content-Type: multipart/mixed; boundary=\"b1\"\n"
	"\n"
	"preamble\n"
	"--b1\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"part one\n"
	"--b1\n"
	"Content-Type: application/octet-stream; name=\"x.bin\"\n"
	"Content-Transfer-Encoding: base64\n"
	"Content-Disposition: attachment; filename=\"x.bin\"\n"
	"\n"
	"AAAA\n"
	"--b1--\n"
	"epilogue\n";

static void test_multipart(void **state)
{
	struct message_part *t, *c1, *c2;
	char *d;

	/* RFC 2046 §5.1.1: "part one" ends before the LF that precedes the
	 * boundary, so its body is 8 octets and no line break: 0 lines. */
	/* figures checked with Python's str.index and CRLF counting */
	check(mixed,
	      "multipart/mixed h=0+48 b=46+241 l=13 e=274 ["
	      "text/plain h=60+43 b=101+8 l=0 e=109, "
	      "application/octet-stream h=115+142 b=253+4 l=0 e=257]");
	d = parse(mixed, 5, &t);
	c1 = t->children;
	c2 = c1->next;
	assert_int_equal(t->nchildren, 2);
	assert_string_equal(message_param(t->params, t->nparams, "boundary"), "b1");
	assert_string_equal(message_param(c1->params, c1->nparams, "charset"), "utf-8");
	assert_string_equal(c2->encoding, "base64");
	assert_string_equal(message_param(c2->params, c2->nparams, "name"), "x.bin");
	assert_string_equal(c2->disposition, "attachment");
	assert_string_equal(message_param(c2->disposition_params, c2->ndisposition_params,
					  "filename"), "x.bin");
	assert_ptr_equal(c2->parent, t);
	message_part_free(&t);
	free(d);
}

static void test_nested(void **state)
{
	/* mixed( alternative(text, html), message/rfc822( mixed(text) ) ) */
	const char *msg =
		"Content-Type: multipart/mixed; boundary=OUT\n\n"
		"--OUT\n"
		"Content-Type: multipart/alternative; boundary=\"IN\"\n\n"
		"--IN\n\nplain\n"
		"--IN\nContent-Type: text/html\n\n<b>x</b>\n"
		"--IN--\n"
		"--OUT\n"
		"Content-Type: message/rfc822\n\n"
		"Subject: inner\nContent-Type: multipart/mixed; boundary=X\n\n"
		"--X\n\ninner text\n--X--\n"
		"--OUT--\n";
	struct message_part *t;
	char *d = parse(msg, 3, &t);
	const struct message_part *alt = t->children, *rfc = alt->next, *inner = rfc->children;

	assert_string_equal(alt->subtype, "alternative");
	assert_int_equal(alt->nchildren, 2);
	assert_string_equal(alt->children->type, "text");
	assert_string_equal(alt->children->next->subtype, "html");
	assert_string_equal(rfc->type, "message");
	assert_int_equal(rfc->nchildren, 1);
	assert_string_equal(inner->subtype, "mixed");
	assert_int_equal(inner->nchildren, 1);
	assert_int_equal(inner->children->body_vsize, strlen("inner text"));
	/* the encapsulated message spans the whole message/rfc822 body */
	assert_int_equal(inner->header_offset, rfc->body_offset);
	assert_int_equal(inner->end_offset, rfc->end_offset);
	/* envelope fields: the inner message's own, none on plain parts */
	assert_string_equal(inner->env[ENV_SUBJECT], "inner");
	assert_null(t->env[ENV_SUBJECT]);
	assert_null(alt->env[ENV_SUBJECT]);
	message_part_free(&t);
	free(d);
}

static void test_broken(void **state)
{
	struct message_part *t;
	char *d;

	/* no final boundary: the last part runs to the end */
	d = parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b\n\ny\n", 1, &t);
	assert_int_equal(t->nchildren, 2);
	assert_int_equal(t->children->next->body_vsize, 3);	/* "y\r\n" */
	message_part_free(&t);
	free(d);
	/* multipart without a boundary: one opaque body */
	d = parse("Content-Type: multipart/mixed\n\n--b\n\nx\n", 1, &t);
	assert_int_equal(t->nchildren, 0);
	message_part_free(&t);
	free(d);
	/* unusable Content-Type is text/plain (RFC 2045 §5.2) */
	d = parse("Content-Type: garbage\n\nx\n", 1, &t);
	assert_string_equal(t->type, "text");
	message_part_free(&t);
	free(d);
	/* comments, folding, RFC 2231 continuations */
	d = parse("Content-Type: text/plain (a comment);\n title*0=\"abc\";\n\ttitle*1=def;"
		  " Format=Flowed\n\nx\n", 2, &t);
	assert_string_equal(message_param(t->params, t->nparams, "title"), "abcdef");
	assert_string_equal(message_param(t->params, t->nparams, "format"), "Flowed");
	message_part_free(&t);
	free(d);
	/* RFC 2231 §4: an encoded value keeps its form and its name the "*",
	 * joined pieces too; plain pieces join under the plain name */
	d = parse("Content-Type: text/plain; name*0*=utf-8''%E2%82%AC; name*1*=%20x.bin;\n"
		  " title*=us-ascii'en'hi; a*0=\"p\"; a*1=q\n\nx\n", 3, &t);
	assert_int_equal(t->nparams, 3);
	assert_string_equal(message_param(t->params, t->nparams, "name*"),
			    "utf-8''%E2%82%AC%20x.bin");
	assert_null(message_param(t->params, t->nparams, "name"));
	assert_string_equal(message_param(t->params, t->nparams, "title*"), "us-ascii'en'hi");
	assert_string_equal(message_param(t->params, t->nparams, "a"), "pq");
	message_part_free(&t);
	free(d);
	/* a digest's parts default to message/rfc822 (RFC 2046 §5.1.5) */
	d = parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nA\n--d--\n", 4,
		  &t);
	assert_string_equal(t->children->type, "message");
	assert_int_equal(t->children->nchildren, 1);
	message_part_free(&t);
	free(d);
}

/*
 * The line break before a boundary belongs to the boundary (RFC 2046
 * §5.1.1), also when it is the blank line that would end a header: found
 * by fuzz_mime (tests/fuzz/corpus/fuzz_mime/crash-digest-inner-header),
 * where a digest part's message ended past the part holding it.
 */
static void test_boundary_takes_blank_line(void **state)
{
	/* an empty part: no header, no body */
	check("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b--\n",
	      "multipart/mixed h=0+45 b=43+14 l=3 e=54 [text/plain h=47+0 b=47+0 l=0 e=47]");
	/* a message inside a digest part whose header ends at the boundary:
	 * all header, inside the part (it ended one byte past it) */
	check("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\n--d--\n",
	      "multipart/digest h=0+46 b=44+28 l=5 e=67 [message/rfc822 h=48+2 b=49+12 l=1 e=60"
	      " [text/plain h=49+12 b=60+0 l=0 e=60]]");
	/* a part with a header and nothing after it */
	check("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n--b--\n",
	      "multipart/mixed h=0+45 b=43+39 l=4 e=78 [text/html h=47+25 b=71+0 l=0 e=71]");
}

static void test_deep_and_long(void **state)
{
	struct buf b;
	struct message_part *t;
	char *d;

	/* 200 nested multiparts: bounded depth, no crash */
	buf_init(&b, 1 << 22);
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	buf_printf(&b, "\nbody\n");
	d = parse(buf_ptr(&b), 4096, &t);
	assert_non_null(t);
	message_part_free(&t);
	free(d);
	/* a 100 KB line and a huge header */
	buf_reset(&b);
	buf_printf(&b, "Subject: ");
	for (int i = 0; i < 100000; i++)
		buf_append(&b, "x", 1);
	buf_printf(&b, "\n\nbody\n");
	d = parse(buf_ptr(&b), 777, &t);
	assert_int_equal(t->body_vsize, 6);
	assert_int_equal(t->header_vsize, 100000 + 9 + 4);
	message_part_free(&t);
	free(d);
	buf_free(&b);
}

/* Random MIME-ish text in random chunks: sizes always add up. */
static void test_random(void **state)
{
	static const char *const pieces[] = {
		"Content-Type: multipart/mixed; boundary=b\n", "Content-Type: message/rfc822\n",
		"Content-Type: multipart/digest; boundary=c\n", "--b\n", "--b--\n", "--c\n",
		"\n", "\r\n", "text\n", "x", "\r", " folded\n", "Subject: s\n", "--c--",
	};
	unsigned seed = 4242;

	for (int n = 0; n < 3000; n++) {
		struct message_parser *mp = message_parser_new();
		struct message_part *t;
		char text[2048];
		size_t len = 0;

		for (int k = (int)(rand_r(&seed) % 40); k > 0; k--) {
			const char *piece = pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t pl = strlen(piece);

			if (len + pl >= sizeof(text))
				break;
			memcpy(text + len, piece, pl);
			len += pl;
		}
		for (size_t i = 0; i < len;) {
			size_t c = 1 + rand_r(&seed) % 17;

			if (c > len - i)
				c = len - i;
			message_parser_feed(mp, text + i, c);
			i += c;
		}
		t = message_parser_finish(&mp);
		assert_int_equal(t->end_offset, len);
		assert_true(t->body_offset <= t->end_offset);
		message_part_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_boundary_takes_blank_line),
		cmocka_unit_test(test_deep_and_long),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
