#ifndef DUOMAIL_SERVER_H
#define DUOMAIL_SERVER_H
/*
 * One worker process: its event loop, listeners, the objects every session
 * shares (config, user database, TLS credentials) and the list of live
 * connections.  The master process (cmd_serve.c) binds the sockets, forks
 * the workers and restarts one that dies.
 */
#include <stdbool.h>
#include <time.h>

#include "core/config.h"

struct abuse_table;
struct userdb;
struct tls_ctx;
struct conn;
struct conn_handler;

struct server {
	struct config *cfg;
	struct userdb *userdb;		/* users (core/userdb.h) */
	struct tls_ctx *tls;		/* NULL when no certificate is configured */
	/* per-IP and per-user limits and penalties, shared by all workers
	 * (core/abuse_table.h); this worker's counts go in slot worker_index */
	struct abuse_table *abuse;
	unsigned worker_index;
	void *loop;			/* uv_loop_t */
	bool stopping;
	unsigned nconns;
	struct conn *conns;		/* all live connections (intrusive list) */
	time_t started;
};

/* Runs a worker on the already-bound listening sockets fds[kind] (-1 = off),
 * taking over userdb and tls (tls may be NULL), which the master loaded as
 * root, and ctl_fd, the master's reloads (core/worker_ctl.h; -1 = none), and
 * using the master's shared abuse table.  Returns the exit code when it stops. */
int server_worker_run(struct config *cfg, const int fds[LISTEN_COUNT], int worker_index,
		      int ctl_fd, struct userdb *userdb, struct tls_ctx *tls,
		      struct abuse_table *abuse);

/* Creates a connection for a freshly accepted client on listener stream
 * (a uv_stream_t *) and starts it; implicit_tls starts the handshake first. */
void conn_accept(struct server *srv, void *listener, const struct conn_handler *handler,
		 bool implicit_tls);

/* Is there a front end for this listener kind in this build? */
bool server_kind_supported(enum listen_kind kind);

/* Conn list walking for shutdown. */
struct conn *conn_next(const struct conn *c);
void conn_notify_shutdown(struct conn *c);

#endif
