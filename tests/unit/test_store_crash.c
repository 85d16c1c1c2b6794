/*
 * The Maildir store under concurrency and after crashes (issue 4): what
 * the kill -9 loop (tests/proto/test_crash.py) and the one-account tests
 * found, each pinned down here with the smallest sequence that shows it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "store/maildir/maildir.h"
#include "store/store.h"
#include "store_fixture.h"

/* The name in cur/ of the only file whose name contains needle. */
static void cur_name(const char *needle, char name_r[256])
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "%s/cur", user_dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && strstr(de->d_name, needle) != NULL) {
			snprintf(name_r, 256, "%s", de->d_name);
			found++;
		}
	}
	closedir(d);
	assert_int_equal(found, 1);
}

static const char *info_of(const char *name)
{
	const char *p = strstr(name, ":2,");

	return p != NULL ? p + 3 : "";
}

/* Two views (two sessions, maybe two processes) change one message's flag
 * in turn.  B's name for the file goes stale when A renames it; a change
 * that B computes as "nothing to do" from the stale name must not be
 * answered as done while the file says otherwise (found by the kill loop:
 * an acknowledged -FLAGS \Flagged that never reached the disk). */
static void test_flag_change_from_stale_view(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b;
	char name[256];
	uint32_t uid;

	save(st, "Subject: x\n\nbody\n", &uid);
	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);

	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_FLAGGED, 0), 0);
	/* B follows A's rename and learns the file's new name */
	assert_int_equal(mailbox_update_flags(b, uid, MSG_FLAG_FLAGGED, 0), 0);
	cur_name(",S=", name);
	assert_string_equal(info_of(name), "F");
	/* A takes the flag off; B's name (":2,F") is stale now */
	assert_int_equal(mailbox_update_flags(a, uid, 0, MSG_FLAG_FLAGGED), 0);
	cur_name(",S=", name);
	assert_string_equal(info_of(name), "");
	/* B sets it again: its own name says it is set already */
	assert_int_equal(mailbox_update_flags(b, uid, MSG_FLAG_FLAGGED, 0), 0);
	cur_name(",S=", name);
	assert_string_equal(info_of(name), "F");
	/* and the other way round: B clears what its stale name lacks */
	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_SEEN, 0), 0);
	assert_int_equal(mailbox_update_flags(a, uid, 0, MSG_FLAG_FLAGGED), 0);
	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_FLAGGED, 0), 0);
	cur_name(",S=", name);
	assert_string_equal(info_of(name), "FS");
	assert_int_equal(mailbox_update_flags(b, uid, 0, MSG_FLAG_FLAGGED), 0);
	cur_name(",S=", name);
	assert_string_equal(info_of(name), "S");

	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

