/*
 * Skipping a re-sync when nothing changed (store/maildir/maildir_stamp.c):
 * a change right after a sync, in the same clock tick, is still seen; once
 * the directories' times have settled, a sync with nothing changed does not
 * read the directory (shown by a file slipped into cur/ with the directory's
 * time put back, which only a real read would find); and any change to
 * cur/, new/ or the index makes the next sync read again.
 *
 * These test the stamps themselves, so change notification (maildir_notify.c,
 * which would see the slipped file) is off here; test_store_notify.c tests it.
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

/* Puts cur/, new/ and every message file two seconds in the past. */
static void age_everything(void)
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

static void test_change_in_same_tick_is_seen(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;

	save(st, "Subject: one\n\nx\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	/* at once, no settling: the times may equal the stamp's */
	drop_into("new", "100.same-tick.host");
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_count(box), 2);
	mailbox_close(&box);
	store_close(&st);
}

static void test_settled_unchanged_sync_is_skipped(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	struct stat sb;
	struct timespec t[2];
	char cur[512];

	save(st, "Subject: one\n\nx\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	age_everything();
	assert_int_equal(mailbox_sync(box), 0);	/* reads, and stamps settled times */
	assert_int_equal(mailbox_count(box), 1);
	/* a file appears but cur/'s time is put back: only a read finds it */
	snprintf(cur, sizeof(cur), "%s/cur", user_dir);
	assert_int_equal(stat(cur, &sb), 0);
	drop_into("cur", "200.hidden.host:2,");
	t[0] = sb.st_atim;
	t[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, cur, t, 0), 0);
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_count(box), 1);	/* skipped, as designed */
	/* a real change to new/ makes it look again, and find both */
	drop_into("new", "300.real.host");
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_count(box), 3);
	mailbox_close(&box);
	store_close(&st);
}

static void test_flag_change_by_other_view_is_seen(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b;
	uint32_t uid;

	save(st, "Subject: one\n\nx\n", &uid);
	age_everything();
	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_update_flags(b, uid, MSG_FLAG_FLAGGED, 0), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_true(mailbox_msg(a, 0)->flags & MSG_FLAG_FLAGGED);
	/* and an expunge by the other view */
	assert_int_equal(mailbox_expunge(b, &uid, 1), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_count(a), 0);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

static void test_lost_index_is_seen(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char index[512];
	uint32_t before;

	save(st, "Subject: one\n\nx\n", NULL);
	age_everything();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	before = mailbox_uidvalidity(box);
	snprintf(index, sizeof(index), "%s/duomail-index", user_dir);
	assert_int_equal(unlink(index), 0);
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_not_equal(mailbox_uidvalidity(box), before);
	assert_int_equal(mailbox_count(box), 1);
	mailbox_close(&box);
	store_close(&st);
}

int main(void)
{
	maildir_notify_enable(false);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_change_in_same_tick_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settled_unchanged_sync_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_change_by_other_view_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_index_is_seen, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
