/*
 * The admin process: its loop, the admin socket's requests and the HTTP
 * listener's connections.  See admin.h for the protocol; the HTTP requests
 * themselves are answered by core/admin_http.c.
 */
#include "core/admin.h"
#include "core/admin_http.h"
#include "core/buf.h"
#include "core/live.h"
#include "core/log.h"
#include "core/stop_signals.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define ADMIN_OUT_MAX		(1u << 20)	/* a trace reader this far behind loses events */
#define ADMIN_REPLY_MAX		(64u << 20)
#define HTTP_MAX_REQUEST	8192
#define HTTP_REQUEST_SECS	10
#define ADMIN_MAX_CLIENTS	256	/* both sockets together; more are closed at once */

#define DEFAULT_ADMIN_DIR	"/run/duomail"

struct admin {
	const struct config *cfg;
	uv_loop_t loop;
	uv_pipe_t unix_listener;
	uv_tcp_t http_listener;
	bool unix_open, http_open;
	uv_signal_t sig_term, sig_int;
	bool stopping;
	struct aconn *conns;	/* open clients, to close them at the stop */
	unsigned nconns;
};

/* One client of either socket. */
struct aconn {
	union {			/* first: the handles cast back */
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	};
	uv_timer_t timer;
	int handles;
	struct admin *a;
	struct aconn *next, *prev;
	bool http;
	bool closing;
	char req[HTTP_MAX_REQUEST + 1];
	size_t reqlen;
	size_t out_pending;	/* bytes handed to uv_write, not yet written */
	/* trace USER */
	bool tracing;
	char trace_user[LIVE_USER_MAX];
	struct live_trace_cursor cursor;
	uint64_t lost;
};

struct awrite {
	uv_write_t req;		/* first */
	struct aconn *c;
	char *mem;
	size_t len;
};

static void aconn_closed(uv_handle_t *h)
{
	struct aconn *c = h->data;

	if (--c->handles > 0)
		return;
	c->a->nconns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->tracing)
		live_trace_stop(c->trace_user);
	free(c);
}

static void aconn_close(struct aconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->pipe, aconn_closed);
	uv_close((uv_handle_t *)&c->timer, aconn_closed);
}

static void write_done(uv_write_t *req, int status)
{
	struct awrite *w = (struct awrite *)req;

	w->c->out_pending -= w->len;
	free(w->mem);
	free(w);
}

static void close_timeout(uv_timer_t *t)
{
	aconn_close(t->data);
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
	struct aconn *c = req->data;

	free(req);
	aconn_close(c);
}

/* Queues len bytes of mem (taken over); close_after: then shut down. */
static void aconn_send(struct aconn *c, char *mem, size_t len, bool close_after)
{
	struct awrite *w;
	uv_buf_t ub;

	if (c->closing) {
		free(mem);
		return;
	}
	if (len > 0) {
		w = xcalloc(1, sizeof(*w));
		w->c = c;
		w->mem = mem;
		w->len = len;
		ub = uv_buf_init(mem, (unsigned)len);
		c->out_pending += len;
		if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &ub, 1, write_done) < 0) {
			c->out_pending -= len;
			free(mem);
			free(w);
			aconn_close(c);
			return;
		}
	} else {
		free(mem);
	}
	if (close_after) {
		uv_shutdown_t *sd = xcalloc(1, sizeof(*sd));

		sd->data = c;
		uv_read_stop((uv_stream_t *)&c->pipe);
		if (uv_shutdown(sd, (uv_stream_t *)&c->pipe, shutdown_done) < 0) {
			free(sd);
			aconn_close(c);
			return;
		}
		/* A peer that never reads is cut off. */
		uv_timer_start(&c->timer, close_timeout, 10000, 0);
	}
}

static void send_buf(struct aconn *c, struct buf *b, bool close_after)
{
	size_t len = buf_len(b);
	char *mem = xmalloc(len + 1);

	memcpy(mem, buf_ptr(b), len);
	buf_free(b);
	aconn_send(c, mem, len, close_after);
}

