/* Load generator connections: TCP, optional GnuTLS, lines; see lg_conn.h. */
#include "lg_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LG_MAX_LINE (1u << 20)
#define LG_MAX_TLS_IN (1u << 20)

/* One loop thread: every read is handled before the next, so one buffer
 * for ciphertext and one for decrypted data serve all connections (10,000
 * idlers must not cost 64 KiB each here). */
static char read_space[65536];
static char plain_space[65536];

struct write_req {
	uv_write_t req;
	char data[];
};

static void fail(struct lg_conn *c)
{
	c->error = true;
	lg_conn_close(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct lg_conn *c = req->data;
	free(req);
	if (status < 0 && !c->closing)
		fail(c);
}

/* Bytes for the socket: what the kernel takes now, the rest queued. */
static void raw_send(struct lg_conn *c, const char *data, size_t len)
{
	if (c->closing || len == 0)
		return;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n > 0) {
		data += n;
		len -= (size_t)n;
		if (len == 0)
			return;
	} else if (n != UV_EAGAIN && n != UV_ENOSYS) {
		fail(c);
		return;
	}
	struct write_req *w = malloc(sizeof(*w) + len);
	if (!w) {
		fail(c);
		return;
	}
	memcpy(w->data, data, len);
	w->req.data = c;
	b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		free(w);
		fail(c);
	}
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	raw_send(ptr, data, len);
	return (ssize_t)len;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct lg_conn *c = ptr;
	size_t have = buf_len(&c->tls_in);
	if (have == 0) {
		gnutls_transport_set_errno(c->tls, EAGAIN);
		return -1;
	}
	if (len > have)
		len = have;
	memcpy(data, buf_ptr(&c->tls_in), len);
	buf_consume(&c->tls_in, len);
	return (ssize_t)len;
}

static void feed(struct lg_conn *c, const char *data, size_t len)
{
	c->bytes_in += len;
	while (len > 0 && !c->closing) {
		if (c->skip) {
			size_t take = c->skip < len ? (size_t)c->skip : len;
			c->skip -= take;
			data += take;
			len -= take;
			continue;
		}
		const char *nl = memchr(data, '\n', len);
		if (!nl) {
			if (buf_append(&c->line, data, len) < 0)
				fail(c);
			return;
		}
		size_t part = (size_t)(nl - data);
		const char *l = data;
		size_t ll = part;
		bool joined = buf_len(&c->line) > 0;
		if (joined) {
			if (buf_append(&c->line, data, part) < 0) {
				fail(c);
				return;
			}
			l = buf_ptr(&c->line);
			ll = buf_len(&c->line);
		}
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		data = nl + 1;
		len -= part + 1;
		c->cb(c, LG_CONN_LINE, l, ll);
		if (joined)
			buf_reset(&c->line);
	}
}

static void tls_input(struct lg_conn *c)
{
	/* GnuTLS answers AGAIN after a record it handled itself (a TLS 1.3
	 * session ticket) even when more ciphertext is waiting in tls_in:
	 * go on while there is some. */
	while (c->handshaking) {
		int ret = gnutls_handshake(c->tls);
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
			if (buf_len(&c->tls_in) > 0)
				continue;
			return;
		}
		if (ret < 0) {
			fprintf(stderr, "loadgen: TLS handshake: %s\n", gnutls_strerror(ret));
			fail(c);
			return;
		}
		c->handshaking = false;
		c->cb(c, LG_CONN_READY, NULL, 0);
	}
	while (!c->closing) {
		ssize_t n = gnutls_record_recv(c->tls, plain_space, sizeof(plain_space));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (buf_len(&c->tls_in) > 0 || gnutls_record_check_pending(c->tls) > 0)
				continue;
			return;
		}
		if (n <= 0) {
			fail(c);
			return;
		}
		feed(c, plain_space, (size_t)n);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	*b = uv_buf_init(read_space, sizeof(read_space));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct lg_conn *c = s->data;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		fail(c);
		return;
	}
	if (!c->tls) {
		feed(c, b->base, (size_t)nread);
		return;
	}
	if (buf_append(&c->tls_in, b->base, (size_t)nread) < 0) {
		fail(c);
		return;
	}
	tls_input(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct lg_conn *c = req->data;
	if (c->closing)
		return;
	if (status < 0) {
		fprintf(stderr, "loadgen: connect: %s\n", uv_strerror(status));
		fail(c);
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		fail(c);
		return;
	}
	if (!c->tls) {
		c->cb(c, LG_CONN_READY, NULL, 0);
		return;
	}
	c->handshaking = true;
	tls_input(c);
}

int lg_conn_open(struct lg_conn *c, uv_loop_t *loop, const struct sockaddr *addr,
		 gnutls_certificate_credentials_t cred, lg_conn_cb cb, void *owner)
{
	memset(c, 0, sizeof(*c));
	c->cb = cb;
	c->owner = owner;
	buf_init(&c->line, LG_MAX_LINE);
	buf_init(&c->tls_in, LG_MAX_TLS_IN);
	int ret = uv_tcp_init(loop, &c->tcp);
	if (ret < 0)
		return ret;
	c->open = true;
	c->tcp.data = c;
	uv_tcp_nodelay(&c->tcp, 1);
	if (cred) {
		if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
		    gnutls_set_default_priority(c->tls) < 0 ||
		    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
			fail(c);
			return 0;
		}
		gnutls_transport_set_ptr(c->tls, c);
		gnutls_transport_set_push_function(c->tls, tls_push);
		gnutls_transport_set_pull_function(c->tls, tls_pull);
	}
	c->connect_req.data = c;
	ret = uv_tcp_connect(&c->connect_req, &c->tcp, addr, on_connect);
	if (ret < 0) {
		fprintf(stderr, "loadgen: connect: %s\n", uv_strerror(ret));
		fail(c);
	}
	return 0;
}

void lg_conn_send(struct lg_conn *c, const void *data, size_t len)
{
	if (c->closing)
		return;
	if (!c->tls) {
		raw_send(c, data, len);
		return;
	}
	const char *p = data;
	while (len > 0 && !c->closing) {
		ssize_t n = gnutls_record_send(c->tls, p, len > 16384 ? 16384 : len);
		if (n < 0) {
			fail(c);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

void lg_conn_printf(struct lg_conn *c, const char *fmt, ...)
{
	char small[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		lg_conn_send(c, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		fail(c);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	lg_conn_send(c, big, (size_t)n);
	free(big);
}

void lg_conn_skip(struct lg_conn *c, uint64_t n)
{
	c->skip += n;
}

static void on_close(uv_handle_t *h)
{
	struct lg_conn *c = h->data;
	if (c->tls)
		gnutls_deinit(c->tls);
	c->tls = NULL;
	buf_free(&c->line);
	buf_free(&c->tls_in);
	c->open = false;
	c->cb(c, LG_CONN_CLOSED, NULL, 0);
}

void lg_conn_close(struct lg_conn *c)
{
	if (c->closing || !c->open)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_close);
}
