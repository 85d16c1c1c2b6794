/*
 * A worker process: one libuv loop serving every listener on sockets the
 * master bound.  Several workers accept on the same sockets, so a crash in
 * one takes down only its own sessions.  See server.h.
 */
#include "core/server.h"
#include "core/abuse_table.h"
#include "core/userdb.h"
#include "core/auth.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "core/tls.h"
#include "core/worker_ctl.h"
#include "imap/imap_session.h"
#include "lmtp/lmtp_session.h"
#include "pop3/pop3_session.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define SERVER_STOP_GRACE_MS	15000
#define SERVER_STOP_POLL_MS	50
#define STORE_THREADS		"16"	/* libuv pool threads per worker */

struct listener {
	union {			/* first: the handle casts back */
		uv_tcp_t tcp;
		uv_pipe_t pipe;	/* a unix socket ([listen] lmtp = unix:...) */
	};
	struct server *srv;
	const struct conn_handler *handler;
	bool implicit_tls;
	bool open;
};

struct worker {
	struct server srv;
	uv_loop_t loop;
	struct listener listeners[LISTEN_COUNT];
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_poll_t ctl;			/* the master's messages (worker_ctl.h) */
	int ctl_fd;
	bool ctl_open;
	uv_timer_t stop_timer;
	uv_work_t warm;
	uint64_t stop_started;
};

/* The front end behind each listener kind; NULL = not built yet. */
static const struct conn_handler *handler_for(enum listen_kind kind, bool *implicit_tls_r)
{
	*implicit_tls_r = kind == LISTEN_POP3S || kind == LISTEN_IMAPS;
	switch (kind) {
	case LISTEN_POP3:
	case LISTEN_POP3S:
		return &pop3_handler;
	case LISTEN_IMAP:
	case LISTEN_IMAPS:
		return &imap_handler;
	case LISTEN_LMTP:
		return &lmtp_handler;
	default:
		return NULL;
	}
}

bool server_kind_supported(enum listen_kind kind)
{
	bool tls;

	return handler_for(kind, &tls) != NULL;
}

static void on_connection(uv_stream_t *s, int status)
{
	struct listener *l = (struct listener *)s;

	if (status < 0) {
		log_warn("accept failed: %s", uv_strerror(status));
		return;
	}
	if (l->srv->stopping)
		return;
	conn_accept(l->srv, s, l->handler, l->implicit_tls);
}

static void close_listeners(struct worker *w)
{
	for (int k = 0; k < LISTEN_COUNT; k++) {
		if (w->listeners[k].open) {
			uv_close((uv_handle_t *)&w->listeners[k].tcp, NULL);
			w->listeners[k].open = false;
		}
	}
}

static void stop_timer_cb(uv_timer_t *t)
{
	struct worker *w = t->data;

	if (w->srv.nconns == 0) {
		uv_timer_stop(t);
		uv_close((uv_handle_t *)&w->stop_timer, NULL);
		return;
	}
	if (uv_now(&w->loop) - w->stop_started > SERVER_STOP_GRACE_MS) {
		/* Sessions that would not finish in time are closed anyway. */
		for (struct conn *c = w->srv.conns; c != NULL; c = conn_next(c))
			conn_close(c);
	}
}

static void begin_stop(struct worker *w)
{
	struct conn *c, *next;

	if (w->srv.stopping)
		return;
	w->srv.stopping = true;
	log_info("worker stopping: %u sessions to finish", w->srv.nconns);
	close_listeners(w);
	if (w->ctl_open) {
		uv_close((uv_handle_t *)&w->ctl, NULL);
		w->ctl_open = false;
	}
	stop_signals_retire((uv_signal_t *const[]){ &w->sig_term, &w->sig_int, &w->sig_hup }, 3);
	for (c = w->srv.conns; c != NULL; c = next) {
		next = conn_next(c);
		conn_notify_shutdown(c);
	}
	w->stop_started = uv_now(&w->loop);
	w->stop_timer.data = w;
	uv_timer_init(&w->loop, &w->stop_timer);
	uv_timer_start(&w->stop_timer, stop_timer_cb, 0, SERVER_STOP_POLL_MS);
}

