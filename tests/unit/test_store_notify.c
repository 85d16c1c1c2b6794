/*
 * Knowing that a view is current without reading the folder
 * (store/maildir/maildir_notify.c): after a view's own flag changes,
 * expunges and \Recent claim its next sync reads nothing; any change by
 * someone else (another view, a foreign MUA renaming in cur/ in the same
 * clock tick, a delivery into new/, many changes that overrun the record)
 * makes the next sync read, and the view shows it.  Whether a sync read
 * the folder is counted by maildir_sync_scans().
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

/* A store with n messages and a view of it that has synced. */
static struct store *with_messages(int n, struct mailbox **box)
{
	struct store *st = open_store();

	for (int i = 0; i < n; i++)
		save(st, "Subject: m\n\nbody\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", box), 0);
	assert_int_equal(mailbox_count(*box), n);
	return st;
}

static void test_own_changes_need_no_read(void **state)
{
	struct mailbox *a;
	struct store *st = with_messages(5, &a);
	uint64_t before;
	uint32_t uid = mailbox_msg(a, 2)->uid;

	assert_int_equal(mailbox_sync(a), 0);	/* the open's record is settled */
	before = maildir_sync_scans();
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);	/* nothing changed */
	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED, 0), 0);
	assert_int_equal(mailbox_update_flags(a, uid, 0, MSG_FLAG_SEEN), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);	/* its own renames */
	assert_int_equal(mailbox_msg(a, 2)->flags & (MSG_FLAG_SEEN | MSG_FLAG_FLAGGED),
			 MSG_FLAG_FLAGGED);
	/* An expunge of only our own unlinks writes the index from the
	 * view, without a read; after it, nothing to read either. */
	assert_int_equal(mailbox_expunge(a, &uid, 1), 0);
	assert_int_equal(maildir_sync_scans(), before);
	assert_int_equal(mailbox_count(a), 4);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);
	/* \Recent claim: the index is rewritten by us, under the lock. */
	assert_int_equal(mailbox_claim_recent(a), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);
	/* What a fresh view reads from disk is what a has. */
	struct mailbox *c;
	assert_int_equal(mailbox_open(st, "INBOX", &c), 0);
	assert_int_equal(mailbox_count(c), 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(mailbox_msg(c, i)->uid, mailbox_msg(a, i)->uid);
		assert_int_equal(mailbox_msg(c, i)->flags & ~(unsigned)MSG_FLAG_RECENT,
				 mailbox_msg(a, i)->flags & ~(unsigned)MSG_FLAG_RECENT);
	}
	mailbox_close(&c);
	mailbox_close(&a);
	store_close(&st);
}

static void test_other_views_change_is_seen(void **state)
{
	struct mailbox *a, *b;
	struct store *st = with_messages(3, &a);
	uint32_t uid = mailbox_msg(a, 0)->uid;
	uint64_t before;

	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_sync(a), 0);
	before = maildir_sync_scans();
	/* At once, in the same clock tick as a's last look: directory times
	 * could not tell (maildir_stamp.c), the record can.  A flag change is
	 * a rename in cur/, and the record has both names: a takes it over
	 * without a read. */
	assert_int_equal(mailbox_update_flags(b, uid, MSG_FLAG_ANSWERED, 0), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);
	assert_true(mailbox_msg(a, 0)->flags & MSG_FLAG_ANSWERED);
	assert_string_equal(maildir_box(a)->extra[0].fname, maildir_box(b)->extra[0].fname);
	/* b's own change does not make b read. */
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(maildir_sync_scans(), before);
	/* An expunge by b is not a rename: a reads, and the message is gone. */
	assert_int_equal(mailbox_expunge(b, &uid, 1), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before + 1);
	assert_int_equal(mailbox_count(a), 2);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