/* The text of the message with this UID in box's view, or NULL. */
static const char *text_of(struct mailbox *box, uint32_t uid)
{
	static char buf[256];
	struct msg_stream *s;
	ssize_t n;

	if (mailbox_find_uid(box, uid) < 0 || mailbox_msg_open(box, uid, &s) < 0)
		return NULL;
	n = msg_stream_read(s, buf, sizeof(buf) - 1);
	msg_stream_close(&s);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void remove_index(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/duomail-index", dir);
	assert_int_equal(unlink(path), 0);
}

/* A POP3 session's view is its RFC 1939 snapshot: its UIDs must keep
 * naming its messages until QUIT, even when the index is lost and rebuilt
 * with a new UIDVALIDITY meanwhile (another session opened the mailbox).
 * Recording the retrieved messages at QUIT used to re-read the session's
 * own view, which then numbered the messages anew, so the expunge after it
 * removed the wrong message and kept the deleted one. */
static void test_pop3_quit_after_renumbering(void **state)
{
	struct store *st = open_store();
	struct mailbox *pop, *other;
	uint32_t a, b, c, uidvalidity;
	time_t when = 1700000000;

	save(st, "Subject: a\n\na\n", &a);
	save(st, "Subject: b\n\nb\n", &b);
	save(st, "Subject: c\n\nc\n", &c);
	/* a is expunged, so a renumbering moves b and c down */
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(mailbox_expunge(other, &a, 1), 0);
	mailbox_close(&other);

	assert_int_equal(mailbox_open(st, "INBOX", &pop), 0);
	uidvalidity = mailbox_uidvalidity(pop);
	remove_index(user_dir);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_true(mailbox_uidvalidity(other) > uidvalidity);
	assert_int_equal(mailbox_find_uid(other, c), -1);	/* c has another UID now */
	mailbox_close(&other);

	/* QUIT: b was retrieved, c deleted (pop3/pop3_cmds.c's order) */
	assert_int_equal(mailbox_update_flags(pop, b, MSG_FLAG_SEEN, 0), 0);
	assert_int_equal(mailbox_set_pop3_retrieved(pop, &b, 1, when), 0);
	assert_string_equal(text_of(pop, b), "Subject: b\n\nb\n");
	assert_int_equal(mailbox_expunge(pop, &c, 1), 0);
	mailbox_close(&pop);

	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(mailbox_count(other), 1);
	assert_string_equal(text_of(other, mailbox_msg(other, 0)->uid), "Subject: b\n\nb\n");
	assert_int_equal(mailbox_msg(other, 0)->pop3_retrieved, when);
	assert_true(mailbox_msg(other, 0)->flags & MSG_FLAG_SEEN);
	mailbox_close(&other);
	store_close(&st);
}

/* The same for POP3's "hide" deletion (policy pop3_delete = hide): the
 * messages the session DELEted are hidden, not the ones that now carry
 * their UIDs. */
static void test_pop3_hide_after_renumbering(void **state)
{
	struct store *st = open_store();
	struct mailbox *pop, *other;
	uint32_t a, b, c;

	save(st, "Subject: a\n\na\n", &a);
	save(st, "Subject: b\n\nb\n", &b);
	save(st, "Subject: c\n\nc\n", &c);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(mailbox_expunge(other, &a, 1), 0);
	mailbox_close(&other);
	assert_int_equal(mailbox_open(st, "INBOX", &pop), 0);
	remove_index(user_dir);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);	/* renumbers */
	mailbox_close(&other);

	assert_int_equal(mailbox_set_pop3_hidden(pop, &b, 1), 0);
	assert_string_equal(text_of(pop, b), "Subject: b\n\nb\n");
	mailbox_close(&pop);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(mailbox_count(other), 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct store_msg *m = mailbox_msg(other, i);

		assert_int_equal(m->pop3_hidden, strcmp(text_of(other, m->uid),
							"Subject: b\n\nb\n") == 0);
	}
	mailbox_close(&other);
	store_close(&st);
}

static void lock_path(char path[256])
{
	snprintf(path, 256, "%s/duomail-index.lock", user_dir);
}

/* README: duomail's own files may be deleted at any time, the lock file
 * too.  A process that waited for the lock on a file that was deleted
 * meanwhile must not count it as held: others lock the new file at that
 * path, and two processes handing out UIDs at once reuse them. */
static void test_lock_on_deleted_file_not_held(void **state)
{
	struct store *st = open_store();
	char path[256], c;
	int a, b, pipefd[2];
	pid_t pid;

	lock_path(path);
	a = maildir_lock(st, user_dir);
	assert_true(a >= 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* waits on the old file, which A holds (A's lock is the parent's
		 * open file description: not ours to keep alive) */
		int fd;

		close(a);
		fd = maildir_lock(st, user_dir);

		c = fd >= 0 && maildir_lock_is_current(fd, path) ? 'y' : 'n';
		_exit(write(pipefd[1], &c, 1) == 1 ? 0 : 1);
	}
	usleep(100000);
	assert_int_equal(unlink(path), 0);	/* an admin cleans up */
	b = maildir_lock(st, user_dir);		/* C: the new file */
	assert_true(b >= 0);
	maildir_unlock(&a);		/* the child gets the old file's lock now */
	{
		struct timeval tv = { 0, 400000 };
		fd_set r;

		FD_ZERO(&r);
		FD_SET(pipefd[0], &r);
		/* ... and must go on waiting, for C */
		assert_int_equal(select(pipefd[0] + 1, &r, NULL, NULL, &tv), 0);
	}
	maildir_unlock(&b);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(pipefd[0]);
	close(pipefd[1]);
	store_close(&st);
}

