/*
 * The connection layer's line reader, over a real loopback TCP connection:
 * lines split at any byte boundary, CRLF and bare LF, overlong lines skipped
 * to their LF with one -1, NUL bytes kept, output delivered in order, and
 * the handler's on_close once the client leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/config.h"
#include "core/conn.h"
#include "core/server.h"

#define MAX_LINES 32

static char got[MAX_LINES][64];
static size_t got_len[MAX_LINES];
static int ngot;
static bool closed;

static void t_open(struct conn *c)
{
	conn_set_ctx(c, &ngot);
	conn_set_max_line(c, 16);
	conn_puts(c, "hello\r\n");
}

/* Raw mode: after a line "LIT n", n bytes are taken with conn_read_bytes. */
static size_t raw_left;
static char raw[70000];
static size_t raw_len;

static void t_input(struct conn *c)
{
	char *line;
	size_t len;
	int ret;

	for (;;) {
		const char *data;
		size_t n;

		if (raw_left == 0)
			break;
		n = conn_read_bytes(c, raw_left, &data);
		if (n == 0)
			return;
		memcpy(raw + raw_len, data, n);
		raw_len += n;
		raw_left -= n;
	}

	while ((ret = conn_getline(c, &line, &len)) != 0 && ngot < MAX_LINES) {
		if (ret < 0) {
			strcpy(got[ngot], "<too long>");
			got_len[ngot++] = 10;
			continue;
		}
		memcpy(got[ngot], line, len);
		got_len[ngot++] = len;
		conn_printf(c, "echo %zu\r\n", len);
		if (len > 4 && memcmp(line, "LIT ", 4) == 0) {
			raw_left = strtoul(line + 4, NULL, 10);
			t_input(c);
			return;
		}
	}
}

static void t_close(struct conn *c)
{
	closed = true;
}

static bool timed_out;

static void t_timeout(struct conn *c)
{
	timed_out = true;
	conn_puts(c, "bye\r\n");
	conn_close(c);
}

static const struct conn_handler test_handler = {
	.name = "test", .on_open = t_open, .on_input = t_input, .on_close = t_close,
	.on_timeout = t_timeout,
};

/* The POP3 autologout rests on this timer (RFC 1939 §3); here with 1 s. */
static void t_open_idle(struct conn *c)
{
	conn_set_ctx(c, &ngot);
	conn_set_idle_timeout(c, 2);
}

static const struct conn_handler idle_handler = {
	.name = "idle", .on_open = t_open_idle, .on_input = t_input, .on_close = t_close,
	.on_timeout = t_timeout,
};
static const struct conn_handler *handler = &test_handler;

static struct server srv;
static struct config cfg = { .plaintext_on_loopback = true };
static uv_tcp_t listener;

static void on_conn(uv_stream_t *s, int status)
{
	assert_int_equal(status, 0);
	conn_accept(&srv, s, handler, false);
}

