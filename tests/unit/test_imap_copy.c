/*
 * COPY, UID COPY, MOVE and UID MOVE in-process over loopback: COPYUID
 * (RFC 4315 §3) with the source and destination sets in step, TRYCREATE
 * for a missing target (RFC 3501 §6.4.7), COPY into the selected mailbox
 * reported as EXISTS, MOVE's untagged COPYUID before its EXPUNGEs (RFC 6851
 * §4.3), MOVE refused in a read-only mailbox, messages another session
 * expunged meanwhile (NO [EXPUNGEISSUED], RFC 5530).  Then the rest of the
 * post-login set: LIST/LSUB with the special-use attributes of a new
 * account (RFC 6154 §2), NAMESPACE (RFC 2342 §5), ENABLE (RFC 5161 §3.1)
 * and CHECK (RFC 3501 §6.4.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imap/imap_session.h"
#include "store/store.h"
#include "imap_fixture.h"

static struct store *alice(void)
{
	struct store *st;
	enum store_error err;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	return st;
}

static void deliver(const char *text, unsigned flags)
{
	struct store *st = alice();
	struct store_save *save;

	assert_int_equal(store_save_begin(st, "INBOX", 0, flags, &save), 0);
	assert_int_equal(store_save_write(save, text, strlen(text)), 0);
	assert_int_equal(store_save_commit(&save, NULL), 0);
	store_close(&st);
}

static uint32_t uidvalidity_of(const char *name)
{
	struct store *st = alice();
	struct mailbox *box;
	uint32_t v;

	assert_int_equal(mailbox_open(st, name, &box), 0);
	v = mailbox_uidvalidity(box);
	mailbox_close(&box);
	store_close(&st);
	return v;
}

/* SELECT or EXAMINE, reading its untagged lines up to the tagged OK. */
static void open_inbox(int fd, const char *how)
{
	char line[512], cmd[64];

	snprintf(cmd, sizeof(cmd), "s1 %s INBOX\r\n", how);
	lb_send_slowly(fd, cmd);
	do {
		lb_line(fd, line, sizeof(line));
		assert_true(line[0] == '*' || strncmp(line, "s1 OK", 5) == 0);
	} while (line[0] == '*');
}

/* The next line is "<tag> OK [COPYUID <uidvalidity of box> src dst] ..." */
static void expect_copyuid(int fd, const char *tag, const char *box, const char *src,
			   const char *dst)
{
	char line[512], want[256];

	lb_line(fd, line, sizeof(line));
	snprintf(want, sizeof(want), "%s OK [COPYUID %u %s %s] ", tag, uidvalidity_of(box), src,
		 dst);
	if (strncmp(line, want, strlen(want)) != 0)
		fail_msg("expected '%s', got '%s'", want, line);
}

static unsigned count_in(const char *name, unsigned *flags0_r)
{
	struct store *st = alice();
	struct mailbox *box;
	unsigned n;

	assert_int_equal(mailbox_open(st, name, &box), 0);
	n = mailbox_count(box);
	if (flags0_r != NULL && n > 0)
		*flags0_r = mailbox_msg(box, 0)->flags;
	mailbox_close(&box);
	store_close(&st);
	return n;
}

static void three_messages(void)
{
	deliver("Subject: 1\n\none\n", MSG_FLAG_SEEN | MSG_FLAG_FLAGGED);
	deliver("Subject: 2\n\ntwo\n", 0);
	deliver("Subject: 3\n\nthree\n", MSG_FLAG_ANSWERED);
}

