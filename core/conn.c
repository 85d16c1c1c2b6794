/*
 * Client connections on libuv, with optional GnuTLS.  See conn.h.
 *
 * TLS runs over memory buffers: ciphertext read from the socket goes into
 * tls_in, where GnuTLS's pull callback finds it; the push callback appends
 * ciphertext to tls_out, which is handed to uv_write.  So GnuTLS never
 * touches the socket and never blocks.
 *
 * Lifetime: a conn is freed only after both of its handles (tcp, timer) are
 * closed (libuv's rule); the session learns of it in on_close, just before.
 */
#include "core/conn.h"
#include "core/abuse_table.h"
#include "core/buf.h"
#include "core/live.h"
#include "core/log.h"
#include "core/server.h"
#include "core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define CONN_DEFAULT_MAX_LINE	8192
#define CONN_PIPELINE_ROOM	16384	/* input buffered beyond one line */
#define CONN_OUT_MAX		(32u << 20)
#define CONN_OUT_HIGH		(256u << 10)	/* conn_output_full() above this */
#define CONN_OUT_LOW		(64u << 10)	/* on_drain below this */
#define CONN_TLS_IN_MAX		(64u << 10)
#define CONN_HANDSHAKE_SECS	30
#define CONN_CLOSE_SECS		10
#define CONN_READ_CHUNK		(64u << 10)

enum conn_phase {
	PHASE_HANDSHAKE,	/* implicit TLS, before on_open */
	PHASE_OPEN,
	PHASE_CLOSING,		/* conn_close(): draining output */
	PHASE_CLOSED,		/* handles closing */
};

struct write_req {
	uv_write_t req;		/* first: the uv request casts back */
	struct conn *c;
	char *mem;
	size_t len;
};

struct conn {
	/* A TCP client, or one on a unix socket (LMTP from Postfix): the
	 * stream calls below work on either through the same address. */
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	};
	uv_timer_t timer;
	uv_shutdown_t shutdown_req;
	int handles_open;

	struct server *srv;
	const struct conn_handler *h;
	void *ctx;
	struct conn *next, *prev;	/* srv->conns */

	enum conn_phase phase;
	char id[96];
	char peer_ip[INET6_ADDRSTRLEN];
	bool loopback;

	/* counted in the shared abuse table until closed (abuse_table.h) */
	struct abuse_key ip_key, user_key;
	bool ip_counted, user_counted;
	bool refused;		/* over the per-IP limit: refuse_greeting, close */

	struct buf in;
	size_t max_line;
	size_t taken;		/* bytes of the line last handed out */
	bool skipping;		/* inside an overlong line, up to its LF */
	bool reading;
	bool eof;

	struct buf out;		/* plaintext not yet flushed */
	size_t in_flight;	/* bytes in uv_write requests */
	bool want_drain;

	gnutls_session_t tls;
	struct tls_creds *creds;
	bool tls_handshaking;
	bool tls_implicit;
	struct buf tls_in;
	struct buf tls_out;

	unsigned idle_secs;

	enum live_proto proto;		/* for the counters */
	struct live_session *live;	/* what the admin sees (core/live.h) */
};

static unsigned conn_counter;

static void conn_hard_close(struct conn *c);
static void conn_start_reading(struct conn *c);
static void tls_decrypt(struct conn *c);

/* ---- small accessors ---- */

void conn_set_ctx(struct conn *c, void *ctx) { c->ctx = ctx; }
void *conn_ctx(const struct conn *c) { return c->ctx; }
struct server *conn_server(const struct conn *c) { return c->srv; }
void *conn_loop(const struct conn *c) { return c->srv->loop; }
const char *conn_id(const struct conn *c) { return c->id; }
const char *conn_peer_ip(const struct conn *c) { return c->peer_ip; }
bool conn_is_tls(const struct conn *c) { return c->tls != NULL && !c->tls_handshaking; }
bool conn_is_loopback(const struct conn *c) { return c->loopback; }
bool conn_is_secure(const struct conn *c)
{
	return conn_is_tls(c) || (c->loopback && c->srv->cfg->plaintext_on_loopback);
}
bool conn_is_closing(const struct conn *c) { return c->phase >= PHASE_CLOSING; }