static void send_error(struct aconn *c, const char *text)
{
	char *line = xasprintf("error %s\n", text);

	aconn_send(c, line, strlen(line), true);
}

/* ---- who ---- */

struct who_ctx {
	struct buf *b;
};

static void who_line(const struct live_info *in, void *arg)
{
	struct who_ctx *w = arg;
	char line[8192] = "", num[32];
	struct buf hashes;

	admin_field_put(line, sizeof(line), "session");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)in->id);
	admin_field_put(line, sizeof(line), num);
	snprintf(num, sizeof(num), "%d", (int)in->pid);
	admin_field_put(line, sizeof(line), num);
	admin_field_put(line, sizeof(line), live_proto_name(in->proto));
	admin_field_put(line, sizeof(line), in->tls ? "yes" : "no");
	snprintf(num, sizeof(num), "%lld", (long long)in->since);
	admin_field_put(line, sizeof(line), num);
	snprintf(num, sizeof(num), "%lld", (long long)in->last_at);
	admin_field_put(line, sizeof(line), num);
	admin_field_put(line, sizeof(line), in->user);
	admin_field_put(line, sizeof(line), in->peer);
	admin_field_put(line, sizeof(line), in->client_id);
	admin_field_put(line, sizeof(line), in->mailbox);
	admin_field_put(line, sizeof(line), in->last_cmd);
	snprintf(num, sizeof(num), "%u", in->pending_count);
	admin_field_put(line, sizeof(line), num);
	buf_init(&hashes, LIVE_PENDING_MAX * 18 + 1);
	for (uint32_t i = 0; i < in->pending_listed && i < LIVE_PENDING_MAX; i++)
		buf_printf(&hashes, "%s%016llx", i ? "," : "", (unsigned long long)in->pending[i]);
	buf_printf(w->b, "%s\t%s\n", line, buf_ptr(&hashes));
	buf_free(&hashes);
}

static void do_who(struct aconn *c, const char *user)
{
	struct buf b;
	struct who_ctx w = { &b };
	uint64_t untracked;

	buf_init(&b, ADMIN_REPLY_MAX);
	buf_printf(&b, "ok\n");
	untracked = live_sessions(user, who_line, &w);
	if (untracked > 0)
		buf_printf(&b, "untracked\t%llu\n", (unsigned long long)untracked);
	buf_printf(&b, "end\n");
	send_buf(c, &b, true);
}

/* ---- stats ---- */

static void do_stats(struct aconn *c)
{
	struct stats_snapshot *snap = xmalloc(sizeof(*snap));
	struct buf b;

	live_stats(snap);
	buf_init(&b, ADMIN_REPLY_MAX);
	buf_printf(&b, "ok\n");
	for (int i = 0; i < STAT_COUNT; i++)
		buf_printf(&b, "counter\t%s\t%s\t%llu\n", stats_counter_defs[i].family,
			   stats_counter_defs[i].labels, (unsigned long long)snap->counters[i]);
	for (unsigned i = 0; i < STATS_ABUSE_EVENTS; i++) {
		uint64_t n;
		const char *name = stats_abuse_event(i, snap, &n);

		buf_printf(&b, "counter\tduomail_abuse_events\tevent=\"%s\"\t%llu\n", name,
			   (unsigned long long)n);
	}
	for (int p = 0; p < LIVE_PROTO_COUNT; p++)
		buf_printf(&b, "sessions\t%s\t%u\n", live_proto_name(p), snap->sessions[p]);
	for (size_t i = 0; i < snap->nhist; i++) {
		const struct stats_hist *h = &snap->hist[i];

		buf_printf(&b, "hist\t%s\t%s\t%llu\t%llu\t", live_proto_name(h->proto), h->name,
			   (unsigned long long)h->count, (unsigned long long)h->sum_us);
		for (int k = 0; k <= STATS_BUCKETS; k++)
			buf_printf(&b, "%s%llu", k ? "," : "", (unsigned long long)h->buckets[k]);
		buf_printf(&b, "\n");
	}
	buf_printf(&b, "workers\t%u\t%u\nend\n", snap->workers_alive, snap->workers);
	free(snap);
	send_buf(c, &b, true);
}

