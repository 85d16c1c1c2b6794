/*
 * core/deliver.c, shared by LMTP and `duomail deliver`: the trace lines in
 * RFC 5321 §4.4 order (Return-Path on top), their line ends taken from the
 * message's first line even when it arrives in pieces, the message bytes
 * untouched, nothing added without an envelope, no header injection, and
 * failures classified (no such user, temporary, disk full) with nothing
 * left on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/auth.h"
#include "core/userdb.h"
#include "core/config.h"
#include "core/deliver.h"
#include "store_fixture.h"

/* delivery_begin() opens the account: a user database with alice, and a
 * config whose store root is the fixture's. */
static struct delivery_begin_ctx {
	struct config cfg;
	struct auth_db *db;
} ctx;

static enum deliver_status begin(const char *user, const struct deliver_env *env,
				 struct delivery **d_r)
{
	enum deliver_status status;

	if (ctx.db == NULL) {
		char users[160], err[256];
		FILE *f;

		snprintf(users, sizeof(users), "%s/users", root);
		f = fopen(users, "w");
		assert_non_null(f);
		fputs("alice:{PLAIN}secret\n", f);
		fclose(f);
		assert_int_equal(auth_db_open(users, &ctx.db, err, sizeof(err)), 0);
		ctx.cfg.store_root = root;
	}
	{
		struct userdb_record rec;
		int found = auth_db_lookup(ctx.db, user, &rec);

		*d_r = NULL;
		if (found <= 0 || rec.invalid) {
			userdb_record_free(&rec);
			return found == 0 ? DELIVER_NOUSER : DELIVER_TEMPFAIL;
		}
		status = delivery_begin(&ctx.cfg, user, &rec.settings, env, d_r);
		userdb_record_free(&rec);
	}
	return status;
}

static int deliver_teardown(void **state)
{
	auth_db_close(&ctx.db);
	memset(&ctx, 0, sizeof(ctx));
	return teardown(state);
}

static const struct deliver_env full_env = {
	.return_path = "sender@example.org",
	.delivered_to = "alice@example.test",
	.received = "from mx ([127.0.0.1])\n\tby test.example (duomail) with LMTP id 1\n\t"
		    "for <alice@example.test>; Tue, 01 Dec 2026 08:24:24 +0000",
};

