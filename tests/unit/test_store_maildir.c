/*
 * The Maildir++ store: UIDs and UIDVALIDITY that persist, new/ pickup,
 * UIDLs that survive a lost index, flags in file names, durable expunge,
 * concurrent delivery from several processes, and the POP3 lock.
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

#include "store/store.h"

static char root[64];

static int setup(void **state)
{
	strcpy(root, "/tmp/duomail-store-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct store *open_store(void)
{
	struct store *st = NULL;
	enum store_error err;

	assert_int_equal(store_open(root, "alice", &st, &err), 0);
	return st;
}

static void save(struct store *st, const char *text, uint32_t *uid_r)
{
	struct store_save *s;

	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &s), 0);
	assert_int_equal(store_save_write(s, text, strlen(text)), 0);
	assert_int_equal(store_save_commit(&s, uid_r), 0);
	assert_null(s);
}

static char *read_all(struct mailbox *box, uint32_t uid)
{
	struct msg_stream *s;
	static char buf[8192];
	size_t len = 0;
	ssize_t n;

	assert_int_equal(mailbox_msg_open(box, uid, &s), 0);
	while ((n = msg_stream_read(s, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	msg_stream_close(&s);
	return buf;
}

static void remove_index(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/alice/duomail-index", root);
	assert_int_equal(unlink(path), 0);
}

static void test_uids_persist(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uid1, uid2, validity;

	save(st, "Subject: a\n\nA\n", &uid1);
	save(st, "Subject: b\r\n\r\nB\r\n", &uid2);
	assert_int_equal(uid1, 1);
	assert_int_equal(uid2, 2);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	validity = mailbox_uidvalidity(box);
	assert_true(validity > 0);
	assert_int_equal(mailbox_uidnext(box), 3);
	assert_int_equal(mailbox_count(box), 2);
	/* vsize counts every line end as CRLF */
	assert_int_equal(mailbox_msg(box, 0)->vsize, strlen("Subject: a\n\nA\n") + 3);
	assert_int_equal(mailbox_msg(box, 1)->vsize, strlen("Subject: b\r\n\r\nB\r\n"));
	assert_string_equal(read_all(box, 1), "Subject: a\n\nA\n");
	mailbox_close(&box);
	store_close(&st);

	st = open_store();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_uidvalidity(box), validity);
	assert_int_equal(mailbox_msg(box, 1)->uid, 2);
	mailbox_close(&box);
	store_close(&st);
}

static void test_index_loss_keeps_uidls(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char uidl0[80], uidl1[80];
	uint32_t validity;

	save(st, "Subject: a\n\nA\n", NULL);
	save(st, "Subject: b\n\nB\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	strcpy(uidl0, mailbox_msg(box, 0)->uidl);
	strcpy(uidl1, mailbox_msg(box, 1)->uidl);
	validity = mailbox_uidvalidity(box);
	assert_string_not_equal(uidl0, uidl1);
	mailbox_close(&box);

	remove_index();
	sleep(1);	/* a new UIDVALIDITY is time based: make it differ */
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 2);
	assert_true(mailbox_uidvalidity(box) > validity);
	assert_string_equal(mailbox_msg(box, 0)->uidl, uidl0);
	assert_string_equal(mailbox_msg(box, 1)->uidl, uidl1);
	mailbox_close(&box);
	store_close(&st);
}

static void test_corrupt_index_rebuilt(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char path[256];
	FILE *f;

	save(st, "Subject: a\n\nA\n", NULL);
	snprintf(path, sizeof(path), "%s/alice/duomail-index", root);
	f = fopen(path, "w");
	fputs("duomail-index 1 5 9\ngarbage line\n", f);
	fclose(f);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_true(mailbox_uidvalidity(box) > 5);
	assert_string_equal(read_all(box, mailbox_msg(box, 0)->uid), "Subject: a\n\nA\n");
	mailbox_close(&box);
	store_close(&st);
}

