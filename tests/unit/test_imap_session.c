/*
 * The IMAP session in-process, byte by byte: greeting and CAPABILITY
 * (RFC 3501 §6.1.1, §7.1 response codes), LOGIN with quoted strings and
 * synchronising and non-synchronising literals (RFC 3501 §4.3, RFC 7888),
 * AUTHENTICATE PLAIN with SASL-IR (RFC 4959) and with a continuation, cancel,
 * ID (RFC 2971), wrong-state and unknown commands, a literal over the limit
 * refused before it is sent, and LOGOUT (§6.1.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imap/imap_session.h"
#include "store/store.h"
#include "loopback_server.h"

static int setup(void **state)
{
	lb_start(&imap_handler, "alice:{PLAIN}s3cret\nbob:{PLAIN}pw\n");
	return 0;
}

static int teardown(void **state)
{
	lb_stop();
	return 0;
}

static void test_not_authenticated(void **state)
{
	int fd = lb_connect();

	lb_expect(fd, "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID AUTH=SCRAM-SHA-256 "
		  "AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN]",
		  false);
	lb_send_slowly(fd, "a1 capability\r\n");
	lb_expect(fd, "* CAPABILITY IMAP4rev1 ", false);
	lb_expect(fd, "a1 OK", false);
	lb_send_slowly(fd, "a2 NOOP\r\n");
	lb_expect(fd, "a2 OK", false);
	lb_send_slowly(fd, "a3 SELECT INBOX\r\n");
	lb_expect(fd, "a3 BAD", false);			/* not logged in */
	lb_send_slowly(fd, "a4 FROBNICATE\r\n");
	lb_expect(fd, "a4 BAD", false);
	lb_send_slowly(fd, "a5 LOGIN alice\r\n");
	lb_expect(fd, "a5 BAD", false);			/* one argument */
	lb_send_slowly(fd, "a6 LOGIN alice wrong\r\n");
	lb_expect(fd, "a6 NO [AUTHENTICATIONFAILED]", false);
	lb_send_slowly(fd, "a7 ID (\"name\" \"unit test\" \"version\" NIL)\r\n");
	lb_expect(fd, "* ID (\"name\" \"duomail\")", false);
	lb_expect(fd, "a7 OK", false);
	lb_send_slowly(fd, "a8 STARTTLS\r\n");
	lb_expect(fd, "a8 NO", false);			/* no certificate here */
	lb_send_slowly(fd, "(garbage\r\n");
	lb_expect(fd, "* BAD", false);			/* no tag: untagged BAD */
	/* literals: a synchronising one gets "+", a LITERAL+ one does not */
	lb_send_slowly(fd, "a9 LOGIN {5}\r\n");
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "alice {6+}\r\ns3cret\r\n");
	lb_expect(fd, "a9 OK [CAPABILITY IMAP4rev1", false);
	lb_send_slowly(fd, "b1 LOGIN alice s3cret\r\n");
	lb_expect(fd, "b1 BAD", false);			/* already logged in */
	lb_send_slowly(fd, "b2 CAPABILITY\r\n");
	lb_expect(fd, "* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID CHILDREN UNSELECT IDLE UIDPLUS MOVE "
		  "NAMESPACE ENABLE SPECIAL-USE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE\r",
		  false);
	lb_expect(fd, "b2 OK", false);
	lb_send_slowly(fd, "b3 LOGOUT\r\n");
	lb_expect(fd, "* BYE", false);
	lb_expect(fd, "b3 OK", false);
	close(fd);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, 0);
}

static void test_authenticate(void **state)
{
	int fd = lb_connect();

	lb_expect(fd, "* OK", false);
	/* SASL-IR: base64("\0bob\0pw") */
	lb_send_slowly(fd, "c1 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n");
	lb_expect(fd, "c1 OK [CAPABILITY", false);
	close(fd);

	fd = lb_connect();
	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "c2 AUTHENTICATE PLAIN\r\n");
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "*\r\n");
	lb_expect(fd, "c2 BAD", false);			/* RFC 3501 §6.2.2: cancelled */
	lb_send_slowly(fd, "c3 AUTHENTICATE LOGIN\r\n");
	lb_expect(fd, "+ VXNlcm5hbWU6", false);		/* "Username:" */
	lb_send_slowly(fd, "YWxpY2U=\r\n");
	lb_expect(fd, "+ UGFzc3dvcmQ6", false);		/* "Password:" */
	lb_send_slowly(fd, "bm9wZQ==\r\n");
	lb_expect(fd, "c3 NO [AUTHENTICATIONFAILED]", false);
	lb_send_slowly(fd, "c4 AUTHENTICATE PLAIN !!!\r\n");
	lb_expect(fd, "c4 BAD", false);
	lb_send_slowly(fd, "c5 AUTHENTICATE DIGEST-MD5\r\n");
	lb_expect(fd, "c5 NO", false);			/* not offered */
	lb_send_slowly(fd, "c5 AUTHENTICATE CRAM-MD5\r\n");	/* a plaintext user exists */
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "*\r\n");
	lb_expect(fd, "c5 BAD", false);
	lb_send_slowly(fd, "c6 AUTHENTICATE PLAIN =\r\n");
	lb_expect(fd, "c6 NO", false);			/* empty IR: not PLAIN */
	/* a literal beyond the command limit is refused before it is sent */
	lb_send_slowly(fd, "c7 LOGIN {99999999}\r\n");
	lb_expect(fd, "c7 BAD [TOOBIG]", false);
	lb_send_slowly(fd, "c8 NOOP\r\n");
	lb_expect(fd, "c8 OK", false);
	close(fd);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, 0);
}