/* What the master sends: it re-read the files as root and found them good,
 * and hands them over open, so a root-only key or passwd-file works. */
static void apply_ctl(struct worker *w, const struct worker_ctl_msg *msg, const int *fds,
		      unsigned nfds)
{
	struct auth_db *passwd = userdb_passwd(w->srv.userdb);
	char err[512];
	int ret;

	if (msg->kind == WORKER_CTL_USERS && nfds == 1 && passwd != NULL) {
		ret = auth_db_reload_fd(passwd, fds[0], msg->force != 0, err, sizeof(err));
		if (ret < 0)
			log_error("reload: %s (keeping the old user list)", err);
		else if (msg->force)
			log_info("reloaded users");
	} else if (msg->kind == WORKER_CTL_USERDB && nfds == 0) {
		if (userdb_reload(w->srv.userdb, err, sizeof(err)) < 0)
			log_error("reload: %s (keeping the old user list)", err);
		else
			log_info("reloaded users");
	} else if (msg->kind == WORKER_CTL_TLS && w->srv.tls != NULL) {
		if (tls_ctx_reload_fds(w->srv.tls, fds, nfds, err, sizeof(err)) < 0)
			log_error("reload: %s (keeping the old certificate)", err);
		else
			log_info("reloaded certificates");
	} else {
		log_error("master sent message %u with %u files: ignored", msg->kind, nfds);
	}
}

static void ctl_cb(uv_poll_t *h, int status, int events)
{
	struct worker *w = h->data;
	struct worker_ctl_msg msg;
	int fds[WORKER_CTL_MAX_FDS];
	unsigned nfds;
	int ret;

	while ((ret = worker_ctl_recv(w->ctl_fd, &msg, fds, &nfds)) > 0) {
		apply_ctl(w, &msg, fds, nfds);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
	}
	if (ret < 0 || status < 0) {
		/* The master is gone (or broke the protocol): no more reloads. */
		if (status < 0)
			log_error("master channel: %s", uv_strerror(status));
		else if (errno != EPIPE)
			log_error("master channel: %s", strerror(errno));
		uv_close((uv_handle_t *)&w->ctl, NULL);
		w->ctl_open = false;
	}
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct worker *w = h->data;

	/* The master reloads (it may read what we may not) and tells us;
	 * a SIGHUP to the whole process group reaches it too. */
	if (signum == SIGHUP)
		log_debug("SIGHUP: the master reloads");
	else
		begin_stop(w);
}

static int open_listeners(struct worker *w, const int fds[LISTEN_COUNT])
{
	for (int k = 0; k < LISTEN_COUNT; k++) {
		struct listener *l = &w->listeners[k];
		int ret;

		if (fds[k] < 0)
			continue;
		l->handler = handler_for(k, &l->implicit_tls);
		if (l->handler == NULL)
			continue;
		l->srv = &w->srv;
		l->open = true;
		if (w->srv.cfg->listen[k].unix_path[0] != '\0') {
			uv_pipe_init(&w->loop, &l->pipe, 0);
			ret = uv_pipe_open(&l->pipe, fds[k]);
		} else {
			uv_tcp_init(&w->loop, &l->tcp);
			ret = uv_tcp_open(&l->tcp, fds[k]);
		}
		if (ret == 0)
			ret = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
		if (ret < 0) {
			log_error("[listen] %s: %s", listen_kind_name(k), uv_strerror(ret));
			return -1;
		}
	}
	return 0;
}

static void warm_work(uv_work_t *req) { }
static void warm_done(uv_work_t *req, int status) { }

