/* ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501 §7.4.2), from parsed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap_format.h"
#include "store/message.h"

static struct message_part *parse(const char *text)
{
	struct message_parser *p = message_parser_new();

	message_parser_feed(p, text, strlen(text));
	return message_parser_finish(&p);
}

static void expect_envelope(const char *msg, const char *want)
{
	struct message_part *t = parse(msg);
	struct buf b;

	buf_init(&b, 1 << 20);
	imap_envelope(&b, t);
	if (strcmp(buf_ptr(&b), want) != 0)
		fail_msg("\n got  %s\n want %s", buf_ptr(&b), want);
	buf_free(&b);
	message_part_free(&t);
}

static void expect_body(const char *msg, bool extended, const char *want)
{
	struct message_part *t = parse(msg);
	struct buf b;

	buf_init(&b, 1 << 20);
	imap_bodystructure(&b, t, extended);
	if (strcmp(buf_ptr(&b), want) != 0)
		fail_msg("\n got  %s\n want %s", buf_ptr(&b), want);
	buf_free(&b);
	message_part_free(&t);
}

static void test_envelope_rfc3501(void **state)
{
	/* The ENVELOPE of RFC 3501 §8's example, to the byte. */
	expect_envelope(
		"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
		"From: Terry Gray <gray@cac.washington.edu>\n"
		"Subject: IMAP4rev1 WG mtg summary and minutes\n"
		"To: imap@cac.washington.edu\n"
		"cc: minutes@CNRI.Reston.VA.US,\n John Klensin <KLENSIN@MIT.EDU>\n"
		"Message-Id: <B27397-0100000@cac.washington.edu>\n"
		"\nbody\n",
		"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((NIL NIL \"imap\" \"cac.washington.edu\")) "
		"((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
		"(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
		"\"<B27397-0100000@cac.washington.edu>\")");
}

static void test_envelope_edges(void **state)
{
	/* no header at all; a group; a missing domain; a literal for 8-bit */
	expect_envelope("\nbody\n", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	expect_envelope("From: a@b.test\nReply-To:\nTo: Friends: c@d.test;\n"
			"Bcc: postmaster\nSubject: caf\xc3\xa9\n\n",
			"(NIL {5}\r\ncaf\xc3\xa9 ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) "
			"((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"Friends\" NIL)(NIL NIL \"c\" \"d.test\")"
			"(NIL NIL NIL NIL)) NIL ((NIL NIL \"postmaster\" \"MISSING_DOMAIN\")) NIL NIL)");
	expect_envelope("Subject: a \"quoted\" \\ one\n\n",
			"(NIL \"a \\\"quoted\\\" \\\\ one\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static const char mixed[] =
	"Content-Type: multipart/mixed; boundary=\"x\"\n\n"
	"--x\n"
	"Content-Type: text/plain; charset=US-ASCII\n\n"
	"line 1\nline 2\n"
	"--x\n"
	"Content-Type: text/plain; charset=US-ASCII; name=\"cc.diff\"\n"
	"Content-ID: <960723163407.20117h@cac.washington.edu>\n"
	"Content-Description: Compiler diff\n"
	"Content-Transfer-Encoding: BASE64\n"
	"Content-Disposition: attachment; filename=cc.diff\n"
	"Content-Language: en\n\n"
	"QUJD\n"
	"--x--\n";

static void test_body(void **state)
{
	/* the shape of RFC 3501 §7.4.2's BODY example; a part's last line
	 * break belongs to the boundary (RFC 2046 §5.1.1), so it is not counted */
	expect_body(mixed, false,
		    "((\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 14 1)"
		    "(\"text\" \"plain\" (\"charset\" \"US-ASCII\" \"name\" \"cc.diff\") "
		    "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4 0) "
		    "\"mixed\")");
	expect_body(mixed, true,
		    "((\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 14 1 NIL NIL NIL NIL)"
		    "(\"text\" \"plain\" (\"charset\" \"US-ASCII\" \"name\" \"cc.diff\") "
		    "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4 0 NIL "
		    "(\"attachment\" (\"filename\" \"cc.diff\")) \"en\" NIL) "
		    "\"mixed\" (\"boundary\" \"x\") NIL NIL NIL)");
	/* default type, no final newline: lines are line breaks, so 0 (as
	 * Dovecot counts, tests/peer) */
	expect_body("Subject: x\n\nhello", true,
		    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)");
	/* RFC 3282 §2: several languages are a list; a text part without
	 * charset is US-ASCII (RFC 2046 §4.1.2) and says so, after its own
	 * parameters (both as Dovecot sends them, tests/peer) */
	expect_body("Content-Type: text/plain; name=a.txt\nContent-Language: en, de\n\nx\n", true,
		    "(\"text\" \"plain\" (\"name\" \"a.txt\" \"charset\" \"us-ascii\") NIL NIL "
		    "\"7bit\" 3 1 NIL NIL (\"en\" \"de\") NIL)");
	expect_body("Content-Type: text/html\n\nx\n", false,
		    "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)");
	/* non-text has no line count */
	expect_body("Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBO\n", false,
		    "(\"image\" \"png\" NIL NIL NIL \"base64\" 6)");
}

static void test_message_rfc822(void **state)
{
	expect_body("Content-Type: message/rfc822\n\n"
		    "Subject: inner\nFrom: x@y.test\n\nhi\n", false,
		    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 38 "
		    "(NIL \"inner\" ((NIL NIL \"x\" \"y.test\")) ((NIL NIL \"x\" \"y.test\")) "
		    "((NIL NIL \"x\" \"y.test\")) NIL NIL NIL NIL NIL) "
		    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1) 4)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_rfc3501),
		cmocka_unit_test(test_envelope_edges),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_message_rfc822),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
