/*
 * Quota accounting in the store: the Maildir++ maildirsize kept up to date
 * by saves, expunges, copies, moves and folder deletes; saves refused with
 * STORE_ERR_OVERQUOTA at begin, during the write and at commit, leaving
 * nothing behind; copies refused unless for a move; recounts when the file
 * is missing, damaged, too big, or stale when over, and a new header for
 * other limits; a
 * store without limits keeping an existing file right; and several
 * processes saving at once never going over the limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "store/store.h"
#include "store_fixture.h"

/* 100 bytes each, so sizes add up plainly. */
static const char msg100[] =
	"Subject: a hundred bytes\r\n\r\n"
	"0123456789012345678901234567890123456789012345678901234567890123456789\r\n";

static char *maildirsize(void)
{
	static char text[16384];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maildirsize", user_dir);
	f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void write_maildirsize(const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/maildirsize", user_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Sum of the maildirsize lines after the header, as another reader would. */
static void file_usage(long long *bytes, long long *count)
{
	char *text = maildirsize(), *line, *save = NULL;

	*bytes = *count = 0;
	assert_non_null(text);
	line = strtok_r(text, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		long long b, c;

		assert_int_equal(sscanf(line, "%lld %lld", &b, &c), 2);
		*bytes += b;
		*count += c;
	}
}

static void usage(struct store *st, uint64_t bytes, uint64_t count)
{
	struct store_quota q;
	long long fb, fc;

	assert_int_equal(store_quota_get(st, &q), 0);
	if (q.storage_used != bytes || q.messages_used != count)
		fail_msg("usage %llu/%llu, want %llu/%llu", (unsigned long long)q.storage_used,
			 (unsigned long long)q.messages_used, (unsigned long long)bytes,
			 (unsigned long long)count);
	file_usage(&fb, &fc);
	assert_true(fb == (long long)bytes && fc == (long long)count);
}

static int files_in(const char *folder, const char *sub)
{
	char path[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/%s", user_dir, folder, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static enum store_error try_save(struct store *st, const char *mailbox, const char *text)
{
	struct store_save *s = NULL;
	enum store_error err;

	if (store_save_begin(st, mailbox, 0, 0, &s) < 0)
		return store_last_error(st, NULL);
	if (store_save_write(s, text, strlen(text)) < 0) {
		err = store_last_error(st, NULL);
		store_save_abort(&s);
		return err;
	}
	if (store_save_commit(&s, NULL) < 0)
		return store_last_error(st, NULL);
	return STORE_OK;
}

static void test_no_limits_no_file(void **state)
{
	struct store *st = open_store();
	struct store_quota q;

	save(st, msg100, NULL);
	assert_null(maildirsize());
	/* still answers, by counting */
	assert_int_equal(store_quota_get(st, &q), 0);
	assert_true(q.storage_used == 100 && q.messages_used == 1);
	assert_true(q.storage_limit == 0 && q.messages_limit == 0);
	assert_null(maildirsize());
	store_close(&st);
}

static void test_save_and_limits(void **state)
{
	struct store *st = open_store();
	struct store_save *s;
	uint32_t uid;

	assert_int_equal(strlen(msg100), 100);
	save(st, msg100, NULL);		/* before the quota: found by the recount */
	store_set_quota(st, 350, 0);
	save(st, msg100, NULL);
	assert_true(strncmp(maildirsize(), "350S\n", 5) == 0);
	usage(st, 200, 2);
	save(st, msg100, &uid);
	assert_true(uid == 3);
	usage(st, 300, 3);
	/* 400 > 350: refused at the commit, nothing left anywhere */
	assert_int_equal(try_save(st, "INBOX", msg100), STORE_ERR_OVERQUOTA);
	assert_int_equal(files_in("", "new") + files_in("", "cur"), 3);
	assert_int_equal(files_in("", "tmp"), 0);
	usage(st, 300, 3);
	/* a small one still fits */
	assert_int_equal(try_save(st, "INBOX", "Subject: s\r\n\r\nx\r\n"), STORE_OK);
	usage(st, 317, 4);
	/* a big one is stopped while it is written, not at the end */
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &s), 0);
	assert_int_equal(store_save_write(s, msg100, 30), 0);
	assert_int_equal(store_save_write(s, msg100, 30), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_OVERQUOTA);
	assert_int_equal(files_in("", "tmp"), 0);
	store_save_abort(&s);
	assert_int_equal(store_quota_check(st, 33, 1), 0);
	assert_int_equal(store_quota_check(st, 34, 1), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_OVERQUOTA);

	/* full to the byte: refused at begin already */
	assert_int_equal(try_save(st, "INBOX", "Subject: t\r\n\r\n0123456789\r\n01234\r\n"),
			 STORE_OK);
	usage(st, 350, 5);
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_OVERQUOTA);

	/* the message count limit */
	store_set_quota(st, 0, 6);
	assert_int_equal(try_save(st, "INBOX", msg100), STORE_OK);
	assert_true(strncmp(maildirsize(), "6C\n", 3) == 0);	/* the new limits' header */
	usage(st, 450, 6);
	assert_int_equal(try_save(st, "Junk", msg100), STORE_ERR_OVERQUOTA);
	store_set_quota(st, 1000, 10);
	assert_true(store_quota_check(st, 100, 1) == 0);
	assert_true(strncmp(maildirsize(), "1000S,10C\n", 10) == 0);
	store_close(&st);
}

static void test_expunge_and_delete(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uids[3];

	store_set_quota(st, 300, 0);
	for (int i = 0; i < 3; i++)
		save(st, msg100, &uids[i]);
	usage(st, 300, 3);
	assert_int_equal(try_save(st, "INBOX", msg100), STORE_ERR_OVERQUOTA);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_expunge(box, uids, 2), 0);
	usage(st, 100, 1);
	/* expunging what is gone already frees nothing twice */
	assert_int_equal(mailbox_expunge(box, uids, 2), 0);
	usage(st, 100, 1);
	mailbox_close(&box);
	assert_int_equal(try_save(st, "Junk", msg100), STORE_OK);
	assert_int_equal(try_save(st, "Junk", msg100), STORE_OK);
	usage(st, 300, 3);
	/* a deleted folder's messages leave the usage with it */
	assert_int_equal(store_mailbox_delete(st, "Junk"), 0);
	usage(st, 100, 1);
	store_close(&st);
}