int conn_channel_binding(void *cv, const char *type, unsigned char *buf, size_t size,
			 size_t *len_r)
{
	struct conn *c = cv;
	gnutls_channel_binding_t cbtype;
	gnutls_datum_t cb = { NULL, 0 };
	int ret = -1;

	if (!conn_is_tls(c))
		return -1;
	if (strcmp(type, "tls-exporter") == 0)
		cbtype = GNUTLS_CB_TLS_EXPORTER;
	else if (strcmp(type, "tls-server-end-point") == 0)
		cbtype = GNUTLS_CB_TLS_SERVER_END_POINT;
	else
		return -1;
	if (gnutls_session_channel_binding(c->tls, cbtype, &cb) < 0)
		return -1;
	if (cb.size <= size) {
		memcpy(buf, cb.data, cb.size);
		*len_r = cb.size;
		ret = 0;
	}
	gnutls_free(cb.data);
	return ret;
}
struct conn *conn_next(const struct conn *c) { return c->next; }
struct live_session *conn_live(const struct conn *c) { return c->live; }
size_t conn_input_pending(const struct conn *c) { return buf_len(&c->in) - c->taken; }

void conn_unread(struct conn *c, size_t n)
{
	c->taken -= n < c->taken ? n : c->taken;
}

bool conn_can_start_tls(const struct conn *c)
{
	return c->srv->tls != NULL && c->tls == NULL;
}

/* ---- timer: idle, handshake and close deadlines share one handle ---- */

static void timer_cb(uv_timer_t *t)
{
	struct conn *c = t->data;

	switch (c->phase) {
	case PHASE_HANDSHAKE:
		log_info("%s: TLS handshake timed out", c->id);
		conn_hard_close(c);
		break;
	case PHASE_OPEN:
		if (c->tls_handshaking) {
			log_info("%s: STARTTLS handshake timed out", c->id);
			conn_hard_close(c);
		} else if (c->h->on_timeout) {
			c->h->on_timeout(c);
			conn_flush(c);
		} else {
			conn_close(c);
		}
		break;
	case PHASE_CLOSING:
		conn_hard_close(c);
		break;
	case PHASE_CLOSED:
		break;
	}
}

static void timer_restart(struct conn *c, unsigned secs)
{
	if (c->phase == PHASE_CLOSED)
		return;
	if (secs == 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, timer_cb, (uint64_t)secs * 1000, 0);
}

void conn_set_idle_timeout(struct conn *c, unsigned seconds)
{
	c->idle_secs = seconds;
	if (c->phase == PHASE_OPEN && !c->tls_handshaking)
		timer_restart(c, seconds);
}

/* ---- writing ---- */

static void write_cb(uv_write_t *req, int status)
{
	struct write_req *wr = (struct write_req *)req;
	struct conn *c = wr->c;

	c->in_flight -= wr->len;
	free(wr->mem);
	free(wr);
	if (status < 0) {
		if (status != UV_ECANCELED)
			log_debug("%s: write failed: %s", c->id, uv_strerror(status));
		conn_hard_close(c);
		return;
	}
	if (c->want_drain && c->phase == PHASE_OPEN &&
	    c->in_flight + buf_len(&c->out) < CONN_OUT_LOW) {
		c->want_drain = false;
		if (c->h->on_drain) {
			c->h->on_drain(c);
			conn_flush(c);
		}
	}
}

/* Hands the contents of b to uv_write without copying: the request takes
 * b's memory and b starts over empty. */
