/*
 * POP3's hide marks in the store (mailbox_set_pop3_hidden()): the messages
 * stay, with their flags, for every view; the mark survives a new view, a
 * deleted index (new UIDVALIDITY) and a damaged one; copies and moves of a
 * hidden message are hidden; the marks of expunged messages are dropped.
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

static unsigned hidden_count(struct mailbox *box)
{
	unsigned n = 0;

	for (unsigned i = 0; i < mailbox_count(box); i++)
		n += mailbox_msg(box, i)->pop3_hidden;
	return n;
}

static bool is_hidden(struct mailbox *box, uint32_t uid)
{
	int i = mailbox_find_uid(box, uid);

	assert_true(i >= 0);
	return mailbox_msg(box, (unsigned)i)->pop3_hidden;
}

/* Lines of the folder's hide list (its header included), -1 if none. */
static int list_lines(const char *folder)
{
	char path[256], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/duomail-pop3-hidden", user_dir, folder);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

static void remove_index(const char *folder, const char *damage)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/duomail-index", user_dir, folder);
	if (damage == NULL) {
		assert_int_equal(unlink(path), 0);
	} else {
		FILE *f = fopen(path, "w");

		fputs(damage, f);
		fclose(f);
	}
}

static void test_hide_survives(void **state)
{
	struct store *st = open_store();
	struct mailbox *box, *other;
	uint32_t uids[3], hide[] = { 0, 0, 999 };
	uint32_t validity;
	char uidl[80];

	save_full(st, "Subject: one\n\n1\n", 0, MSG_FLAG_SEEN | MSG_FLAG_FLAGGED, &uids[0]);
	save(st, "Subject: two\n\n2\n", &uids[1]);
	save(st, "Subject: three\n\n3\n", &uids[2]);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	hide[0] = uids[0];
	hide[1] = uids[2];
	assert_int_equal(mailbox_set_pop3_hidden(box, hide, 3), 0);	/* 999: skipped */
	assert_int_equal(list_lines(""), 3);
	assert_true(is_hidden(box, uids[0]) && !is_hidden(box, uids[1]) && is_hidden(box, uids[2]));
	/* still there for everyone, flags and all */
	assert_int_equal(mailbox_count(box), 3);
	assert_int_equal(mailbox_msg(box, 0)->flags & (MSG_FLAG_SEEN | MSG_FLAG_FLAGGED),
			 MSG_FLAG_SEEN | MSG_FLAG_FLAGGED);
	snprintf(uidl, sizeof(uidl), "%s", mailbox_msg(box, 0)->uidl);
	validity = mailbox_uidvalidity(box);
	/* a view opened before sees it after its next full sync */
	mailbox_close(&other);
	assert_int_equal(mailbox_open(st, "INBOX", &other), 0);
	assert_int_equal(hidden_count(other), 2);
	mailbox_close(&other);
	/* hiding again changes nothing */
	assert_int_equal(mailbox_set_pop3_hidden(box, hide, 1), 0);
	assert_int_equal(list_lines(""), 3);
	mailbox_close(&box);

	/* the index lost: new UIDVALIDITY, the marks (and UIDLs) stay */
	remove_index("", NULL);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_true(mailbox_uidvalidity(box) != validity);
	assert_int_equal(hidden_count(box), 2);
	assert_true(mailbox_msg(box, 0)->pop3_hidden);
	assert_string_equal(mailbox_msg(box, 0)->uidl, uidl);
	mailbox_close(&box);
	/* and a damaged one */
	remove_index("", "duomail-index 2 garbage\n");
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(hidden_count(box), 2);
	mailbox_close(&box);
	store_close(&st);
}

static void test_expunged_marks_go(void **state)
{
	struct store *st = open_store();
	struct mailbox *box;
	uint32_t uids[2];

	save(st, "Subject: one\n\n1\n", &uids[0]);
	save(st, "Subject: two\n\n2\n", &uids[1]);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_set_pop3_hidden(box, uids, 2), 0);
	assert_int_equal(list_lines(""), 3);
	assert_int_equal(mailbox_expunge(box, uids, 1), 0);
	assert_int_equal(list_lines(""), 2);
	assert_true(is_hidden(box, uids[1]));
	assert_int_equal(mailbox_expunge(box, &uids[1], 1), 0);
	assert_int_equal(list_lines(""), -1);	/* nothing left: no file */
	mailbox_close(&box);
	store_close(&st);
}

static void test_copies_stay_hidden(void **state)
{
	struct store *st = open_store();
	struct mailbox *box, *junk;
	struct store_copy_map map;
	uint32_t uids[2];

	save(st, "Subject: one\n\n1\n", &uids[0]);
	save(st, "Subject: two\n\n2\n", &uids[1]);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_set_pop3_hidden(box, uids, 1), 0);
	/* COPY: the copy of the hidden one is hidden, the other is not */
	assert_int_equal(mailbox_copy(box, uids, 2, "Junk", &map), 0);
	assert_int_equal(map.count, 2);
	assert_int_equal(mailbox_open(st, "Junk", &junk), 0);
	assert_true(is_hidden(junk, map.dest_uids[0]));
	assert_false(is_hidden(junk, map.dest_uids[1]));
	store_copy_map_free(&map);
	mailbox_close(&junk);
	/* MOVE of a hidden message: hidden where it went */
	assert_int_equal(mailbox_copy_for_move(box, uids, 1, "Archive", &map), 0);
	assert_int_equal(mailbox_expunge(box, map.src_uids, map.count), 0);
	assert_int_equal(mailbox_open(st, "Archive", &junk), 0);
	assert_int_equal(mailbox_count(junk), 1);
	assert_int_equal(hidden_count(junk), 1);
	store_copy_map_free(&map);
	mailbox_close(&junk);
	assert_int_equal(list_lines(""), -1);	/* it left INBOX */
	mailbox_close(&box);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hide_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunged_marks_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copies_stay_hidden, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
