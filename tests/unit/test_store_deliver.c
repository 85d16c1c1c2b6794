/*
 * `duomail deliver`: sysexits codes (0, 64, 65, 67, 75, and 2 for a bad
 * config), the message stored byte for byte with S=/W= in its name, input
 * that arrives in pieces, and rejected input leaving nothing behind.
 * cmd_deliver() runs in a child whose stdin is a pipe we write to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/commands.h"

static char dir[64], conf[128], mail[128], inbox[160];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void write_config(const char *passwd, const char *root)
{
	char text[1024];

	/* allow_root: run as root, these tests keep the mail as root. */
	snprintf(text, sizeof(text), "[server]\nallow_root = yes\n"
		 "[listen]\npop3 = 127.0.0.1:1110\n[auth]\npasswd_file = %s\n"
		 "[store]\nroot = %s\n", passwd, root);
	write_file(conf, text);
}

static int setup(void **state)
{
	char passwd[128];

	strcpy(dir, "/tmp/duomail-deliver-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/duomail.conf", dir);
	snprintf(mail, sizeof(mail), "%s/mail", dir);
	snprintf(inbox, sizeof(inbox), "%s/alice", mail);
	snprintf(passwd, sizeof(passwd), "%s/users", dir);
	assert_int_equal(mkdir(mail, 0700), 0);
	write_file(passwd, "alice:{PLAIN}secret\n");
	write_config(passwd, mail);
	signal(SIGPIPE, SIG_IGN);	/* deliver may stop reading early */
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Runs `deliver [--config conf] user` with the chunks on stdin (a pause
 * between them, so deliver sees them as separate reads). */
static int run(const char *user, bool with_config, const char *const *chunks, size_t n)
{
	char *argv[5] = { "deliver" };
	int argc = 1, fds[2], status;
	pid_t pid;

	if (with_config) {
		argv[argc++] = "--config";
		argv[argc++] = conf;
	}
	if (user != NULL)
		argv[argc++] = (char *)user;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(99);
		_exit(cmd_deliver(argc, argv));
	}
	close(fds[0]);
	for (size_t i = 0; i < n; i++) {
		if (write(fds[1], chunks[i], strlen(chunks[i])) < 0)
			break;
		usleep(20000);
	}
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int run1(const char *user, const char *text)
{
	return run(user, true, &text, 1);
}

/* How many files inbox/sub holds. */
static unsigned count_in(const char *sub)
{
	char path[256];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", inbox, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void only_message(char *name_r, size_t len, char *text_r, size_t text_len)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/new", inbox);
	assert_int_equal(count_in("new"), 1);
	d = opendir(path);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(name_r, len, "%s", de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/new/%s", inbox, name_r);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text_r, 1, text_len - 1, f);
	text_r[n] = '\0';
	fclose(f);
}

static void test_delivered(void **state)
{
	char name[256], text[256];

	assert_int_equal(run1("alice", "Subject: x\n\nbody\n"), EX_OK);
	only_message(name, sizeof(name), text, sizeof(text));
	/* byte for byte, sizes in the name, nothing left in tmp/ */
	assert_string_equal(text, "Subject: x\n\nbody\n");
	assert_non_null(strstr(name, ",S=17,W=20"));
	assert_int_equal(count_in("tmp"), 0);
}

static void test_crlf_kept(void **state)
{
	char name[256], text[256];

	assert_int_equal(run1("alice", "Subject: x\r\n\r\nbody\r\n"), EX_OK);
	only_message(name, sizeof(name), text, sizeof(text));
	assert_string_equal(text, "Subject: x\r\n\r\nbody\r\n");
	assert_non_null(strstr(name, ",S=20,W=20"));
}

static void test_input_in_pieces(void **state)
{
	static const char *const chunks[] = { "Subj", "ect: split", "\n", "\n", "body\n" };
	char name[256], text[256];

	/* the first line is judged whole, not by the first read */
	assert_int_equal(run("alice", true, chunks, 5), EX_OK);
	only_message(name, sizeof(name), text, sizeof(text));
	assert_string_equal(text, "Subject: split\n\nbody\n");
}

static void test_unusable_input(void **state)
{
	static const char *const bad[] = {
		"", "\n", " \r\n\t\n", "\x00\x01 not a message\n", "no colon here\nsecond line\n",
		": empty field name\n", "two words: not a field\n",
	};
	static const char *const good[] = {
		"garbage first\n\nbut a separator\n",	/* an empty line is a separator */
		"X-Only: a header, no body",		/* a header-looking first line */
		"Subject : obsolete space before the colon\n",
		"\nbody after an empty header section\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(run1("alice", bad[i]), EX_DATAERR);
	/* rejected mail leaves nothing behind */
	assert_int_equal(count_in("tmp") + count_in("new") + count_in("cur"), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(run1("alice", good[i]), EX_OK);
	assert_int_equal(count_in("new"), sizeof(good) / sizeof(good[0]));
}

static void test_too_large(void **state)
{
	enum { CHUNK = 1 << 20, CHUNKS = 101 };
	char *big = malloc(CHUNK + 1);
	const char *chunks[CHUNKS + 1];

	assert_non_null(big);
	memset(big, 'a', CHUNK);
	for (size_t i = 79; i < CHUNK; i += 80)
		big[i] = '\n';
	big[CHUNK] = '\0';
	chunks[0] = "Subject: big\n\n";
	for (int i = 1; i <= CHUNKS; i++)
		chunks[i] = big;
	/* over 100 MiB: unusable (a retry would not help), and removed again */
	assert_int_equal(run("alice", true, chunks, CHUNKS + 1), EX_DATAERR);
	assert_int_equal(count_in("tmp") + count_in("new"), 0);
	free(big);
}

static void test_exit_codes(void **state)
{
	char path[256];

	assert_int_equal(run1("nobody", "Subject: x\n\nb\n"), EX_NOUSER);
	assert_int_equal(run(NULL, true, NULL, 0), EX_USAGE);
	assert_int_equal(run("alice", false, NULL, 0), EX_USAGE);
	assert_int_equal(run("--bogus", true, NULL, 0), EX_USAGE);
	assert_int_equal(run("--help", false, NULL, 0), 0);
	/* a broken config is exit 2 */
	write_file(conf, "[nonsense]\nkey = value\n");
	assert_int_equal(run1("alice", "Subject: x\n\nb\n"), EXIT_CONFIG);
	/* the user database missing: try again later */
	snprintf(path, sizeof(path), "%s/no-such-users", dir);
	write_config(path, mail);
	assert_int_equal(run1("alice", "Subject: x\n\nb\n"), EX_TEMPFAIL);
	/* a store that cannot be written (a file where the root should be):
	 * a temporary failure, never a bounce */
	snprintf(path, sizeof(path), "%s/users", dir);
	write_config(path, conf);
	assert_int_equal(run1("alice", "Subject: x\n\nb\n"), EX_TEMPFAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