static void write_buf(struct conn *c, struct buf *b)
{
	struct write_req *wr;
	uv_buf_t ub;
	int ret;

	if (buf_len(b) == 0)
		return;
	if (c->phase == PHASE_CLOSED) {
		buf_reset(b);
		return;
	}
	wr = xcalloc(1, sizeof(*wr));
	wr->c = c;
	wr->mem = b->data;
	wr->len = b->len;
	ub = uv_buf_init(b->data + b->start, b->len);
	b->data = NULL;
	b->len = b->start = b->cap = 0;
	c->in_flight += wr->len;
	stats_add(STAT_BYTES_OUT_POP3 + c->proto, wr->len);
	ret = uv_write(&wr->req, (uv_stream_t *)&c->tcp, &ub, 1, write_cb);
	if (ret < 0) {
		c->in_flight -= wr->len;
		free(wr->mem);
		free(wr);
		log_debug("%s: write failed: %s", c->id, uv_strerror(ret));
		conn_hard_close(c);
	}
}

void conn_flush(struct conn *c)
{
	if (c->phase == PHASE_CLOSED || buf_len(&c->out) == 0)
		return;
	if (c->tls == NULL) {
		write_buf(c, &c->out);
		return;
	}
	if (c->tls_handshaking)
		return;		/* held until the handshake is done */
	while (buf_len(&c->out) > 0) {
		ssize_t n = gnutls_record_send(c->tls, buf_ptr(&c->out), buf_len(&c->out));

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;	/* our push never blocks; cannot loop forever */
		if (n < 0) {
			log_info("%s: TLS send failed: %s", c->id, gnutls_strerror(n));
			buf_reset(&c->out);
			conn_hard_close(c);
			return;
		}
		buf_consume(&c->out, n);
	}
	write_buf(c, &c->tls_out);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->phase >= PHASE_CLOSING)
		return;
	if (buf_append(&c->out, data, len) < 0) {
		/* Only a producer ignoring conn_output_full() gets here. */
		log_error("%s: output buffer overflow, closing", c->id);
		conn_hard_close(c);
	}
}

void conn_puts(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (c->phase >= PHASE_CLOSING)
		return;
	va_start(ap, fmt);
	ret = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (ret < 0) {
		log_error("%s: output buffer overflow, closing", c->id);
		conn_hard_close(c);
	}
}

bool conn_output_full(struct conn *c)
{
	if (c->in_flight + buf_len(&c->out) + buf_len(&c->tls_out) < CONN_OUT_HIGH)
		return false;
	c->want_drain = true;
	return true;
}

/* ---- TLS glue ---- */

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct conn *c = p;

	if (buf_append(&c->tls_out, data, len) < 0) {
		gnutls_transport_set_errno(c->tls, ENOBUFS);
		return -1;
	}
	return len;
}

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct conn *c = p;
	size_t n = buf_len(&c->tls_in);

	if (n == 0) {
		if (c->eof)
			return 0;
		gnutls_transport_set_errno(c->tls, EAGAIN);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, buf_ptr(&c->tls_in), n);
	buf_consume(&c->tls_in, n);
	/* Room again for ciphertext: resume if we had stopped. */
	conn_start_reading(c);
	return n;
}

static int tls_begin(struct conn *c)
{
	void *session;

	c->creds = tls_creds_get(c->srv->tls);
	if (tls_session_init(c->creds, &session) < 0) {
		tls_creds_unref(&c->creds);
		return -1;
	}
	c->tls = session;
	c->tls_handshaking = true;
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_push_function(c->tls, tls_push);
	gnutls_transport_set_pull_function(c->tls, tls_pull);
	buf_init(&c->tls_in, CONN_TLS_IN_MAX);
	buf_init(&c->tls_out, CONN_OUT_MAX);
	timer_restart(c, CONN_HANDSHAKE_SECS);
	return 0;
}

static void dispatch_input(struct conn *c)
{
	if (c->phase == PHASE_OPEN && !c->tls_handshaking && c->h->on_input) {
		c->h->on_input(c);
		conn_flush(c);
	}
}

