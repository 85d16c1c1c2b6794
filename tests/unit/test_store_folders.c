/*
 * The Maildir++ mailbox list: folders as ROOT/USER/.a.b (names in the IMAP
 * wire form), create with parents, delete, rename with children and the
 * INBOX rule, the subscriptions file, and the special-use folders a new
 * account starts with (RFC 6154).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store_fixture.h"

static void list_names(struct store *st, char *out, size_t outlen)
{
	struct store_mailbox_info *list;
	size_t n;

	assert_int_equal(store_mailbox_list(st, &list, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strncat(out, list[i].name, outlen - strlen(out) - 2);
		strcat(out, " ");
	}
	store_mailbox_list_free(&list, n);
	assert_null(list);
}

/* Deletes a new account's special-use folders, so a test starts from INBOX. */
static void only_inbox(struct store *st)
{
	char names[512];

	for (int use = STORE_USE_SENT; use <= STORE_USE_ARCHIVE; use++)
		assert_int_equal(store_mailbox_delete(st, store_special_name(use)), 0);
	list_names(st, names, sizeof(names));
	assert_string_equal(names, "INBOX ");
}

static void test_folders(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char names[512], path[256];

	only_inbox(st);
	assert_int_equal(store_mailbox_create(st, "Sent"), 0);
	/* RFC 3501 §6.3.3: missing parents are made too */
	assert_int_equal(store_mailbox_create(st, "Archive/2026/Entw&APw-rfe"), 0);
	snprintf(path, sizeof(path), "%s/alice/.Archive.2026.Entw&APw-rfe/cur", root);
	assert_int_equal(access(path, F_OK), 0);
	list_names(st, names, sizeof(names));
	assert_string_equal(names, "INBOX Archive Archive/2026 Archive/2026/Entw&APw-rfe Sent ");
	assert_int_equal(store_mailbox_create(st, "Sent"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(st, "inbox"), -1);
	const char *bad[] = { "", "a//b", "/a", "a/", "a.b", "..", "a/../b", "x\ny" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store_mailbox_create(st, bad[i]), -1);
		assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	}

	/* delete: not INBOX, not with children, and then it is gone */
	assert_int_equal(store_mailbox_delete(st, "INBOX"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_PERM);
	assert_int_equal(store_mailbox_delete(st, "Archive"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_PERM);
	assert_int_equal(store_mailbox_delete(st, "Nope"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
	assert_int_equal(store_mailbox_delete(st, "Sent"), 0);
	assert_int_equal(mailbox_open(st, "Sent", &box), -1);

	/* rename moves the children along (RFC 3501 §6.3.5) */
	assert_int_equal(store_mailbox_rename(st, "Archive", "Old"), 0);
	list_names(st, names, sizeof(names));
	assert_string_equal(names, "INBOX Old Old/2026 Old/2026/Entw&APw-rfe ");
	assert_int_equal(store_mailbox_rename(st, "Old", "Old/inside"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	assert_int_equal(store_mailbox_rename(st, "Old/2026", "Old"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(st, "Gone", "New"), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);

	/* renaming INBOX moves its mail and leaves it empty */
	save(st, "Subject: a\n\nA\n", NULL);
	save(st, "Subject: b\n\nB\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);	/* one in cur/ too */
	mailbox_close(&box);
	save(st, "Subject: c\n\nC\n", NULL);
	assert_int_equal(store_mailbox_rename(st, "INBOX", "Saved/inbox"), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 0);
	mailbox_close(&box);
	assert_int_equal(mailbox_open(st, "Saved/inbox", &box), 0);
	assert_int_equal(mailbox_count(box), 3);
	mailbox_close(&box);
	store_close(&st);
}

static void test_subscriptions(void **state)
{
	struct store *st = open_store();
	char **names, path[256];
	size_t n;
	FILE *f;

	assert_int_equal(store_subscriptions(st, &names, &n), 0);
	assert_int_equal(n, STORE_USE_COUNT);	/* the special-use folders */
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* a Dovecot v2 file carries over */
	snprintf(path, sizeof(path), "%s/alice/subscriptions", root);
	f = fopen(path, "w");
	fputs("V\t2\n\nSent\n", f);
	fclose(f);
	assert_int_equal(store_subscription_set(st, "Drafts", true), 0);
	assert_int_equal(store_subscription_set(st, "Drafts", true), 0);
	assert_int_equal(store_subscription_set(st, "Nonexistent/ok", true), 0);
	assert_int_equal(store_subscription_set(st, "Sent", false), 0);
	assert_int_equal(store_subscriptions(st, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "Drafts");
	assert_string_equal(names[1], "Nonexistent/ok");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_close(&st);
}

/* RFC 6154 §2: a new account gets one mailbox of each special use, made
 * and subscribed once, when the account's store is created. */
static void test_special_folders(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char names[512], **subs;
	size_t n;

	list_names(st, names, sizeof(names));
	assert_string_equal(names, "INBOX Archive Drafts Junk Sent Trash ");
	assert_int_equal(store_subscriptions(st, &subs, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(subs[0], "Sent");
	assert_string_equal(subs[4], "Archive");
	for (size_t i = 0; i < n; i++)
		free(subs[i]);
	free(subs);
	assert_int_equal(mailbox_open(st, "Trash", &box), 0);
	assert_int_equal(mailbox_count(box), 0);
	mailbox_close(&box);
	assert_int_equal(store_special_use("Sent"), STORE_USE_SENT);
	assert_int_equal(store_special_use("Drafts"), STORE_USE_DRAFTS);
	assert_int_equal(store_special_use("Trash"), STORE_USE_TRASH);
	assert_int_equal(store_special_use("Junk"), STORE_USE_JUNK);
	assert_int_equal(store_special_use("Archive"), STORE_USE_ARCHIVE);
	assert_int_equal(store_special_use("trash"), STORE_USE_NONE);	/* names are exact */
	assert_int_equal(store_special_use("Archive/2026"), STORE_USE_NONE);
	assert_int_equal(store_special_use("INBOX"), STORE_USE_NONE);
	assert_null(store_special_name(STORE_USE_NONE));

	/* deleted by the user: not made again by the next open */
	assert_int_equal(store_mailbox_delete(st, "Junk"), 0);
	store_close(&st);
	st = open_store();
	list_names(st, names, sizeof(names));
	assert_string_equal(names, "INBOX Archive Drafts Sent Trash ");
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_folders, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