/* ---- trace ---- */

static void trace_line(const struct live_event *ev, struct buf *b)
{
	char line[1024] = "", num[32];

	admin_field_put(line, sizeof(line), "event");
	snprintf(num, sizeof(num), "%lld", (long long)ev->ts_us);
	admin_field_put(line, sizeof(line), num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)ev->session);
	admin_field_put(line, sizeof(line), num);
	admin_field_put(line, sizeof(line), live_proto_name(ev->proto));
	num[0] = ev->dir;
	num[1] = '\0';
	admin_field_put(line, sizeof(line), num);
	admin_field_put(line, sizeof(line), ev->user);
	admin_field_put(line, sizeof(line), ev->text);
	buf_printf(b, "%s\n", line);
}

struct event_batch {
	struct live_event *ev;
	size_t n, cap;
};

static void batch_add(const struct live_event *ev, void *arg)
{
	struct event_batch *b = arg;

	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->ev = xrealloc(b->ev, b->cap * sizeof(*b->ev));
	}
	b->ev[b->n++] = *ev;
}

static int by_time(const void *x, const void *y)
{
	const struct live_event *a = x, *b = y;

	return a->ts_us < b->ts_us ? -1 : a->ts_us > b->ts_us;
}

static void trace_poll(uv_timer_t *t)
{
	struct aconn *c = t->data;
	struct event_batch batch = { 0 };
	struct buf b;
	uint64_t lost;

	if (c->closing)
		return;
	if (c->out_pending > ADMIN_OUT_MAX) {
		/* A reader that does not keep up: leave the events in the
		 * ring; what gets overwritten meanwhile is reported lost. */
		return;
	}
	lost = live_trace_read(&c->cursor, c->trace_user, batch_add, &batch);
	/* Each worker's ring is in order; merged, they are sorted by time
	 * (sessions of one user on two workers interleave). */
	if (batch.n > 1)
		qsort(batch.ev, batch.n, sizeof(*batch.ev), by_time);
	buf_init(&b, ADMIN_REPLY_MAX);
	for (size_t i = 0; i < batch.n; i++)
		trace_line(&batch.ev[i], &b);
	free(batch.ev);
	if (lost > 0)
		buf_printf(&b, "lost\t%llu\n", (unsigned long long)lost);
	if (buf_len(&b) > 0)
		send_buf(c, &b, false);
	else
		buf_free(&b);
}

static void do_trace(struct aconn *c, const char *user)
{
	char *ok;

	if (strlen(user) >= LIVE_USER_MAX) {
		send_error(c, "user name too long");
		return;
	}
	if (live_trace_start(user) < 0) {
		send_error(c, "too many traces running");
		return;
	}
	c->tracing = true;
	snprintf(c->trace_user, sizeof(c->trace_user), "%s", user);
	live_trace_cursor_init(&c->cursor);
	ok = xstrdup("ok\n");
	aconn_send(c, ok, 3, false);
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->timer, trace_poll, ADMIN_TRACE_POLL_MS, ADMIN_TRACE_POLL_MS);
	log_info("admin: trace of %s started", user);
}

/* ---- requests ---- */