static void tls_handshake_step(struct conn *c)
{
	int ret = gnutls_handshake(c->tls);

	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		write_buf(c, &c->tls_out);
		return;
	}
	if (ret < 0) {
		log_info("%s: TLS handshake failed: %s", c->id, gnutls_strerror(ret));
		gnutls_alert_send_appropriate(c->tls, ret);
		write_buf(c, &c->tls_out);
		/* Nothing sensible can be said in the protocol any more. */
		c->phase = PHASE_CLOSING;
		conn_hard_close(c);
		return;
	}
	write_buf(c, &c->tls_out);
	c->tls_handshaking = false;
	live_session_tls(c->live);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char *desc = gnutls_session_get_desc(c->tls);
		log_debug("%s: TLS established: %s", c->id, desc ? desc : "?");
		gnutls_free(desc);
	}
	timer_restart(c, c->idle_secs);
	if (c->phase == PHASE_HANDSHAKE && c->refused) {
		/* Over the per-IP limit: said inside TLS, where the client
		 * expects its greeting. */
		c->phase = PHASE_OPEN;
		conn_puts(c, c->h->refuse_greeting);
		conn_close(c);
		return;
	}
	if (c->phase == PHASE_HANDSHAKE) {
		c->phase = PHASE_OPEN;
		c->h->on_open(c);
	} else if (c->h->on_tls_ready) {
		c->h->on_tls_ready(c);
	}
	conn_flush(c);
	/* The client may have sent its first command right behind Finished. */
	tls_decrypt(c);
	if (conn_input_pending(c) > 0)
		dispatch_input(c);
}

/* Moves decrypted bytes from GnuTLS into the plaintext input buffer, as far
 * as it has room. */
static void tls_decrypt(struct conn *c)
{
	while (c->tls != NULL && !c->tls_handshaking && c->phase < PHASE_CLOSED) {
		size_t room = buf_room(&c->in);
		ssize_t n;

		if (room == 0)
			return;
		if (room > 16384)
			room = 16384;
		n = gnutls_record_recv(c->tls, buf_reserve(&c->in, room), room);
		if (n > 0) {
			buf_commit(&c->in, n);
			continue;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return;
		if (n == GNUTLS_E_REHANDSHAKE) {
			/* Renegotiation is refused; the session goes on. */
			gnutls_alert_send(c->tls, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
			write_buf(c, &c->tls_out);
			continue;
		}
		if (n == GNUTLS_E_WARNING_ALERT_RECEIVED)
			continue;
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
			c->eof = true;
			return;
		}
		log_info("%s: TLS receive failed: %s", c->id, gnutls_strerror(n));
		c->eof = true;
		conn_hard_close(c);
		return;
	}
}

int conn_start_tls(struct conn *c)
{
	if (!conn_can_start_tls(c) || c->phase != PHASE_OPEN)
		return -1;
	conn_flush(c);
	/* RFC 2595 §3.1 / CVE-2011-0411: anything pipelined behind STARTTLS
	 * was sent in the clear and must not run as if protected. */
	if (conn_input_pending(c) > 0)
		log_info("%s: discarding %zu bytes sent after STARTTLS", c->id,
			 conn_input_pending(c));
	buf_reset(&c->in);
	c->taken = 0;
	c->skipping = false;
	if (tls_begin(c) < 0) {
		log_error("%s: cannot start TLS", c->id);
		conn_hard_close(c);
		return 0;
	}
	return 0;
}

/* ---- reading ---- */

/* Every read lands in one buffer per process (one loop per worker, and
 * libuv calls read_cb right after alloc_cb), and only the bytes that came
 * are copied to the connection: an idle connection then holds no 64 KiB
 * read buffer, which is what lets one worker keep 10,000 of them. */
static char read_chunk[CONN_READ_CHUNK];

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *ub)
{
	struct conn *c = h->data;
	struct buf *b = c->tls ? &c->tls_in : &c->in;
	size_t want = buf_room(b);

	if (want > CONN_READ_CHUNK)
		want = CONN_READ_CHUNK;
	if (want == 0) {
		*ub = uv_buf_init(NULL, 0);	/* read_cb gets UV_ENOBUFS */
		return;
	}
	*ub = uv_buf_init(read_chunk, want);
}

/* Drops an input buffer's storage once everything in it was taken (no
 * line handed out is still pointed to then: see conn_getline). */