static void test_copy_and_move(void **state)
{
	struct store *st = open_store();
	struct mailbox *box, *arch;
	struct store_copy_map map;
	uint32_t uids[2];

	store_set_quota(st, 0, 3);
	save(st, msg100, &uids[0]);
	save(st, msg100, &uids[1]);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	/* two copies would make four: refused, the target as it was */
	assert_int_equal(mailbox_copy(box, uids, 2, "Archive", &map), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_OVERQUOTA);
	store_copy_map_free(&map);
	assert_int_equal(files_in(".Archive", "cur") + files_in(".Archive", "tmp"), 0);
	usage(st, 200, 2);
	assert_int_equal(mailbox_copy(box, uids, 1, "Archive", &map), 0);
	assert_int_equal(map.count, 1);
	store_copy_map_free(&map);
	usage(st, 300, 3);
	/* at the limit, a move still goes (it does not grow the account) */
	assert_int_equal(mailbox_copy_for_move(box, &uids[1], 1, "Archive", &map), 0);
	assert_int_equal(map.count, 1);
	assert_int_equal(mailbox_expunge(box, map.src_uids, map.count), 0);
	store_copy_map_free(&map);
	usage(st, 300, 3);
	assert_int_equal(mailbox_open(st, "Archive", &arch), 0);
	assert_int_equal(mailbox_count(arch), 2);
	mailbox_close(&arch);
	mailbox_close(&box);
	store_close(&st);
}