static void test_foreign_rename_with_time_put_back_is_seen(void **state)
{
	struct mailbox *a;
	struct store *st = with_messages(2, &a);
	char from[512], to[512], cur[256];
	struct stat sb;
	struct timespec t[2];

	assert_int_equal(mailbox_sync(a), 0);
	/* A foreign MUA flags message 1, and cur/'s time is put back, so
	 * only the record shows the rename. */
	snprintf(cur, sizeof(cur), "%s/cur", user_dir);
	assert_int_equal(stat(cur, &sb), 0);
	snprintf(from, sizeof(from), "%s/%s", cur, maildir_box(a)->extra[1].fname);
	snprintf(to, sizeof(to), "%s/%s", cur, maildir_box(a)->extra[1].base);
	strcat(to, ":2,FT");
	assert_int_equal(rename(from, to), 0);
	t[0] = sb.st_atim;
	t[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, cur, t, 0), 0);
	uint64_t before = maildir_sync_scans();
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_msg(a, 1)->flags & (MSG_FLAG_FLAGGED | MSG_FLAG_DELETED),
			 MSG_FLAG_FLAGGED | MSG_FLAG_DELETED);
	assert_int_equal(maildir_sync_scans(), before);	/* taken from the record */
	/* A file renamed into cur/ under a base the view does not know (a
	 * MUA's own new message, say) is no flag change: a read. */
	snprintf(from, sizeof(from), "%s/tmp/1800000003.M1P1.mua", user_dir);
	FILE *f = fopen(from, "w");
	assert_non_null(f);
	fputs("Subject: from a MUA\n\nx\n", f);
	fclose(f);
	snprintf(to, sizeof(to), "%s/1800000003.M1P1.mua:2,S", cur);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before + 1);
	assert_int_equal(mailbox_count(a), 3);
	mailbox_close(&a);
	store_close(&st);
}

static void test_delivery_is_seen(void **state)
{
	struct mailbox *a;
	struct store *st = with_messages(1, &a);

	assert_int_equal(mailbox_sync(a), 0);
	drop_into("new", "1800000000.M1P1.mta");
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_count(a), 2);
	/* The sync's own move into cur/ and index write are its own. */
	uint64_t before = maildir_sync_scans();
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);
	mailbox_close(&a);
	store_close(&st);
}

static void test_overrun_record_makes_a_read(void **state)
{
	struct mailbox *a, *b;
	struct store *st = with_messages(2, &a);
	uint32_t uid = mailbox_msg(a, 0)->uid;
	uint64_t before;

	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_sync(a), 0);
	before = maildir_sync_scans();
	/* 400 renames by b: 800 events, more than the record keeps. */
	for (int i = 0; i < 400; i++)
		assert_int_equal(mailbox_update_flags(b, uid, i % 2 ? 0 : MSG_FLAG_SEEN,
						      i % 2 ? MSG_FLAG_SEEN : 0), 0);
	assert_int_equal(mailbox_update_flags(b, uid, MSG_FLAG_DRAFT, 0), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before + 1);
	assert_int_equal(mailbox_msg(a, 0)->flags & (MSG_FLAG_SEEN | MSG_FLAG_DRAFT),
			 MSG_FLAG_DRAFT);
	/* b expected more than it may keep: it reads once, then settles. */
	assert_int_equal(mailbox_sync(b), 0);
	before = maildir_sync_scans();
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(maildir_sync_scans(), before);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

/* An APPEND to the view's own folder (IMAP APPEND to the selected
 * mailbox) needs no read either; a fresh view from disk agrees with it,
 * with flags (the file goes to cur/) and without (new/, then cur/). */