/* The lock file is deleted while a process holds it: from then on another
 * process can take "the" lock, so the holder must not commit an index
 * (its UIDs could clash with the other's).  It fails, and the next try
 * works under the new lock file. */
static void test_index_not_written_after_lock_deleted(void **state)
{
	struct store *st = open_store();
	struct maildir_box *box;
	char path[256];
	uint32_t uid;
	int fd;

	save(st, "Subject: a\n\na\n", &uid);
	lock_path(path);
	box = maildir_box_new(st, xstrdup(user_dir));
	fd = maildir_lock(st, user_dir);
	assert_true(fd >= 0);
	assert_int_equal(maildir_sync_locked(box, fd), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(maildir_box_write_index(box), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_TEMP);
	maildir_unlock(&fd);
	fd = maildir_lock(st, user_dir);
	assert_true(fd >= 0);
	assert_int_equal(maildir_sync_locked(box, fd), 0);
	assert_int_equal(maildir_box_write_index(box), 0);
	maildir_unlock(&fd);
	maildir_box_free(&box);
	store_close(&st);
}

/* ---- index salvage (maildir_index.c) ---- */

static char *read_index(void)
{
	static char buf[65536];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/duomail-index", user_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_index(const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/duomail-index", user_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The line of the index that starts with prefix. */
static char *index_line(char *text, const char *prefix)
{
	for (char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return p;
	fail_msg("no index line %s", prefix);
	return NULL;
}

/* Four messages a b c d with UIDs 1..4, b expunged (UIDNEXT 5). */
static struct store *four_minus_b(uint32_t *uidvalidity_r)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uid;

	save(st, "Subject: a\n\na\n", &uid);
	save(st, "Subject: b\n\nb\n", &uid);
	save(st, "Subject: c\n\nc\n", &uid);
	save(st, "Subject: d\n\nd\n", &uid);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	uid = 2;
	assert_int_equal(mailbox_expunge(box, &uid, 1), 0);
	*uidvalidity_r = mailbox_uidvalidity(box);
	mailbox_close(&box);
	return st;
}

/* Issue 4: rebuilt keeping UIDs where the data allows.  A changed byte in
 * one entry line costs that message its UID, not the mailbox its epoch:
 * the others keep theirs, and the damaged one gets the next UID, one that
 * was never handed out in this epoch. */
static void test_damaged_entry_keeps_the_others(void **state)
{
	uint32_t validity;
	struct store *st = four_minus_b(&validity);
	struct mailbox *box;
	char *text = read_index(), *line;

	line = index_line(text, "3 ");
	line[strcspn(line, " ") + 1] ^= 1;	/* VSIZE 14 -> 04: the CRC says no */
	write_index(text);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), validity);
	assert_int_equal(mailbox_count(box), 3);
	assert_string_equal(text_of(box, 1), "Subject: a\n\na\n");
	assert_string_equal(text_of(box, 4), "Subject: d\n\nd\n");
	assert_null(text_of(box, 3));
	assert_string_equal(text_of(box, 5), "Subject: c\n\nc\n");
	assert_int_equal(mailbox_uidnext(box), 6);
	mailbox_close(&box);
	/* written whole again: nothing lost the next time */
	assert_non_null(index_line(read_index(), "5 "));
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), validity);
	assert_string_equal(text_of(box, 5), "Subject: c\n\nc\n");
	mailbox_close(&box);
	store_close(&st);
}

/* Cut short (a torn copy, a full disk under an editor): the lines before
 * the cut are good, the torn one is not. */
static void test_truncated_index_keeps_the_rest(void **state)
{
	uint32_t validity;
	struct store *st = four_minus_b(&validity);
	struct mailbox *box;
	char *text = read_index(), *line;

	line = index_line(text, "4 ");
	line[5] = '\0';
	write_index(text);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), validity);
	assert_string_equal(text_of(box, 1), "Subject: a\n\na\n");
	assert_string_equal(text_of(box, 3), "Subject: c\n\nc\n");
	assert_string_equal(text_of(box, 5), "Subject: d\n\nd\n");
	mailbox_close(&box);
	store_close(&st);
}

/* Lines that pass their CRC but that we never wrote (the same UID twice, a
 * UID past UIDNEXT: someone edited the file and its CRCs) are not trusted
 * either; the rest is. */