static void release_if_empty(struct buf *b)
{
	if (buf_len(b) == 0 && b->data != NULL)
		buf_free(b);
}

static void conn_stop_reading(struct conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *ub)
{
	struct conn *c = s->data;
	struct buf *b = c->tls ? &c->tls_in : &c->in;

	if (nread == UV_ENOBUFS || (nread == 0 && ub->base == NULL)) {
		conn_stop_reading(c);
		return;
	}
	if (nread == 0)
		return;		/* EAGAIN */
	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("%s: read failed: %s", c->id, uv_strerror(nread));
		c->eof = true;
		conn_stop_reading(c);
		if (c->tls != NULL && !c->tls_handshaking)
			tls_decrypt(c);
		/* Lines the client sent before leaving still count (say
		 * "QUIT" followed by a half-close); then we close too. */
		dispatch_input(c);
		if (c->phase < PHASE_CLOSING)
			log_info("%s: connection closed by client", c->id);
		conn_close(c);
		return;
	}
	stats_add(STAT_BYTES_IN_POP3 + c->proto, (uint64_t)nread);
	/* alloc_cb offered at most buf_room(b): this cannot fail. */
	if (buf_append(b, ub->base, (size_t)nread) < 0)
		fatal("%s: read past the input buffer's limit", c->id);
	if (c->phase >= PHASE_CLOSING)
		return;
	if (!c->tls_handshaking)
		timer_restart(c, c->idle_secs);
	if (c->tls != NULL) {
		if (c->tls_handshaking) {
			tls_handshake_step(c);
			return;
		}
		tls_decrypt(c);
	}
	if (buf_room(b) == 0)
		conn_stop_reading(c);
	dispatch_input(c);
	release_if_empty(&c->tls_in);
	if (c->taken == 0)
		release_if_empty(&c->in);
}

static void conn_start_reading(struct conn *c)
{
	struct buf *b = c->tls ? &c->tls_in : &c->in;
	int ret;

	if (c->reading || c->eof || c->phase >= PHASE_CLOSING || buf_room(b) == 0)
		return;
	ret = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
	if (ret < 0) {
		log_debug("%s: read start failed: %s", c->id, uv_strerror(ret));
		conn_hard_close(c);
		return;
	}
	c->reading = true;
}

void conn_set_max_line(struct conn *c, size_t max)
{
	c->max_line = max;
	c->in.max = max + 2 + CONN_PIPELINE_ROOM;
}

int conn_getline(struct conn *c, char **line_r, size_t *len_r)
{
	if (c->phase >= PHASE_CLOSING || c->tls_handshaking)
		return 0;
	if (c->taken > 0) {
		buf_consume(&c->in, c->taken);
		c->taken = 0;
	}
	for (;;) {
		char *p = buf_ptr(&c->in);
		size_t n = buf_len(&c->in);
		char *lf = n > 0 ? memchr(p, '\n', n) : NULL;
		size_t linelen;

		if (lf == NULL) {
			if (c->skipping || n > c->max_line + 1) {
				bool was_skipping = c->skipping;

				buf_reset(&c->in);
				c->skipping = true;
				if (!was_skipping)
					return -1;
			}
			/* Decrypt more if GnuTLS holds some; else read more. */
			if (c->tls != NULL && buf_room(&c->in) > 0) {
				size_t before = buf_len(&c->in);

				tls_decrypt(c);
				if (buf_len(&c->in) > before)
					continue;
			}
			conn_start_reading(c);
			return 0;
		}
		linelen = lf - p;
		if (c->skipping) {
			buf_consume(&c->in, linelen + 1);
			c->skipping = false;
			continue;
		}
		c->taken = linelen + 1;
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;
		if (linelen > c->max_line) {
			buf_consume(&c->in, c->taken);
			c->taken = 0;
			return -1;
		}
		p[linelen] = '\0';
		*line_r = p;
		*len_r = linelen;
		return 1;
	}
}

