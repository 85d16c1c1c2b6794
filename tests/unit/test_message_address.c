/* RFC 5322 address lists as ENVELOPE needs them (RFC 3501 §7.4.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/message_address.h"

/* "name|route|mailbox|host" per address, "(" and ")" for group ends. */
static char *show(const char *value)
{
	struct message_address *list = message_address_parse(value), *a;
	struct buf b;
	char *out;

	buf_init(&b, 1 << 16);
	for (a = list; a != NULL; a = a->next) {
		if (a->group_start)
			buf_printf(&b, "%s(", a->mailbox);
		else if (a->group_end)
			buf_printf(&b, ") ");
		else
			buf_printf(&b, "%s|%s|%s|%s ", a->name ? a->name : "-",
				   a->route ? a->route : "-", a->mailbox ? a->mailbox : "-",
				   a->host ? a->host : "-");
	}
	out = strdup(buf_ptr(&b));
	buf_free(&b);
	message_address_free(&list);
	assert_null(list);
	return out;
}

static void expect(const char *value, const char *want)
{
	char *got = show(value);

	if (strcmp(got, want) != 0)
		fail_msg("'%s':\n got  '%s'\n want '%s'", value, got, want);
	free(got);
}

static void test_rfc5322_examples(void **state)
{
	/* RFC 5322 Appendix A.1.1-A.1.3 */
	expect("John Doe <jdoe@machine.example>", "John Doe|-|jdoe|machine.example ");
	expect("Mary Smith <mary@example.net>", "Mary Smith|-|mary|example.net ");
	expect("\"Joe Q. Public\" <john.q.public@example.com>",
	       "Joe Q. Public|-|john.q.public|example.com ");
	expect("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	       "Mary Smith|-|mary|x.test -|-|jdoe|example.org Who?|-|one|y.test ");
	expect("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	       "-|-|boss|nil.test Giant; \"Big\" Box|-|sysservices|example.net ");
	expect("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	       "A Group(Ed Jones|-|c|a.test -|-|joe|where.test John|-|jdoe|one.test ) ");
	expect("Undisclosed recipients:;", "Undisclosed recipients() ");
	/* A.5: comments and folding */
	expect("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	       "Pete|-|pete|silly.test ");
	expect("John Q. Public <JQP@x.test>", "John Q. Public|-|JQP|x.test ");
}

static void test_obsolete_and_broken(void **state)
{
	expect("<@route1,@route2:user@host.test>", "-|@route1,@route2|user|host.test ");
	expect("postmaster", "-|-|postmaster|- ");
	expect("user@[192.0.2.1]", "-|-|user|[192.0.2.1] ");
	expect("\"quoted local\"@x.test", "-|-|quoted local|x.test ");
	expect(",, a@b.test ,,", "-|-|a|b.test ");
	expect("Name <unterminated@x.test", "Name|-|unterminated|x.test ");
	expect("\"unterminated quote <a@b.test>", "-|-|unterminated quote <a@b.test>|- ");
	expect("", "");
	expect("   (only a comment)  ", "");
	expect("=?UTF-8?Q?J=C3=BCrgen?= <j@x.test>", "=?UTF-8?Q?J=C3=BCrgen?=|-|j|x.test ");
	/* RFC 822 style: the comment after a bare address names it (as
	 * Dovecot does); folded, quoted-pairs undone; empty: no name */
	expect("a@b.test (Alice)", "Alice|-|a|b.test ");
	expect("a@b.test ( Al \\) ice\r\n (x) ), c@d.test", "Al ) ice (x)|-|a|b.test -|-|c|d.test ");
	expect("a@b.test ()", "-|-|a|b.test ");
	expect("(before) a@b.test", "-|-|a|b.test ");
	expect(":;", "");		/* a group needs a name: junk */
}

static void test_garbage(void **state)
{
	/* must not crash or loop on anything */
	const char *junk[] = { "<<<>>>", "@@@", ";;;::::", "\\", "(", "\"", "[", "<", ">,<",
			       "a:b:c:d;;", "x@", "@x", "a <b> c <d>", "\x01\xff\xfe", "\"\"",
			       "\"\" <>", "<\"\">", "\"\"@" };

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		free(show(junk[i]));
	/* 20000 random strings over the characters that matter (fixed seed) */
	const char alphabet[] = "()<>[]:;@\\,.\" aZ\t";
	unsigned seed = 12345;
	for (int n = 0; n < 20000; n++) {
		char str[40];
		int len = (int)(rand_r(&seed) % 39);

		for (int i = 0; i < len; i++)
			str[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		str[len] = '\0';
		free(show(str));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5322_examples),
		cmocka_unit_test(test_obsolete_and_broken),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
