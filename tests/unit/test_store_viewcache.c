/*
 * Reopening a big folder from the process's copy of its last synced view
 * (store/maildir/maildir_viewcache.c): an unchanged folder opens without a
 * directory read (shown, as in test_store_stamp.c, by a file slipped into
 * cur/ with the directory's time put back, which only a read would find);
 * any real change, a new POP3 hide list, and \Recent marks of another
 * session (RFC 3501 §2.3.2: a message is \Recent in one session only) do
 * not come from the copy.
 *
 * The copy is handed out by stamps, so change notification (maildir_notify.c,
 * which would see the slipped file and spare the syncs the copy is made at)
 * is off here; test_store_notify.c tests it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_fixture.h"
#include "store/maildir/maildir.h"

#define BIG 1500	/* above the copy's minimum folder size */

/* Puts cur/ and new/ two seconds in the past, so stamps are settled. */
static void age_dirs(void)
{
	const char *subs[] = { "cur", "new" };
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= 2;
	t[1] = t[0];
	for (int i = 0; i < 2; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", user_dir, subs[i]);
		assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	}
}

static struct store *big_store(void)
{
	struct store *st = open_store();

	for (int i = 0; i < BIG; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%d.M%dP1.host:2,%s", 1700000000 + i, i,
			 i % 2 ? "S" : "");
		drop_into("cur", name);
	}
	/* The first open hands out UIDs and writes the index: a sync with
	 * no index before it takes no stamp, so it leaves no copy. */
	struct mailbox *box;
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	mailbox_close(&box);
	age_dirs();
	return st;
}

/* A file in cur/ that cur/'s time does not show. */
static void slip_into_cur(const char *name)
{
	char cur[512];
	struct stat sb;
	struct timespec t[2];

	snprintf(cur, sizeof(cur), "%s/cur", user_dir);
	assert_int_equal(stat(cur, &sb), 0);
	drop_into("cur", name);
	t[0] = sb.st_atim;
	t[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, cur, t, 0), 0);
}

static void test_unchanged_reopen_uses_the_copy(void **state)
{
	struct store *st = big_store();
	struct mailbox *a, *b, *c;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_count(a), BIG);
	slip_into_cur("1800000000.slipped.host:2,");
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_count(b), BIG);	/* from the copy, as designed */
	assert_int_equal(mailbox_uidvalidity(b), mailbox_uidvalidity(a));
	assert_int_equal(mailbox_uidnext(b), mailbox_uidnext(a));
	for (unsigned i = 0; i < BIG; i++) {
		assert_int_equal(mailbox_msg(b, i)->uid, mailbox_msg(a, i)->uid);
		assert_int_equal(mailbox_msg(b, i)->flags, mailbox_msg(a, i)->flags);
		assert_string_equal(mailbox_msg(b, i)->uidl, mailbox_msg(a, i)->uidl);
	}
	/* A delivery changes new/: the next open reads, and finds both. */
	drop_into("new", "1900000000.delivered.host");
	assert_int_equal(mailbox_open(st, "INBOX", &c), 0);
	assert_int_equal(mailbox_count(c), BIG + 2);
	mailbox_close(&a);
	mailbox_close(&b);
	mailbox_close(&c);
	store_close(&st);
}

static void test_flag_change_is_not_from_the_copy(void **state)
{
	struct store *st = big_store();
	struct mailbox *a, *b;
	uint32_t uid;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	uid = mailbox_msg(a, 10)->uid;
	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_FLAGGED, 0), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_true(mailbox_msg(b, 10)->flags & MSG_FLAG_FLAGGED);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

static void test_pop3_hide_list_is_not_from_the_copy(void **state)
{
	struct store *st = big_store();
	struct mailbox *a, *b;
	uint32_t uid;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	uid = mailbox_msg(a, 3)->uid;
	/* The hide list changes without touching cur/, new/ or the index. */
	assert_int_equal(mailbox_set_pop3_hidden(a, &uid, 1), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_true(mailbox_msg(b, 3)->pop3_hidden);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

static void test_recent_stays_with_its_session(void **state)
{
	struct store *st = big_store();
	struct mailbox *a, *b;
	unsigned recent = 0;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_claim_recent(a), 0);
	/* a re-syncs after a change: its view (with its \Recent marks) is
	 * what the copy is made of. */
	drop_into("new", "1900000001.late.host");
	age_dirs();
	assert_int_equal(mailbox_sync(a), 0);
	for (unsigned i = 0; i < mailbox_count(a); i++)
		recent += (mailbox_msg(a, i)->flags & MSG_FLAG_RECENT) != 0;
	assert_int_equal(recent, BIG);
	/* That sync moved the file into cur/, changing cur/: once more with
	 * settled times, so the copy is taken from a's view. */
	age_dirs();
	assert_int_equal(mailbox_sync(a), 0);
	slip_into_cur("1800000001.slipped.host:2,");
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_count(b), BIG + 1);	/* the copy: the slipped file is unseen */
	for (unsigned i = 0; i < mailbox_count(b); i++)
		assert_false(mailbox_msg(b, i)->flags & MSG_FLAG_RECENT);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

/* A view made from the copy borrows its names (maildir_view.c): they
 * stay valid after the copy is replaced and the view that made it is
 * closed, and a name the view changes (a flag rename) is its own. */
static void test_borrowed_names_outlive_the_copy(void **state)
{
	struct store *st = big_store();
	struct mailbox *a, *b, *c;
	uint32_t uid;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	slip_into_cur("1800000002.slipped.host:2,");
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_count(b), BIG);	/* from the copy */
	uid = mailbox_msg(b, 10)->uid;
	assert_int_equal(mailbox_update_flags(b, uid, MSG_FLAG_FLAGGED, 0), 0);
	assert_true(mailbox_msg(b, 10)->flags & MSG_FLAG_FLAGGED);
	mailbox_close(&a);
	/* A delivery: c reads the folder, and its copy replaces the one b
	 * borrows from. */
	drop_into("new", "1900000002.delivered.host");
	age_dirs();
	assert_int_equal(mailbox_open(st, "INBOX", &c), 0);
	assert_int_equal(mailbox_count(c), BIG + 2);
	age_dirs();
	assert_int_equal(mailbox_sync(c), 0);
	assert_true(mailbox_msg(c, 10)->flags & MSG_FLAG_FLAGGED);	/* b's rename, on disk */
	for (unsigned i = 0; i < BIG; i++) {
		assert_int_equal(mailbox_msg(b, i)->uid, mailbox_msg(c, i)->uid);
		assert_string_equal(mailbox_msg(b, i)->uidl, mailbox_msg(c, i)->uidl);
	}
	mailbox_close(&c);
	/* Only b holds the old copy now; its names, borrowed and own, work. */
	assert_int_equal(mailbox_update_flags(b, uid, 0, MSG_FLAG_FLAGGED), 0);
	assert_int_equal(mailbox_update_flags(b, mailbox_msg(b, 11)->uid, MSG_FLAG_DRAFT, 0), 0);
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(mailbox_count(b), BIG + 2);
	assert_false(mailbox_msg(b, 10)->flags & MSG_FLAG_FLAGGED);
	assert_true(mailbox_msg(b, 11)->flags & MSG_FLAG_DRAFT);
	mailbox_close(&b);
	store_close(&st);
}

int main(void)
{
	maildir_notify_enable(false);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unchanged_reopen_uses_the_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_change_is_not_from_the_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop3_hide_list_is_not_from_the_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recent_stays_with_its_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_borrowed_names_outlive_the_copy, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