size_t conn_read_bytes(struct conn *c, size_t max, const char **data_r)
{
	size_t n;

	if (c->phase >= PHASE_CLOSING || c->tls_handshaking)
		return 0;
	if (c->taken > 0) {
		buf_consume(&c->in, c->taken);
		c->taken = 0;
	}
	if (buf_len(&c->in) == 0 && c->tls != NULL)
		tls_decrypt(c);
	n = buf_len(&c->in);
	if (n == 0) {
		conn_start_reading(c);
		return 0;
	}
	if (n > max)
		n = max;
	*data_r = buf_ptr(&c->in);
	c->taken = n;	/* consumed at the next call, like a line */
	return n;
}

/* ---- closing ---- */

static void list_remove(struct conn *c)
{
	struct server *srv = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else if (srv->conns == c)
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	srv->nconns--;
}

static void handle_closed_cb(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles_open > 0)
		return;
	list_remove(c);
	if (c->h->on_close && c->ctx != NULL)
		c->h->on_close(c);
	live_session_close(&c->live);
	if (c->ip_counted)
		abuse_conn_close(c->srv->abuse, c->srv->worker_index, &c->ip_key);
	if (c->user_counted)
		abuse_conn_close(c->srv->abuse, c->srv->worker_index, &c->user_key);
	if (c->tls)
		gnutls_deinit(c->tls);
	tls_creds_unref(&c->creds);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->tls_in);
	buf_free(&c->tls_out);
	free(c);
}

static void conn_hard_close(struct conn *c)
{
	if (c->phase == PHASE_CLOSED)
		return;
	c->phase = PHASE_CLOSED;
	conn_stop_reading(c);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->tcp, handle_closed_cb);
	uv_close((uv_handle_t *)&c->timer, handle_closed_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	conn_hard_close(req->data);
}

void conn_close(struct conn *c)
{
	int ret;

	if (c->phase >= PHASE_CLOSING)
		return;
	if (c->phase == PHASE_HANDSHAKE || c->tls_handshaking) {
		conn_hard_close(c);
		return;
	}
	conn_flush(c);
	c->phase = PHASE_CLOSING;
	conn_stop_reading(c);
	if (c->tls != NULL) {
		/* close_notify, without waiting for the peer's (RFC 8446 §6.1
		 * allows a half-close). */
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		write_buf(c, &c->tls_out);
	}
	if (c->phase == PHASE_CLOSED)
		return;
	/* uv_shutdown runs after the queued writes; a peer that never reads
	 * them is cut off by the timer. */
	c->shutdown_req.data = c;
	ret = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb);
	if (ret < 0) {
		conn_hard_close(c);
		return;
	}
	timer_restart(c, CONN_CLOSE_SECS);
}

void conn_notify_shutdown(struct conn *c)
{
	if (c->phase == PHASE_HANDSHAKE || c->tls_handshaking) {
		conn_hard_close(c);
	} else if (c->phase == PHASE_OPEN) {
		if (c->h->on_shutdown)
			c->h->on_shutdown(c);
		else
			conn_close(c);
		conn_flush(c);
	}
}

/* ---- accepting ---- */

static void conn_set_peer(struct conn *c, bool local)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int port = 0;

	if (local) {
		/* A unix socket peer is on this machine, like loopback. */
		strcpy(c->peer_ip, "unix");
		c->loopback = true;
		snprintf(c->id, sizeof(c->id), "%s#%u unix", c->h->name, ++conn_counter);
		return;
	}
	strcpy(c->peer_ip, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, c->peer_ip, sizeof(c->peer_ip));
			port = ntohs(sin->sin_port);
			c->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			const uint8_t *a = sin6->sin6_addr.s6_addr;

			inet_ntop(AF_INET6, &sin6->sin6_addr, c->peer_ip, sizeof(c->peer_ip));
			port = ntohs(sin6->sin6_port);
			c->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
				      (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && a[12] == 127);
		}
	}
	snprintf(c->id, sizeof(c->id), "%s#%u %s%s%s:%d", c->h->name, ++conn_counter,
		 strchr(c->peer_ip, ':') ? "[" : "", c->peer_ip,
		 strchr(c->peer_ip, ':') ? "]" : "", port);
}