static void test_copy(void **state)
{
	char line[512];
	unsigned flags;
	int fd;

	three_messages();
	fd = login();
	lb_send_slowly(fd, "c0 COPY 1 Archive\r\n");
	lb_expect(fd, "c0 BAD", false);			/* nothing selected */
	open_inbox(fd, "SELECT");
	lb_send_slowly(fd, "c1 COPY 1:2 Archive\r\n");
	expect_copyuid(fd, "c1", "Archive", "1:2", "1:2");
	lb_send_slowly(fd, "c2 UID COPY 3 Archive\r\n");	/* RFC 3501 §6.4.8 */
	expect_copyuid(fd, "c2", "Archive", "3", "3");
	assert_int_equal(count_in("Archive", &flags), 3);
	assert_int_equal(flags, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED);	/* flags kept */

	lb_send_slowly(fd, "c3 COPY 1 Nosuch\r\n");
	lb_expect(fd, "c3 NO [TRYCREATE]", false);
	lb_send_slowly(fd, "c4 COPY 4 Archive\r\n");
	lb_expect(fd, "c4 BAD", false);			/* no message 4 */
	lb_send_slowly(fd, "c5 COPY x Archive\r\n");
	lb_expect(fd, "c5 BAD", false);
	/* UIDs that match nothing are no error, and nothing to report */
	lb_send_slowly(fd, "c6 UID COPY 90:99 Archive\r\n");
	lb_line(fd, line, sizeof(line));
	assert_string_equal(line, "c6 OK Copy completed.");
	assert_int_equal(count_in("Archive", NULL), 3);

	/* into the selected mailbox: the copies show up at once */
	lb_send_slowly(fd, "c7 COPY 3,1 INBOX\r\n");
	lb_expect(fd, "* 5 EXISTS", false);
	lb_expect(fd, "* 5 RECENT", false);
	expect_copyuid(fd, "c7", "INBOX", "1,3", "4:5");
	/* a read-only mailbox may be copied from */
	open_inbox(fd, "EXAMINE");
	lb_send_slowly(fd, "c8 UID COPY 4:* Drafts\r\n");
	expect_copyuid(fd, "c8", "Drafts", "4:5", "1:2");
	logout(fd);
}

static void test_move(void **state)
{
	int fd;

	three_messages();
	fd = login();
	open_inbox(fd, "SELECT");
	/* RFC 6851 §4.3: COPYUID untagged, before the EXPUNGE */
	lb_send_slowly(fd, "m1 MOVE 1 Trash\r\n");
	expect_copyuid(fd, "*", "Trash", "1", "1");
	lb_expect(fd, "* 1 EXPUNGE", false);
	lb_expect(fd, "m1 OK", false);
	/* UIDs 2 and 3 are now messages 1 and 2 */
	lb_send_slowly(fd, "m2 UID MOVE 3 Trash\r\n");
	expect_copyuid(fd, "*", "Trash", "3", "2");
	lb_expect(fd, "* 2 EXPUNGE", false);
	lb_expect(fd, "m2 OK", false);
	assert_int_equal(count_in("Trash", NULL), 2);
	assert_int_equal(count_in("INBOX", NULL), 1);

	/* no target: nothing moves, nothing is expunged */
	lb_send_slowly(fd, "m3 MOVE 1 Nosuch\r\n");
	lb_expect(fd, "m3 NO [TRYCREATE]", false);
	assert_int_equal(count_in("INBOX", NULL), 1);
	/* into the mailbox itself (RFC 6851 §3.3 allows it): a new UID */
	lb_send_slowly(fd, "m4 MOVE 1 INBOX\r\n");
	expect_copyuid(fd, "*", "INBOX", "2", "4");
	lb_expect(fd, "* 1 EXPUNGE", false);
	lb_expect(fd, "* 1 EXISTS", false);
	lb_expect(fd, "* 1 RECENT", false);
	lb_expect(fd, "m4 OK", false);
	lb_send_slowly(fd, "m5 UID MOVE 1:3 Trash\r\n");	/* none of these UIDs left */
	lb_expect(fd, "m5 OK", false);

	/* EXAMINE: the sources cannot be removed, so no MOVE */
	open_inbox(fd, "EXAMINE");
	lb_send_slowly(fd, "m6 MOVE 1 Trash\r\n");
	lb_expect(fd, "m6 NO [CANNOT]", false);
	assert_int_equal(count_in("INBOX", NULL), 1);
	assert_int_equal(count_in("Trash", NULL), 2);
	logout(fd);
}

/* A message this session still counts but another session has expunged:
 * EXPUNGE may not be sent during STORE (RFC 3501 §7.4.1), so the client
 * keeps its number, and a COPY of it finds nothing to copy. */