/* Files in alice's INBOX subdirectory sub. */
static unsigned count_in(const char *sub)
{
	char path[256];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", user_dir, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The one message in new/, whole, in a new string. */
static char *only_message(size_t *len_r)
{
	char path[512], name[256] = "";
	struct dirent *de;
	DIR *d;
	FILE *f;
	char *text = malloc(65536);

	assert_int_equal(count_in("new"), 1);
	snprintf(path, sizeof(path), "%s/new", user_dir);
	d = opendir(path);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(name, sizeof(name), "%s", de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/new/%s", user_dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len_r = fread(text, 1, 65535, f);
	text[*len_r] = '\0';
	fclose(f);
	return text;
}

/* Delivers the pieces (NULL-terminated) with env; returns the status. */
static enum deliver_status deliver(const struct deliver_env *env, const char *const *pieces)
{
	struct delivery *d;
	enum deliver_status st = begin("alice", env, &d);

	if (st != DELIVER_OK)
		return st;
	for (size_t i = 0; pieces[i] != NULL; i++) {
		st = delivery_write(d, pieces[i], strlen(pieces[i]));
		if (st != DELIVER_OK) {
			delivery_abort(&d);
			return st;
		}
	}
	return delivery_commit(&d);
}

static void test_headers_crlf(void **state)
{
	static const char *const msg[] = { "Subject: hi\r\n\r\nbody\r\n", NULL };
	size_t len;
	char *text;

	assert_int_equal(deliver(&full_env, msg), DELIVER_OK);
	text = only_message(&len);
	assert_string_equal(text,
			    "Return-Path: <sender@example.org>\r\n"
			    "Delivered-To: alice@example.test\r\n"
			    "Received: from mx ([127.0.0.1])\r\n"
			    "\tby test.example (duomail) with LMTP id 1\r\n"
			    "\tfor <alice@example.test>; Tue, 01 Dec 2026 08:24:24 +0000\r\n"
			    "Subject: hi\r\n\r\nbody\r\n");
	assert_int_equal(count_in("tmp"), 0);
	free(text);
}

static void test_headers_lf_in_pieces(void **state)
{
	/* The first line arrives a byte at a time: its LF decides. */
	static const char *const msg[] = { "S", "u", "bject: split", "\n", "\nbody\n", NULL };
	struct deliver_env env = { .return_path = "", .delivered_to = "alice" };
	size_t len;
	char *text;

	assert_int_equal(deliver(&env, msg), DELIVER_OK);
	text = only_message(&len);
	/* the null reverse-path is <> (RFC 5321 §4.4) */
	assert_string_equal(text, "Return-Path: <>\nDelivered-To: alice\n"
				  "Subject: split\n\nbody\n");
	free(text);
}

static void test_long_first_line(void **state)
{
	/* No line end within DELIVER_HEAD_MAX: LF, and all bytes kept. */
	char *line = malloc(DELIVER_HEAD_MAX + 100);
	const char *msg[3] = { line, "\r\nrest\r\n", NULL };
	struct deliver_env env = { .delivered_to = "a" };
	size_t len;
	char *text;

	memset(line, 'x', DELIVER_HEAD_MAX + 50);
	line[DELIVER_HEAD_MAX + 50] = '\0';
	assert_int_equal(deliver(&env, msg), DELIVER_OK);
	text = only_message(&len);
	assert_int_equal(len, strlen("Delivered-To: a\n") + DELIVER_HEAD_MAX + 50 + 8);
	assert_memory_equal(text, "Delivered-To: a\nxxx", 19);
	assert_string_equal(text + len - 8, "\r\nrest\r\n");
	free(text);
	free(line);
}

static void test_no_line_end(void **state)
{
	static const char *const msg[] = { "X-Only: a header", NULL };
	struct deliver_env env = { .delivered_to = "a" };
	size_t len;
	char *text;

	assert_int_equal(deliver(&env, msg), DELIVER_OK);
	text = only_message(&len);
	assert_string_equal(text, "Delivered-To: a\nX-Only: a header");
	free(text);
}

static void test_nothing_added(void **state)
{
	/* deliver without -f/-a: byte for byte, NUL included */
	static const char body[] = "Subject: x\r\n\r\na\0b\n";
	struct deliver_env env = { 0 };
	struct delivery *d;
	size_t len;
	char *text;

	assert_int_equal(begin("alice", &env, &d), DELIVER_OK);
	assert_int_equal(delivery_write(d, body, sizeof(body) - 1), DELIVER_OK);
	assert_int_equal(delivery_size(d), sizeof(body) - 1);
	assert_int_equal(delivery_commit(&d), DELIVER_OK);
	assert_null(d);
	text = only_message(&len);
	assert_int_equal(len, sizeof(body) - 1);
	assert_memory_equal(text, body, len);
	free(text);
}

static void test_no_injection(void **state)
{
	static const char *const msg[] = { "Subject: x\n\nb\n", NULL };
	struct deliver_env env = { .return_path = "a@b>\nX-Evil: 1", .delivered_to = "c\r\nX-Evil: 2" };
	size_t len;
	char *text;

	assert_int_equal(deliver(&env, msg), DELIVER_OK);
	text = only_message(&len);
	assert_null(strstr(text, "\nX-Evil"));
	assert_string_equal(text, "Return-Path: <a@b>?X-Evil: 1>\nDelivered-To: c??X-Evil: 2\n"
				  "Subject: x\n\nb\n");
	free(text);
}

static void test_abort_leaves_nothing(void **state)
{
	struct delivery *d;

	assert_int_equal(begin("alice", &full_env, &d), DELIVER_OK);
	assert_int_equal(delivery_write(d, "Subject: x\r\n\r\npartial", 22), DELIVER_OK);
	delivery_abort(&d);
	assert_null(d);
	delivery_abort(&d);	/* NULL is fine */
	assert_int_equal(count_in("tmp") + count_in("new") + count_in("cur"), 0);
}

static void test_failures(void **state)
{
	static const char *const msg[] = { "Subject: x\n\nb\n", NULL };
	char path[256];

	/* a name the store refuses can never have mail */
	struct delivery *d = (struct delivery *)1;

	assert_int_equal(begin("../escape", &full_env, &d), DELIVER_NOUSER);
	assert_null(d);
	/* a store root that is a file: temporary, never a bounce */
	snprintf(path, sizeof(path), "%s/file", root);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fclose(f);
	ctx.cfg.store_root = path;
	assert_int_equal(begin("alice", &full_env, &d), DELIVER_TEMPFAIL);
	assert_null(d);
	ctx.cfg.store_root = root;
	/* an INBOX whose tmp/ cannot be written (unless root, who can) */
	assert_int_equal(deliver(&full_env, msg), DELIVER_OK);
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/tmp", user_dir);
		assert_int_equal(chmod(path, 0500), 0);
		assert_int_equal(deliver(&full_env, msg), DELIVER_TEMPFAIL);
		assert_int_equal(chmod(path, 0700), 0);
	}
	assert_int_equal(count_in("new"), 1);
	assert_string_equal(deliver_status_text(DELIVER_OVERQUOTA), "over quota");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_headers_crlf, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_headers_lf_in_pieces, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_long_first_line, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_no_line_end, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_nothing_added, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_no_injection, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, deliver_teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, deliver_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
