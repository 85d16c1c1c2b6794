/*
 * Account policy values (core/policy.c), the passwd-file extra field
 * (core/user_extra.c), their merge with the config's defaults, and the
 * UIDLs of a multi-folder POP3 maildrop (pop3/pop3_maildrop.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/policy.h"
#include "pop3/pop3.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t unit, want;
	} ok[] = {
		{ "0", 1, 0 },
		{ "12345", 1, 12345 },
		{ "1K", 1, 1024 },
		{ "1k", 1, 1024 },
		{ "10M", 1, 10ull << 20 },
		{ "1G", 1, 1ull << 30 },
		{ "2T", 1, 2ull << 40 },
		{ "512b", 1024, 512 },		/* b: bytes whatever the unit */
		{ "100", 1024, 102400 },	/* Dovecot's storage=: KiB */
		{ "18446744073709551615", 1, UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "K", "-1", "1.5G", "1 G", "1GB", "10X", "0x10", "18446744073709551616",
		"17179869184G",
	};
	char err[160];
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(policy_parse_size(ok[i].text, ok[i].unit, &v, err, sizeof(err)),
				 0);
		assert_true(v == ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(policy_parse_size(bad[i], 1, &v, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(policy_parse_count("10000", &v, err, sizeof(err)), 0);
	assert_true(v == 10000);
	assert_int_equal(policy_parse_count("10K", &v, err, sizeof(err)), -1);
	assert_int_equal(policy_parse_count("", &v, err, sizeof(err)), -1);
}

static void test_delete_and_bool(void **state)
{
	enum pop3_delete_mode m;
	bool b;

	assert_int_equal(policy_parse_delete("expunge", &m), 0);
	assert_int_equal(m, POP3_DELETE_EXPUNGE);
	assert_int_equal(policy_parse_delete("hide", &m), 0);
	assert_int_equal(m, POP3_DELETE_HIDE);
	assert_int_equal(policy_parse_delete("trash", &m), 0);
	assert_int_equal(m, POP3_DELETE_TRASH);
	assert_int_equal(policy_parse_delete("Hide", &m), -1);
	assert_int_equal(policy_parse_delete("delete", &m), -1);
	assert_string_equal(policy_delete_name(POP3_DELETE_TRASH), "trash");
	assert_int_equal(policy_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(policy_parse_bool("no", &b), 0);
	assert_false(b);
	assert_int_equal(policy_parse_bool("true", &b), -1);
}

static void test_folders(void **state)
{
	struct policy_folders f;
	char err[160];

	assert_int_equal(policy_folders_parse("INBOX", &f, err, sizeof(err)), 0);
	assert_int_equal(f.count, 1);
	assert_string_equal(f.names[0], "INBOX");
	policy_folders_free(&f);
	/* INBOX (any case) first, the rest in the order given, blanks trimmed */
	assert_int_equal(policy_folders_parse(" Junk ,Spam/Old, inbox", &f, err, sizeof(err)), 0);
	assert_int_equal(f.count, 3);
	assert_string_equal(f.names[0], "INBOX");
	assert_string_equal(f.names[1], "Junk");
	assert_string_equal(f.names[2], "Spam/Old");
	policy_folders_free(&f);
	assert_int_equal(policy_folders_parse("My Junk", &f, err, sizeof(err)), 0);
	assert_string_equal(f.names[0], "My Junk");
	policy_folders_free(&f);
	static const char *const bad[] = {
		"", "INBOX,", ",Junk", "INBOX,,Junk", "Junk,Junk", "INBOX,inbox", "/Junk",
		"Junk/", "a//b", "Ju*nk", "J%", "Entw\xc3\xbcrfe", "a\tb",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(policy_folders_parse(bad[i], &f, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
}

static unsigned unknown_count;
static char unknown_names[512];

static void on_unknown(const char *key, size_t len, void *ctx)
{
	unknown_count++;
	strncat(unknown_names, key, len);
	strcat(unknown_names, ";");
}

static int parse(const char *extra, struct user_settings *us, char *err, size_t errlen)
{
	unknown_count = 0;
	unknown_names[0] = '\0';
	return user_extra_parse(extra, us, on_unknown, NULL, err, errlen);
}

static void test_extra_duomail_keys(void **state)
{
	struct user_settings us;
	char err[256];

	assert_int_equal(parse("", &us, err, sizeof(err)), 0);
	assert_int_equal(us.set, 0);
	user_settings_free(&us);

	assert_int_equal(parse("pop3_delete=hide  pop3_folders=INBOX,Junk\tpop3_retr_seen=no "
			       "quota_storage=1G quota_messages=10000", &us, err, sizeof(err)), 0);
	assert_int_equal(us.set, USER_SET_POP3_DELETE | USER_SET_POP3_FOLDERS |
			 USER_SET_POP3_RETR_SEEN | USER_SET_QUOTA_STORAGE |
			 USER_SET_QUOTA_MESSAGES);
	assert_int_equal(us.pop3_delete, POP3_DELETE_HIDE);
	assert_int_equal(us.pop3_folders.count, 2);
	assert_string_equal(us.pop3_folders.names[1], "Junk");
	assert_false(us.pop3_retr_seen);
	assert_true(us.quota_storage == 1ull << 30);
	assert_true(us.quota_messages == 10000);
	assert_int_equal(unknown_count, 0);
	user_settings_free(&us);

	/* Dovecot's userdb_ prefix is the same key; the last one wins */
	assert_int_equal(parse("userdb_pop3_delete=trash userdb_quota_storage=0 "
			       "userdb_pop3_folders=Junk userdb_pop3_folders=INBOX",
			       &us, err, sizeof(err)), 0);
	assert_int_equal(us.pop3_delete, POP3_DELETE_TRASH);
	assert_true(us.set & USER_SET_QUOTA_STORAGE);
	assert_true(us.quota_storage == 0);
	assert_int_equal(us.pop3_folders.count, 1);
	assert_string_equal(us.pop3_folders.names[0], "INBOX");
	user_settings_free(&us);
}

static void test_extra_dovecot(void **state)
{
	struct user_settings us;
	char err[256];

	/* A Dovecot line's extra field: quota kept, the rest ignored */
	assert_int_equal(parse("userdb_mail=maildir:~/Maildir userdb_quota_rule=*:storage=100M "
			       "userdb_quota_rule2=Trash:storage=+10M nopassword allow_nets=::1",
			       &us, err, sizeof(err)), 0);
	assert_int_equal(us.set, USER_SET_QUOTA_STORAGE);
	assert_true(us.quota_storage == 100ull << 20);
	assert_int_equal(unknown_count, 4);
	assert_string_equal(unknown_names,
			    "userdb_mail;userdb_quota_rule2;nopassword;allow_nets;");
	user_settings_free(&us);

	/* storage= without a unit is KiB, bytes= is bytes, messages= a count */
	assert_int_equal(parse("quota_rule=*:storage=2048:messages=50", &us, err, sizeof(err)), 0);
	assert_true(us.quota_storage == 2048 * 1024);
	assert_true(us.quota_messages == 50);
	user_settings_free(&us);
	assert_int_equal(parse("userdb_quota_rule=*:bytes=5000", &us, err, sizeof(err)), 0);
	assert_true(us.quota_storage == 5000);
	assert_false(us.set & USER_SET_QUOTA_MESSAGES);
	user_settings_free(&us);
	/* Dovecot 2.4 names */
	assert_int_equal(parse("userdb_quota_storage_size=3M userdb_quota_message_count=7",
			       &us, err, sizeof(err)), 0);
	assert_true(us.quota_storage == 3ull << 20);
	assert_true(us.quota_messages == 7);
	user_settings_free(&us);
	/* duomail's own key beats Dovecot's, in either order */
	assert_int_equal(parse("quota_storage=1K userdb_quota_rule=*:storage=1G", &us, err,
			       sizeof(err)), 0);
	assert_true(us.quota_storage == 1024);
	user_settings_free(&us);
	assert_int_equal(parse("quota_rule=*:messages=9 quota_messages=3", &us, err,
			       sizeof(err)), 0);
	assert_true(us.quota_messages == 3);
	user_settings_free(&us);
}

static void expect_bad(const char *extra, const char *want)
{
	struct user_settings us;
	char err[256] = "";

	assert_int_equal(parse(extra, &us, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': got '%s', want '%s'", extra, err, want);
}

static void test_extra_errors(void **state)
{
	expect_bad("pop3_delete=remove", "pop3_delete: 'remove'");
	expect_bad("userdb_pop3_delete=", "pop3_delete");
	expect_bad("pop3_retr_seen=1", "pop3_retr_seen: '1'");
	expect_bad("pop3_folders=INBOX,,Junk", "pop3_folders: an empty folder name");
	expect_bad("quota_storage=1X", "quota_storage: '1X' is not a size");
	expect_bad("quota_messages=-5", "quota_messages: '-5'");
	expect_bad("userdb_quota_rule=Trash:storage=10M", "quota_rule: only a rule for all");
	expect_bad("quota_rule=*:storage=+10%%", "quota_rule: '+10%%' is not a size");
	expect_bad("quota_rule=*:storage=10M:ignore", "quota_rule: 'ignore' is not supported");
	expect_bad("quota_rule=*:backend=1G", "quota_rule: 'backend'");
	/* a good key before a bad one does not save the line */
	expect_bad("pop3_delete=hide quota_storage=lots", "quota_storage");
}

static void test_resolve(void **state)
{
	struct config cfg = { 0 };
	struct user_settings us = { 0 };
	struct account_policy p;
	char err[160];

	/* a config built by hand (no folders): INBOX */
	cfg.pop3_retr_seen = true;
	cfg.quota_storage = 1000;
	account_policy_resolve(&cfg, NULL, &p);
	assert_int_equal(p.pop3_delete, POP3_DELETE_EXPUNGE);
	assert_int_equal(p.pop3_folders.count, 1);
	assert_string_equal(p.pop3_folders.names[0], "INBOX");
	assert_true(p.pop3_retr_seen);
	assert_true(p.quota_storage == 1000 && p.quota_messages == 0);
	account_policy_free(&p);

	/* the user's settings beat the config's, the rest comes from it */
	cfg.pop3_delete = POP3_DELETE_HIDE;
	assert_int_equal(policy_folders_parse("INBOX,Junk", &cfg.pop3_folders, err,
					      sizeof(err)), 0);
	assert_int_equal(parse("pop3_delete=trash quota_storage=0 quota_messages=5", &us, err,
			       sizeof(err)), 0);
	account_policy_resolve(&cfg, &us, &p);
	assert_int_equal(p.pop3_delete, POP3_DELETE_TRASH);
	assert_int_equal(p.pop3_folders.count, 2);
	assert_true(p.pop3_retr_seen);
	assert_true(p.quota_storage == 0);	/* 0 set by the user: unlimited */
	assert_true(p.quota_messages == 5);
	user_settings_free(&us);
	/* the policy is a copy: it outlives what it came from */
	policy_folders_free(&cfg.pop3_folders);
	assert_string_equal(p.pop3_folders.names[1], "Junk");
	account_policy_free(&p);
}

static void test_folder_uidl(void **state)
{
	char long_base[80];
	char *u;

	u = pop3_folder_uidl("INBOX", "1700000000.M1P2Q3.host,S=10,W=11");
	assert_string_equal(u, "1700000000.M1P2Q3.host,S=10,W=11");
	free(u);
	u = pop3_folder_uidl("Junk", "1700000000.M1P2Q3.host,S=10,W=11");
	assert_string_equal(u, "Junk/1700000000.M1P2Q3.host,S=10,W=11");
	free(u);
	/* too long or with a space: a digest, the same every time */
	memset(long_base, 'x', 66);
	long_base[66] = '\0';
	u = pop3_folder_uidl("Junk", long_base);
	assert_int_equal(strlen(u), 40);
	assert_null(strchr(u, '/'));
	{
		char *again = pop3_folder_uidl("Junk", long_base);
		char *other = pop3_folder_uidl("Spam", long_base);

		assert_string_equal(u, again);
		assert_string_not_equal(u, other);
		free(again);
		free(other);
	}
	free(u);
	u = pop3_folder_uidl("My Junk", "abc");
	assert_int_equal(strlen(u), 40);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_delete_and_bool),
		cmocka_unit_test(test_folders),
		cmocka_unit_test(test_extra_duomail_keys),
		cmocka_unit_test(test_extra_dovecot),
		cmocka_unit_test(test_extra_errors),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_folder_uidl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
