/*
 * The Maildir++ store: UIDs and UIDVALIDITY that persist, new/ pickup,
 * UIDLs that survive a lost index, a damaged index rebuilt without losing
 * mail, flags in file names, durable expunge, sizes, saving, concurrent
 * delivery and concurrent renames by other processes, the locks.
 * Each test gets its own directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

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
	assert_null(s);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Another program delivers the Maildir way: tmp/ then rename into new/. */
static void foreign_deliver(const char *name, const char *text, time_t mtime)
{
	char tmp[512], dst[512];

	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", user_dir, name);
	snprintf(dst, sizeof(dst), "%s/new/%s", user_dir, name);
	write_file(tmp, text);
	if (mtime != 0) {
		struct timeval tv[2] = { { mtime, 0 }, { mtime, 0 } };

		assert_int_equal(utimes(tmp, tv), 0);
	}
	assert_int_equal(rename(tmp, dst), 0);
}

static bool exists_in(const char *sub, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", user_dir, sub, name);
	return access(path, F_OK) == 0;
}

static unsigned count_files(const char *sub)
{
	char path[512];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", user_dir, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The first file in sub whose name contains needle. */
static void find_file(const char *sub, const char *needle, char name_r[256])
{
	char path[512];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", user_dir, sub);
	d = opendir(path);
	assert_non_null(d);
	name_r[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && strstr(de->d_name, needle) != NULL) {
			snprintf(name_r, 256, "%s", de->d_name);
			break;
		}
	}
	closedir(d);
	assert_true(name_r[0] != '\0');
}

static void remove_index(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/duomail-index", user_dir);
	assert_int_equal(unlink(path), 0);
}

/* The text of the folder directory's file name (a static buffer). */
static char *folder_file_text(const char *name)
{
	static char buf[65536];
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", user_dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *index_text(void)
{
	return folder_file_text("duomail-index");
}

static void test_uids_persist(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uid1, uid2, uid3, validity;

	save(st, "Subject: a\n\nA\n", &uid1);
	save(st, "Subject: b\r\n\r\nB\r\n", &uid2);
	assert_int_equal(uid1, 1);
	assert_int_equal(uid2, 2);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	validity = mailbox_uidvalidity(box);
	assert_true(validity > 0);
	assert_int_equal(mailbox_uidnext(box), 3);
	assert_int_equal(mailbox_count(box), 2);
	assert_int_equal(mailbox_find_uid(box, 2), 1);
	assert_int_equal(mailbox_find_uid(box, 7), -1);
	assert_string_equal(read_all(box, 1), "Subject: a\n\nA\n");
	/* expunged UIDs are never handed out again */
	assert_int_equal(mailbox_expunge(box, &uid2, 1), 0);
	mailbox_close(&box);
	assert_null(box);
	store_close(&st);
	assert_null(st);

	st = open_store();
	save(st, "Subject: c\n\nC\n", &uid3);
	assert_int_equal(uid3, 3);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), validity);
	assert_int_equal(mailbox_count(box), 2);
	assert_int_equal(mailbox_msg(box, 0)->uid, 1);
	assert_int_equal(mailbox_msg(box, 1)->uid, 3);
	assert_int_equal(mailbox_uidnext(box), 4);
	assert_null(mailbox_msg(box, 2));
	mailbox_close(&box);
	store_close(&st);
}

static void test_sizes(void **state)
{
	static const char lf[] = "Subject: a\n\nA\n";
	static const char crlf[] = "Subject: b\r\n\r\nB\r\n";
	static const char mixed[] = "Subject: c\r\nX: y\n\r\nbody\nmore\r\n";
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uid;

	/* UIDs now, or the older foreign files would come first */
	save(st, lf, &uid);
	save(st, crlf, &uid);
	foreign_deliver("100.mixed.host", mixed, 100);
	/* Dovecot's W= is trusted, as Dovecot does */
	foreign_deliver("200.dovecot.host,S=5,W=999", "ab\ncd", 200);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 4);
	/* vsize: every bare LF counts as CRLF, a CRLF counts 2 */
	assert_int_equal(mailbox_msg(box, 0)->psize, strlen(lf));
	assert_int_equal(mailbox_msg(box, 0)->vsize, strlen(lf) + 3);
	assert_int_equal(mailbox_msg(box, 1)->psize, strlen(crlf));
	assert_int_equal(mailbox_msg(box, 1)->vsize, strlen(crlf));
	assert_int_equal(mailbox_msg(box, 2)->vsize, strlen(mixed) + 2);
	assert_int_equal(mailbox_msg(box, 3)->vsize, 999);
	assert_int_equal(mailbox_msg(box, 3)->received, 200);
	mailbox_close(&box);
	/* our own files say their sizes in their names */
	assert_non_null(strstr(index_text(), ",S=14,W=17"));
	/* the cached sizes come back from the index */
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg(box, 2)->vsize, strlen(mixed) + 2);
	mailbox_close(&box);
	/* and are measured again without it (the oldest file is now UID 1) */
	remove_index();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg(box, 0)->received, 100);
	assert_int_equal(mailbox_msg(box, 0)->vsize, strlen(mixed) + 2);
	mailbox_close(&box);
	store_close(&st);
}

