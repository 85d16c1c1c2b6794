/*
 * The LMTP spool: small messages stay in memory, big ones go to a file
 * that has no name (nothing ever shows in spool_dir, so a client that
 * leaves or a crash leaves nothing), replay gives back every byte in order
 * as often as there are recipients, and a failure sticks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp_spool.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/duomail-spool-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static unsigned dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

struct collect {
	char *data;
	size_t len, cap;
	unsigned calls;
};

static int collect(void *ctx, const char *p, size_t n)
{
	struct collect *c = ctx;

	assert_true(c->len + n <= c->cap);
	memcpy(c->data + c->len, p, n);
	c->len += n;
	c->calls++;
	return 0;
}

/* Puts total bytes of a pattern through reserve/commit/flush, as the
 * session does; returns how many flushes it took. */
static unsigned fill(struct lmtp_spool *sp, size_t total)
{
	size_t done = 0;
	unsigned flushes = 0;

	while (done < total) {
		size_t room, n;
		char *p = lmtp_spool_reserve(sp, 1, &room);

		if (room == 0) {
			assert_int_equal(lmtp_spool_flush(sp), 0);
			/* the file has no name */
			assert_int_equal(dir_entries(), 0);
			flushes++;
			continue;
		}
		n = total - done < room ? total - done : room;
		if (n > 7000)
			n = 7000;	/* pieces of a network read */
		for (size_t i = 0; i < n; i++)
			p[i] = (char)('a' + (done + i) % 23);
		lmtp_spool_commit(sp, n);
		done += n;
	}
	return flushes;
}

static void check_replay(struct lmtp_spool *sp, size_t total)
{
	struct collect c = { .data = malloc(total + 1), .cap = total + 1 };

	assert_int_equal(lmtp_spool_replay(sp, collect, &c), 0);
	assert_int_equal(c.len, total);
	for (size_t i = 0; i < total; i++)
		if (c.data[i] != (char)('a' + i % 23))
			fail_msg("byte %zu differs", i);
	free(c.data);
}

static void test_small_in_memory(void **state)
{
	struct lmtp_spool *sp = lmtp_spool_new(dir);

	assert_int_equal(fill(sp, 5000), 0);
	assert_int_equal(lmtp_spool_size(sp), 5000);
	check_replay(sp, 5000);
	check_replay(sp, 5000);	/* once per recipient */
	lmtp_spool_free(&sp);
	assert_null(sp);
	lmtp_spool_free(&sp);
}

static void test_big_to_file(void **state)
{
	size_t total = 3 * LMTP_SPOOL_CHUNK + 12345;
	struct lmtp_spool *sp = lmtp_spool_new(dir);

	assert_int_equal(fill(sp, total), 3);
	assert_int_equal(lmtp_spool_size(sp), total);
	/* file part and memory tail, in order, three times */
	for (int i = 0; i < 3; i++)
		check_replay(sp, total);
	assert_int_equal(dir_entries(), 0);
	lmtp_spool_free(&sp);
	assert_int_equal(dir_entries(), 0);
}

static int stop_early(void *ctx, const char *p, size_t n)
{
	return 7;
}

static void test_replay_stops(void **state)
{
	struct lmtp_spool *sp = lmtp_spool_new(dir);

	fill(sp, 100);
	assert_int_equal(lmtp_spool_replay(sp, stop_early, NULL), 7);
	lmtp_spool_free(&sp);
}

static void test_flush_failure_sticks(void **state)
{
	char missing[128];
	struct lmtp_spool *sp;
	size_t room;

	snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
	sp = lmtp_spool_new(missing);
	lmtp_spool_reserve(sp, 1, &room);
	lmtp_spool_commit(sp, 10);
	assert_int_equal(lmtp_spool_error(sp), 0);
	assert_int_equal(lmtp_spool_flush(sp), -1);
	assert_int_equal(lmtp_spool_error(sp), ENOENT);
	assert_int_equal(lmtp_spool_flush(sp), -1);
	assert_int_equal(errno, ENOENT);
	lmtp_spool_free(&sp);
}

static void test_slack(void **state)
{
	struct lmtp_spool *sp = lmtp_spool_new(dir);
	size_t room;
	char *p;

	/* Up to room + slack bytes may be written; the chunk then counts as
	 * full and the next reserve asks for a flush. */
	while ((p = lmtp_spool_reserve(sp, 1, &room)) != NULL && room > 0) {
		memset(p, 'z', room + 1);
		lmtp_spool_commit(sp, room + 1);
	}
	assert_int_equal(room, 0);
	assert_true(lmtp_spool_size(sp) >= LMTP_SPOOL_CHUNK);
	assert_true(lmtp_spool_size(sp) <= LMTP_SPOOL_CHUNK + 1);
	assert_int_equal(lmtp_spool_flush(sp), 0);
	p = lmtp_spool_reserve(sp, 1, &room);
	assert_non_null(p);
	assert_int_equal(room > 0, 1);
	lmtp_spool_free(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_in_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_to_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_failure_sticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slack, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
