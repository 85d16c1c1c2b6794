/*
 * Editing a passwd-file as a file (core/passwd_edit.h): every other line
 * byte for byte (comments, blank lines, CRLF, a last line without its line
 * end), the first line of a duplicated name is the user's, names the
 * passwd-file and the store cannot hold are refused, and a result the
 * server would not accept is never written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/passwd_edit.h"

static char dir[64], path[128];

static int setup(void **state)
{
	strcpy(dir, "/tmp/duomail-pwedit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(void)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_names(void **state)
{
	static const char *const good[] = { "alice", "a.b", "bob@example.org", "x-y_z", "a+b" };
	static const char *const bad[] = { "", ".hidden", "a:b", "a b", "a/b", "tab\tx",
					   "nl\nx", "del\x7fx", "ctl\x01x" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(passwd_user_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(passwd_user_name_ok(bad[i]));
}

static void test_other_lines_kept(void **state)
{
	struct passwd_edit *ed;
	char err[512];
	long i;

	/* A comment, a blank line, a CRLF line, a duplicate, no final LF. */
	write_file("# users\n\nalice:{PLAIN}a::::::pop3_delete=hide\r\n"
		   "bob:{PLAIN}b\nalice:{PLAIN}second\n  # indented comment\nzed:{PLAIN}z");
	chmod(path, 0640);
	assert_int_equal(passwd_edit_begin(path, &ed, err, sizeof(err)), 0);
	assert_int_equal(passwd_edit_count(ed), 7);
	i = passwd_edit_find(ed, "alice");
	assert_int_equal(i, 2);		/* the first line counts */
	assert_int_equal(passwd_edit_find(ed, "nobody"), -1);
	assert_int_equal(passwd_edit_find(ed, "# users"), -1);
	passwd_edit_remove(ed, (size_t)passwd_edit_find(ed, "bob"));
	passwd_edit_append(ed, "carol:{PLAIN}c");
	assert_int_equal(passwd_edit_commit(&ed, err, sizeof(err)), 0);
	assert_null(ed);
	assert_string_equal(read_file(),
			    "# users\n\nalice:{PLAIN}a::::::pop3_delete=hide\r\n"
			    "alice:{PLAIN}second\n  # indented comment\nzed:{PLAIN}z\n"
			    "carol:{PLAIN}c\n");
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
}

static void test_no_final_newline_stays_so(void **state)
{
	struct passwd_edit *ed;
	char err[512];

	write_file("a:{PLAIN}1\nb:{PLAIN}2");
	assert_int_equal(passwd_edit_begin(path, &ed, err, sizeof(err)), 0);
	passwd_edit_set(ed, 0, "a:{PLAIN}changed");
	assert_int_equal(passwd_edit_commit(&ed, err, sizeof(err)), 0);
	assert_string_equal(read_file(), "a:{PLAIN}changed\nb:{PLAIN}2");
}

static void test_invalid_result_not_written(void **state)
{
	struct passwd_edit *ed;
	char err[512], want[256];

	write_file("a:{PLAIN}1\nb:{NOSUCH}x\n");
	assert_int_equal(passwd_edit_begin(path, &ed, err, sizeof(err)), 0);
	passwd_edit_append(ed, "c:{PLAIN}3");
	assert_int_equal(passwd_edit_commit(&ed, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: user b: unknown password scheme", path);
	assert_non_null(strstr(err, want));
	assert_string_equal(read_file(), "a:{PLAIN}1\nb:{NOSUCH}x\n");
	/* No temp file left beside it. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -q duomail-", dir);
	assert_int_not_equal(system(cmd), 0);
}

static void test_missing_file_is_made(void **state)
{
	struct passwd_edit *ed;
	struct stat sb;
	char err[512];

	assert_int_equal(passwd_edit_begin(path, &ed, err, sizeof(err)), 0);
	assert_int_equal(passwd_edit_count(ed), 0);
	passwd_edit_append(ed, "first:{PLAIN}1");
	assert_int_equal(passwd_edit_commit(&ed, err, sizeof(err)), 0);
	assert_string_equal(read_file(), "first:{PLAIN}1\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	/* Made by someone else meanwhile: theirs stays. */
	unlink(path);
	assert_int_equal(passwd_edit_begin(path, &ed, err, sizeof(err)), 0);
	passwd_edit_append(ed, "mine:{PLAIN}1");
	write_file("theirs:{PLAIN}2\n");
	assert_int_equal(passwd_edit_commit(&ed, err, sizeof(err)), -2);
	assert_string_equal(read_file(), "theirs:{PLAIN}2\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_other_lines_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_final_newline_stays_so, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_result_not_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_made, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