static bool user_arg_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void admin_request(struct aconn *c, char *line)
{
	const char *proto = ADMIN_PROTOCOL " ";
	char *words[3] = { NULL, NULL, NULL };
	size_t n = 0;
	char *save = NULL;

	if (strncmp(line, proto, strlen(proto)) != 0) {
		send_error(c, "not " ADMIN_PROTOCOL);
		return;
	}
	for (char *w = strtok_r(line + strlen(proto), " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save)) {
		if (n == 3) {
			send_error(c, "too many arguments");
			return;
		}
		words[n++] = w;
	}
	if (n == 0) {
		send_error(c, "no command");
		return;
	}
	if (n > 1 && !user_arg_ok(words[1])) {
		send_error(c, "bad user name");
		return;
	}
	if (strcmp(words[0], "who") == 0 && n <= 2)
		do_who(c, words[1]);
	else if (strcmp(words[0], "stats") == 0 && n == 1)
		do_stats(c);
	else if (strcmp(words[0], "trace") == 0 && n == 2)
		do_trace(c, words[1]);
	else
		send_error(c, "unknown command or wrong arguments");
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *ub)
{
	struct aconn *c = h->data;
	size_t max = c->http ? HTTP_MAX_REQUEST : ADMIN_MAX_REQUEST;

	if (c->tracing || c->reqlen >= max) {
		/* Nothing more is wanted: read into a scratch area. */
		static char scratch[256];

		*ub = uv_buf_init(scratch, sizeof(scratch));
		return;
	}
	*ub = uv_buf_init(c->req + c->reqlen, (unsigned)(max - c->reqlen));
}

static void http_answer(struct aconn *c)
{
	size_t len;
	char *resp;

	uv_read_stop((uv_stream_t *)&c->tcp);
	resp = admin_http_respond(c->a->cfg, c->req, c->reqlen, &len);
	aconn_send(c, resp, len, true);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *ub)
{
	struct aconn *c = s->data;
	char *nl;

	if (nread < 0) {
		/* The client is gone (for trace: Ctrl-C). */
		aconn_close(c);
		return;
	}
	if (nread == 0 || c->tracing || c->closing || ub->base != c->req + c->reqlen)
		return;
	c->reqlen += (size_t)nread;
	c->req[c->reqlen] = '\0';
	if (c->http) {
		if (memmem(c->req, c->reqlen, "\r\n\r\n", 4) != NULL ||
		    memmem(c->req, c->reqlen, "\n\n", 2) != NULL || c->reqlen >= HTTP_MAX_REQUEST)
			http_answer(c);
		return;
	}
	nl = memchr(c->req, '\n', c->reqlen);
	if (nl == NULL) {
		if (c->reqlen >= ADMIN_MAX_REQUEST) {
			uv_read_stop(s);
			send_error(c, "request too long");
		}
		return;
	}
	*nl = '\0';
	if (nl > c->req && nl[-1] == '\r')
		nl[-1] = '\0';
	if (memchr(c->req, '\0', (size_t)(nl - c->req)) != NULL) {
		send_error(c, "NUL in request");
		return;
	}
	admin_request(c, c->req);
}

static void request_timeout(uv_timer_t *t)
{
	struct aconn *c = t->data;

	if (c->http) {
		/* RFC 9110 §15.5.9: 408 for a request that did not come in time. */
		size_t len;
		char *resp = admin_http_error(408, &len);

		uv_read_stop((uv_stream_t *)&c->tcp);
		aconn_send(c, resp, len, true);
		return;
	}
	send_error(c, "no request in time");
}

/* Only the server's own user (or root) may use the socket; its mode
 * says the same, this also holds if someone loosens the mode. */
static bool peer_allowed(uv_pipe_t *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct admin *a = listener->data;
	bool http = listener == (uv_stream_t *)&a->http_listener;
	struct aconn *c;

	if (status < 0 || a->stopping)
		return;
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->http = http;
	c->next = a->conns;
	if (a->conns)
		a->conns->prev = c;
	a->conns = c;
	a->nconns++;
	if (http)
		uv_tcp_init(&a->loop, &c->tcp);
	else
		uv_pipe_init(&a->loop, &c->pipe, 0);
	uv_timer_init(&a->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->handles = 2;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0) {
		aconn_close(c);
		return;
	}
	if (a->nconns > ADMIN_MAX_CLIENTS) {
		/* Each client is small and times out, but a flood must not
		 * run the admin process out of file descriptors. */
		log_warn("admin: more than %d clients at once, closing one", ADMIN_MAX_CLIENTS);
		aconn_close(c);
		return;
	}
	if (!http && !peer_allowed(&c->pipe)) {
		log_warn("admin: connection from a foreign uid refused");
		aconn_close(c);
		return;
	}
	uv_timer_start(&c->timer, request_timeout,
		       (http ? HTTP_REQUEST_SECS : ADMIN_REQUEST_SECS) * 1000u, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) < 0)
		aconn_close(c);
}