static int client_connect(uv_loop_t *loop)
{
	struct sockaddr_in sin;
	int len = sizeof(sin), fd;

	uv_tcp_getsockname(&listener, (struct sockaddr *)&sin, &len);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* Nagle would hold our one-byte writes back behind delayed ACKs. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Runs the loop until the client has n bytes to read (bounded). */
static size_t client_read(uv_loop_t *loop, int fd, char *buf, size_t want)
{
	size_t have = 0;

	for (int i = 0; i < 2000 && have < want; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		uv_run(loop, UV_RUN_NOWAIT);
		if (poll(&p, 1, 1) == 1) {
			ssize_t n = read(fd, buf + have, want - have);
			if (n <= 0)
				break;
			have += n;
		}
	}
	return have;
}

static void pump(uv_loop_t *loop, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* Runs the loop for ms milliseconds of wall time (however slowly the
 * machine schedules us), not for a number of rounds. */
static void pump_ms(uv_loop_t *loop, long ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static void test_lines(void **state)
{
	uv_loop_t loop;
	struct sockaddr_in addr;
	const char input[] = "a\r\nbc\nthis line is much too long\r\nafter\r\nnul\0x\r\n";
	char buf[256];
	int fd;

	uv_loop_init(&loop);
	cfg.max_connections = 10;
	srv.cfg = &cfg;
	srv.loop = &loop;
	uv_tcp_init(&loop, &listener);
	uv_ip4_addr("127.0.0.1", 0, &addr);
	assert_int_equal(uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&listener, 8, on_conn), 0);

	fd = client_connect(&loop);
	assert_int_equal(client_read(&loop, fd, buf, 7), 7);
	assert_memory_equal(buf, "hello\r\n", 7);

	/* One byte at a time: the reader must reassemble every line. */
	for (size_t i = 0; i < sizeof(input) - 1; i++) {
		assert_int_equal(write(fd, input + i, 1), 1);
		pump(&loop, 2);
	}
	for (int i = 0; i < 3000 && ngot < 5; i++)
		pump(&loop, 1);
	assert_int_equal(ngot, 5);
	assert_int_equal(got_len[0], 1);
	assert_memory_equal(got[0], "a", 1);
	assert_memory_equal(got[1], "bc", 2);
	assert_string_equal(got[2], "<too long>");
	assert_memory_equal(got[3], "after", 5);
	assert_int_equal(got_len[4], 5);
	assert_memory_equal(got[4], "nul\0x", 5);

	/* Replies come back in order. */
	size_t n = client_read(&loop, fd, buf, strlen("echo 1\r\necho 2\r\necho 5\r\necho 5\r\n"));
	buf[n] = '\0';
	assert_string_equal(buf, "echo 1\r\necho 2\r\necho 5\r\necho 5\r\n");

	/* Pipelined in one write. */
	ngot = 0;
	assert_int_equal(write(fd, "x1\ny2\nz3\n", 9), 9);
	for (int i = 0; i < 3000 && ngot < 3; i++)
		pump(&loop, 1);
	assert_int_equal(ngot, 3);
	assert_memory_equal(got[2], "z3", 2);

	/* A 60000-byte literal with CR, LF and NUL in it streams through the
	 * 16 KiB input buffer, and the line after it is a line again. */
	{
		static char lit[60000];

		for (size_t i = 0; i < sizeof(lit); i++)
			lit[i] = (char)(i * 7);
		ngot = 0;
		assert_int_equal(write(fd, "LIT 60000\n", 10), 10);
		for (size_t off = 0; off < sizeof(lit);) {
			ssize_t w = write(fd, lit + off, sizeof(lit) - off);

			assert_true(w > 0);
			off += (size_t)w;
			pump(&loop, 1);
		}
		assert_int_equal(write(fd, "after\n", 6), 6);
		for (int i = 0; i < 3000 && ngot < 2; i++)
			pump(&loop, 1);
		assert_int_equal(raw_len, sizeof(lit));
		assert_memory_equal(raw, lit, sizeof(lit));
		assert_int_equal(ngot, 2);
		assert_memory_equal(got[1], "after", 5);
	}

	close(fd);
	for (int i = 0; i < 2000 && !closed; i++)
		pump(&loop, 1);
	assert_true(closed);
	assert_int_equal(srv.nconns, 0);
	uv_close((uv_handle_t *)&listener, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_idle_timeout(void **state)
{
	uv_loop_t loop;
	struct sockaddr_in addr;
	char buf[32];
	int fd;

	handler = &idle_handler;
	closed = timed_out = false;
	uv_loop_init(&loop);
	srv.loop = &loop;
	srv.conns = NULL;
	uv_tcp_init(&loop, &listener);
	uv_ip4_addr("127.0.0.1", 0, &addr);
	assert_int_equal(uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&listener, 8, on_conn), 0);
	fd = client_connect(&loop);
	/* Input restarts the 2 s timer: 1 s, a line, 1 s more is still
	 * alive (a second of slack either way for a loaded machine). */
	pump_ms(&loop, 1000);
	assert_int_equal(write(fd, "x\n", 2), 2);
	pump_ms(&loop, 1000);
	assert_false(timed_out);
	for (int i = 0; i < 300 && !closed; i++)
		pump_ms(&loop, 10);
	assert_true(timed_out);
	assert_true(closed);
	assert_int_equal(client_read(&loop, fd, buf, 13), 13);
	assert_memory_equal(buf, "echo 1\r\nbye\r\n", 13);
	close(fd);
	uv_close((uv_handle_t *)&listener, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_idle_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
