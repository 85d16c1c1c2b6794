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

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/auth.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/server.h"
#include "pop3/pop3_session.h"
#include "store/store.h"

static struct server srv;
static struct config cfg;
static uv_tcp_t listener;
static uv_loop_t loop;
static char dir[64], root[128], users[128];

static void on_conn(uv_stream_t *s, int status)
{
	conn_accept(&srv, s, &pop3_handler, false);
}

static void deliver(const char *text)
{
	struct store *st;
	struct store_save *save;
	enum store_error err;

	assert_int_equal(store_open(root, "alice", &st, &err), 0);
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

	snprintf(path, sizeof(path), "%s/alice/%s", root, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup(void **state)
{
	char err[256];
	FILE *f;

	strcpy(dir, "/tmp/duomail-pop3-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/mail", dir);
	snprintf(users, sizeof(users), "%s/users", dir);
	mkdir(root, 0700);
	f = fopen(users, "w");
	fprintf(f, "alice:{PLAIN}secret\n");
	fclose(f);

	cfg.max_connections = 10;
	cfg.store_root = root;
	cfg.hostname = "test.example";
	cfg.pop3_idle_timeout = 600;
	cfg.pop3_expire_days = -1;
	cfg.pop3_max_bad_commands = 20;
	cfg.plaintext_on_loopback = true;
	uv_loop_init(&loop);
	srv.cfg = &cfg;
	srv.loop = &loop;
	assert_int_equal(auth_db_open(users, &srv.auth, err, sizeof(err)), 0);

	struct sockaddr_in addr;
	uv_tcp_init(&loop, &listener);
	uv_ip4_addr("127.0.0.1", 0, &addr);
	assert_int_equal(uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&listener, 8, on_conn), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	uv_close((uv_handle_t *)&listener, NULL);
	for (int i = 0; i < 1000 && uv_run(&loop, UV_RUN_NOWAIT) != 0; i++)
		usleep(1000);
	assert_int_equal(uv_loop_close(&loop), 0);
	auth_db_close(&srv.auth);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int client_connect(void)
{
	struct sockaddr_in sin;
	int len = sizeof(sin), fd;

	uv_tcp_getsockname(&listener, (struct sockaddr *)&sin, &len);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	int one = 1;	/* no Nagle delay for one-byte writes */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static char rbuf[65536];
static size_t rlen;

/* Runs the loop until a full line (or, with multi, a "\r\n.\r\n") arrives. */
static void expect(int fd, const char *prefix, bool multi)
{
	for (int i = 0; i < 5000; i++) {
		char *end = multi ? strstr(rbuf, "\r\n.\r\n") : strstr(rbuf, "\r\n");

		if (end != NULL) {
			size_t n = end - rbuf + (multi ? 5 : 2);

			if (strncmp(rbuf, prefix, strlen(prefix)) != 0)
				fail_msg("expected '%s', got '%.*s'", prefix, (int)n, rbuf);
			memmove(rbuf, rbuf + n, rlen - n + 1);
			rlen -= n;
			return;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uv_run(&loop, UV_RUN_NOWAIT);
		if (poll(&p, 1, 1) == 1) {
			ssize_t n = read(fd, rbuf + rlen, sizeof(rbuf) - rlen - 1);
			assert_true(n > 0);
			rlen += n;
			rbuf[rlen] = '\0';
		}
	}
	fail_msg("timed out waiting for '%s'; have '%s'", prefix, rbuf);
}

/* Sends cmd one byte at a time, running the loop between bytes. */
static void send_slowly(int fd, const char *cmd)
{
	for (const char *p = cmd; *p; p++) {
		assert_int_equal(write(fd, p, 1), 1);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
}

static void run_for(int ms)
{
	for (int i = 0; i < ms; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

static void test_states(void **state)
{
	int fd;

	deliver("Subject: one\n\nbody one\n");
	deliver("Subject: two\n\n.dot\n");
	rlen = 0;
	rbuf[0] = '\0';
	fd = client_connect();
	expect(fd, "+OK", false);
	send_slowly(fd, "STAT\r\n");
	expect(fd, "-ERR", false);		/* not in TRANSACTION yet */
	send_slowly(fd, "USER alice\r\n");
	expect(fd, "+OK", false);
	send_slowly(fd, "PASS wrong\r\n");
	expect(fd, "-ERR [AUTH]", false);
	send_slowly(fd, "USER alice\r\n");
	expect(fd, "+OK", false);
	send_slowly(fd, "PASS secret\r\n");
	expect(fd, "+OK", false);
	send_slowly(fd, "STAT\r\n");
	expect(fd, "+OK 2 ", false);
	send_slowly(fd, "RETR 2\r\n");
	expect(fd, "+OK", true);
	send_slowly(fd, "DELE 1\r\n");
	expect(fd, "+OK", false);
	send_slowly(fd, "USER alice\r\n");
	expect(fd, "-ERR", false);		/* not in AUTHORIZATION any more */
	assert_int_equal(count_files("cur"), 2);	/* DELE is only a mark */
	send_slowly(fd, "QUIT\r\n");
	expect(fd, "+OK", false);
	run_for(50);
	assert_int_equal(count_files("cur"), 1);	/* UPDATE happened */
	close(fd);
	run_for(50);
	assert_int_equal(srv.nconns, 0);
}

static void test_drop_without_quit(void **state)
{
	int fd;

	deliver("Subject: three\n\nbody\n");
	rlen = 0;
	rbuf[0] = '\0';
	fd = client_connect();
	expect(fd, "+OK", false);
	send_slowly(fd, "USER alice\r\nPASS secret\r\n");
	expect(fd, "+OK", false);
	expect(fd, "+OK", false);
	send_slowly(fd, "DELE 1\r\n");
	expect(fd, "+OK", false);
	close(fd);		/* no QUIT: RFC 1939 §6, no UPDATE */
	run_for(100);
	assert_int_equal(srv.nconns, 0);
	assert_int_equal(count_files("cur") + count_files("new"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_drop_without_quit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