static void test_own_append_needs_no_read(void **state)
{
	struct mailbox *a, *c;
	struct store *st = with_messages(3, &a);
	struct store_save *sv;
	uint32_t validity, uid[2];
	uint64_t before;

	assert_int_equal(mailbox_sync(a), 0);
	before = maildir_sync_scans();
	for (int k = 0; k < 2; k++) {
		assert_int_equal(store_save_begin(st, "INBOX", 1700000000 + k,
						  k ? MSG_FLAG_SEEN | MSG_FLAG_FLAGGED : 0, &sv), 0);
		assert_int_equal(store_save_write(sv, "Subject: new\n\nline\n", 20), 0);
		store_save_claim_recent(sv, a);
		assert_int_equal(store_save_commit_uid(&sv, &validity, &uid[k]), 0);
		assert_int_equal(uid[k], 4 + k);
		assert_int_equal(validity, mailbox_uidvalidity(a));
	}
	assert_int_equal(maildir_sync_scans(), before);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before);
	assert_int_equal(mailbox_count(a), 5);
	assert_int_equal(mailbox_uidnext(a), 6);
	assert_int_equal(mailbox_recent_count(a), 2 + 3);	/* a never claimed the first 3 */
	assert_int_equal(mailbox_open(st, "INBOX", &c), 0);
	assert_int_equal(mailbox_count(c), 5);
	assert_int_equal(mailbox_recent_count(c), 0);	/* a has them */
	for (unsigned i = 0; i < 5; i++) {
		const struct store_msg *x = mailbox_msg(a, i), *y = mailbox_msg(c, i);

		assert_int_equal(x->uid, y->uid);
		assert_int_equal(x->flags & ~(unsigned)MSG_FLAG_RECENT, y->flags);
		assert_int_equal(x->psize, y->psize);
		assert_int_equal(x->vsize, y->vsize);
		assert_int_equal(x->received, y->received);
		assert_string_equal(x->uidl, y->uidl);
	}
	assert_int_equal(mailbox_msg(c, 3)->received, 1700000000);
	assert_int_equal(mailbox_msg(c, 4)->flags, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED);
	mailbox_close(&c);
	mailbox_close(&a);
	store_close(&st);
}

/* Files straight into cur/, as a big folder another server left. */
static void fill_cur(int n)
{
	for (int i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%d.M%dP1.host:2,%s", 1700000000 + i, i,
			 i % 3 ? "S" : "");
		drop_into("cur", name);
	}
}

static void test_one_read_serves_the_other_views(void **state)
{
	struct store *st;
	struct mailbox *a, *b, *c;
	uint64_t before;
	uint32_t uid;

	st = open_store();
	fill_cur(300);	/* above the copy's minimum folder size */
	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_count(a), 300);
	before = maildir_sync_scans();
	/* Nothing changed since a's sync: b and c open from its copy. */
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &c), 0);
	assert_int_equal(maildir_sync_scans(), before);
	assert_int_equal(mailbox_count(c), 300);
	assert_int_equal(mailbox_uidvalidity(c), mailbox_uidvalidity(a));
	for (unsigned i = 0; i < 300; i++) {
		assert_int_equal(mailbox_msg(c, i)->uid, mailbox_msg(a, i)->uid);
		assert_int_equal(mailbox_msg(c, i)->flags, mailbox_msg(a, i)->flags);
	}
	/* a claims \Recent: b and c, from the copy, do not have them. */
	assert_int_equal(mailbox_claim_recent(a), 0);
	assert_int_equal(mailbox_recent_count(a), 300);
	/* a changes a flag: b reads, c takes b's result. */
	uid = mailbox_msg(a, 7)->uid;
	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_FLAGGED, 0), 0);
	before = maildir_sync_scans();
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(maildir_sync_scans(), before + 1);
	assert_int_equal(mailbox_sync(c), 0);
	assert_int_equal(maildir_sync_scans(), before + 1);
	assert_true(mailbox_msg(c, 7)->flags & MSG_FLAG_FLAGGED);
	assert_int_equal(mailbox_recent_count(c), 0);
	/* a's own view keeps its claims through it all. */
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_recent_count(a), 300);
	/* Any change after the copy: no adopting, a read. */
	drop_into("new", "1800000000.M9P9.mta");
	assert_int_equal(mailbox_sync(c), 0);
	assert_int_equal(maildir_sync_scans(), before + 2);
	assert_int_equal(mailbox_count(c), 301);
	mailbox_close(&a);
	mailbox_close(&b);
	mailbox_close(&c);
	store_close(&st);
}

