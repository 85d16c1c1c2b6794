/*
 * The HTTP listener's requests: parse strictly, answer one of three
 * documents or an error.  See admin_http.h.
 */
#include "core/admin_http.h"
#include "core/autoconfig.h"
#include "core/buf.h"
#include "core/live.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_MAX_HEAD 8192

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static char *response(int code, const char *type, const char *body, bool head_only,
		      size_t *len_r)
{
	struct buf b;
	size_t blen = body ? strlen(body) : 0;
	char *out;

	buf_init(&b, 16u << 20);
	buf_printf(&b, "HTTP/1.1 %d %s\r\nServer: duomail\r\nConnection: close\r\n"
		       "Cache-Control: no-store\r\nContent-Length: %zu\r\n",
		   code, reason(code), blen);
	if (code == 405)
		buf_printf(&b, "Allow: GET, HEAD\r\n");
	if (type != NULL)
		buf_printf(&b, "Content-Type: %s\r\n", type);
	buf_printf(&b, "\r\n");
	if (!head_only && blen > 0)
		buf_append(&b, body, blen);
	*len_r = buf_len(&b);
	out = xmalloc(*len_r + 1);
	memcpy(out, buf_ptr(&b), *len_r);
	buf_free(&b);
	return out;
}

char *admin_http_error(int code, size_t *len_r)
{
	return response(code, NULL, NULL, false, len_r);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The domain of ?emailaddress=local@domain (Thunderbird asks so), if it
 * is a valid host name; else NULL. */
static bool query_domain(const char *query, char *out, size_t size)
{
	const char *p = query;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 13 && strncmp(p, "emailaddress=", 13) == 0) {
			char addr[512];
			size_t n = 0;
			const char *at;

			for (size_t i = 13; i < len && n + 1 < sizeof(addr); i++) {
				if (p[i] == '%' && i + 2 < len + 1 && hexval(p[i + 1]) >= 0 &&
				    hexval(p[i + 2]) >= 0) {
					addr[n++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
					i += 2;
				} else {
					addr[n++] = p[i] == '+' ? ' ' : p[i];
				}
			}
			addr[n] = '\0';
			at = strrchr(addr, '@');
			if (at != NULL && autoconfig_domain_valid(at + 1) &&
			    strlen(at + 1) < size) {
				snprintf(out, size, "%s", at + 1);
				return true;
			}
			return false;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static bool token_char(char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

char *admin_http_respond(const struct config *cfg, const char *req, size_t len, size_t *len_r)
{
	char head[HTTP_MAX_HEAD + 1], *line, *save = NULL, *method, *target, *version, *query;
	bool head_only, have_host = false, http11;
	const char *end;
	size_t headlen;

	/* RFC 9112 §2.2: empty lines before the request line are skipped. */
	while (len > 0 && (*req == '\r' || *req == '\n')) {
		req++;
		len--;
	}
	end = memmem(req, len, "\r\n\r\n", 4);
	if (end == NULL) {
		end = memmem(req, len, "\n\n", 2);
		if (end == NULL)
			return admin_http_error(len >= HTTP_MAX_HEAD ? 431 : 400, len_r);
	}
	headlen = (size_t)(end - req);
	if (headlen > HTTP_MAX_HEAD || memchr(req, '\0', headlen) != NULL)
		return admin_http_error(400, len_r);
	memcpy(head, req, headlen);
	head[headlen] = '\0';

	/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
	line = strtok_r(head, "\n", &save);
	if (line == NULL)
		return admin_http_error(400, len_r);
	line[strcspn(line, "\r")] = '\0';
	method = line;
	target = strchr(method, ' ');
	if (target == NULL)
		return admin_http_error(400, len_r);
	*target++ = '\0';
	version = strchr(target, ' ');
	if (version == NULL)
		return admin_http_error(400, len_r);
	*version++ = '\0';
	for (const char *p = method; *p != '\0'; p++)
		if (!token_char(*p))
			return admin_http_error(400, len_r);
	if (method[0] == '\0' || target[0] != '/' || strchr(version, ' ') != NULL)
		return admin_http_error(400, len_r);
	for (const char *p = target; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return admin_http_error(400, len_r);
	if (strncmp(version, "HTTP/", 5) != 0 || strlen(version) != 8 || version[6] != '.')
		return admin_http_error(400, len_r);
	if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0)
		return admin_http_error(505, len_r);
	http11 = strcmp(version, "HTTP/1.1") == 0;

	/* field-line = field-name ":" OWS field-value OWS; no space before ':'
	 * (RFC 9112 §5.1), no obsolete line folding. */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *colon;
		size_t l = strlen(line);

		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return admin_http_error(400, len_r);
		colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			return admin_http_error(400, len_r);
		for (const char *p = line; p < colon; p++)
			if (!token_char(*p))
				return admin_http_error(400, len_r);
		*colon = '\0';
		if (strcasecmp(line, "Host") == 0) {
			if (have_host)
				return admin_http_error(400, len_r);
			have_host = true;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			return admin_http_error(400, len_r);	/* no bodies here */
		} else if (strcasecmp(line, "Content-Length") == 0) {
			const char *v = colon + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			if (strspn(v, "0") == 0 || v[strspn(v, "0")] != '\0')
				return admin_http_error(400, len_r);
		}
	}
	if (http11 && !have_host)
		return admin_http_error(400, len_r);

	head_only = strcmp(method, "HEAD") == 0;
	if (!head_only && strcmp(method, "GET") != 0)
		return admin_http_error(405, len_r);
	query = strchr(target, '?');
	if (query != NULL)
		*query++ = '\0';
	if (strcmp(target, "/metrics") == 0) {
		struct stats_snapshot *snap = xmalloc(sizeof(*snap));
		char *text, *resp;

		live_stats(snap);
		text = stats_openmetrics(snap);
		free(snap);
		resp = response(200, "application/openmetrics-text; version=1.0.0; charset=utf-8",
				text, head_only, len_r);
		free(text);
		return resp;
	}
	if (strcmp(target, "/mail/config-v1.1.xml") == 0 ||
	    strcmp(target, "/.well-known/autoconfig/mail/config-v1.1.xml") == 0) {
		char domain[256];
		char *xml, *resp;

		if (query == NULL || !query_domain(query, domain, sizeof(domain)))
			snprintf(domain, sizeof(domain), "%s", cfg->hostname);
		xml = autoconfig_xml(cfg, domain);
		resp = response(200, "text/xml; charset=utf-8", xml, head_only, len_r);
		free(xml);
		return resp;
	}
	return response(404, NULL, NULL, head_only, len_r);
}