static void test_mailboxes(void **state)
{
	int fd = lb_connect();

	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "m0 LIST \"\" *\r\n");
	lb_expect(fd, "m0 BAD", false);			/* not logged in */
	lb_send_slowly(fd, "m1 LOGIN bob pw\r\n");
	lb_expect(fd, "m1 OK", false);
	lb_send_slowly(fd, "m2 CREATE Archive/2026/\r\n");
	lb_expect(fd, "m2 OK", false);
	lb_send_slowly(fd, "m3 CREATE \"Entw&APw-rfe\"\r\n");
	lb_expect(fd, "m3 OK", false);
	lb_send_slowly(fd, "m4 CREATE Archive\r\n");
	lb_expect(fd, "m4 NO [ALREADYEXISTS]", false);	/* made as a parent */
	lb_send_slowly(fd, "m5 CREATE \"bad&utf7\"\r\n");
	lb_expect(fd, "m5 NO [CANNOT]", false);
	lb_send_slowly(fd, "m6 CREATE \"../../escape\"\r\n");
	lb_expect(fd, "m6 NO [CANNOT]", false);
	lb_send_slowly(fd, "m7 LIST \"\" \"\"\r\n");
	lb_expect(fd, "* LIST (\\Noselect) \"/\" \"\"", false);
	lb_expect(fd, "m7 OK", false);
	/* with the special-use folders of a new account (RFC 6154 §2) */
	lb_send_slowly(fd, "m8 LIST \"\" *\r\n");
	lb_expect(fd, "* LIST (\\HasChildren \\Archive) \"/\" \"Archive\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren) \"/\" \"Archive/2026\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"", false);
	lb_expect(fd, "m8 OK", false);
	lb_send_slowly(fd, "m9 LIST Archive/ %\r\n");
	lb_expect(fd, "* LIST (\\HasNoChildren) \"/\" \"Archive/2026\"", false);
	lb_expect(fd, "m9 OK", false);
	lb_send_slowly(fd, "n1 DELETE Archive\r\n");
	lb_expect(fd, "n1 NO [CANNOT]", false);		/* has children */
	lb_send_slowly(fd, "n2 RENAME Archive Old\r\n");
	lb_expect(fd, "n2 OK", false);
	lb_send_slowly(fd, "n3 DELETE Old/2026\r\n");
	lb_expect(fd, "n3 OK", false);
	lb_send_slowly(fd, "n4 DELETE INBOX\r\n");
	lb_expect(fd, "n4 NO [CANNOT]", false);
	lb_send_slowly(fd, "n5 DELETE Nosuch\r\n");
	lb_expect(fd, "n5 NO [NONEXISTENT]", false);
	lb_send_slowly(fd, "n6 SUBSCRIBE Old/sub\r\n");
	lb_expect(fd, "n6 OK", false);
	lb_send_slowly(fd, "n7 LSUB \"\" %\r\n");
	lb_expect(fd, "* LSUB () \"/\" \"Archive\"", false);	/* subscribed, renamed away */
	lb_expect(fd, "* LSUB (\\Drafts) \"/\" \"Drafts\"", false);
	lb_expect(fd, "* LSUB (\\Junk) \"/\" \"Junk\"", false);
	lb_expect(fd, "* LSUB (\\Noselect) \"/\" \"Old\"", false);
	lb_expect(fd, "* LSUB (\\Sent) \"/\" \"Sent\"", false);
	lb_expect(fd, "* LSUB (\\Trash) \"/\" \"Trash\"", false);
	lb_expect(fd, "n7 OK", false);
	/* "*" reaches Old/sub itself: no \Noselect level for it (§6.3.9
	 * asks for that with "%" only; Dovecot agrees, tests/peer) */
	lb_send_slowly(fd, "n8 LSUB \"\" Old*\r\n");
	lb_expect(fd, "* LSUB () \"/\" \"Old/sub\"", false);
	lb_expect(fd, "n8 OK", false);
	lb_send_slowly(fd, "n8 UNSUBSCRIBE Old/sub\r\n");
	lb_expect(fd, "n8 OK", false);
	lb_send_slowly(fd, "n9 LSUB \"\" Old/*\r\n");
	lb_expect(fd, "n9 OK", false);
	close(fd);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, 0);
}