static void test_copy_expunged_meanwhile(void **state)
{
	int a, b;

	three_messages();
	a = login();
	open_inbox(a, "SELECT");
	b = login();
	open_inbox(b, "SELECT");
	lb_send_slowly(b, "b1 UID MOVE 1 Junk\r\n");
	expect_copyuid(b, "*", "Junk", "1", "1");
	lb_expect(b, "* 1 EXPUNGE", false);
	lb_expect(b, "b1 OK", false);
	lb_run_for(100);	/* a's change notification */
	lb_send_slowly(a, "a1 STORE 3 +FLAGS.SILENT (\\Seen)\r\n");
	lb_expect(a, "a1 OK", false);	/* still 3 messages for a */
	lb_send_slowly(a, "a2 COPY 1 Archive\r\n");
	lb_expect(a, "a2 NO [EXPUNGEISSUED]", false);
	lb_send_slowly(a, "a3 COPY 1:2 Archive\r\n");
	expect_copyuid(a, "a3", "Archive", "2", "1");
	assert_int_equal(count_in("Archive", NULL), 1);
	lb_send_slowly(a, "a4 NOOP\r\n");
	lb_expect(a, "* 1 EXPUNGE", false);
	lb_expect(a, "a4 OK", false);
	logout(b);
	logout(a);
}

/* RFC 6154 §2: the mailboxes a new account starts with, flagged. */
static void test_special_use(void **state)
{
	int fd = login();

	lb_send_slowly(fd, "u1 LIST \"\" *\r\n");
	lb_expect(fd, "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"", false);
	lb_expect(fd, "u1 OK", false);
	/* subscribed, so clients that show only those see them */
	lb_send_slowly(fd, "u2 LSUB \"\" T*\r\n");
	lb_expect(fd, "* LSUB (\\Trash) \"/\" \"Trash\"", false);
	lb_expect(fd, "u2 OK", false);
	/* deleted, it is gone; made again, it is the trash again */
	lb_send_slowly(fd, "u3 DELETE Trash\r\n");
	lb_expect(fd, "u3 OK", false);
	lb_send_slowly(fd, "u4 LIST \"\" Trash\r\n");
	lb_expect(fd, "u4 OK", false);
	lb_send_slowly(fd, "u5 LSUB \"\" Trash\r\n");
	lb_expect(fd, "* LSUB () \"/\" \"Trash\"", false);	/* no attribute: it does not exist */
	lb_expect(fd, "u5 OK", false);
	lb_send_slowly(fd, "u6 CREATE Trash/Old\r\n");
	lb_expect(fd, "u6 OK", false);
	lb_send_slowly(fd, "u7 LIST \"\" Trash*\r\n");
	lb_expect(fd, "* LIST (\\HasChildren \\Trash) \"/\" \"Trash\"", false);
	lb_expect(fd, "* LIST (\\HasNoChildren) \"/\" \"Trash/Old\"", false);
	lb_expect(fd, "u7 OK", false);
	logout(fd);
}

static void test_namespace_enable_check(void **state)
{
	char line[256];
	int fd = lb_connect();

	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "n0 NAMESPACE\r\n");
	lb_expect(fd, "n0 BAD", false);		/* not logged in */
	lb_send_slowly(fd, "n1 LOGIN alice s3cret\r\n");
	lb_expect(fd, "n1 OK", false);
	/* RFC 2342 §5, example 5.1 */
	lb_send_slowly(fd, "n2 NAMESPACE\r\n");
	lb_line(fd, line, sizeof(line));
	assert_string_equal(line, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	lb_expect(fd, "n2 OK", false);
	/* RFC 5161 §3.1: unknown and not enableable names are ignored */
	lb_send_slowly(fd, "n3 ENABLE CONDSTORE X-GOOD-IDEA\r\n");
	lb_line(fd, line, sizeof(line));
	assert_string_equal(line, "* ENABLED");
	lb_expect(fd, "n3 OK", false);
	lb_send_slowly(fd, "n4 ENABLE\r\n");
	lb_expect(fd, "n4 BAD", false);		/* at least one name */
	lb_send_slowly(fd, "n5 ENABLE \"quoted\"\r\n");
	lb_expect(fd, "n5 BAD", false);
	lb_send_slowly(fd, "n6 CHECK\r\n");
	lb_expect(fd, "n6 BAD", false);		/* needs a selected mailbox */
	open_inbox(fd, "SELECT");
	lb_send_slowly(fd, "n7 CHECK\r\n");
	lb_expect(fd, "n7 OK", false);
	lb_send_slowly(fd, "n8 ENABLE CONDSTORE\r\n");
	lb_expect(fd, "n8 BAD", false);		/* authenticated state only */
	lb_send_slowly(fd, "n9 NAMESPACE\r\n");
	lb_expect(fd, "* NAMESPACE", false);
	lb_expect(fd, "n9 OK", false);
	logout(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_expunged_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_namespace_enable_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
