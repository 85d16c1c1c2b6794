/*
 * Per-user settings through the user database: the extra field of a
 * passwd-file line read at load (auth_db_lookup()), a bad value
 * refusing that one user (logged with file and line) while the others work,
 * and account_open() putting the user's quota on the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/account.h"
#include "core/auth.h"
#include "core/userdb.h"
#include "core/config.h"
#include "core/policy.h"
#include "store/store.h"

/* The user's settings as a login sees them (auth_db_lookup): 1 found,
 * 0 no such user, -1 the extra field is invalid (the user is refused). */
static int settings_of(struct auth_db *db, const char *user, struct user_settings *us_r)
{
	struct userdb_record rec;
	int ret = auth_db_lookup(db, user, &rec);

	memset(us_r, 0, sizeof(*us_r));
	if (ret == 1 && rec.invalid)
		ret = -1;
	else if (ret == 1)
		user_settings_copy(us_r, &rec.settings);
	userdb_record_free(&rec);
	return ret;
}

static enum auth_result check_plain(struct auth_db *db, const char *user, const char *password)
{
	struct userdb_record rec;
	enum auth_result ar;

	(void)auth_db_lookup(db, user, &rec);
	ar = auth_verify_stored(rec.password, password);
	userdb_record_free(&rec);
	return ar;
}

static char dir[64], users[128], logpath[128], mail[128];

static int setup(void **state)
{
	strcpy(dir, "/tmp/duomail-usettings-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(users, sizeof(users), "%s/users", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	snprintf(mail, sizeof(mail), "%s/mail", dir);
	assert_int_equal(mkdir(mail, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_users(const char *text)
{
	FILE *f = fopen(users, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Runs auth_db_open() with stderr (the log) going to logpath; returns the log. */
static char *open_logged(struct auth_db **db)
{
	static char text[8192];
	char err[256];
	int saved = dup(2), fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	assert_int_equal(auth_db_open(users, db, err, sizeof(err)), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(logpath, "r");
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void test_lookup(void **state)
{
	struct auth_db *db;
	struct user_settings us;
	char want[256];
	const char *log;

	write_users("# users\n"
		    "alice:{PLAIN}a:1000:1000::/home/alice::pop3_delete=hide "
		    "userdb_quota_rule=*:storage=1M:messages=10 userdb_mail=maildir:~/Maildir\n"
		    "bob:{PLAIN}b:::::\n"
		    "carol:{PLAIN}c:::::"
		    ":pop3_delete=destroy\n"
		    "dave:{PLAIN}d\n"
		    "erin:{PLAIN}e::::::userdb_mail=x\n");
	log = open_logged(&db);

	assert_int_equal(settings_of(db, "alice", &us), 1);
	assert_int_equal(us.pop3_delete, POP3_DELETE_HIDE);
	assert_true(us.quota_storage == 1 << 20);
	assert_true(us.quota_messages == 10);
	user_settings_free(&us);
	/* no extra field, or an empty one: nothing set */
	assert_int_equal(settings_of(db, "bob", &us), 1);
	assert_int_equal(us.set, 0);
	user_settings_free(&us);
	assert_int_equal(settings_of(db, "dave", &us), 1);
	assert_int_equal(us.set, 0);
	user_settings_free(&us);
	/* a bad value: that user is refused; its password still checks */
	assert_int_equal(settings_of(db, "carol", &us), -1);
	assert_int_equal(check_plain(db, "carol", "c"), AUTH_OK);
	assert_int_equal(settings_of(db, "nobody", &us), 0);

	/* the log names the file and line of the bad one, and sums up the
	 * fields that are not ours, once each */
	snprintf(want, sizeof(want), "%s:4: user carol: pop3_delete: 'destroy'", users);
	if (strstr(log, want) == NULL)
		fail_msg("log lacks '%s':\n%s", want, log);
	snprintf(want, sizeof(want), "%s:2: extra field 'userdb_mail' is not a duomail "
		 "setting, ignored (2 lines)", users);
	if (strstr(log, want) == NULL)
		fail_msg("log lacks '%s':\n%s", want, log);

	/* fixed and reloaded: carol is back */
	write_users("carol:{PLAIN}c::::::pop3_delete=trash\n");
	{
		char err[256];

		assert_int_equal(auth_db_reload(db, err, sizeof(err)), 0);
	}
	assert_int_equal(settings_of(db, "carol", &us), 1);
	assert_int_equal(us.pop3_delete, POP3_DELETE_TRASH);
	user_settings_free(&us);
	auth_db_close(&db);
}

/* What a login or delivery does: the user database lookup, then
 * account_open() with the record's settings. */
static enum account_status open_account(const struct config *cfg, struct auth_db *db,
					const char *user, struct store **st_r,
					struct account_policy *p_r)
{
	struct userdb_record rec;
	enum account_status status;
	int found = auth_db_lookup(db, user, &rec);

	*st_r = NULL;
	if (found <= 0 || rec.invalid) {
		userdb_record_free(&rec);
		return found == 0 ? ACCOUNT_NOUSER : ACCOUNT_TEMPFAIL;
	}
	status = account_open(cfg, user, &rec.settings, st_r, p_r);
	userdb_record_free(&rec);
	return status;
}

static void test_account_open(void **state)
{
	struct config cfg = { 0 };
	struct account_policy p;
	struct store_quota q;
	struct auth_db *db;
	struct store *st;

	write_users("alice:{PLAIN}a::::::quota_storage=2K pop3_folders=INBOX,Junk\n"
		    "bob:{PLAIN}b\n"
		    "carol:{PLAIN}c::::::quota_messages=lots\n");
	open_logged(&db);
	cfg.store_root = mail;
	cfg.quota_storage = 1000;
	cfg.quota_messages = 50;
	cfg.pop3_retr_seen = true;

	assert_int_equal(open_account(&cfg, db, "alice", &st, &p), ACCOUNT_OK);
	assert_int_equal(p.pop3_folders.count, 2);
	assert_true(p.quota_storage == 2048 && p.quota_messages == 50);
	assert_int_equal(store_quota_get(st, &q), 0);
	assert_true(q.storage_limit == 2048 && q.messages_limit == 50);
	assert_true(q.storage_used == 0 && q.messages_used == 0);
	account_policy_free(&p);
	store_close(&st);

	/* the config's defaults for a user without settings */
	assert_int_equal(open_account(&cfg, db, "bob", &st, NULL), ACCOUNT_OK);
	assert_int_equal(store_quota_get(st, &q), 0);
	assert_true(q.storage_limit == 1000 && q.messages_limit == 50);
	store_close(&st);

	assert_int_equal(open_account(&cfg, db, "carol", &st, NULL), ACCOUNT_TEMPFAIL);
	assert_null(st);
	assert_int_equal(open_account(&cfg, db, "nobody", &st, NULL), ACCOUNT_NOUSER);
	assert_null(st);
	auth_db_close(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