static void test_index_loss_keeps_uidls(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char uidl[3][80];
	uint32_t validity, uid;
	time_t now = time(NULL);

	/* received times in reverse order of saving */
	save_full(st, "Subject: 0\n\nx\n", now - 100, 0, &uid);
	assert_int_equal(uid, 1);
	save_full(st, "Subject: 1\n\nx\n", now - 200, 0, &uid);
	save_full(st, "Subject: 2\n\nx\n", now - 300, 0, &uid);
	assert_int_equal(uid, 3);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	for (int i = 0; i < 3; i++)
		strcpy(uidl[i], mailbox_msg(box, i)->uidl);
	assert_string_not_equal(uidl[0], uidl[1]);
	validity = mailbox_uidvalidity(box);
	mailbox_close(&box);

	/* no sleep: the new UIDVALIDITY must differ even within one second */
	remove_index();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 3);
	assert_true(mailbox_uidvalidity(box) > validity);
	/* new UIDs go by (mtime, name): the oldest message first */
	assert_string_equal(read_all(box, 1), "Subject: 2\n\nx\n");
	assert_string_equal(read_all(box, 3), "Subject: 0\n\nx\n");
	/* but every message keeps its UIDL */
	assert_string_equal(mailbox_msg(box, 0)->uidl, uidl[2]);
	assert_string_equal(mailbox_msg(box, 1)->uidl, uidl[1]);
	assert_string_equal(mailbox_msg(box, 2)->uidl, uidl[0]);
	validity = mailbox_uidvalidity(box);
	mailbox_close(&box);

	/* and once more: still strictly increasing */
	remove_index();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_true(mailbox_uidvalidity(box) > validity);
	/* the view that saw the index vanish moves to the new epoch too */
	remove_index();
	validity = mailbox_uidvalidity(box);
	assert_int_equal(mailbox_sync(box), 0);
	assert_true(mailbox_uidvalidity(box) > validity);
	assert_int_equal(mailbox_count(box), 3);
	mailbox_close(&box);
	store_close(&st);
}

static void test_corrupt_index_rebuilt(void **state)
{
	static const char *const bad[] = {
		"duomail-index 2 5 9 9\ngarbage line\n",
		"duomail-index 2 5 9 9\n1 14 14 0 x base-not-newline-terminated",
		"duomail-index 2 5 9 9\n3 14 14 0 x a\n3 14 14 0 x b\n",	/* UID twice */
		"duomail-index 2 5 9 9\n9 14 14 0 x a\n",	/* UID >= UIDNEXT */
		"duomail-index 2 5 9 9\n1 14 14 0 x a\n2 14 14 0 x a\n",	/* base twice */
		"duomail-index 2 5 9 9\n1 14 14 0  a\n",	/* no UIDL */
		"duomail-index 2 5 9 9\n-1 14 14 0 x a\n",
		"duomail-index 2 5 99999999999 9\n",
		"duomail-index 7 5 9 9\n",
		"duomail-index 2 0 9 9\n",
		"",
		"\x01\x02\xff\xfe binary\n",
	};
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t last = 0;

	save(st, "Subject: a\n\nA\n", NULL);
	save(st, "Subject: b\n\nB\n", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/duomail-index", user_dir);
		write_file(path, bad[i]);
		assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
		/* no mail lost, a new UID epoch, and a good index again */
		assert_int_equal(mailbox_count(box), 2);
		assert_true(mailbox_uidvalidity(box) > 5);
		assert_true(mailbox_uidvalidity(box) > last);
		last = mailbox_uidvalidity(box);
		assert_int_equal(mailbox_msg(box, 0)->uid, 1);
		assert_int_equal(mailbox_msg(box, 1)->uid, 2);
		assert_string_equal(read_all(box, 2), "Subject: b\n\nB\n");
		mailbox_close(&box);
		assert_int_equal(strncmp(index_text(), "duomail-index 3 ", 16), 0);
	}
	store_close(&st);
}

