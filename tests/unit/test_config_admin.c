/*
 * The admin part of the config: [server] admin_socket, [listen] http,
 * [http] autoconfig_username, with their defaults and errors naming file,
 * line and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static int load(const char *extra, struct config **cfg_r, char *err, size_t errlen)
{
	char path[] = "/tmp/duomail-test-config-XXXXXX", text[1024];
	int fd = mkstemp(path), ret;

	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "[listen]\npop3 = 127.0.0.1:1110\n[auth]\npasswd_file = /u\n"
		 "[store]\nroot = /m\n%s", extra);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ret = config_load(path, cfg_r, err, errlen);
	/* the file name, so errors can be matched without it */
	if (ret < 0) {
		size_t n = strlen(path);

		assert_memory_equal(err, path, n);
		memmove(err, err + n, strlen(err + n) + 1);
	}
	unlink(path);
	return ret;
}

static void test_defaults(void **state)
{
	struct config *cfg;
	char err[256];

	assert_int_equal(load("", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->admin_socket, "/run/duomail/admin.sock");
	assert_true(cfg->admin_socket_default);
	assert_false(cfg->http.enabled);
	assert_false(cfg->autoconfig_address);
	config_free(&cfg);
}

static void test_values(void **state)
{
	struct config *cfg;
	char err[256];

	assert_int_equal(load("[server]\nadmin_socket = /var/run/x/a.sock\n[listen]\n"
			      "http = [::1]:8080\n[http]\nautoconfig_username = address\n",
			      &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->admin_socket, "/var/run/x/a.sock");
	assert_false(cfg->admin_socket_default);
	assert_true(cfg->http.enabled);
	assert_string_equal(cfg->http.host, "::1");
	assert_int_equal(cfg->http.port, 8080);
	assert_true(cfg->autoconfig_address);
	/* http alone is no mail listener: pop3 is still there */
	assert_true(cfg->listen[LISTEN_POP3].enabled);
	config_free(&cfg);
	assert_int_equal(load("[server]\nadmin_socket = off\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->admin_socket, "");
	config_free(&cfg);
}

static void test_errors(void **state)
{
	static const struct { const char *text, *error; } cases[] = {
		{ "[server]\nadmin_socket = rel.sock\n", ":8: [server] admin_socket:" },
		{ "[server]\nadmin_socket = \n", ":8: [server] admin_socket:" },
		{ "[listen]\nhttp = localhost:80\n", ":8: [listen] http:" },
		{ "[listen]\nhttp = 127.0.0.1:0\n", ":8: [listen] http:" },
		{ "[http]\nautoconfig_username = email\n", ":8: [http] autoconfig_username:" },
		{ "[http]\nport = 80\n", ":8: [http] port: unknown key" },
	};
	struct config *cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(cases[i].text, &cfg, err, sizeof(err)), -1);
		if (strncmp(err, cases[i].error, strlen(cases[i].error)) != 0)
			fail_msg("case %zu: '%s', expected '%s'", i, err, cases[i].error);
	}
	/* 107 bytes is the longest unix socket path */
	{
		char text[300];

		snprintf(text, sizeof(text), "[server]\nadmin_socket = /%0107d\n", 0);
		assert_int_equal(load(text, &cfg, err, sizeof(err)), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
