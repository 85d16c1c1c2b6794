/*
 * The HTTP listener's request handling (core/admin_http.c), the autoconfig
 * XML and the RFC 6186 records (core/autoconfig.c), from a config, without
 * a server: status codes for each kind of bad request (RFC 9110, RFC 9112),
 * and what each document offers.
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

#include "core/admin_http.h"
#include "core/autoconfig.h"
#include "core/config.h"

static struct config *cfg;

static int setup(void **state)
{
	char path[] = "/tmp/duomail-test-http-XXXXXX", err[256];
	const char *text = "[server]\nhostname = mail.example.net\n"
			   "[listen]\nimaps = 127.0.0.1:993\nimap = 127.0.0.1:143\n"
			   "pop3 = 127.0.0.1:110\nhttp = 127.0.0.1:8080\n"
			   "[tls]\ncert = /c.pem\nkey = /k.pem\n"
			   "[auth]\npasswd_file = /users\n[store]\nroot = /mail\n";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (config_load(path, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	config_free(&cfg);
	return 0;
}

/* The status code of the answer to req, and a copy of the whole answer. */
static int status_of(const char *req, char **resp_r)
{
	size_t len;
	char *resp = admin_http_respond(cfg, req, strlen(req), &len);
	char *copy;
	int code;

	assert_true(len > 12);
	assert_memory_equal(resp, "HTTP/1.1 ", 9);
	/* The answer is bytes with a length, not a C string: copy it with a
	 * terminator before reading numbers or searching it. */
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, resp, len);
	copy[len] = '\0';
	free(resp);
	code = atoi(copy + 9);
	if (resp_r != NULL)
		*resp_r = copy;
	else
		free(copy);
	return code;
}

static void test_statuses(void **state)
{
	static const struct { const char *req; int code; } cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200 },		/* 1.0 needs no Host */
		{ "GET /metrics HTTP/1.1\nHost: a\n\n", 200 },		/* bare LF, RFC 9112 §2.2 */
		{ "\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 200 },	/* RFC 9112 §2.2 */
		{ "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 200 },
		{ "HEAD /mail/config-v1.1.xml HTTP/1.1\r\nHost: a\r\n\r\n", 200 },
		{ "GET /.well-known/autoconfig/mail/config-v1.1.xml HTTP/1.1\r\nHost: a\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 404 },
		{ "GET /metrics/ HTTP/1.1\r\nHost: a\r\n\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 405 },
		{ "DELETE /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 405 },
		{ "GET /metrics HTTP/1.1\r\n\r\n", 400 },			/* no Host */
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400 },	/* RFC 9112 §5.1 */
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 200 },
		{ "GET metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1 x\r\nHost: a\r\n\r\n", 400 },
		{ "GET /metrics\r\nHost: a\r\n\r\n", 400 },			/* HTTP/0.9 */
		{ "GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
		{ "GET /metrics FTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n", 400 },		/* head not ended */
		{ "", 400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = status_of(cases[i].req, NULL);

		if (code != cases[i].code)
			fail_msg("case %zu (%s): %d, expected %d", i, cases[i].req, code,
				 cases[i].code);
	}
}

static void test_head_and_errors(void **state)
{
	char *resp;

	assert_int_equal(status_of("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &resp), 200);
	assert_non_null(strstr(resp, "Content-Type: application/openmetrics-text"));
	assert_string_equal(strstr(resp, "\r\n\r\n"), "\r\n\r\n");	/* no body */
	free(resp);
	assert_int_equal(status_of("PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", &resp), 405);
	assert_non_null(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
	assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
	free(resp);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &resp), 200);
	assert_non_null(strstr(resp, "\n# EOF\n"));
	free(resp);
}

static void test_too_big(void **state)
{
	size_t n = 9000, len;
	char *req = malloc(n + 1), *resp;

	memset(req, 'a', n);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX: ", 26);
	req[n] = '\0';
	resp = admin_http_respond(cfg, req, n, &len);
	assert_memory_equal(resp, "HTTP/1.1 431 ", 13);
	free(resp);
	free(req);
}

static void test_autoconfig(void **state)
{
	char *resp, *xml;

	/* The domain comes from ?emailaddress= (percent-decoded), else hostname. */
	assert_int_equal(status_of("GET /mail/config-v1.1.xml?emailaddress=bob%40corp.example"
				   " HTTP/1.1\r\nHost: a\r\n\r\n", &resp), 200);
	assert_non_null(strstr(resp, "Content-Type: text/xml"));
	assert_non_null(strstr(resp, "<emailProvider id=\"corp.example\">"));
	free(resp);
	assert_int_equal(status_of("GET /mail/config-v1.1.xml?emailaddress=bob%40<x>"
				   " HTTP/1.1\r\nHost: a\r\n\r\n", &resp), 200);
	assert_non_null(strstr(resp, "<emailProvider id=\"mail.example.net\">"));
	assert_null(strstr(resp, "<x>"));
	free(resp);

	xml = autoconfig_xml(cfg, "example.org");
	/* implicit TLS first, STARTTLS with a certificate, no pop3s listener */
	assert_non_null(strstr(xml, "<incomingServer type=\"imap\">\n"
				    "      <hostname>mail.example.net</hostname>\n"
				    "      <port>993</port>\n      <socketType>SSL</socketType>"));
	assert_true(strstr(xml, "<port>993</port>") < strstr(xml, "<port>143</port>"));
	assert_non_null(strstr(xml, "<port>110</port>\n      <socketType>STARTTLS</socketType>"));
	assert_null(strstr(xml, "<port>995</port>"));
	assert_non_null(strstr(xml, "<username>%EMAILLOCALPART%</username>"));
	free(xml);
	cfg->autoconfig_address = true;
	xml = autoconfig_xml(cfg, "example.org");
	assert_non_null(strstr(xml, "<username>%EMAILADDRESS%</username>"));
	cfg->autoconfig_address = false;
	free(xml);
}

static void test_dns(void **state)
{
	char *text;

	assert_int_equal(autoconfig_dns(cfg, "example.org", &text), 0);
	/* RFC 6186 §3.1, §3.2; §4: "." for a service that is not offered */
	assert_non_null(strstr(text, "_imaps._tcp.example.org.\t3600\tIN\tSRV\t0 1 993 mail.example.net.\n"));
	assert_non_null(strstr(text, "_imap._tcp.example.org.\t3600\tIN\tSRV\t10 1 143 mail.example.net.\n"));
	assert_non_null(strstr(text, "_pop3s._tcp.example.org.\t3600\tIN\tSRV\t0 0 0 .\n"));
	assert_non_null(strstr(text, "_pop3._tcp.example.org.\t3600\tIN\tSRV\t30 1 110 mail.example.net.\n"));
	assert_non_null(strstr(text, "autoconfig.example.org.\t3600\tIN\tCNAME\tmail.example.net.\n"));
	assert_non_null(strstr(text, "port 8080"));	/* not 80: said so */
	free(text);
	assert_int_equal(autoconfig_dns(cfg, "bad domain", &text), -1);
	assert_int_equal(autoconfig_dns(cfg, "a..b", &text), -1);
	assert_int_equal(autoconfig_dns(cfg, "-a.b", &text), -1);
	assert_int_equal(autoconfig_dns(cfg, "a-.b", &text), -1);
	assert_int_equal(autoconfig_dns(cfg, "", &text), -1);
	assert_true(autoconfig_domain_valid("xn--bcher-kva.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_head_and_errors),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_autoconfig),
		cmocka_unit_test(test_dns),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