static void walk_close(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct admin *a = h->data;

	if (a->stopping)
		return;
	a->stopping = true;
	stop_signals_retire((uv_signal_t *const[]){ &a->sig_term, &a->sig_int }, 2);
	/* Trace readers and everything else are cut: nothing here needs a
	 * clean end, and the workers are stopping too. */
	uv_stop(&a->loop);
}

int admin_server_run(const struct config *cfg, int admin_fd, int http_fd,
		     struct abuse_table *abuse)
{
	struct admin *a = xcalloc(1, sizeof(*a));
	sigset_t stop_signals;
	int ret = 0;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);	/* nothing to reload */
	a->cfg = cfg;
	live_trace_reset();
	live_set_abuse(abuse);	/* its counters are shown, never changed */
	uv_loop_init(&a->loop);
	if (admin_fd >= 0) {
		uv_pipe_init(&a->loop, &a->unix_listener, 0);
		a->unix_listener.data = a;
		a->unix_open = true;
		if (uv_pipe_open(&a->unix_listener, admin_fd) < 0 ||
		    uv_listen((uv_stream_t *)&a->unix_listener, 64, on_connection) < 0) {
			log_error("admin socket: cannot listen");
			ret = 2;
			goto out;
		}
	}
	if (http_fd >= 0) {
		uv_tcp_init(&a->loop, &a->http_listener);
		a->http_listener.data = a;
		a->http_open = true;
		if (uv_tcp_open(&a->http_listener, http_fd) < 0 ||
		    uv_listen((uv_stream_t *)&a->http_listener, 64, on_connection) < 0) {
			log_error("[listen] http: cannot listen");
			ret = 2;
			goto out;
		}
	}
	uv_signal_init(&a->loop, &a->sig_term);
	uv_signal_init(&a->loop, &a->sig_int);
	a->sig_term.data = a->sig_int.data = a;
	uv_signal_start(&a->sig_term, on_signal, SIGTERM);
	uv_signal_start(&a->sig_int, on_signal, SIGINT);
	/* The master forked us with them blocked (cmd_serve.c). */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
	log_debug("admin process ready");
	uv_run(&a->loop, UV_RUN_DEFAULT);
out:
	for (struct aconn *c = a->conns; c != NULL; c = c->next)
		aconn_close(c);
	uv_walk(&a->loop, walk_close, NULL);
	uv_run(&a->loop, UV_RUN_DEFAULT);
	uv_loop_close(&a->loop);
	free(a);
	return ret;
}

/* ---- the master's part ---- */

int admin_socket_bind(const struct config *cfg, struct unix_listener *l, char *err,
		      size_t errlen)
{
	struct passwd *pw = NULL;
	int fd;

	if (cfg->user != NULL && geteuid() == 0) {
		pw = getpwnam(cfg->user);
		if (pw == NULL) {
			snprintf(err, errlen, "no such system user '%s' ([server] user)", cfg->user);
			return -1;
		}
	}
	if (cfg->admin_socket_default && mkdir(DEFAULT_ADMIN_DIR, 0755) == 0 && pw != NULL &&
	    chown(DEFAULT_ADMIN_DIR, pw->pw_uid, pw->pw_gid) < 0) {
		snprintf(err, errlen, "chown %s: %s", DEFAULT_ADMIN_DIR, strerror(errno));
		return -1;
	}
	fd = unix_listener_bind(l, cfg->admin_socket, 0600, -1, err, errlen);
	if (fd < 0)
		return -1;
	if (pw != NULL && chown(cfg->admin_socket, pw->pw_uid, pw->pw_gid) < 0) {
		snprintf(err, errlen, "chown %s: %s", cfg->admin_socket, strerror(errno));
		close(fd);
		unix_listener_remove(l);
		return -1;
	}
	return fd;
}
