/*
 * The TLS and privilege parts of the config ([tls] cert/key pairs and
 * priority, [server] user/group/allow_root), the master-to-worker channel
 * that carries open files (core/worker_ctl.h), and tls_ctx's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "core/tls.h"
#include "core/worker_ctl.h"

static char path[64];

static int load_text(const char *body, struct config **cfg_r, char *err, size_t errlen)
{
	char text[4096];
	int fd, ret;

	snprintf(text, sizeof(text), "[listen]\nimap = 127.0.0.1:143\n[auth]\npasswd_file = /users\n"
		 "[store]\nroot = /mail\n%s", body);
	strcpy(path, "/tmp/duomail-test-tls-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ret = config_load(path, cfg_r, err, errlen);
	unlink(path);
	return ret;
}

static void expect_error(const char *body, const char *want)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(load_text(body, &cfg, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_non_null(strstr(err, path));
}

static void test_tls_pairs(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(load_text("[tls]\ncert = /a.pem\nkey = /a.key\ncert = /b.pem\n"
				   "key = /b.key\nkey = /c.key\ncert = /c.pem\n", &cfg, err,
				   sizeof(err)), 0);
	assert_int_equal(cfg->tls_ncerts, 3);
	assert_int_equal(cfg->tls_nkeys, 3);
	assert_string_equal(cfg->tls_cert, "/a.pem");
	assert_string_equal(cfg->tls_key, "/a.key");
	assert_string_equal(cfg->tls_more_certs[0], "/b.pem");
	assert_string_equal(cfg->tls_more_keys[0], "/b.key");
	assert_string_equal(cfg->tls_more_certs[1], "/c.pem");
	assert_string_equal(cfg->tls_more_keys[1], "/c.key");
	assert_string_equal(cfg->tls_priority, CONFIG_TLS_PRIORITY_DEFAULT);
	config_free(&cfg);
	assert_null(cfg);
}

static void test_tls_errors(void **state)
{
	char body[4096] = "[tls]\n";

	expect_error("[tls]\ncert = /a.pem\nkey = /a.key\ncert = /b.pem\n", "[tls] key: missing");
	expect_error("[tls]\nkey = /a.key\n", "[tls] cert: missing");
	expect_error("[tls]\ncert =\n", ":8: [tls] cert: empty path");
	expect_error("[tls]\npriority = SECURE128:+BOGUS\n",
		     ":8: [tls] priority: not a GnuTLS priority string");
	expect_error("[tls]\npriority = \n", "[tls] priority: not a GnuTLS priority string");
	expect_error("[tls]\nsni = x\n", "[tls] sni: unknown key");
	for (int i = 0; i <= CONFIG_TLS_MAX_PAIRS; i++)
		snprintf(body + strlen(body), sizeof(body) - strlen(body), "cert = /c%d\n", i);
	expect_error(body, "[tls] cert: more than 32");
}

static void test_priority_default_compiles(void **state)
{
	char err[256];

	assert_int_equal(tls_priority_check(CONFIG_TLS_PRIORITY_DEFAULT, err, sizeof(err)), 0);
	assert_int_equal(tls_priority_check("NORMAL:-NOPE", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NOPE"));
}

static void test_server_user_group(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(load_text("[server]\nuser = nobody\ngroup = mail\nallow_root = yes\n",
				   &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->user, "nobody");
	assert_true(cfg->user_uid > 0);
	assert_true(cfg->group_gid >= 0);
	assert_true(cfg->allow_root);
	config_free(&cfg);
	assert_int_equal(load_text("", &cfg, err, sizeof(err)), 0);
	assert_null(cfg->user);
	assert_int_equal(cfg->user_uid, -1);
	assert_int_equal(cfg->group_gid, -1);
	assert_false(cfg->allow_root);
	config_free(&cfg);
	expect_error("[server]\nuser = no-such-user-here\n", ":8: [server] user: no such system user");
	expect_error("[server]\nuser =\n", "[server] user: no such system user ''");
	expect_error("[server]\ngroup = no-such-group-x\n", "[server] group: no such system group");
	expect_error("[server]\nallow_root = 1\n", "[server] allow_root: '1' is not yes or no");
}

static void test_tls_ctx_errors(void **state)
{
	const char *certs[] = { "/nonexistent/cert.pem" }, *keys[] = { "/nonexistent/key.pem" };
	struct tls_ctx *ctx = NULL;
	char err[512];

	assert_int_equal(tls_ctx_create(certs, keys, 1, "NORMAL", &ctx, err, sizeof(err)), -1);
	assert_null(ctx);
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
	assert_int_equal(tls_ctx_create(certs, keys, 0, "NORMAL", &ctx, err, sizeof(err)), -1);
}

/* Open files travel from the master to a worker and can be read there. */
static void test_ctl_passes_files(void **state)
{
	struct worker_ctl_msg msg = { .kind = WORKER_CTL_TLS, .force = 1 }, got;
	int sv[2], pipes[3][2], fds[3], recvd[WORKER_CTL_MAX_FDS];
	unsigned n;
	char c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(worker_ctl_recv(sv[1], &got, recvd, &n), 0);	/* nothing yet */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pipe(pipes[i]), 0);
		fds[i] = pipes[i][0];
	}
	assert_int_equal(worker_ctl_send(sv[0], &msg, fds, 3), 0);
	for (int i = 0; i < 3; i++) {
		close(pipes[i][0]);	/* only the passed copies are left */
		assert_int_equal(write(pipes[i][1], "abc" + i, 1), 1);
		close(pipes[i][1]);
	}
	assert_int_equal(worker_ctl_recv(sv[1], &got, recvd, &n), 1);
	assert_int_equal(got.kind, WORKER_CTL_TLS);
	assert_int_equal(got.force, 1);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(read(recvd[i], &c, 1), 1);
		assert_int_equal(c, "abc"[i]);
		assert_true(fcntl(recvd[i], F_GETFD) & FD_CLOEXEC);
		close(recvd[i]);
	}
	/* too many files is refused before sending */
	assert_int_equal(worker_ctl_send(sv[0], &msg, fds, WORKER_CTL_MAX_FDS + 1), -1);
	/* a message of the wrong size is a protocol error, its files closed */
	assert_int_equal(send(sv[0], "x", 1, 0), 1);
	assert_int_equal(worker_ctl_recv(sv[1], &got, recvd, &n), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(n, 0);
	/* the master gone */
	close(sv[0]);
	assert_int_equal(worker_ctl_recv(sv[1], &got, recvd, &n), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_pairs),
		cmocka_unit_test(test_tls_errors),
		cmocka_unit_test(test_priority_default_compiles),
		cmocka_unit_test(test_server_user_group),
		cmocka_unit_test(test_tls_ctx_errors),
		cmocka_unit_test(test_ctl_passes_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
