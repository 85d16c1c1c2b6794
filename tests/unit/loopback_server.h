/*
 * For unit tests that run one protocol handler in-process: a struct server
 * on a private loop with a temporary passwd-file and Maildir, a listener on
 * 127.0.0.1, and a blocking client socket driven byte by byte.  Header-only
 * (static functions) because every tests/unit/test_*.c is its own program.
 */
#ifndef DUOMAIL_TEST_LOOPBACK_SERVER_H
#define DUOMAIL_TEST_LOOPBACK_SERVER_H

#include "core/watch.h"
#include <arpa/inet.h>
#include <errno.h>
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
#include "core/userdb.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/server.h"

static struct server lb_srv;
static struct config lb_cfg;
static uv_tcp_t lb_listener;
static uv_loop_t lb_loop;
static const struct conn_handler *lb_handler;
static char lb_dir[64], lb_root[128], lb_users[128];
static char lb_rbuf[65536];
static size_t lb_rlen;

static void lb_on_conn(uv_stream_t *s, int status)
{
	conn_accept(&lb_srv, s, lb_handler, false);
}

/* users: passwd-file text. */
static void lb_start(const struct conn_handler *handler, const char *users)
{
	char err[256];
	struct sockaddr_in addr;
	FILE *f;

	lb_handler = handler;
	strcpy(lb_dir, "/tmp/duomail-unit-XXXXXX");
	assert_non_null(mkdtemp(lb_dir));
	snprintf(lb_root, sizeof(lb_root), "%s/mail", lb_dir);
	snprintf(lb_users, sizeof(lb_users), "%s/users", lb_dir);
	mkdir(lb_root, 0700);
	f = fopen(lb_users, "w");
	fputs(users, f);
	fclose(f);
	lb_cfg.max_connections = 10;
	lb_cfg.store_root = lb_root;
	lb_cfg.hostname = "test.example";
	lb_cfg.pop3_idle_timeout = 600;
	lb_cfg.pop3_expire_days = -1;
	lb_cfg.pop3_max_bad_commands = 20;
	lb_cfg.imap_max_bad_commands = 20;
	lb_cfg.lmtp_max_bad_commands = 20;
	lb_cfg.plaintext_on_loopback = true;
	/* every mechanism, whatever the fixture users store (auto would offer
	 * only what all of them can use) */
	lb_cfg.mechanisms = AUTH_MECH_CRAM_MD5 | AUTH_MECH_SCRAM_SHA1 | AUTH_MECH_SCRAM_SHA256;
	lb_cfg.pop3_retr_seen = true;	/* config_load()'s default */
	uv_loop_init(&lb_loop);
	lb_srv.cfg = &lb_cfg;
	lb_srv.loop = &lb_loop;
	assert_int_equal(userdb_open_passwd(lb_users, &lb_srv.userdb, err, sizeof(err)), 0);
	uv_tcp_init(&lb_loop, &lb_listener);
	uv_ip4_addr("127.0.0.1", 0, &addr);
	assert_int_equal(uv_tcp_bind(&lb_listener, (struct sockaddr *)&addr, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&lb_listener, 8, lb_on_conn), 0);
}

static void lb_stop(void)
{
	char cmd[128];

	uv_close((uv_handle_t *)&lb_listener, NULL);
	for (int i = 0; i < 1000 && uv_run(&lb_loop, UV_RUN_NOWAIT) != 0; i++)
		usleep(1000);
	/* The sessions are gone; the watches they left do not hold the loop. */
	watch_close_idle(&lb_loop);
	uv_run(&lb_loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&lb_loop), 0);
	userdb_close(&lb_srv.userdb);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", lb_dir);
	assert_int_equal(system(cmd), 0);
}

static int lb_connect(void)
{
	struct sockaddr_in sin;
	int len = sizeof(sin), fd, one = 1;

	uv_tcp_getsockname(&lb_listener, (struct sockaddr *)&sin, &len);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* no Nagle delay for our one-byte writes */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lb_rlen = 0;
	lb_rbuf[0] = '\0';
	return fd;
}

static void lb_run_for(int ms)
{
	for (int i = 0; i < ms; i++) {
		uv_run(&lb_loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* Runs the loop until a line (or with multi, a "\r\n.\r\n") arrives, then
 * checks that it starts with prefix.  Bounded: about 5 s. */
static void lb_expect(int fd, const char *prefix, bool multi)
{
	for (int i = 0; i < 5000; i++) {
		char *end = multi ? strstr(lb_rbuf, "\r\n.\r\n") : strstr(lb_rbuf, "\r\n");

		if (end != NULL) {
			size_t n = end - lb_rbuf + (multi ? 5 : 2);

			if (strncmp(lb_rbuf, prefix, strlen(prefix)) != 0)
				fail_msg("expected '%s', got '%.*s'", prefix, (int)n, lb_rbuf);
			memmove(lb_rbuf, lb_rbuf + n, lb_rlen - n + 1);
			lb_rlen -= n;
			return;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uv_run(&lb_loop, UV_RUN_NOWAIT);
		if (poll(&p, 1, 1) == 1) {
			ssize_t n = read(fd, lb_rbuf + lb_rlen, sizeof(lb_rbuf) - lb_rlen - 1);
			assert_true(n > 0);
			lb_rlen += n;
			lb_rbuf[lb_rlen] = '\0';
		}
	}
	fail_msg("timed out waiting for '%s'; have '%s'", prefix, lb_rbuf);
}

/* Sends text one byte at a time, running the loop between bytes. */
static void lb_send_slowly(int fd, const char *text)
{
	for (const char *p = text; *p; p++) {
		assert_int_equal(write(fd, p, 1), 1);
		uv_run(&lb_loop, UV_RUN_NOWAIT);
	}
}

/* Runs the loop until a whole line arrives and takes it (without its CRLF)
 * into out, for tests that look at more than a prefix.  Bounded: about 5 s. */
__attribute__((unused)) static void lb_line(int fd, char *out, size_t outlen)
{
	for (int i = 0; i < 5000; i++) {
		char *end = strstr(lb_rbuf, "\r\n");

		if (end != NULL) {
			size_t n = (size_t)(end - lb_rbuf);

			snprintf(out, outlen, "%.*s", (int)n, lb_rbuf);
			memmove(lb_rbuf, end + 2, lb_rlen - n - 2 + 1);
			lb_rlen -= n + 2;
			return;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uv_run(&lb_loop, UV_RUN_NOWAIT);
		if (poll(&p, 1, 1) == 1) {
			ssize_t n = read(fd, lb_rbuf + lb_rlen, sizeof(lb_rbuf) - lb_rlen - 1);
			assert_true(n > 0);
			lb_rlen += n;
			lb_rbuf[lb_rlen] = '\0';
		}
	}
	fail_msg("timed out waiting for a line; have '%s'", lb_rbuf);
}

/* Sends len bytes as fast as the server takes them (a big literal),
 * running the loop whenever the socket is full. */
__attribute__((unused)) static void lb_send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT);

		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			uv_run(&lb_loop, UV_RUN_NOWAIT);
			usleep(100);
			continue;
		}
		p += n;
		len -= (size_t)n;
		uv_run(&lb_loop, UV_RUN_NOWAIT);
	}
}

#endif