static void test_impossible_entries_dropped(void **state)
{
	uint32_t validity;
	struct store *st = four_minus_b(&validity);
	struct mailbox *box;
	char text[4096], head[64], l1[256], l3[256], l4[256], *idx = read_index();
	const char *l[3];

	/* the same lines with UIDs 1 and 3 swapped for 3 and 9 */
	snprintf(head, sizeof(head), "duomail-index 3 %u 5 5", validity);
	snprintf(l1, sizeof(l1), "%.*s", (int)(strchr(index_line(idx, "1 "), '\n') -
					       index_line(idx, "1 ") - 9), index_line(idx, "1 "));
	snprintf(l3, sizeof(l3), "%.*s", (int)(strchr(index_line(idx, "3 "), '\n') -
					       index_line(idx, "3 ") - 9), index_line(idx, "3 "));
	snprintf(l4, sizeof(l4), "%.*s", (int)(strchr(index_line(idx, "4 "), '\n') -
					       index_line(idx, "4 ") - 9), index_line(idx, "4 "));
	l1[0] = '3';	/* a: UID 3, like c */
	l4[0] = '9';	/* d: UID 9 >= UIDNEXT */
	l[0] = l1;
	l[1] = l3;
	l[2] = l4;
	snprintf(text, sizeof(text), "%s %08lx\n", head,
		 crc32(0, (const Bytef *)head, (uInt)strlen(head)));
	for (int i = 0; i < 3; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s %08lx\n", l[i],
			 crc32(0, (const Bytef *)l[i], (uInt)strlen(l[i])));
	write_index(text);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), validity);
	assert_int_equal(mailbox_count(box), 3);
	for (uint32_t uid = 1; uid < 5; uid++)
		assert_null(text_of(box, uid));		/* all three renumbered */
	assert_int_equal(mailbox_msg(box, 0)->uid, 5);
	mailbox_close(&box);
	store_close(&st);
}

/* A header that fails its CRC: nothing of it is used.  A changed digit in
 * UIDVALIDITY must not become the next epoch's lower bound (it could be
 * near 2^32 and wrap, or name an old epoch). */
static void test_bad_header_new_epoch(void **state)
{
	uint32_t validity;
	struct store *st = four_minus_b(&validity);
	struct mailbox *box;
	char *text = read_index(), hacked[8192];

	snprintf(hacked, sizeof(hacked), "duomail-index 3 4294967290%s", strchr(text + 16, ' '));
	write_index(hacked);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_true(mailbox_uidvalidity(box) > validity);
	assert_true(mailbox_uidvalidity(box) < 4294967290u);
	assert_int_equal(mailbox_count(box), 3);
	mailbox_close(&box);
	store_close(&st);
}

/* A writer killed before its rename leaves a file in tmp/: never shown,
 * and removed once nobody has touched it for MAILDIR_TMP_STALE. */
static void test_stale_tmp_removed(void **state)
{
	struct store *st = open_store();
	char path[256];
	struct stat sb;
	FILE *f;

	/* what a writer killed halfway leaves */
	snprintf(path, sizeof(path), "%s/tmp/1700000000.M1P2Q3.host", user_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: half", f);
	assert_int_equal(fclose(f), 0);
	/* fresh: kept, and not a message */
	maildir_tmp_clean(user_dir, time(NULL) - MAILDIR_TMP_STALE);
	assert_int_equal(stat(path, &sb), 0);
	{
		struct mailbox *box;

		assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
		assert_int_equal(mailbox_count(box), 0);
		mailbox_close(&box);
	}
	/* ctime cannot be set back, so the cut-off moves forward instead */
	maildir_tmp_clean(user_dir, time(NULL) + 2);
	assert_int_equal(stat(path, &sb), -1);
	store_close(&st);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_flag_change_from_stale_view),
		T(test_pop3_quit_after_renumbering),
		T(test_pop3_hide_after_renumbering),
		T(test_lock_on_deleted_file_not_held),
		T(test_index_not_written_after_lock_deleted),
		T(test_damaged_entry_keeps_the_others),
		T(test_truncated_index_keeps_the_rest),
		T(test_impossible_entries_dropped),
		T(test_bad_header_new_epoch),
		T(test_stale_tmp_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
