/*
 * The HTTP listener's request parser (core/admin_http.c) and the admin
 * socket's line format (core/admin_wire.c).  The input is a request head
 * as a client sends it.  Checked: every answer is a whole HTTP/1.1
 * response with a status we send, a Content-Length equal to the body that
 * follows (none for HEAD), and a 200 only for GET/HEAD of our three paths;
 * and the input, split into fields, escaped and split again, round-trips.
 */
#include "fuzz_common.h"
#include "core/admin.h"
#include "core/admin_http.h"
#include "core/config.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

static void load_config(void)
{
	const char *text = "[server]\nhostname = mail.example.net\n"
			   "[listen]\nimaps = 127.0.0.1:993\npop3 = 127.0.0.1:110\n"
			   "http = 127.0.0.1:8080\n[tls]\ncert = /c\nkey = /k\n"
			   "[auth]\npasswd_file = /u\n[store]\nroot = /m\n";
	int fd = memfd_create("fuzz-http-config", 0);
	char path[64], err[256];

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	FUZZ_CHECK(config_load(path, &cfg, err, sizeof(err)) == 0);
	close(fd);
}

static void check_http(const uint8_t *data, size_t size)
{
	size_t len, clen;
	char *resp = admin_http_respond(cfg, (const char *)data, size, &len);
	const char *end, *cl;
	int code;

	FUZZ_CHECK(len > 13 && memcmp(resp, "HTTP/1.1 ", 9) == 0);
	resp = realloc(resp, len + 1);
	FUZZ_CHECK(resp != NULL);
	resp[len] = '\0';
	code = atoi(resp + 9);
	FUZZ_CHECK(code == 200 || code == 400 || code == 404 || code == 405 || code == 431 ||
		   code == 505);
	end = strstr(resp, "\r\n\r\n");
	FUZZ_CHECK(end != NULL);
	cl = strstr(resp, "\r\nContent-Length: ");
	FUZZ_CHECK(cl != NULL && cl < end);
	clen = strtoul(cl + 18, NULL, 10);
	/* Empty lines before the request line are skipped (RFC 9112 §2.2). */
	while (size > 0 && (*data == '\r' || *data == '\n')) {
		data++;
		size--;
	}
	if (size >= 5 && memcmp(data, "HEAD ", 5) == 0 && code == 200)
		FUZZ_CHECK((size_t)(end + 4 - resp) == len);
	else
		FUZZ_CHECK((size_t)(end + 4 - resp) + clen == len);
	if (code == 200)
		FUZZ_CHECK((size >= 4 && memcmp(data, "GET ", 4) == 0) ||
			   (size >= 5 && memcmp(data, "HEAD ", 5) == 0));
	free(resp);
}

static void check_wire(const uint8_t *data, size_t size)
{
	/* The input's NUL-free prefix, cut at tabs into fields. */
	size_t n = strnlen((const char *)data, size < 200 ? size : 200);
	/* malloc+memcpy, not strndup: the input has no terminator, and
	 * strict_string_checks makes ASan's strndup look for one. */
	char *in = malloc(n + 1), *orig[16], *fields[16];
	char line[2048] = "";
	size_t count = 0, got;

	FUZZ_CHECK(in != NULL);
	memcpy(in, data, n);
	in[n] = '\0';
	/* The first field must not be empty (admin.h); ours never are. */
	admin_field_put(line, sizeof(line), "x");
	orig[count++] = "x";
	for (char *p = in, *tab; p != NULL && count < 16; p = tab ? tab + 1 : NULL) {
		tab = strchr(p, '\t');
		if (tab != NULL)
			*tab = '\0';
		orig[count++] = p;
		admin_field_put(line, sizeof(line), p);
	}
	FUZZ_CHECK(strchr(line, '\n') == NULL);
	got = admin_fields_split(line, fields, 16);
	FUZZ_CHECK(got == count);
	for (size_t i = 0; i < count; i++)
		FUZZ_CHECK(strcmp(fields[i], orig[i]) == 0);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cfg == NULL)
		load_config();
	check_http(data, size);
	check_wire(data, size);
	return 0;
}