static void test_index_format(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char path[256], line[512];
	uint32_t validity;

	foreign_deliver("1.a.host", "Subject: a\n\nA\n", 1000);
	foreign_deliver("2.b.host", "Subject: b\n\nB\n", 2000);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	validity = mailbox_uidvalidity(box);
	mailbox_close(&box);
	/* header, then UID VSIZE PSIZE RETRIEVED UIDL BASE per message, each
	 * line with the CRC-32 of what comes before it */
	{
		char head[64];
		const char *l1 = "1 17 14 0 1.a.host 1.a.host", *l2 = "2 17 14 0 2.b.host 2.b.host";

		snprintf(head, sizeof(head), "duomail-index 3 %u 3 1", validity);
		snprintf(line, sizeof(line), "%s %08lx\n%s %08lx\n%s %08lx\n", head,
			 crc32(0, (const Bytef *)head, (uInt)strlen(head)), l1,
			 crc32(0, (const Bytef *)l1, (uInt)strlen(l1)), l2,
			 crc32(0, (const Bytef *)l2, (uInt)strlen(l2)));
	}
	assert_string_equal(index_text(), line);
	assert_false(exists_in("", "duomail-index.tmp"));	/* no temp file left behind */

	/* a version 1 index (before the UIDL column) is still read */
	snprintf(path, sizeof(path), "%s/duomail-index", user_dir);
	write_file(path, "duomail-index 1 77 10\n4 17 14 123 1.a.host\n7 17 14 0 2.b.host\n");
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), 77);
	assert_int_equal(mailbox_uidnext(box), 10);
	assert_int_equal(mailbox_msg(box, 0)->uid, 4);
	assert_int_equal(mailbox_msg(box, 0)->pop3_retrieved, 123);
	assert_int_equal(mailbox_msg(box, 1)->uid, 7);
	mailbox_close(&box);
	store_close(&st);
}

static void test_uidl_digest(void **state)
{
	static const char long_name[] =
		"1700000000.M1P1Q1.a-very-long-host-name-that-makes-the-base-too-long-for-uidl";
	static const char space_name[] = "1700000001.with space.host";
	struct store *st = open_store();
	struct mailbox *box;
	unsigned char digest[20];
	char hex[41];

	assert_true(strlen(long_name) > 70);
	foreign_deliver(long_name, "Subject: a\n\nA\n", 1000);
	foreign_deliver(space_name, "Subject: b\n\nB\n", 2000);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 2);
	/* RFC 1939 §7: 1..70 chars in 0x21..0x7E, else a SHA-1 of the name */
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA1, long_name, strlen(long_name),
					  digest), 0);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	assert_string_equal(mailbox_msg(box, 0)->uidl, hex);
	assert_int_equal(strlen(mailbox_msg(box, 1)->uidl), 40);
	assert_null(strchr(mailbox_msg(box, 1)->uidl, ' '));
	mailbox_close(&box);
	remove_index();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_string_equal(mailbox_msg(box, 0)->uidl, hex);
	mailbox_close(&box);
	store_close(&st);
}

