/*
 * The parsed-structure cache (store/message_cache.h) and its use by the
 * store (mailbox_msg_structure): least recently used first out, bounds on
 * entries and bytes, the newest entry kept, forget/retain; a second lookup
 * that reads nothing (the file is gone from disk and it still answers),
 * entries of expunged messages dropped by expunge and by sync, and
 * msg_stream_seek().
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
#include <unistd.h>

#include "store/message.h"
#include "store/message_cache.h"
#include "store/store.h"
#include "store_fixture.h"

static struct message_part *tree(const char *text)
{
	struct message_parser *p = message_parser_new();

	message_parser_feed(p, text, strlen(text));
	return message_parser_finish(&p);
}

static void test_lru_entries(void **state)
{
	struct message_cache *c = message_cache_new(3, 1 << 20);
	const struct message_part *one;

	one = message_cache_put(c, 1, tree("Subject: 1\n\nx\n"));
	message_cache_put(c, 2, tree("Subject: 2\n\nx\n"));
	message_cache_put(c, 3, tree("Subject: 3\n\nx\n"));
	assert_int_equal(message_cache_count(c), 3);
	/* 1 used again: 2 is now the oldest and goes first */
	assert_ptr_equal(message_cache_get(c, 1), one);
	message_cache_put(c, 4, tree("Subject: 4\n\nx\n"));
	assert_int_equal(message_cache_count(c), 3);
	assert_null(message_cache_get(c, 2));
	assert_non_null(message_cache_get(c, 1));
	assert_non_null(message_cache_get(c, 3));
	assert_non_null(message_cache_get(c, 4));
	assert_string_equal(message_cache_get(c, 4)->env[ENV_SUBJECT], "4");
	/* a new tree for a cached UID replaces the old one */
	message_cache_put(c, 4, tree("Subject: four\n\nx\n"));
	assert_int_equal(message_cache_count(c), 3);
	assert_string_equal(message_cache_get(c, 4)->env[ENV_SUBJECT], "four");
	message_cache_forget(c, 3);
	message_cache_forget(c, 99);
	assert_int_equal(message_cache_count(c), 2);
	assert_null(message_cache_get(c, 3));
	message_cache_free(&c);
	assert_null(c);
}

static bool odd(void *ctx, uint32_t uid)
{
	(*(unsigned *)ctx)++;
	return uid % 2 == 1;
}

static void test_bytes_and_retain(void **state)
{
	struct message_part *t = tree("Subject: s\nContent-Type: text/plain; charset=utf-8\n\nx\n");
	size_t one = message_part_mem_size(t);
	struct message_cache *c = message_cache_new(1000, 3 * one + 300);
	unsigned calls = 0;

	assert_true(one > sizeof(struct message_part));
	message_cache_put(c, 1, t);
	for (uint32_t uid = 2; uid <= 10; uid++)
		message_cache_put(c, uid, tree("Subject: s\nContent-Type: text/plain; charset=utf-8\n\nx\n"));
	/* the byte bound holds three */
	assert_int_equal(message_cache_count(c), 3);
	assert_true(message_cache_bytes(c) <= 3 * one + 300);
	assert_non_null(message_cache_get(c, 10));
	assert_non_null(message_cache_get(c, 8));
	message_cache_retain(c, odd, &calls);
	assert_int_equal(calls, 3);
	assert_int_equal(message_cache_count(c), 1);
	assert_non_null(message_cache_get(c, 9));

	/* one tree bigger than the whole bound is still kept, alone */
	char big[20000];

	strcpy(big, "Subject: ");
	memset(big + 9, 'b', sizeof(big) - 20);
	strcpy(big + sizeof(big) - 11, "\n\nbody\n");
	message_cache_put(c, 50, tree(big));
	assert_int_equal(message_cache_count(c), 1);
	assert_non_null(message_cache_get(c, 50));
	message_cache_free(&c);
}

static void test_many_uids(void **state)
{
	struct message_cache *c = message_cache_new(64, (size_t)-1);

	/* more than the hash has buckets, colliding and evicting */
	for (uint32_t uid = 1; uid <= 5000; uid++)
		message_cache_put(c, uid * 64, tree("\n"));
	assert_int_equal(message_cache_count(c), 64);
	for (uint32_t uid = 1; uid <= 5000; uid++)
		assert_true((message_cache_get(c, uid * 64) != NULL) == (uid > 5000 - 64));
	message_cache_free(&c);
}

/* Removes the file of the only message in cur/ behind the store's back. */
static void unlink_cur(void)
{
	char dir[256], path[512];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cur", user_dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(unlink(path), 0);
	}
	closedir(d);
}

static void test_mailbox_structure(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	const struct message_part *a, *b;
	uint32_t uid1, uid2;

	save(st, "Subject: first\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x--\n",
	     &uid1);
	save(st, "Subject: second\n\ntwo\n", &uid2);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg_structure(box, uid1, &a), 0);
	assert_string_equal(a->type, "multipart");
	assert_int_equal(a->nchildren, 1);
	assert_string_equal(a->env[ENV_SUBJECT], "first");
	assert_int_equal(mailbox_msg_structure(box, uid2, &b), 0);
	assert_string_equal(b->env[ENV_SUBJECT], "second");

	/* gone from disk, not yet synced: the cached trees still answer,
	 * so the second lookup read nothing */
	unlink_cur();
	assert_int_equal(mailbox_msg_structure(box, uid1, &a), 0);
	assert_string_equal(a->env[ENV_SUBJECT], "first");
	/* expunge drops uid2's entry: it must be read again, and cannot */
	assert_int_equal(mailbox_expunge(box, &uid2, 1), 0);
	assert_int_equal(mailbox_msg_structure(box, uid2, &b), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXPUNGED);
	/* a sync notices uid1 is gone and drops its entry too */
	assert_int_equal(mailbox_sync(box), 0);
	assert_int_equal(mailbox_find_uid(box, uid1), -1);
	assert_int_equal(mailbox_msg_structure(box, uid1, &a), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXPUNGED);
	mailbox_close(&box);
	store_close(&st);
}

static void test_seek(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	struct msg_stream *s;
	char buf[64];
	uint32_t uid;
	ssize_t n;

	save(st, "Subject: seek\n\n0123456789\n", &uid);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg_open(box, uid, &s), 0);
	assert_int_equal(msg_stream_seek(s, 15), 0);
	n = msg_stream_read(s, buf, 4);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "0123", 4);
	assert_int_equal(msg_stream_seek(s, 0), 0);		/* backwards too */
	n = msg_stream_read(s, buf, 8);
	assert_memory_equal(buf, "Subject:", 8);
	assert_int_equal(msg_stream_seek(s, 1000), 0);		/* past the end: EOF */
	assert_int_equal(msg_stream_read(s, buf, sizeof(buf)), 0);
	msg_stream_close(&s);
	mailbox_close(&box);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru_entries),
		cmocka_unit_test(test_bytes_and_retain),
		cmocka_unit_test(test_many_uids),
		cmocka_unit_test_setup_teardown(test_mailbox_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seek, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
