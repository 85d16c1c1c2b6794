/*
 * The POP3 state machine in-process: the real pop3_handler on a loopback
 * socket, with a temporary passwd-file and Maildir, every command fed one
 * byte at a time.  Checks the AUTHORIZATION -> TRANSACTION -> UPDATE
 * transitions of RFC 1939 §3 and that DELE takes effect only at QUIT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "pop3/pop3_session.h"
#include "store/store.h"
#include "loopback_server.h"

static void deliver(const char *text)
{
	struct store *st;
	struct store_save *save;
	enum store_error err;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(store_save_begin(st, "INBOX", 0, 0, &save), 0);
	assert_int_equal(store_save_write(save, text, strlen(text)), 0);
	assert_int_equal(store_save_commit(&save, NULL), 0);
	store_close(&st);
}

static int count_files(const char *sub)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/alice/%s", lb_root, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_states(void **state)
{
	int fd;

	deliver("Subject: one\n\nbody one\n");
	deliver("Subject: two\n\n.dot\n");
	fd = lb_connect();
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "STAT\r\n");
	lb_expect(fd, "-ERR", false);		/* not in TRANSACTION yet */
	lb_send_slowly(fd, "USER alice\r\n");
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "PASS wrong\r\n");
	lb_expect(fd, "-ERR [AUTH]", false);
	lb_send_slowly(fd, "USER alice\r\n");
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "PASS secret\r\n");
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "STAT\r\n");
	lb_expect(fd, "+OK 2 ", false);
	lb_send_slowly(fd, "RETR 2\r\n");
	lb_expect(fd, "+OK", true);
	lb_send_slowly(fd, "DELE 1\r\n");
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "USER alice\r\n");
	lb_expect(fd, "-ERR", false);		/* not in AUTHORIZATION any more */
	assert_int_equal(count_files("cur"), 2);	/* DELE is only a mark */
	lb_send_slowly(fd, "QUIT\r\n");
	lb_expect(fd, "+OK", false);
	lb_run_for(50);
	assert_int_equal(count_files("cur"), 1);	/* UPDATE happened */
	close(fd);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, 0);
}

static void test_drop_without_quit(void **state)
{
	int fd;

	deliver("Subject: three\n\nbody\n");
	fd = lb_connect();
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "USER alice\r\nPASS secret\r\n");
	lb_expect(fd, "+OK", false);
	lb_expect(fd, "+OK", false);
	lb_send_slowly(fd, "DELE 1\r\n");
	lb_expect(fd, "+OK", false);
	close(fd);		/* no QUIT: RFC 1939 §6, no UPDATE */
	lb_run_for(100);
	assert_int_equal(lb_srv.nconns, 0);
	assert_int_equal(count_files("cur") + count_files("new"), 2);
}

static int setup(void **state)
{
	lb_start(&pop3_handler, "alice:{PLAIN}secret\n");
	return 0;
}

static int teardown(void **state)
{
	lb_stop();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_drop_without_quit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