static void deliver(const char *user, const char *text)
{
	struct store *st;
	struct store_save *save;
	enum store_error err;

	assert_int_equal(store_open(lb_root, user, &st, &err), 0);
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &save), 0);
	assert_int_equal(store_save_write(save, text, strlen(text)), 0);
	assert_int_equal(store_save_commit(&save, NULL), 0);
	store_close(&st);
}

static void test_select(void **state)
{
	int a, b;

	deliver("alice", "Subject: 1\n\nx\n");
	deliver("alice", "Subject: 2\n\nx\n");
	deliver("alice", "Subject: 3\n\nx\n");
	a = lb_connect();
	lb_expect(a, "* OK", false);
	lb_send_slowly(a, "s1 LOGIN alice s3cret\r\n");
	lb_expect(a, "s1 OK", false);
	lb_send_slowly(a, "s2 CLOSE\r\n");
	lb_expect(a, "s2 BAD", false);			/* nothing selected */
	lb_send_slowly(a, "s3 STATUS INBOX (MESSAGES RECENT UNSEEN UIDNEXT)\r\n");
	lb_expect(a, "* STATUS \"INBOX\" (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 3)", false);
	lb_expect(a, "s3 OK", false);
	lb_send_slowly(a, "s4 STATUS INBOX (BOGUS)\r\n");
	lb_expect(a, "s4 BAD", false);
	/* RFC 3501 §6.3.1 example responses */
	lb_send_slowly(a, "s5 SELECT inbox\r\n");
	lb_expect(a, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", false);
	lb_expect(a, "* OK [PERMANENTFLAGS (\\Answered", false);
	lb_expect(a, "* 3 EXISTS", false);
	lb_expect(a, "* 3 RECENT", false);
	lb_expect(a, "* OK [UNSEEN 1]", false);
	lb_expect(a, "* OK [UIDVALIDITY ", false);
	lb_expect(a, "* OK [UIDNEXT 4]", false);
	lb_expect(a, "s5 OK [READ-WRITE]", false);

	/* a second session: the messages are no longer recent for it */
	b = lb_connect();
	lb_expect(b, "* OK", false);
	lb_send_slowly(b, "t1 LOGIN alice s3cret\r\n");
	lb_expect(b, "t1 OK", false);
	lb_send_slowly(b, "t2 EXAMINE INBOX\r\n");
	lb_expect(b, "* FLAGS", false);
	lb_expect(b, "* OK [PERMANENTFLAGS ()]", false);
	lb_expect(b, "* 3 EXISTS", false);
	lb_expect(b, "* 0 RECENT", false);
	lb_expect(b, "* OK [UNSEEN 1]", false);
	lb_expect(b, "* OK [UIDVALIDITY", false);
	lb_expect(b, "* OK [UIDNEXT 4]", false);
	lb_expect(b, "t2 OK [READ-ONLY]", false);
	lb_send_slowly(b, "t3 SELECT Nosuch\r\n");
	lb_expect(b, "t3 NO [NONEXISTENT]", false);
	lb_send_slowly(b, "t4 CLOSE\r\n");
	lb_expect(b, "t4 BAD", false);		/* the failed SELECT deselected */
	close(b);

	lb_send_slowly(a, "s6 UNSELECT\r\n");
	lb_expect(a, "s6 OK", false);
	lb_send_slowly(a, "s7 UNSELECT\r\n");
	lb_expect(a, "s7 BAD", false);
	lb_send_slowly(a, "s8 EXAMINE INBOX\r\n");
	lb_expect(a, "* FLAGS", false);
	lb_expect(a, "* OK [PERMANENTFLAGS ()]", false);
	lb_expect(a, "* 3 EXISTS", false);
	lb_expect(a, "* 0 RECENT", false);
	lb_expect(a, "* OK [UNSEEN", false);
	lb_expect(a, "* OK [UIDVALIDITY", false);
	lb_expect(a, "* OK [UIDNEXT", false);
	lb_expect(a, "s8 OK [READ-ONLY]", false);
	lb_send_slowly(a, "s9 CLOSE\r\n");
	lb_expect(a, "s9 OK", false);
	lb_send_slowly(a, "u1 LOGOUT\r\n");
	lb_expect(a, "* BYE", false);
	lb_expect(a, "u1 OK", false);
	close(a);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_authenticated),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_mailboxes),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
