/*
 * mailbox_copy(), the store side of IMAP COPY and MOVE: copies keep their
 * flags, keywords (by name) and internal date but not \Recent, are \Recent
 * in the target (RFC 3501 §6.4.7), get new UIDs in the order asked for (the
 * COPYUID mapping, RFC 4315 §3), also within one mailbox; a missing target is NOTFOUND and leaves nothing
 * behind; messages expunged meanwhile are skipped, renamed ones followed;
 * the target's index holds the new UIDs before the call returns; a failure
 * late in the copy takes everything back; a target on another file system
 * gets byte copies.  Each test gets its own directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store_fixture.h"

static char *read_all(struct mailbox *box, uint32_t uid)
{
	static char buf[8192];
	struct msg_stream *s;
	size_t len = 0;
	ssize_t n;

	assert_int_equal(mailbox_msg_open(box, uid, &s), 0);
	while ((n = msg_stream_read(s, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	assert_int_equal(n, 0);
	buf[len] = '\0';
	msg_stream_close(&s);
	return buf;
}

/* Files in ROOT/alice/<folder>/<sub>; the name of the last one in *last. */
static int count_files(const char *folder, const char *sub, char *last, size_t lastlen)
{
	char path[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/%s", user_dir, folder, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (last != NULL)
			snprintf(last, lastlen, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

/* Is there a file base:2,... in ROOT/alice/<folder>/cur? */
static bool in_cur(const char *folder, const char *base)
{
	char path[512];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/cur", user_dir, folder);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && !found)
		found = strncmp(de->d_name, base, strlen(base)) == 0 &&
			strncmp(de->d_name + strlen(base), ":2,", 3) == 0;
	closedir(d);
	return found;
}

static int make_maildir(const char *path)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char sub[640];

	for (int i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
		if (mkdir(sub, 0700) < 0)
			return -1;
	}
	return 0;
}

/* Three messages in INBOX: uid 1 seen, uid 2 flagged+answered, uid 3 none. */
static void three_messages(struct store *st)
{
	uint32_t uid;

	save_full(st, "Subject: one\n\n1\n", 1000000000, MSG_FLAG_SEEN, &uid);
	assert_int_equal(uid, 1);
	save_full(st, "Subject: two\r\n\r\n2\r\n", 1100000000,
		  MSG_FLAG_FLAGGED | MSG_FLAG_ANSWERED, &uid);
	save_full(st, "Subject: three\n\n3\n", 1200000000, 0, &uid);
	assert_int_equal(uid, 3);
}

static void test_copy_keeps_flags(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *dest;

	three_messages(st);
	assert_int_equal(store_mailbox_create(st, "Dest"), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	/* \Recent is this view's; it must not travel with the copies */
	assert_int_equal(mailbox_claim_recent(in), 0);
	assert_true(mailbox_msg(in, 0)->flags & MSG_FLAG_RECENT);
	assert_int_equal(mailbox_copy(in, uids, 3, "Dest", &map), 0);
	assert_int_equal(map.count, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(map.src_uids[i], i + 1);
		assert_int_equal(map.dest_uids[i], i + 1);
	}

	assert_int_equal(mailbox_open(st, "Dest", &dest), 0);
	assert_int_equal(map.uidvalidity, mailbox_uidvalidity(dest));
	assert_int_equal(mailbox_count(dest), 3);
	assert_int_equal(mailbox_uidnext(dest), 4);
	for (unsigned i = 0; i < 3; i++) {
		const struct store_msg *a = mailbox_msg(in, i), *b = mailbox_msg(dest, i);
		char text[8192];

		assert_int_equal(b->flags, a->flags & ~MSG_FLAG_RECENT);
		assert_int_equal(b->received, a->received);
		assert_int_equal(b->psize, a->psize);
		assert_int_equal(b->vsize, a->vsize);
		/* a message of its own: another POP3 UIDL */
		assert_string_not_equal(b->uidl, a->uidl);
		snprintf(text, sizeof(text), "%s", read_all(in, a->uid));
		assert_string_equal(read_all(dest, b->uid), text);
	}
	assert_int_equal(mailbox_msg(dest, 0)->flags, MSG_FLAG_SEEN);
	assert_int_equal(mailbox_msg(dest, 1)->flags, MSG_FLAG_FLAGGED | MSG_FLAG_ANSWERED);
	/* ... and in the target the copies are new: \Recent for its next SELECT */
	assert_int_equal(mailbox_recent_count(dest), 3);
	assert_int_equal(count_files(".Dest", "tmp", NULL, 0), 0);
	mailbox_close(&dest);
	store_copy_map_free(&map);
	assert_null(map.src_uids);
	mailbox_close(&in);
	store_close(&st);
}

static void test_copy_letters(void **state)
{
	static const uint32_t uid1 = 1;
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in;
	char name[512], from[1024], to[1024], *colon;

	save_full(st, "Subject: one\n\n1\n", 0, MSG_FLAG_SEEN, NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	/* another MUA marks it passed ('P') and with a keyword letter 'a' that
	 * has no name in dovecot-keywords: 'P' is kept, 'a' means nothing */
	assert_int_equal(count_files("", "cur", name, sizeof(name)), 1);
	snprintf(from, sizeof(from), "%s/cur/%s", user_dir, name);
	colon = strchr(name, ':');
	*colon = '\0';
	snprintf(to, sizeof(to), "%s/cur/%s:2,PSa", user_dir, name);
	assert_int_equal(rename(from, to), 0);
	/* the view still knows the old name: the copy follows the rename */
	assert_int_equal(mailbox_copy(in, &uid1, 1, "Trash", &map), 0);
	assert_int_equal(map.count, 1);
	assert_int_equal(count_files(".Trash", "cur", name, sizeof(name)), 1);
	colon = strchr(name, ':');
	assert_non_null(colon);
	assert_string_equal(colon, ":2,PS");
	store_copy_map_free(&map);
	mailbox_close(&in);
	store_close(&st);
}

/* Keywords are per mailbox (store.h): a copy keeps its keywords by name,
 * whatever letter each has in the target, and the target learns the names
 * it did not have. */
static void test_copy_keywords(void **state)
{
	static const uint32_t uids[] = { 1, 2 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *dest;
	unsigned fwd, work, other;
	int w, f;

	three_messages(st);
	assert_int_equal(store_mailbox_create(st, "Dest"), 0);
	assert_int_equal(mailbox_open(st, "Dest", &dest), 0);
	assert_int_equal(mailbox_keyword_add(dest, "Other", &other), 0);
	assert_int_equal(mailbox_keyword_add(dest, "Work", &work), 0);
	assert_int_equal(work, 1);
	mailbox_close(&dest);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	assert_int_equal(mailbox_keyword_add(in, "Work", &work), 0);
	assert_int_equal(mailbox_keyword_add(in, "$Forwarded", &fwd), 0);
	assert_int_equal(work, 0);
	assert_int_equal(fwd, 1);
	assert_int_equal(mailbox_update_flags_keywords(in, 1, 0, 0, 1u << work, 0), 0);
	assert_int_equal(mailbox_update_flags_keywords(in, 2, 0, 0, (1u << work) | (1u << fwd),
						       0), 0);
	assert_int_equal(mailbox_copy(in, uids, 2, "Dest", &map), 0);
	assert_int_equal(map.count, 2);
	store_copy_map_free(&map);

	assert_int_equal(mailbox_open(st, "Dest", &dest), 0);
	w = mailbox_keyword_find(dest, "Work");
	f = mailbox_keyword_find(dest, "$Forwarded");
	assert_int_equal(w, 1);
	assert_int_equal(f, 2);			/* new to the target */
	assert_int_equal(mailbox_msg(dest, 0)->keywords, 1u << w);
	assert_int_equal(mailbox_msg(dest, 1)->keywords, (1u << w) | (1u << f));
	assert_int_equal(mailbox_msg(dest, 1)->flags, MSG_FLAG_FLAGGED | MSG_FLAG_ANSWERED);
	mailbox_close(&dest);
	mailbox_close(&in);
	store_close(&st);
}

static void test_copy_uid_mapping(void **state)
{
	static const uint32_t some[] = { 1, 3 }, two[] = { 2 }, all[] = { 1, 2, 3 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *again;
	uint32_t validity;

	three_messages(st);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	validity = mailbox_uidvalidity(in);
	assert_int_equal(mailbox_copy(in, some, 2, "Archive", &map), 0);
	assert_int_equal(map.count, 2);
	assert_int_equal(map.src_uids[0], 1);
	assert_int_equal(map.src_uids[1], 3);
	assert_int_equal(map.dest_uids[0], 1);
	assert_int_equal(map.dest_uids[1], 2);
	store_copy_map_free(&map);
	/* the next copy continues the target's UIDs */
	assert_int_equal(mailbox_copy(in, two, 1, "Archive", &map), 0);
	assert_int_equal(map.count, 1);
	assert_int_equal(map.src_uids[0], 2);
	assert_int_equal(map.dest_uids[0], 3);
	store_copy_map_free(&map);

	/* into the mailbox itself: new UIDs there, the sources stay */
	assert_int_equal(mailbox_copy(in, all, 3, "INBOX", &map), 0);
	assert_int_equal(map.uidvalidity, validity);
	assert_int_equal(map.count, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(map.src_uids[i], i + 1);
		assert_int_equal(map.dest_uids[i], i + 4);
	}
	store_copy_map_free(&map);
	assert_int_equal(mailbox_count(in), 3);		/* the view is not resynced */
	assert_int_equal(mailbox_sync(in), 0);
	assert_int_equal(mailbox_count(in), 6);
	assert_string_equal(read_all(in, 6), "Subject: three\n\n3\n");
	assert_int_equal(mailbox_msg(in, 4)->flags, MSG_FLAG_FLAGGED | MSG_FLAG_ANSWERED);
	assert_int_equal(mailbox_open(st, "INBOX", &again), 0);
	assert_int_equal(mailbox_uidnext(again), 7);
	mailbox_close(&again);

	/* nothing to copy (UIDs not in the view) is not an error */
	static const uint32_t none[] = { 77 };
	assert_int_equal(mailbox_copy(in, none, 1, "Archive", &map), 0);
	assert_int_equal(map.count, 0);
	store_copy_map_free(&map);
	mailbox_close(&in);
	store_close(&st);
}

static void test_copy_target_missing(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in;

	three_messages(st);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	assert_int_equal(mailbox_copy(in, uids, 3, "Nope", &map), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
	store_copy_map_free(&map);
	assert_int_equal(mailbox_copy(in, uids, 0, "Nope", &map), -1);	/* even for none */
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
	store_copy_map_free(&map);
	assert_int_equal(mailbox_copy(in, uids, 3, "../escape", &map), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	store_copy_map_free(&map);
	/* a deleted special-use folder is simply missing */
	assert_int_equal(store_mailbox_delete(st, "Junk"), 0);
	assert_int_equal(mailbox_copy(in, uids, 3, "Junk", &map), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
	store_copy_map_free(&map);
	assert_int_equal(count_files("", "tmp", NULL, 0), 0);
	mailbox_close(&in);
	store_close(&st);
}

static void test_copy_source_vanished(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *other, *dest;

	three_messages(st);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	/* another session expunges uid 2 behind this view's back */
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	static const uint32_t two = 2;
	assert_int_equal(mailbox_expunge(other, &two, 1), 0);
	mailbox_close(&other);
	assert_int_equal(mailbox_count(in), 3);
	assert_int_equal(mailbox_copy(in, uids, 3, "Drafts", &map), 0);
	assert_int_equal(map.count, 2);
	assert_int_equal(map.src_uids[0], 1);
	assert_int_equal(map.src_uids[1], 3);
	assert_int_equal(map.dest_uids[0], 1);
	assert_int_equal(map.dest_uids[1], 2);
	store_copy_map_free(&map);
	assert_int_equal(mailbox_open(st, "Drafts", &dest), 0);
	assert_int_equal(mailbox_count(dest), 2);
	assert_string_equal(read_all(dest, 2), "Subject: three\n\n3\n");
	mailbox_close(&dest);

	/* everything gone: an empty map, still a success */
	static const uint32_t only2 = 2;
	assert_int_equal(mailbox_copy(in, &only2, 1, "Drafts", &map), 0);
	assert_int_equal(map.count, 0);
	store_copy_map_free(&map);
	mailbox_close(&in);
	store_close(&st);
}

/* The target's duomail-index lists the copies when mailbox_copy() returns,
 * before anyone syncs: read the file itself, then reopen everything. */
static void test_copy_index_durable(void **state)
{
	static const uint32_t uids[] = { 2, 3 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *dest;
	char path[512], line[1024];
	uint32_t validity, next;
	unsigned first_recent, n = 0;
	FILE *f;

	three_messages(st);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	assert_int_equal(mailbox_copy(in, uids, 2, "Sent", &map), 0);
	mailbox_close(&in);
	store_close(&st);

	snprintf(path, sizeof(path), "%s/.Sent/duomail-index", user_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "duomail-index 3 %u %u %u", &validity, &next, &first_recent),
			 3);
	assert_int_equal(validity, map.uidvalidity);
	assert_int_equal(next, 3);
	assert_int_equal(first_recent, 1);	/* not claimed: \Recent for the next SELECT */
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned uid;
		char *base;

		*strrchr(line, ' ') = '\0';	/* the line's CRC */
		base = strrchr(line, ' ') + 1;
		assert_int_equal(sscanf(line, "%u ", &uid), 1);
		assert_true(n < map.count);
		assert_int_equal(uid, map.dest_uids[n]);
		/* the base the index names is a file in cur/ */
		assert_true(in_cur(".Sent", base));
		n++;
	}
	fclose(f);
	assert_int_equal(n, 2);

	st = open_store();
	assert_int_equal(mailbox_open(st, "Sent", &dest), 0);
	assert_int_equal(mailbox_uidvalidity(dest), map.uidvalidity);
	assert_int_equal(mailbox_msg(dest, 0)->uid, 1);
	assert_int_equal(mailbox_msg(dest, 0)->flags, MSG_FLAG_FLAGGED | MSG_FLAG_ANSWERED);
	assert_string_equal(read_all(dest, 1), "Subject: two\r\n\r\n2\r\n");
	assert_string_equal(read_all(dest, 2), "Subject: three\n\n3\n");
	mailbox_close(&dest);
	store_copy_map_free(&map);
	store_close(&st);
}

/* The last step, writing the target's index, fails: the copies already in
 * cur/ are taken back, so the target is as it was (RFC 3501 §6.4.7). */
static void test_copy_failure_undone(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *dest;
	char blocker[512];

	three_messages(st);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	assert_int_equal(mailbox_open(st, "Junk", &dest), 0);	/* its index is current */
	mailbox_close(&dest);
	snprintf(blocker, sizeof(blocker), "%s/.Junk/duomail-index.tmp", user_dir);
	assert_int_equal(mkdir(blocker, 0700), 0);
	assert_int_equal(mailbox_copy(in, uids, 3, "Junk", &map), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_TEMP);
	store_copy_map_free(&map);
	assert_int_equal(count_files(".Junk", "cur", NULL, 0), 0);
	assert_int_equal(count_files(".Junk", "new", NULL, 0), 0);
	assert_int_equal(count_files(".Junk", "tmp", NULL, 0), 0);
	assert_int_equal(rmdir(blocker), 0);
	assert_int_equal(mailbox_open(st, "Junk", &dest), 0);
	assert_int_equal(mailbox_count(dest), 0);
	assert_int_equal(mailbox_uidnext(dest), 1);
	mailbox_close(&dest);
	/* and with the obstacle gone it works */
	assert_int_equal(mailbox_copy(in, uids, 3, "Junk", &map), 0);
	assert_int_equal(map.count, 3);
	store_copy_map_free(&map);
	mailbox_close(&in);
	store_close(&st);
}

/* COPY to a folder on another file system (a mount point inside the
 * Maildir; a symbolic link would not do, links are never followed): no hard
 * link is possible, so the bytes are copied, with the internal date.  The
 * tmpfs is mounted in a mount namespace of this test process only (root). */
static void test_copy_across_filesystems(void **state)
{
	static const uint32_t uids[] = { 1, 2 };
	struct store *st = open_store();
	struct store_copy_map map;
	struct mailbox *in, *dest;
	char folder[512];
	struct stat a, b;

	snprintf(folder, sizeof(folder), "%s/.Elsewhere", user_dir);
	assert_int_equal(mkdir(folder, 0700), 0);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("duomail-test", folder, "tmpfs", 0, "mode=0700") < 0) {
		store_close(&st);
		skip();
	}
	assert_int_equal(stat(root, &a), 0);
	assert_int_equal(stat(folder, &b), 0);
	assert_true(a.st_dev != b.st_dev);
	three_messages(st);
	assert_int_equal(make_maildir(folder), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &in), 0);
	assert_int_equal(mailbox_copy(in, uids, 2, "Elsewhere", &map), 0);
	assert_int_equal(map.count, 2);
	assert_int_equal(mailbox_open(st, "Elsewhere", &dest), 0);
	assert_int_equal(mailbox_count(dest), 2);
	assert_string_equal(read_all(dest, 2), "Subject: two\r\n\r\n2\r\n");
	assert_int_equal(mailbox_msg(dest, 0)->received, 1000000000);
	assert_int_equal(mailbox_msg(dest, 1)->received, 1100000000);
	assert_int_equal(mailbox_msg(dest, 1)->flags, MSG_FLAG_FLAGGED | MSG_FLAG_ANSWERED);
	assert_int_equal(mailbox_msg(dest, 1)->vsize, mailbox_msg(in, 1)->vsize);
	mailbox_close(&dest);
	store_copy_map_free(&map);
	mailbox_close(&in);
	store_close(&st);
	assert_int_equal(umount2(folder, MNT_DETACH), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_keeps_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_letters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_uid_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_target_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_source_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_index_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_failure_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_across_filesystems, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