static void test_recount(void **state)
{
	struct store *st = open_store();
	char path[256], big[8192];
	struct utimbuf old = { 0 };

	save(st, msg100, NULL);
	save(st, msg100, NULL);
	store_set_quota(st, 1000, 0);
	/* missing: counted from the folders */
	usage(st, 200, 2);
	assert_string_equal(maildirsize(), "1000S\n200 2\n");
	/* a line that does not parse, a torn line, a negative sum */
	static const char *const damaged[] = {
		"1000S\n200 2\nrubbish\n",
		"1000S\n200 2\n100",
		"1000S\n-500 -5\n",
		"1000S,x\n200 2\n",
		"",
	};
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		write_maildirsize(damaged[i]);
		usage(st, 200, 2);
		assert_string_equal(maildirsize(), "1000S\n200 2\n");
	}
	/* other limits in the header: rewritten with the same sum, no count
	 * (the sum here is wrong on purpose, to show it is not recounted) */
	write_maildirsize("5000S,7C\n250 2\n-50 0\n");
	{
		struct store_quota q;

		assert_int_equal(store_quota_get(st, &q), 0);
		assert_true(q.storage_used == 200 && q.messages_used == 2);
		write_maildirsize("5000S,7C\n260 2\n");
		assert_int_equal(store_quota_get(st, &q), 0);
		assert_true(q.storage_used == 260);
		assert_string_equal(maildirsize(), "1000S\n260 2\n");
		write_maildirsize("1000S\n200 2\n");
	}
	/* other programs' formats are read: blanks around the numbers */
	write_maildirsize("1000S\n   150    1\n  50 1\n");
	usage(st, 200, 2);
	assert_string_equal(maildirsize(), "1000S\n   150    1\n  50 1\n");	/* kept */
	/* past 5120 bytes: recounted (and so shrunk), even if the sum is wrong */
	strcpy(big, "1000S\n");
	for (int i = 0; i < 700; i++)
		strcat(big, "1 0\n-1 0\n");
	strcat(big, "999 9\n");
	write_maildirsize(big);
	usage(st, 200, 2);
	assert_string_equal(maildirsize(), "1000S\n200 2\n");

	/* drift that says "full": believed while the file is fresh ... */
	write_maildirsize("1000S\n990 9\n");
	assert_int_equal(try_save(st, "INBOX", msg100), STORE_ERR_OVERQUOTA);
	/* ... recounted before a refusal once it is 15 minutes old */
	snprintf(path, sizeof(path), "%s/maildirsize", user_dir);
	old.actime = old.modtime = time(NULL) - 16 * 60;
	assert_int_equal(utime(path, &old), 0);
	assert_int_equal(try_save(st, "INBOX", msg100), STORE_OK);
	usage(st, 300, 3);
	store_close(&st);
}

static void test_store_without_limits_keeps_file(void **state)
{
	struct store *st = open_store(), *plain = open_store();
	struct mailbox *box;
	uint32_t uid;

	store_set_quota(st, 1000, 0);
	save(st, msg100, &uid);
	usage(st, 100, 1);
	/* an admin tool or a process without limits: the file stays right */
	save(plain, msg100, NULL);
	usage(st, 200, 2);
	assert_int_equal(mailbox_open(plain, "INBOX", &box), 0);
	assert_int_equal(mailbox_expunge(box, &uid, 1), 0);
	mailbox_close(&box);
	usage(st, 100, 1);
	/* and a broken file is left to a process with limits to recount */
	write_maildirsize("1000S\nbroken\n");
	save(plain, msg100, NULL);
	assert_string_equal(maildirsize(), "1000S\nbroken\n");
	usage(st, 200, 2);
	store_close(&plain);
	store_close(&st);
}

/* Children save at once, all into one account with room for LIMIT. */
#define CHILDREN 4
#define EACH 8
#define LIMIT 20

static void test_processes(void **state)
{
	struct store *st = open_store();
	pid_t pids[CHILDREN];
	int saved = 0;

	store_set_quota(st, 0, LIMIT);
	assert_int_equal(store_quota_check(st, 1, 1), 0);	/* maildirsize made */
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			struct store *cst;
			enum store_error err;
			int ok = 0;

			if (store_open(root, "alice", &cst, &err) < 0)
				_exit(100);
			store_set_quota(cst, 0, LIMIT);
			for (int i = 0; i < EACH; i++) {
				const char *box = c % 2 ? "Junk" : "INBOX";
				enum store_error e = try_save(cst, box, msg100);

				if (e == STORE_OK)
					ok++;
				else if (e != STORE_ERR_OVERQUOTA)
					_exit(101);
			}
			store_close(&cst);
			_exit(ok);
		}
	}
	for (int c = 0; c < CHILDREN; c++) {
		int status;

		assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= EACH);
		saved += WEXITSTATUS(status);
	}
	/* exactly the limit: none lost to a race, none over */
	assert_int_equal(saved, LIMIT);
	assert_int_equal(files_in("", "new") + files_in(".Junk", "new"), LIMIT);
	usage(st, LIMIT * 100, LIMIT);
	/* and a recount agrees with the incremental record */
	write_maildirsize("");
	usage(st, LIMIT * 100, LIMIT);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_limits_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_without_limits_keeps_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