/* [server] max_connections_per_ip: counts the connection, or marks it
 * refused when its address (IPv6: its /64) is at the limit. */
static void count_ip(struct conn *c)
{
	unsigned limit = c->srv->cfg->max_connections_per_ip, count;

	if (c->srv->abuse == NULL || abuse_key_ip(c->srv->abuse, c->peer_ip, &c->ip_key) < 0)
		return;
	switch (abuse_conn_open(c->srv->abuse, c->srv->worker_index, &c->ip_key, limit, &count)) {
	case 1:
		c->ip_counted = true;
		break;
	case 0:
		log_warn("%s: refused: %u connections from %s already (max_connections_per_ip)",
			 c->id, count, c->peer_ip);
		abuse_count(c->srv->abuse, ABUSE_EV_IP_LIMIT);
		c->refused = true;
		break;
	default:
		log_warn("%s: abuse table bucket full, %s not counted", c->id, c->peer_ip);
		break;
	}
}

bool conn_count_user(struct conn *c, const char *user)
{
	unsigned limit = c->srv->cfg->max_connections_per_user, count;

	if (c->srv->abuse == NULL || c->user_counted)
		return true;
	abuse_key_user(c->srv->abuse, user, &c->user_key);
	switch (abuse_conn_open(c->srv->abuse, c->srv->worker_index, &c->user_key, limit,
				&count)) {
	case 1:
		c->user_counted = true;
		return true;
	case 0:
		log_warn("%s: login of user=%s refused: %u sessions already "
			 "(max_connections_per_user)", c->id, user, count);
		abuse_count(c->srv->abuse, ABUSE_EV_USER_LIMIT);
		return false;
	default:
		log_warn("%s: abuse table bucket full, user=%s not counted", c->id, user);
		return true;
	}
}

void conn_accept(struct server *srv, void *listener, const struct conn_handler *handler,
		 bool implicit_tls)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	bool local = ((uv_stream_t *)listener)->type == UV_NAMED_PIPE;

	c->srv = srv;
	c->h = handler;
	c->proto = strcmp(handler->name, "imap") == 0 ? LIVE_IMAP :
		   strcmp(handler->name, "lmtp") == 0 ? LIVE_LMTP : LIVE_POP3;
	if (local)
		uv_pipe_init(srv->loop, &c->pipe, 0);
	else
		uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c->timer.data = c;
	uv_timer_init(srv->loop, &c->timer);
	c->handles_open = 2;
	buf_init(&c->out, CONN_OUT_MAX);
	buf_init(&c->in, 0);
	conn_set_max_line(c, CONN_DEFAULT_MAX_LINE);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->phase = implicit_tls ? PHASE_HANDSHAKE : PHASE_OPEN;

	if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
		conn_hard_close(c);
		return;
	}
	conn_set_peer(c, local);
	if (!local)
		uv_tcp_nodelay(&c->tcp, 1);	/* we coalesce writes ourselves */
	if (srv->nconns > srv->cfg->max_connections) {
		log_warn("%s: too many connections (%u), refusing", c->id, srv->nconns - 1);
		conn_hard_close(c);
		return;
	}
	log_debug("%s: connected", c->id);
	{
		/* The record shows the peer as the log names it, without
		 * the "pop3#12 " prefix. */
		const char *peer = strchr(c->id, ' ');

		c->live = live_session_open(c->proto, peer ? peer + 1 : c->peer_ip);
	}
	if (!local && c->h->refuse_greeting != NULL)
		count_ip(c);
	if (c->refused && !implicit_tls) {
		conn_puts(c, c->h->refuse_greeting);
		conn_close(c);
		return;
	}
	if (implicit_tls) {
		c->tls_implicit = true;
		if (tls_begin(c) < 0) {
			log_error("%s: cannot start TLS", c->id);
			conn_hard_close(c);
			return;
		}
	} else {
		c->h->on_open(c);
		conn_flush(c);
	}
	conn_start_reading(c);
}