static void test_new_pickup_and_flags(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char from[512], to[512];

	foreign_deliver("123.foreign.host", "Subject: foreign\n\nhi\n", 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	/* new/ -> cur/ with an empty info */
	assert_true(exists_in("cur", "123.foreign.host:2,"));
	assert_int_equal(count_files("new"), 0);
	assert_string_equal(mailbox_msg(box, 0)->uidl, "123.foreign.host");
	assert_int_equal(mailbox_msg(box, 0)->flags, 0);

	assert_int_equal(mailbox_update_flags(box, 1, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED, 0), 0);
	assert_true(exists_in("cur", "123.foreign.host:2,FS"));
	assert_int_equal(mailbox_msg(box, 0)->flags, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED);
	assert_int_equal(mailbox_update_flags(box, 1, MSG_FLAG_DRAFT | MSG_FLAG_DELETED |
					      MSG_FLAG_ANSWERED, MSG_FLAG_FLAGGED), 0);
	assert_true(exists_in("cur", "123.foreign.host:2,DRST"));
	/* \Recent never reaches the file */
	assert_int_equal(mailbox_update_flags(box, 1, MSG_FLAG_RECENT, MSG_FLAG_DRAFT |
					      MSG_FLAG_DELETED | MSG_FLAG_ANSWERED), 0);
	assert_true(exists_in("cur", "123.foreign.host:2,S"));
	/* a message that is not there is no error */
	assert_int_equal(mailbox_update_flags(box, 42, MSG_FLAG_SEEN, 0), 0);

	/* keywords and P (passed) we do not know are kept, in ASCII order */
	snprintf(from, sizeof(from), "%s/cur/123.foreign.host:2,S", user_dir);
	snprintf(to, sizeof(to), "%s/cur/123.foreign.host:2,PSac", user_dir);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_msg(box, 0)->flags, MSG_FLAG_SEEN);
	assert_int_equal(mailbox_update_flags(box, 1, MSG_FLAG_FLAGGED, MSG_FLAG_SEEN), 0);
	assert_true(exists_in("cur", "123.foreign.host:2,FPac"));

	/* renamed behind our back (another process added R): still readable,
	 * and our change keeps theirs */
	snprintf(from, sizeof(from), "%s/cur/123.foreign.host:2,FPac", user_dir);
	snprintf(to, sizeof(to), "%s/cur/123.foreign.host:2,FPRac", user_dir);
	assert_int_equal(rename(from, to), 0);
	assert_string_equal(read_all(box, 1), "Subject: foreign\n\nhi\n");
	snprintf(from, sizeof(from), "%s/cur/123.foreign.host:2,FPRac", user_dir);
	snprintf(to, sizeof(to), "%s/cur/123.foreign.host:2,FPRSac", user_dir);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(mailbox_update_flags(box, 1, MSG_FLAG_DRAFT, 0), 0);
	assert_true(exists_in("cur", "123.foreign.host:2,DFPRSac"));
	mailbox_close(&box);

	/* flags come from the names on every sync, UIDs stay */
	store_close(&st);
	st = open_store();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_msg(box, 0)->uid, 1);
	assert_int_equal(mailbox_msg(box, 0)->flags, MSG_FLAG_SEEN | MSG_FLAG_ANSWERED |
			 MSG_FLAG_DRAFT | MSG_FLAG_FLAGGED);
	mailbox_close(&box);
	store_close(&st);
}