static void test_foreign_new_and_flags(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char tmp[256], dst[256];
	FILE *f;

	/* Another program drops a message the Maildir way. */
	snprintf(tmp, sizeof(tmp), "%s/alice/tmp/123.foreign.host", root);
	snprintf(dst, sizeof(dst), "%s/alice/new/123.foreign.host", root);
	f = fopen(tmp, "w");
	fputs("Subject: foreign\n\nhi\n", f);
	fclose(f);
	assert_int_equal(rename(tmp, dst), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_string_equal(mailbox_msg(box, 0)->uidl, "123.foreign.host");
	assert_int_equal(mailbox_msg(box, 0)->flags, 0);
	assert_int_equal(mailbox_update_flags(box, 1, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED, 0), 0);
	snprintf(dst, sizeof(dst), "%s/alice/cur/123.foreign.host:2,FS", root);
	assert_int_equal(access(dst, F_OK), 0);
	assert_int_equal(mailbox_update_flags(box, 1, 0, MSG_FLAG_FLAGGED), 0);
	snprintf(dst, sizeof(dst), "%s/alice/cur/123.foreign.host:2,S", root);
	assert_int_equal(access(dst, F_OK), 0);
	/* Renamed behind our back: still readable. */
	snprintf(tmp, sizeof(tmp), "%s/alice/cur/123.foreign.host:2,RS", root);
	assert_int_equal(rename(dst, tmp), 0);
	assert_string_equal(read_all(box, 1), "Subject: foreign\n\nhi\n");
	mailbox_close(&box);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg(box, 0)->flags, MSG_FLAG_SEEN | MSG_FLAG_ANSWERED);
	mailbox_close(&box);
	store_close(&st);
}

static void test_expunge(void **state)
{
	struct store *st = open_store();
	struct mailbox *box, *other;
	struct msg_stream *s;
	uint32_t uids[2] = { 1, 99 };

	save(st, "Subject: a\n\nA\n", NULL);
	save(st, "Subject: b\n\nB\n", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(mailbox_expunge(box, uids, 2), 0);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_msg(box, 0)->uid, 2);
	/* A second view still lists it, but the message is gone. */
	assert_int_equal(mailbox_msg_open(other, 1, &s), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_EXPUNGED);
	assert_int_equal(mailbox_sync(other), 0);
	assert_int_equal(mailbox_count(other), 1);
	mailbox_close(&other);
	mailbox_close(&box);
	store_close(&st);
}

static void test_retrieved_time(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uid;

	save(st, "Subject: a\n\nA\n", &uid);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_set_pop3_retrieved(box, &uid, 1, 1234567), 0);
	mailbox_close(&box);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_msg(box, 0)->pop3_retrieved, 1234567);
	mailbox_close(&box);
	store_close(&st);
}

static void test_concurrent_delivery(void **state)
{
	struct store *st;
	struct mailbox *box;
	pid_t pids[4];

	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			struct store *cst = open_store();
			char text[64];

			for (int i = 0; i < 25; i++) {
				uint32_t uid;

				snprintf(text, sizeof(text), "Subject: %d-%d\n\nx\n", p, i);
				save(cst, text, i % 2 ? &uid : NULL);
			}
			store_close(&cst);
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++) {
		int status;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	st = open_store();
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_count(box), 100);
	for (unsigned i = 1; i < 100; i++)
		assert_true(mailbox_msg(box, i)->uid > mailbox_msg(box, i - 1)->uid);
	mailbox_close(&box);
	store_close(&st);
}

static void test_pop3_lock(void **state)
{
	struct store *a = open_store(), *b = open_store();
	time_t prev;

	assert_int_equal(store_pop3_lock(a), 0);
	assert_int_equal(store_pop3_lock(b), -1);
	assert_int_equal(store_last_error(b, NULL), STORE_ERR_INUSE);
	store_pop3_unlock(a);
	assert_int_equal(store_pop3_lock(b), 0);
	assert_int_equal(store_pop3_login_stamp(b, 1000, &prev), 0);
	assert_int_equal(prev, 0);
	assert_int_equal(store_pop3_login_stamp(b, 2000, &prev), 0);
	assert_int_equal(prev, 1000);
	store_close(&a);
	store_close(&b);
}

static void test_bad_names(void **state)
{
	struct store *st = NULL;
	struct mailbox *box;
	enum store_error err;

	assert_int_equal(store_open(root, "..", &st, &err), -1);
	assert_int_equal(err, STORE_ERR_INVALID);
	assert_int_equal(store_open(root, "a/b", &st, &err), -1);
	st = open_store();
	assert_int_equal(mailbox_open(st, "../../etc", &box), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_INVALID);
	assert_int_equal(mailbox_open(st, "Nosuch", &box), -1);
	assert_int_equal(store_last_error(st, NULL), STORE_ERR_NOTFOUND);
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

static void test_folders(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	char names[512], path[256];

	list_names(st, names, sizeof(names));
	assert_string_equal(names, "INBOX ");
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
	assert_int_equal(n, 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uids_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_loss_keeps_uidls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_index_rebuilt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_new_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retrieved_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop3_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