static void walk_close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int server_worker_run(struct config *cfg, const int fds[LISTEN_COUNT], int worker_index,
		      int ctl_fd, struct userdb *userdb, struct tls_ctx *tls,
		      struct abuse_table *abuse)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	int ret = 0;

	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&w->loop);
	w->srv.cfg = cfg;
	w->srv.loop = &w->loop;
	w->srv.started = time(NULL);
	w->srv.userdb = userdb;
	w->srv.tls = tls;
	w->ctl_fd = ctl_fd;
	if (userdb_passwd(userdb) != NULL)
		auth_db_set_handed(userdb_passwd(userdb));
	if (ctl_fd >= 0 && uv_poll_init(&w->loop, &w->ctl, ctl_fd) == 0) {
		w->ctl.data = w;
		w->ctl_open = true;
		uv_poll_start(&w->ctl, UV_READABLE | UV_DISCONNECT, ctl_cb);
	}
	w->srv.abuse = abuse;
	w->srv.worker_index = (unsigned)worker_index;
	/* A worker that died before us in this slot left its connections
	 * counted: they are gone.  (Done here, unprivileged, and not by the
	 * root master, which never touches the table the workers write.) */
	if (abuse != NULL)
		abuse_table_worker_gone(abuse, (unsigned)worker_index);
	if (open_listeners(w, fds) < 0) {
		ret = 2;
		goto out;
	}
	uv_signal_init(&w->loop, &w->sig_term);
	uv_signal_init(&w->loop, &w->sig_int);
	uv_signal_init(&w->loop, &w->sig_hup);
	w->sig_term.data = w->sig_int.data = w->sig_hup.data = w;
	uv_signal_start(&w->sig_term, signal_cb, SIGTERM);
	uv_signal_start(&w->sig_int, signal_cb, SIGINT);
	uv_signal_start(&w->sig_hup, signal_cb, SIGHUP);
	/* Store jobs wait on disk (fsync) and on folder locks that other
	 * processes hold; libuv's default pool of 4 threads then stalls every
	 * session of the worker behind four of them (IMAP mixed, 100 clients:
	 * p50 30 ms).  More threads let the waits overlap; they cost little,
	 * as they are shared by all sessions.  UV_THREADPOOL_SIZE overrides. */
	setenv("UV_THREADPOOL_SIZE", STORE_THREADS, 0);
	/* glibc gives each thread that allocates an arena of its own, and a
	 * big folder's view freed in one is not reused by the next thread:
	 * with 16 pool threads a 100,000-message SELECT left a worker at
	 * twice the memory.  Two arenas keep the loop and the pool apart. */
	mallopt(M_ARENA_MAX, 2);
	/* libuv starts its thread pool at the first job.  Start it now, while
	 * the master's fork left SIGTERM/SIGINT/SIGHUP blocked: the pool
	 * threads keep them blocked for good, so these signals only ever
	 * reach this thread, whose mask begin_stop() controls. */
	uv_queue_work(&w->loop, &w->warm, warm_work, warm_done);
	{
		/* The master forked us with these blocked (cmd_serve.c). */
		sigset_t stop_signals;

		sigemptyset(&stop_signals);
		sigaddset(&stop_signals, SIGTERM);
		sigaddset(&stop_signals, SIGINT);
		sigaddset(&stop_signals, SIGHUP);
		sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
	}
	log_debug("worker %d ready", worker_index);

	uv_run(&w->loop, UV_RUN_DEFAULT);
out:
	/* Whatever is still open (early failure) is closed before the loop is. */
	uv_walk(&w->loop, walk_close_cb, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w->loop) != 0)
		log_error("worker loop did not close cleanly");
	tls_ctx_free(&w->srv.tls);
	/* After the loop closed its handles: the SQL pool's are among them. */
	userdb_close(&w->srv.userdb);
	abuse_table_destroy(&w->srv.abuse);
	free(w);
	return ret;
}