static void test_new_never_replaces_cur(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char path[512];

	/* a file in cur/ and another one in new/ that would land on its name */
	snprintf(path, sizeof(path), "%s/cur/5.same.host:2,", user_dir);
	write_file(path, "Subject: first\n\nx\n");
	foreign_deliver("5.same.host", "Subject: second\n\nx\n", 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_string_equal(read_all(box, 1), "Subject: first\n\nx\n");
	/* the other one is left where it was, not lost */
	assert_true(exists_in("new", "5.same.host"));
	mailbox_close(&box);
	store_close(&st);
}

static void test_save_flags_and_date(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	struct store_save *s;
	uint32_t uid;

	save_full(st, "Subject: old\n\nx\n", 1000000000, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED |
		  MSG_FLAG_RECENT, &uid);
	assert_int_equal(uid, 1);
	/* with flags straight into cur/, without into new/ */
	assert_int_equal(count_files("cur"), 1);
	assert_int_equal(count_files("new"), 0);
	save(st, "Subject: plain\n\nx\n", NULL);
	assert_int_equal(count_files("new"), 1);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 2);
	assert_int_equal(mailbox_msg(box, 0)->received, 1000000000);
	assert_int_equal(mailbox_msg(box, 0)->flags, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED);
	assert_true(labs((long)(mailbox_msg(box, 1)->received - time(NULL))) < 60);
	mailbox_close(&box);

	/* an aborted save leaves nothing behind */
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &s), 0);
	assert_int_equal(store_save_write(s, "Subject: no\n", 12), 0);
	assert_int_equal(count_files("tmp"), 1);
	store_save_abort(&s);
	assert_null(s);
	assert_int_equal(count_files("tmp"), 0);
	/* saving needs an existing mailbox with a sane name */
	assert_int_equal(store_save_begin(st, "Nope", 0, 0, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
	assert_int_equal(store_save_begin(st, "../x", 0, 0, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	/* into a folder (Sent: made with the account) */
	assert_int_equal(store_save_begin(st, "Sent", 0, 0, &s), 0);
	assert_int_equal(store_save_write(s, "Subject: s\n\nx\n", 14), 0);
	assert_int_equal(store_save_commit(&s, &uid), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(mailbox_open(st, "Sent", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	mailbox_close(&box);
	store_close(&st);
}

static void test_expunge(void **state)
{
	struct store *st = open_store();
	struct mailbox *box, *other;
	struct msg_stream *s;
	uint32_t uids[2] = { 1, 99 }, three = 3;
	char from[1024], to[1024], name[256];

	save(st, "Subject: a\n\nA\n", NULL);
	save(st, "Subject: b\n\nB\n", NULL);
	save(st, "Subject: c\n\nC\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(count_files("cur"), 3);
	assert_int_equal(mailbox_expunge(box, uids, 2), 0);
	assert_int_equal(mailbox_count(box), 2);
	assert_int_equal(mailbox_msg(box, 0)->uid, 2);
	assert_int_equal(count_files("cur"), 2);
	/* a second view still lists it, but the message is gone */
	assert_int_equal(mailbox_msg_open(other, 1, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXPUNGED);
	assert_int_equal(mailbox_sync(other), 0);
	assert_int_equal(mailbox_count(other), 2);
	/* expunging what is already gone is fine */
	assert_int_equal(mailbox_expunge(other, uids, 1), 0);

	/* renamed by someone else since our view: still expunged */
	find_file("cur", "W=17:2,", name);
	snprintf(from, sizeof(from), "%s/cur/%s", user_dir, name);
	snprintf(to, sizeof(to), "%s/cur/%sT", user_dir, name);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(mailbox_expunge(box, &three, 1), 0);
	assert_int_equal(count_files("cur"), 1);
	mailbox_close(&other);
	mailbox_close(&box);
	store_close(&st);

	/* durable: a new store sees it gone and the index does not list it */
	st = open_store();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_msg(box, 0)->uid, 2);
	assert_int_equal(mailbox_uidnext(box), 4);
	mailbox_close(&box);
	assert_null(strstr(index_text(), "\n1 "));
	assert_null(strstr(index_text(), "\n3 "));
	assert_non_null(strstr(index_text(), "\n2 "));
	store_close(&st);
}

static void test_vanished_file(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	struct msg_stream *s;
	char path[1024], name[256];

	save(st, "Subject: a\n\nA\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	/* another process (or an admin) removes the file */
	find_file("cur", "", name);
	snprintf(path, sizeof(path), "%s/cur/%s", user_dir, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mailbox_msg_open(box, 1, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXPUNGED);
	assert_int_equal(mailbox_msg_open(box, 77, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXPUNGED);
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_count(box), 0);
	assert_int_equal(mailbox_uidnext(box), 2);
	mailbox_close(&box);
	store_close(&st);
}

static void test_retrieved_time(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uid;

	save(st, "Subject: a\n\nA\n", &uid);
	save(st, "Subject: b\n\nB\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg(box, 0)->pop3_retrieved, 0);
	assert_int_equal(mailbox_set_pop3_retrieved(box, &uid, 1, 1234567), 0);
	assert_int_equal(mailbox_msg(box, 0)->pop3_retrieved, 1234567);
	mailbox_close(&box);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg(box, 0)->pop3_retrieved, 1234567);
	assert_int_equal(mailbox_msg(box, 1)->pop3_retrieved, 0);
	mailbox_close(&box);
	store_close(&st);
}

#define CHILDREN 4
#define PER_CHILD 50

static void test_concurrent_delivery(void **state)
{
	struct store *st;
	struct mailbox *box;
	pid_t pids[CHILDREN];
	bool seen[CHILDREN][PER_CHILD] = { { false } };
	uint32_t told[CHILDREN][PER_CHILD] = { { 0 } };
	char path[256];

	for (int p = 0; p < CHILDREN; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			struct store *cst = NULL;
			enum store_error err;
			FILE *log;

			snprintf(path, sizeof(path), "%s/uids.%d", root, p);
			log = fopen(path, "w");
			if (log == NULL || store_open(root, "alice", &cst, &err) < 0)
				_exit(1);
			for (int i = 0; i < PER_CHILD; i++) {
				struct store_save *s;
				char text[64];
				uint32_t uid = 0;
				int len = snprintf(text, sizeof(text), "Subject: %d-%d\n\nx\n",
						   p, i);

				/* half of them ask for their UID (APPEND) */
				if (store_save_begin(cst, "INBOX", 0, 0, &s) < 0 ||
				    store_save_write(s, text, (size_t)len) < 0 ||
				    store_save_commit(&s, i % 2 ? &uid : NULL) < 0)
					_exit(2);
				if (i % 2)
					fprintf(log, "%d %u\n", i, uid);
			}
			store_close(&cst);
			_exit(fclose(log) == 0 ? 0 : 3);
		}
	}
	for (int p = 0; p < CHILDREN; p++) {
		int status;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (int p = 0; p < CHILDREN; p++) {
		int i;
		unsigned uid;
		FILE *f;

		snprintf(path, sizeof(path), "%s/uids.%d", root, p);
		f = fopen(path, "r");
		assert_non_null(f);
		while (fscanf(f, "%d %u", &i, &uid) == 2) {
			assert_true(i >= 0 && i < PER_CHILD);
			told[p][i] = uid;
		}
		fclose(f);
	}
	st = open_store();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), CHILDREN * PER_CHILD);
	assert_int_equal(mailbox_uidnext(box), CHILDREN * PER_CHILD + 1);
	for (unsigned k = 0; k < mailbox_count(box); k++) {
		const struct store_msg *m = mailbox_msg(box, k);
		int p, i;

		if (k > 0)
			assert_true(m->uid > mailbox_msg(box, k - 1)->uid);
		assert_int_equal(sscanf(read_all(box, m->uid), "Subject: %d-%d", &p, &i), 2);
		assert_true(p >= 0 && p < CHILDREN && i >= 0 && i < PER_CHILD);
		/* every message exactly once */
		assert_false(seen[p][i]);
		seen[p][i] = true;
		/* the UID commit gave is the one it has */
		if (i % 2)
			assert_int_equal(told[p][i], m->uid);
	}
	mailbox_close(&box);
	store_close(&st);
}

/* A foreign MUA flips flags (renames files in cur/) as fast as it can while
 * we sync: no message may disappear from the view or get a new UID. */
static void test_concurrent_renames_keep_uids(void **state)
{
	enum { N = 150 };
	struct store *st = open_store();
	struct mailbox *box;
	unsigned syncs = 0;
	int status;
	pid_t pid;

	for (int i = 0; i < N; i++) {
		char text[64];

		snprintf(text, sizeof(text), "Subject: %d\n\nx\n", i);
		save(st, text, NULL);
	}
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), N);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cur[256], from[512], to[512];
		char *names[N];
		int n = 0;
		struct dirent *de;
		time_t end = time(NULL) + 2;
		DIR *d;

		snprintf(cur, sizeof(cur), "%s/cur", user_dir);
		d = opendir(cur);
		while ((de = readdir(d)) != NULL && n < N)
			if (de->d_name[0] != '.')
				names[n++] = strdup(de->d_name);
		closedir(d);
		while (time(NULL) < end) {
			for (int i = 0; i < n; i++) {
				size_t len = strlen(names[i]);
				bool flagged = names[i][len - 1] == 'F';

				snprintf(from, sizeof(from), "%s/%s", cur, names[i]);
				snprintf(to, sizeof(to), "%s/%.*s%s", cur,
					 (int)(flagged ? len - 1 : len), names[i],
					 flagged ? "" : "F");
				if (rename(from, to) != 0)
					_exit(1);
				free(names[i]);
				names[i] = strdup(strrchr(to, '/') + 1);
			}
		}
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		assert_int_equal(mailbox_sync(box), 0);
		assert_int_equal(mailbox_count(box), N);
		assert_int_equal(mailbox_uidnext(box), N + 1);
		for (unsigned k = 0; k < N; k++)
			assert_int_equal(mailbox_msg(box, k)->uid, k + 1);
		syncs++;
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(syncs > 5);
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_count(box), N);
	assert_int_equal(mailbox_uidnext(box), N + 1);
	mailbox_close(&box);
	store_close(&st);
}

static ino_t ino_of(const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", user_dir, name);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_ino;
}

/* An index rewrite swaps the new file in and keeps the old one beside it
 * to write the next into (RENAME_EXCHANGE), instead of a new file for
 * every change: the index alternates between two inodes, the other one
 * holds the previous version, and a fresh open trusts only the index. */
static void test_index_rewrites_reuse_two_files(void **state)
{
	struct store *st = open_store();
	struct mailbox *box, *again;
	ino_t first, second;
	char before[65536];
	uint32_t uid;

	save(st, "Subject: a\n\nA\n", NULL);
	save(st, "Subject: b\n\nB\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	first = ino_of("duomail-index");
	snprintf(before, sizeof(before), "%s", index_text());
	uid = mailbox_msg(box, 0)->uid;
	assert_int_equal(mailbox_expunge(box, &uid, 1), 0);
	second = ino_of("duomail-index");
	assert_true(second != first);
	assert_int_equal(ino_of("duomail-index.tmp"), first);
	/* the previous version */
	assert_string_equal(folder_file_text("duomail-index.tmp"), before);
	save(st, "Subject: c\n\nC\n", NULL);
	assert_int_equal(mailbox_sync(box), 0);
	/* However many writes that took, no third file. */
	assert_true(ino_of("duomail-index") == first || ino_of("duomail-index") == second);
	assert_true(ino_of("duomail-index.tmp") == first || ino_of("duomail-index.tmp") == second);
	assert_true(ino_of("duomail-index") != ino_of("duomail-index.tmp"));
	assert_int_equal(mailbox_open(st, "INBOX", &again), 0);
	assert_int_equal(mailbox_count(again), 2);
	assert_int_equal(mailbox_msg(again, 0)->uid, mailbox_msg(box, 0)->uid);
	assert_int_equal(mailbox_msg(again, 1)->uid, mailbox_msg(box, 1)->uid);
	mailbox_close(&again);
	mailbox_close(&box);
	store_close(&st);
}

/* A message's bytes, read through a fresh stream. */
static void read_msg(struct mailbox *box, uint32_t uid, char *out, size_t size)
{
	struct msg_stream *m;
	ssize_t n;

	assert_int_equal(mailbox_msg_open(box, uid, &m), 0);
	n = msg_stream_read(m, out, size - 1);
	assert_true(n > 0);
	out[n] = '\0';
	msg_stream_close(&m);
}

/* A view reads messages through a kept handle on cur/ (maildir_msg.c); a
 * folder deleted and made again under its name is read at its path, not
 * through the old handle. */
static void test_message_read_after_folder_replaced(void **state)
{
	struct store *st = open_store();
	struct store_save *sv;
	struct mailbox *box;
	char text[256], cmd[1024], name[256];
	uint32_t uid;

	assert_int_equal(store_mailbox_create(st, "A"), 0);
	assert_int_equal(store_save_begin(st, "A", 0, MSG_FLAG_SEEN, &sv), 0);
	assert_int_equal(store_save_write(sv, "Subject: old\n\nold\n", 19), 0);
	assert_int_equal(store_save_commit(&sv, &uid), 0);
	assert_int_equal(mailbox_open(st, "A", &box), 0);
	read_msg(box, uid, text, sizeof(text));
	assert_non_null(strstr(text, "old"));
	find_file(".A/cur", "", name);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && rm -rf .A && mkdir -p .A/cur .A/new .A/tmp && "
		 "printf 'Subject: new\\n\\nnew\\n' > '.A/cur/%s'", user_dir, name);
	assert_int_equal(system(cmd), 0);
	read_msg(box, uid, text, sizeof(text));
	assert_non_null(strstr(text, "Subject: new"));
	mailbox_close(&box);
	store_close(&st);
}

static void test_index_lock_bounded(void **state)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct store *st = open_store();
	struct mailbox *box;
	struct timespec t0, t1;
	char path[256];
	int fd;

	save(st, "Subject: a\n\nA\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	snprintf(path, sizeof(path), "%s/duomail-index.lock", user_dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	/* A delivery, so the sync has something to do (it needs no lock
	 * to find that nothing changed). */
	snprintf(path, sizeof(path), "%s/new/1800000000.M1P1.other", user_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: b\n\nB\n", f);
	fclose(f);
	/* someone holds the lock too long: a temporary error, not a hang */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mailbox_sync(box), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_TEMP);
	assert_true(t1.tv_sec - t0.tv_sec >= 9 && t1.tv_sec - t0.tv_sec <= 30);
	/* reading needs no lock */
	assert_string_equal(read_all(box, 1), "Subject: a\n\nA\n");
	close(fd);
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_count(box), 2);
	mailbox_close(&box);
	store_close(&st);
}

static void test_pop3_lock_and_stamp(void **state)
{
	struct store *a = open_store(), *b = open_store();
	char path[256];
	struct stat sb;
	time_t prev;

	/* two store objects in one process conflict (OFD locks) */
	assert_int_equal(store_pop3_lock(a), 0);
	assert_int_equal(store_pop3_lock(a), 0);
	assert_int_equal(store_pop3_lock(b), -1);
	assert_int_equal(store_last_error(b, NULL), STORE_ERR_INUSE);
	store_pop3_unlock(a);
	assert_int_equal(store_pop3_lock(b), 0);
	assert_int_equal(store_pop3_lock(a), -1);
	/* closing the store lets go of it */
	store_close(&b);
	assert_int_equal(store_pop3_lock(a), 0);

	assert_int_equal(store_pop3_login_stamp(a, 1000, &prev), 0);
	assert_int_equal(prev, 0);
	assert_int_equal(store_pop3_login_stamp(a, 2000, &prev), 0);
	assert_int_equal(prev, 1000);
	snprintf(path, sizeof(path), "%s/duomail-pop3-login", user_dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, 2000);
	store_close(&a);
}

static void test_bad_names(void **state)
{
	static const char *const bad_users[] = { "..", ".", "", "a/b", ".hidden", "x\ny" };
	static const char *const bad_boxes[] = {
		"../../etc", "a/../b", ".", "..", ".hidden", "a//b", "/a", "a/", "", "a\rb",
		"a\nb", "a.b",
	};
	struct store *st = NULL;
	struct mailbox *box;
	enum store_error err;

	for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
		assert_int_equal(store_open(root, bad_users[i], &st, &err), -1);
		assert_int_equal(err, STORE_ERR_INVALID);
	}
	/* the root is not made: it may be an unmounted mail disk */
	assert_int_equal(store_open("/nonexistent/duomail", "alice", &st, &err), -1);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	st = open_store();
	for (size_t i = 0; i < sizeof(bad_boxes) / sizeof(bad_boxes[0]); i++) {
		assert_int_equal(mailbox_open(st, bad_boxes[i], &box), -1);
		assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	}
	assert_int_equal(mailbox_open(st, "Nosuch", &box), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
	/* INBOX is case-insensitive */
	assert_int_equal(mailbox_open(st, "iNbOx", &box), 0);
	mailbox_close(&box);
	assert_string_equal(store_strerror(STORE_ERR_NOSPACE), "out of disk space or quota");
	store_close(&st);
}

static void test_recent(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b, *c;

	save(st, "Subject: 1\n\nx\n", NULL);
	save(st, "Subject: 2\n\nx\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	/* RFC 3501 §2.3.2: recent until one session claims them */
	assert_int_equal(mailbox_recent_count(a), 2);
	assert_int_equal(mailbox_claim_recent(a), 0);
	assert_true(mailbox_msg(a, 0)->flags & MSG_FLAG_RECENT);
	assert_int_equal(mailbox_claim_recent(b), 0);
	assert_int_equal(mailbox_recent_count(b), 0);	/* a had them first */
	/* flags changes and resyncs keep a's claim */
	assert_int_equal(mailbox_update_flags(a, 1, MSG_FLAG_SEEN, 0), 0);
	assert_int_equal(mailbox_msg(a, 0)->flags, MSG_FLAG_SEEN | MSG_FLAG_RECENT);
	save(st, "Subject: 3\n\nx\n", NULL);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_count(a), 3);
	assert_true(mailbox_msg(a, 1)->flags & MSG_FLAG_RECENT);
	/* the new one is recent for whoever claims next */
	assert_int_equal(mailbox_recent_count(a), 3);
	assert_int_equal(mailbox_open(st, "INBOX", &c), 0);
	assert_int_equal(mailbox_recent_count(c), 1);
	mailbox_close(&a);
	mailbox_close(&b);
	mailbox_close(&c);
	store_close(&st);
}

/* RFC 3501 §6.3.11: an APPEND to the selected mailbox is \Recent in the
 * appending view, even if another view syncs and claims between the commit
 * and the appender's own sync. */
static void test_append_claims_recent_for_its_view(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b;
	struct store_save *s;
	uint32_t uidvalidity, uid;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &s), 0);
	assert_int_equal(store_save_write(s, "Subject: a\n\nx\n", 15), 0);
	store_save_claim_recent(s, a);
	assert_int_equal(store_save_commit_uid(&s, &uidvalidity, &uid), 0);
	assert_int_equal(uid, 1);
	/* b is quicker than a's own sync and claim */
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(mailbox_claim_recent(b), 0);
	assert_int_equal(mailbox_count(b), 1);
	assert_int_equal(mailbox_recent_count(b), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_claim_recent(a), 0);
	assert_int_equal(mailbox_count(a), 1);
	assert_int_equal(mailbox_recent_count(a), 1);
	/* Without the claim, the quicker view takes it. */
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &s), 0);
	assert_int_equal(store_save_write(s, "Subject: b\n\nx\n", 15), 0);
	assert_int_equal(store_save_commit_uid(&s, &uidvalidity, &uid), 0);
	assert_int_equal(mailbox_sync(b), 0);
	assert_int_equal(mailbox_claim_recent(b), 0);
	assert_int_equal(mailbox_recent_count(b), 1);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_claim_recent(a), 0);
	assert_int_equal(mailbox_recent_count(a), 1);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_claims_recent_for_its_view, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uids_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_loss_keeps_uidls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_index_rebuilt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uidl_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_pickup_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_never_replaces_cur, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_flags_and_date, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retrieved_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_renames_keep_uids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_lock_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_rewrites_reuse_two_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_message_read_after_folder_replaced, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pop3_lock_and_stamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
