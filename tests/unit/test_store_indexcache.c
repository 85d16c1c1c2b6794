/*
 * The process's copy of each folder's last parsed duomail-index
 * (store/maildir/maildir_indexcache.c): a read of the same bytes gives the
 * same index; a file whose bytes changed is parsed again even when its
 * inode, size and times are the very same (an in-place rewrite with the
 * time put back, which no stat can tell apart); and a damaged file is never
 * served from a copy, so its lost entries are reported at every read.
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

static char index_path[512];

/* Writes an index of three messages, the first with vsize first_vsize. */
static void write_index(struct store *st, uint64_t first_vsize)
{
	struct maildir_index_entry e[3] = {
		{ .uid = 1, .vsize = first_vsize, .psize = 90, .base = "1700000001.M1P1.host" },
		{ .uid = 2, .vsize = 200, .psize = 190, .base = "1700000002.M2P1.host" },
		{ .uid = 3, .vsize = 300, .psize = 290, .retrieved = 5, .base = "1700000003.M3P1.host" },
	};
	struct maildir_index idx = { .uidvalidity = 7, .uidnext = 4, .first_recent = 2,
				     .entries = e, .count = 3 };
	int lockfd = maildir_lock(st, user_dir);

	assert_true(lockfd >= 0);
	assert_int_equal(maildir_index_write(st, user_dir, &idx, lockfd), 0);
	maildir_unlock(&lockfd);
}

static char *file_bytes(size_t *len_r)
{
	FILE *f = fopen(index_path, "rb");
	char *buf = malloc(65536);

	assert_non_null(f);
	*len_r = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

/* Puts bytes into the index file in place (same inode), times restored. */
static void overwrite_in_place(const char *bytes, size_t len)
{
	struct stat before, after;
	struct timespec t[2];
	int fd = open(index_path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &before), 0);
	assert_int_equal(pwrite(fd, bytes, len, 0), (ssize_t)len);
	t[0] = before.st_atim;
	t[1] = before.st_mtim;
	assert_int_equal(futimens(fd, t), 0);
	assert_int_equal(fstat(fd, &after), 0);
	close(fd);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

static const struct maildir_index_entry *by_uid(const struct maildir_index *idx, uint32_t uid)
{
	for (size_t i = 0; i < idx->count; i++)
		if (idx->entries[i].uid == uid)
			return &idx->entries[i];
	return NULL;
}

static uint64_t first_vsize_read(void)
{
	struct maildir_index idx;
	uint64_t v;

	assert_int_equal(maildir_index_read(user_dir, &idx), MAILDIR_INDEX_OK);
	assert_int_equal(idx.count, 3);
	assert_int_equal(idx.uidvalidity, 7);
	assert_int_equal(idx.uidnext, 4);
	assert_int_equal(idx.first_recent, 2);
	assert_int_equal(by_uid(&idx, 3)->retrieved, 5);
	assert_string_equal(by_uid(&idx, 2)->base, "1700000002.M2P1.host");
	v = by_uid(&idx, 1)->vsize;
	maildir_index_free(&idx);
	return v;
}

static struct store *prepared_store(void)
{
	struct store *st = open_store();
	struct mailbox *box;

	/* The first open makes the folder and its index. */
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	mailbox_close(&box);
	snprintf(index_path, sizeof(index_path), "%s/%s", user_dir, MAILDIR_INDEX);
	return st;
}

static void test_same_bytes_same_index(void **state)
{
	struct store *st = prepared_store();

	write_index(st, 100);
	/* The first read parses and keeps a copy, the second is from it;
	 * each caller owns (and frees) what it got. */
	assert_int_equal(first_vsize_read(), 100);
	assert_int_equal(first_vsize_read(), 100);
	assert_int_equal(first_vsize_read(), 100);
	store_close(&st);
}

static void test_changed_bytes_same_stat_are_parsed(void **state)
{
	struct store *st = prepared_store();
	size_t len_a, len_b;
	char *a, *b;

	write_index(st, 900);
	b = file_bytes(&len_b);
	write_index(st, 100);
	a = file_bytes(&len_a);
	assert_int_equal(len_a, len_b);	/* one digit differs */
	assert_int_equal(first_vsize_read(), 100);	/* a copy of A is kept */
	overwrite_in_place(b, len_b);
	assert_int_equal(first_vsize_read(), 900);
	overwrite_in_place(a, len_a);
	assert_int_equal(first_vsize_read(), 100);
	free(a);
	free(b);
	store_close(&st);
}

static void test_damaged_file_is_never_from_a_copy(void **state)
{
	struct store *st = prepared_store();
	struct maildir_index idx;
	size_t len;
	char *good, *bad, *line;

	write_index(st, 100);
	good = file_bytes(&len);
	assert_int_equal(first_vsize_read(), 100);
	/* Break the second message's line (its vsize digit), not its length:
	 * its CRC no longer matches. */
	bad = malloc(len + 1);
	memcpy(bad, good, len);
	bad[len] = '\0';	/* for strstr */
	line = strstr(bad, "\n2 200 ");
	assert_non_null(line);
	line[3] = '7';
	overwrite_in_place(bad, len);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(maildir_index_read(user_dir, &idx), MAILDIR_INDEX_PARTIAL);
		assert_int_equal(idx.lost, 1);
		assert_int_equal(idx.count, 2);
		assert_null(by_uid(&idx, 2));
		maildir_index_free(&idx);
	}
	overwrite_in_place(good, len);
	assert_int_equal(first_vsize_read(), 100);
	free(good);
	free(bad);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_bytes_same_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_bytes_same_stat_are_parsed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_is_never_from_a_copy, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