/* A folder renamed or deleted under an open view: its record is lost, so
 * the view is never "current" again; its next sync finds the folder gone. */
static void test_folder_gone_is_never_current(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b;

	assert_int_equal(store_mailbox_create(st, "Box"), 0);
	assert_int_equal(store_mailbox_create(st, "Other"), 0);
	assert_int_equal(mailbox_open(st, "Box", &a), 0);
	assert_int_equal(mailbox_open(st, "Other", &b), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(store_mailbox_rename(st, "Box", "Moved"), 0);
	assert_int_equal(store_mailbox_delete(st, "Other"), 0);
	assert_int_equal(mailbox_sync(a), -1);
	assert_int_equal(mailbox_sync(b), -1);
	mailbox_close(&a);
	mailbox_close(&b);
	/* A new folder at the old name is watched afresh. */
	assert_int_equal(store_mailbox_create(st, "Box"), 0);
	assert_int_equal(mailbox_open(st, "Box", &a), 0);
	drop_into(".Box/new", "1800000002.M1P1.mta");
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_count(a), 1);
	mailbox_close(&a);
	store_close(&st);
}

static void test_off_falls_back_to_stamps(void **state)
{
	struct mailbox *a;
	struct store *st;

	maildir_notify_enable(false);
	st = with_messages(1, &a);
	drop_into("new", "1800000001.M1P1.mta");
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_count(a), 2);
	/* Just changed: stamps cannot say "unchanged" yet, so it reads. */
	uint64_t before = maildir_sync_scans();
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(maildir_sync_scans(), before + 1);
	mailbox_close(&a);
	store_close(&st);
	maildir_notify_enable(true);
}

/* Two views agree message by message (\Recent aside: it is a view's). */
static void assert_same_view(struct mailbox *x, struct mailbox *y)
{
	assert_int_equal(mailbox_count(x), mailbox_count(y));
	assert_int_equal(mailbox_uidvalidity(x), mailbox_uidvalidity(y));
	assert_int_equal(mailbox_uidnext(x), mailbox_uidnext(y));
	for (unsigned i = 0; i < mailbox_count(x); i++) {
		const struct store_msg *m = mailbox_msg(x, i), *n = mailbox_msg(y, i);

		assert_int_equal(m->uid, n->uid);
		assert_int_equal(m->flags & ~(unsigned)MSG_FLAG_RECENT,
				 n->flags & ~(unsigned)MSG_FLAG_RECENT);
		assert_int_equal(m->keywords, n->keywords);
		assert_int_equal(m->psize, n->psize);
		assert_int_equal(m->vsize, n->vsize);
		assert_int_equal(m->received, n->received);
		assert_string_equal(m->uidl, n->uidl);
		assert_string_equal(maildir_box(x)->extra[i].fname, maildir_box(y)->extra[i].fname);
	}
}

/* A view by a full read of the folder: no record, no copies to start from. */
static struct mailbox *full_read(struct store *st)
{
	struct mailbox *box;

	maildir_notify_enable(false);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	maildir_notify_enable(true);
	/* (A copy of the folder may still have served it: by stamps only,
	 * which hold only when nothing changed for a second.) */
	return box;
}

/* Renames cur/ file i of view v to carry flags info (as a foreign MUA). */
static void foreign_flag(struct mailbox *v, unsigned i, const char *info)
{
	char from[512], to[512];

	snprintf(from, sizeof(from), "%s/cur/%s", user_dir, maildir_box(v)->extra[i].fname);
	snprintf(to, sizeof(to), "%s/cur/%s:2,%s", user_dir, maildir_box(v)->extra[i].base, info);
	(void)rename(from, to);	/* may lose to another rename: fine */
}

