/*
 * Keywords in the Maildir store (store/maildir/maildir_keywords.c): names
 * in Dovecot's dovecot-keywords file, letters a-z in file names, shared by
 * every view, found case-insensitively (RFC 3501 §2.3.2: flags are not case
 * sensitive), a full list refused, a Dovecot-written folder read as is,
 * keywords given to a message being saved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "store_fixture.h"

/* The :2, info of the only file in cur/. */
static void only_info(char *out, size_t size)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/cur", user_dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		const char *info = strstr(de->d_name, ":2,");

		if (info == NULL)
			continue;
		snprintf(out, size, "%s", info + 3);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_add_set_and_share(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b;
	unsigned junk, fwd, again;
	uint32_t uid;
	char info[64];

	save(st, "Subject: one\n\nx\n", &uid);
	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_keyword_count(a), 0);
	assert_int_equal(mailbox_keyword_add(a, "$Forwarded", &fwd), 0);
	assert_int_equal(mailbox_keyword_add(a, "Junk", &junk), 0);
	assert_int_equal(fwd, 0);
	assert_int_equal(junk, 1);
	assert_int_equal(mailbox_keyword_add(a, "junk", &again), 0);	/* same name */
	assert_int_equal(again, junk);
	assert_int_equal(mailbox_keyword_find(a, "JUNK"), 1);
	assert_int_equal(mailbox_keyword_find(a, "Other"), -1);
	assert_int_equal(mailbox_update_flags_keywords(a, uid, MSG_FLAG_SEEN, 0, 1u << junk, 0), 0);
	assert_int_equal(mailbox_msg(a, 0)->keywords, 1u << junk);
	only_info(info, sizeof(info));
	assert_string_equal(info, "Sb");
	/* system flag changes keep the keywords */
	assert_int_equal(mailbox_update_flags(a, uid, MSG_FLAG_FLAGGED, MSG_FLAG_SEEN), 0);
	only_info(info, sizeof(info));
	assert_string_equal(info, "Fb");
	/* another view sees names and bits */
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_keyword_count(b), 2);
	assert_string_equal(mailbox_keyword(b, 1), "Junk");
	assert_int_equal(mailbox_msg(b, 0)->keywords, 1u << junk);
	/* and its removal reaches the first view at its next sync */
	assert_int_equal(mailbox_update_flags_keywords(b, uid, 0, 0, 0, 1u << junk), 0);
	assert_int_equal(mailbox_sync(a), 0);
	assert_int_equal(mailbox_msg(a, 0)->keywords, 0);
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

static void test_names_added_by_two_views(void **state)
{
	struct store *st = open_store();
	struct mailbox *a, *b;
	unsigned x, y;

	assert_int_equal(mailbox_open(st, "INBOX", &a), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &b), 0);
	assert_int_equal(mailbox_keyword_add(a, "one", &x), 0);
	/* b has not re-read: it must still not hand out letter a again */
	assert_int_equal(mailbox_keyword_add(b, "two", &y), 0);
	assert_int_equal(x, 0);
	assert_int_equal(y, 1);
	assert_string_equal(mailbox_keyword(b, 0), "one");
	mailbox_close(&a);
	mailbox_close(&b);
	store_close(&st);
}

static void test_full_list_and_bad_names(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	unsigned idx;
	char name[16];

	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(mailbox_keyword_add(box, name, &idx), 0);
		assert_int_equal(idx, (unsigned)i);
	}
	assert_int_equal(mailbox_keyword_add(box, "one-too-many", &idx), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOSPACE);
	assert_int_equal(mailbox_keyword_add(box, "k3", &idx), 0);	/* existing: fine */
	assert_int_equal(idx, 3);
	assert_int_equal(mailbox_keyword_add(box, "has space", &idx), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	mailbox_close(&box);
	store_close(&st);
}

static void test_dovecot_written_folder(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char path[512];
	FILE *f;

	/* as Dovecot leaves it: its keywords file and a file with letters */
	snprintf(path, sizeof(path), "%s/dovecot-keywords", user_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0 $Label1\n1 NonJunk\nbroken line\n3 Later\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/cur/1700000000.M1P2.host,S=20:2,Sbd", user_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: from dovecot\n\n", f);
	fclose(f);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_keyword_count(box), 4);
	assert_string_equal(mailbox_keyword(box, 0), "$Label1");
	assert_string_equal(mailbox_keyword(box, 1), "NonJunk");
	assert_string_equal(mailbox_keyword(box, 3), "Later");
	assert_int_equal(mailbox_msg(box, 0)->keywords, (1u << 1) | (1u << 3));
	assert_true(mailbox_msg(box, 0)->flags & MSG_FLAG_SEEN);
	mailbox_close(&box);
	store_close(&st);
}

/* store_save_keywords(): a saved message gets its keywords by name, in the
 * mailbox's numbering, the mailbox learning new names; a name past the
 * list's room is dropped rather than the message (APPEND, RFC 3501 §6.3.11). */
static void test_save_with_keywords(void **state)
{
	static const char *const names[] = { "work", "$Forwarded" };
	struct store *st = open_store();
	struct store_save *save;
	struct mailbox *box;
	char info[64], name[16];
	const char *many[STORE_MAX_KEYWORDS + 1];
	unsigned idx;
	uint32_t uid;

	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_keyword_add(box, "Work", &idx), 0);	/* known already, as 'a' */
	mailbox_close(&box);
	assert_int_equal(store_save_begin(st, "INBOX", 0, MSG_FLAG_SEEN, &save), 0);
	assert_int_equal(store_save_write(save, "Subject: k\n\nk\n", 14), 0);
	assert_int_equal(store_save_keywords(save, names, 2), 0);
	assert_int_equal(store_save_commit(&save, &uid), 0);
	only_info(info, sizeof(info));
	assert_string_equal(info, "Sab");
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_string_equal(mailbox_keyword(box, 1), "$Forwarded");
	assert_int_equal(mailbox_msg(box, 0)->keywords, 3u);
	mailbox_close(&box);

	/* more names than room: the message is saved with those that fit */
	for (int i = 0; i <= STORE_MAX_KEYWORDS; i++)
		many[i] = i == 0 ? "Work" : NULL;
	for (int i = 1; i <= STORE_MAX_KEYWORDS; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		many[i] = strdup(name);
	}
	assert_int_equal(store_save_begin(st, "Sent", 0, 0, &save), 0);
	assert_int_equal(store_save_write(save, "x\n", 2), 0);
	assert_int_equal(store_save_keywords(save, many, STORE_MAX_KEYWORDS + 1), 0);
	assert_int_equal(store_save_commit(&save, &uid), 0);
	assert_int_equal(mailbox_open(st, "Sent", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_keyword_count(box), STORE_MAX_KEYWORDS);
	assert_int_equal(mailbox_msg(box, 0)->keywords, (1u << STORE_MAX_KEYWORDS) - 1);
	mailbox_close(&box);
	for (int i = 1; i <= STORE_MAX_KEYWORDS; i++)
		free((char *)many[i]);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_set_and_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_added_by_two_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_list_and_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dovecot_written_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_with_keywords, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
