/*
 * The fixture the store unit tests share: a temporary store root per test
 * (setup/teardown), user alice's store, and saving a message.  Header-only
 * because every tests/unit/test_*.c is its own program.
 */
#ifndef DUOMAIL_TEST_STORE_FIXTURE_H
#define DUOMAIL_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static char root[64];
static char user_dir[128] __attribute__((unused));

__attribute__((unused)) static int setup(void **state)
{
	strcpy(root, "/tmp/duomail-store-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(user_dir, sizeof(user_dir), "%s/alice", root);
	return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A small message file put straight into alice's sub/ (cur, new, tmp), as
 * another program would. */
__attribute__((unused)) static void drop_into(const char *sub, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", user_dir, sub, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: dropped in\n\nbody\n", f);
	fclose(f);
}

__attribute__((unused)) static struct store *open_store(void)
{
	struct store *st = NULL;
	enum store_error err;

	assert_int_equal(store_open(root, "alice", &st, &err), 0);
	return st;
}

__attribute__((unused)) static void save_full(struct store *st, const char *text, time_t received, unsigned flags,
		      uint32_t *uid_r)
{
	struct store_save *s;
	size_t half = strlen(text) / 2;

	assert_int_equal(store_save_begin(st, "INBOX", received, flags, &s), 0);
	/* in two pieces, so CRLF counting across writes is exercised */
	assert_int_equal(store_save_write(s, text, half), 0);
	assert_int_equal(store_save_write(s, text + half, strlen(text) - half), 0);
	assert_int_equal(store_save_commit(&s, uid_r), 0);
	assert_null(s);
}

__attribute__((unused)) static void save(struct store *st, const char *text, uint32_t *uid_r)
{
	save_full(st, text, 0, 0, uid_r);
}

#endif