/* A re-sync after other views' and other programs' changes lists cur/ from
 * the change record instead of reading it (maildir_notify_replay), and
 * must come out exactly as a fresh view's full read: random changes by a
 * second view, by "other programs" (renames, unlinks and new files in cur/,
 * deliveries to new/), now and then more than the record holds. */
static void test_listed_resync_equals_a_full_read(void **state)
{
	struct mailbox *a, *b, *fresh;
	struct store *st = with_messages(40, &a);
	uint64_t listed = maildir_sync_listed_scans(), full = 0;
	unsigned serial = 0;

	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	srand(3501);
	for (int round = 0; round < 150; round++) {
		int ops = round % 25 == 24 ? 200 : 1 + rand() % 6;

		assert_int_equal(mailbox_sync(a), 0);
		for (int k = 0; k < ops; k++) {
			unsigned n = mailbox_count(a), i = n ? (unsigned)rand() % n : 0;
			char name[512];
			uint32_t uid;

			switch (n == 0 ? 0 : rand() % 7) {
			case 0:
				save(st, "Subject: saved\n\nx\n", NULL);
				break;
			case 1:
				uid = mailbox_msg(a, i)->uid;
				assert_int_equal(mailbox_expunge(a, &uid, 1), 0);
				break;
			case 2:
				assert_int_equal(mailbox_update_flags(a, mailbox_msg(a, i)->uid,
								      MSG_FLAG_SEEN, MSG_FLAG_DRAFT), 0);
				break;
			case 3:
				foreign_flag(a, i, rand() % 2 ? "FS" : "D");
				break;
			case 4:
				snprintf(name, sizeof(name), "%s/cur/%s", user_dir,
					 maildir_box(a)->extra[i].fname);
				(void)unlink(name);	/* a MUA's expunge, no index */
				break;
			case 5:
				snprintf(name, sizeof(name), "17%08u.M%uP1.mua:2,S", serial, serial);
				serial++;
				drop_into("cur", name);
				break;
			default:
				snprintf(name, sizeof(name), "18%08u.M%uP2.mta", serial, serial);
				serial++;
				drop_into("new", name);
				break;
			}
			if (rand() % 3 == 0)
				assert_int_equal(mailbox_sync(a), 0);
		}
		full += ops > 100;
		assert_int_equal(mailbox_sync(b), 0);
		assert_same_view(b, fresh = full_read(st));
		mailbox_close(&fresh);
	}
	/* Both ways were taken: most re-syncs from the record. */
	assert_true(maildir_sync_listed_scans() - listed > 100);
	assert_true(full > 0);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

/* An open from this process's older copy of the folder, brought up to date
 * from the record (maildir_viewcache_adopt_listed): no readdir, and the
 * same view as a full read. */
static void test_open_from_an_older_copy(void **state)
{
	struct mailbox *a, *b, *c;
	struct store *st = with_messages(300, &a);	/* copies are kept from 256 */
	uint64_t listed;
	uint32_t uid = mailbox_msg(a, 5)->uid;

	assert_int_equal(mailbox_expunge(a, &uid, 1), 0);	/* a copy at this place */
	drop_into("cur", "1700000000.M1P1.mua:2,S");	/* then another program */
	listed = maildir_sync_listed_scans();
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(maildir_sync_listed_scans(), listed + 1);
	assert_int_equal(mailbox_count(b), 300);
	c = full_read(st);
	assert_same_view(b, c);
	mailbox_close(&c);
	mailbox_close(&b);
	mailbox_close(&a);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_changes_need_no_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_append_needs_no_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_views_change_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_rename_with_time_put_back_is_seen,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun_record_makes_a_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_read_serves_the_other_views, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_folder_gone_is_never_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_falls_back_to_stamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listed_resync_equals_a_full_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_from_an_older_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
