/*
 * PostgreSQL as the user database: the connection pool on the event loop.
 *
 * Each worker process has its own pool of [pgsql] pool_size connections,
 * made at its first lookup (a connection must not cross a fork).  Every
 * connection is driven by libpq's non-blocking API: PQconnectStart and
 * PQconnectPoll while connecting, then PQsendQueryParams, PQflush,
 * PQconsumeInput, PQisBusy and PQgetResult, each step when a uv_poll on
 * PQsocket() says the socket is ready.  The user name is always the
 * query's $1 parameter, never part of the SQL text.
 *
 * Lookups wait in a FIFO for a free connection.  Each has one deadline
 * ([pgsql] query_timeout) for queueing and running together; past it the
 * lookup fails with a temporary failure and, if it was running, its
 * connection is dropped (the server may be hung) and made again.
 *
 * A connection that fails or breaks is made again after a backoff that
 * doubles from 100 ms to 5 s.  While no connection is up or being made
 * (the database is down) a lookup fails at once: a client gets "try
 * again later" quickly instead of hanging for the timeout; but at most
 * once a second a lookup first tries to connect, so service resumes with
 * the first login after the database is back, not after the backoff.  A query that
 * broke because its connection did (the server restarted) runs once more
 * on another connection.
 *
 * All handles are unref'd: the pool alone never keeps a stopping worker's
 * loop alive (a session waiting for a lookup does).  The blocking lookup
 * for CLI commands uses one plain connection of its own.
 */#include "core/userdb_private.h"
#include "core/config.h"
#include "core/log.h"

#include <stdint.h>
#include <string.h>
#include <uv.h>

#define PG_BACKOFF_MIN_MS	100
#define PG_BACKOFF_MAX_MS	5000
#define PG_SWEEP_MS		100	/* how often queued lookups check their deadline */
/* While the database is down, a lookup may try a connection at once (not
 * waiting out the backoff) this often: the first login after the server
 * is back works, and a login storm meanwhile is not a connect storm. */
#define PG_EAGER_MS		1000

enum pg_state {
	PG_DOWN,		/* no connection; the timer makes one after the backoff */
	PG_CONNECTING,
	PG_IDLE,
	PG_BUSY,		/* a query runs */
};

struct pg_lookup {
	struct pg_lookup *next;
	enum userdb_purpose purpose;
	char *user;
	userdb_lookup_cb *cb;
	void *ctx;
	uint64_t deadline;	/* uv_now() milliseconds */
	bool retried;		/* ran once on a connection that broke */
	/* the answer, until the finish timer hands it to cb */
	int result;
	struct userdb_record rec;
};

/* The watch of one socket.  PQconnectPoll may move to another socket
 * (another address of the host), and a uv_poll cannot change its fd, so
 * every socket gets its own, freed when it has closed (conn_continue()). */
struct pg_watch {
	uv_poll_t poll;		/* first: the handle casts back */
	struct pg_conn *c;
	int fd;
};

struct pg_conn {
	struct pg_pool *pool;
	unsigned index;
	enum pg_state state;
	PGconn *pg;
	struct pg_watch *watch;
	uv_timer_t timer;	/* backoff, connect timeout or query deadline */
	unsigned backoff_ms;
	uint64_t last_attempt;	/* uv_now() of the last connect */
	struct pg_lookup *job;	/* the running lookup */
	PGresult *result;	/* its first result */
};

struct pg_pool {
	struct userdb_pgsql *db;
	uv_loop_t *loop;
	struct pg_conn *conns;
	unsigned nconns;
	struct pg_lookup *head, **tail;
	struct pg_lookup *finished, **finished_tail;	/* answered, cb not yet run */
	uv_timer_t finish;
	uv_timer_t sweep;
	bool down;		/* logged as unavailable; the next connect says it is back */
};

/* ---- lookups ---- */

static void lookup_free(struct pg_lookup *l)
{
	userdb_record_free(&l->rec);
	free(l->user);
	free(l);
}

/* Runs the callbacks of answered lookups.  They never run inside pool
 * code (or inside userdb_lookup_async() itself): a callback may start
 * the next lookup at once, and the pool is in a consistent state here. */
static void on_finish(uv_timer_t *t)
{
	struct pg_pool *pool = t->data;
	struct pg_lookup *l = pool->finished;

	pool->finished = NULL;
	pool->finished_tail = &pool->finished;
	while (l != NULL) {
		struct pg_lookup *next = l->next;

		l->cb(l->result, l->result > 0 ? &l->rec : NULL, l->ctx);
		lookup_free(l);
		l = next;
	}
}

/* Answers l; rec (on result 1) is moved into it. */
static void lookup_finish(struct pg_pool *pool, struct pg_lookup *l, int result,
			  struct userdb_record *rec)
{
	l->result = result;
	if (result > 0) {
		l->rec = *rec;
		memset(rec, 0, sizeof(*rec));
	}
	l->next = NULL;
	*pool->finished_tail = l;
	pool->finished_tail = &l->next;
	if (!uv_is_active((uv_handle_t *)&pool->finish))
		uv_timer_start(&pool->finish, on_finish, 0, 0);
}

static void on_sweep(uv_timer_t *t);

static void queue_push(struct pg_pool *pool, struct pg_lookup *l, bool front)
{
	if (front) {
		l->next = pool->head;
		pool->head = l;
		if (pool->tail == &pool->head)
			pool->tail = &l->next;
	} else {
		l->next = NULL;
		*pool->tail = l;
		pool->tail = &l->next;
	}
	if (!uv_is_active((uv_handle_t *)&pool->sweep))
		uv_timer_start(&pool->sweep, on_sweep, PG_SWEEP_MS, PG_SWEEP_MS);
}

static struct pg_lookup *queue_pop(struct pg_pool *pool)
{
	struct pg_lookup *l = pool->head;

	if (l != NULL) {
		pool->head = l->next;
		if (pool->head == NULL)
			pool->tail = &pool->head;
		l->next = NULL;
	}
	return l;
}

/* Any connection up or on its way? */
static bool pool_reachable(const struct pg_pool *pool)
{
	for (unsigned i = 0; i < pool->nconns; i++)
		if (pool->conns[i].state != PG_DOWN)
			return true;
	return false;
}

/* The database is gone: nobody in the queue can be answered in time. */
static void fail_queue(struct pg_pool *pool)
{
	struct pg_lookup *l;

	while ((l = queue_pop(pool)) != NULL)
		lookup_finish(pool, l, -1, NULL);
}

static void start_query(struct pg_conn *c, struct pg_lookup *l);

static void pool_dispatch(struct pg_pool *pool)
{
	for (unsigned i = 0; i < pool->nconns && pool->head != NULL; i++)
		if (pool->conns[i].state == PG_IDLE)
			start_query(&pool->conns[i], queue_pop(pool));
	if (pool->head != NULL && !pool_reachable(pool))
		fail_queue(pool);
}

/* ---- sockets ---- */

static void watch_closed(uv_handle_t *h)
{
	free(h);
}

static void unwatch(struct pg_conn *c)
{
	if (c->watch != NULL) {
		uv_close((uv_handle_t *)&c->watch->poll, watch_closed);
		c->watch = NULL;
	}
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Watches the connection's current socket for events (UV_READABLE...). */
static int watch(struct pg_conn *c, int events)
{
	int fd = PQsocket(c->pg);

	if (fd < 0)
		return -1;
	if (c->watch != NULL && c->watch->fd != fd)
		unwatch(c);
	if (c->watch == NULL) {
		struct pg_watch *w = xcalloc(1, sizeof(*w));

		if (uv_poll_init(c->pool->loop, &w->poll, fd) < 0) {
			free(w);
			return -1;
		}
		uv_unref((uv_handle_t *)&w->poll);
		w->c = c;
		w->fd = fd;
		c->watch = w;
	}
	return uv_poll_start(&c->watch->poll, events, on_poll) < 0 ? -1 : 0;
}

/* ---- connections ---- */

static void on_timer(uv_timer_t *t);

/* Closes c's connection and schedules the next; its lookup, if any, runs
 * again elsewhere once (a restarted server) or fails. */
static void conn_down(struct pg_conn *c, const char *why)
{
	struct pg_pool *pool = c->pool;
	struct pg_lookup *l = c->job;
	bool was_up = c->state == PG_IDLE || c->state == PG_BUSY;
	char buf[512];

	/* why may be libpq's own message, which PQfinish() frees. */
	why = userdb_pgsql_one_line(why, buf, sizeof(buf));
	unwatch(c);
	uv_timer_stop(&c->timer);
	PQclear(c->result);
	c->result = NULL;
	PQfinish(c->pg);
	c->pg = NULL;
	c->job = NULL;
	c->state = PG_DOWN;
	if (was_up)
		c->backoff_ms = PG_BACKOFF_MIN_MS;
	uv_timer_start(&c->timer, on_timer, c->backoff_ms, 0);
	c->backoff_ms = c->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : c->backoff_ms * 2;
	if (!pool_reachable(pool) && !pool->down) {
		pool->down = true;
		log_error("pgsql: database unavailable (%s); lookups fail with a temporary "
			  "failure until it is back", why);
	} else {
		log_debug("pgsql: connection %u down: %s", c->index, why);
	}
	if (l != NULL) {
		if (!l->retried && pool_reachable(pool)) {
			l->retried = true;
			queue_push(pool, l, true);
		} else {
			lookup_finish(pool, l, -1, NULL);
		}
	}
	pool_dispatch(pool);
}

static void conn_ready(struct pg_conn *c)
{
	struct pg_pool *pool = c->pool;

	uv_timer_stop(&c->timer);
	if (PQsetnonblocking(c->pg, 1) != 0 || watch(c, UV_READABLE) < 0) {
		conn_down(c, "cannot watch the connection");
		return;
	}
	c->state = PG_IDLE;
	c->backoff_ms = PG_BACKOFF_MIN_MS;
	if (pool->down) {
		pool->down = false;
		log_info("pgsql: database reachable again");
	}
	pool_dispatch(pool);
}

/* One step of the connection handshake. */
static void conn_continue(struct pg_conn *c)
{
	PostgresPollingStatusType step = PQconnectPoll(c->pg);
	int ret = 0;

	/* Trying the next address of the host, libpq closes its socket and
	 * opens another, which may get the same number: a watch kept across
	 * that would wait on a file the kernel no longer polls.  A handshake
	 * is a few steps, so each step gets a fresh watch. */
	unwatch(c);
	switch (step) {
	case PGRES_POLLING_READING:
		ret = watch(c, UV_READABLE);
		break;
	case PGRES_POLLING_WRITING:
		ret = watch(c, UV_WRITABLE);
		break;
	case PGRES_POLLING_OK:
		conn_ready(c);
		return;
	case PGRES_POLLING_FAILED:
	default:
		conn_down(c, PQerrorMessage(c->pg));
		return;
	}
	if (ret < 0)
		conn_down(c, "cannot watch the connection");
}

static void conn_start(struct pg_conn *c)
{
	c->last_attempt = uv_now(c->pool->loop);
	uv_timer_stop(&c->timer);
	c->pg = PQconnectStart(c->pool->db->cfg->pgsql_connect);
	c->state = PG_CONNECTING;
	if (c->pg == NULL) {
		conn_down(c, "out of memory");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_down(c, PQerrorMessage(c->pg));
		return;
	}
	PQsetNoticeProcessor(c->pg, userdb_pgsql_notice, NULL);
	uv_timer_start(&c->timer, on_timer, c->pool->db->cfg->pgsql_timeout_ms, 0);
	/* libpq: after PQconnectStart, act as if PQconnectPoll had said WRITING. */
	if (watch(c, UV_WRITABLE) < 0)
		conn_down(c, "cannot watch the connection");
}

/* ---- queries ---- */

static void start_query(struct pg_conn *c, struct pg_lookup *l)
{
	const char *params[1] = { l->user };
	const char *sql = userdb_pgsql_query(c->pool->db->cfg, l->purpose);
	uint64_t now = uv_now(c->pool->loop);
	int flushed;

	c->job = l;
	c->state = PG_BUSY;
	/* Text parameters and results: the name goes in as data, $1. */
	if (PQsendQueryParams(c->pg, sql, 1, NULL, params, NULL, NULL, 0) == 0) {
		conn_down(c, PQerrorMessage(c->pg));
		return;
	}
	flushed = PQflush(c->pg);
	if (flushed < 0 || watch(c, flushed == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE) < 0) {
		conn_down(c, PQerrorMessage(c->pg));
		return;
	}
	uv_timer_start(&c->timer, on_timer, l->deadline > now ? l->deadline - now : 1, 0);
}

static void query_done(struct pg_conn *c)
{
	struct pg_lookup *l = c->job;
	PGresult *res = c->result;
	struct userdb_record rec = { 0 };
	char buf[512];
	int result = -1;

	c->result = NULL;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		/* The server went away under the query: try it elsewhere. */
		PQclear(res);
		conn_down(c, PQerrorMessage(c->pg));
		return;
	}
	uv_timer_stop(&c->timer);
	c->job = NULL;
	c->state = PG_IDLE;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
		result = userdb_pgsql_row(res, l->user, &rec);
	} else {
		/* Bad SQL, a missing table, a permission: the admin must see it. */
		log_error("pgsql: the %s failed for user %s: %s",
			  l->purpose == USERDB_LOGIN ? "password_query" : "user_query", l->user,
			  userdb_pgsql_one_line(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c->pg),
				   buf, sizeof(buf)));
	}
	PQclear(res);
	lookup_finish(c->pool, l, result, &rec);
	pool_dispatch(c->pool);
}

/* The socket is ready: take what libpq can use now. */
static void busy_io(struct pg_conn *c, int events)
{
	PGresult *r;

	if (events & UV_WRITABLE) {
		int flushed = PQflush(c->pg);

		if (flushed < 0 || (flushed == 0 && watch(c, UV_READABLE) < 0)) {
			conn_down(c, PQerrorMessage(c->pg));
			return;
		}
	}
	if (!(events & UV_READABLE))
		return;
	if (PQconsumeInput(c->pg) == 0) {
		conn_down(c, PQerrorMessage(c->pg));
		return;
	}
	while (PQisBusy(c->pg) == 0) {
		r = PQgetResult(c->pg);
		if (r == NULL) {
			query_done(c);
			return;
		}
		/* One statement gives one result; keep the first of any more. */
		if (c->result == NULL)
			c->result = r;
		else
			PQclear(r);
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct pg_conn *c = ((struct pg_watch *)h)->c;
	enum pg_state state = c->state;

	/* POLLERR (a refused connect, a reset) comes as UV_EBADF with the
	 * watch stopped.  libpq reads the real error from the socket, and
	 * while connecting it may go on with the next host. */
	if (status < 0)
		events = UV_READABLE | UV_WRITABLE;
	switch (state) {
	case PG_CONNECTING:
		conn_continue(c);
		break;
	case PG_BUSY:
		busy_io(c, events);
		if (status < 0 && c->state == PG_BUSY && watch(c, UV_READABLE) < 0)
			conn_down(c, "cannot watch the connection");
		break;
	case PG_IDLE:
		/* Nothing is asked: input is the server leaving (a restart
		 * sends "terminating connection", then EOF) or a notice. */
		if (PQconsumeInput(c->pg) == 0 || PQstatus(c->pg) == CONNECTION_BAD) {
			conn_down(c, PQerrorMessage(c->pg));
			return;
		}
		while (PQisBusy(c->pg) == 0) {
			PGresult *r = PQgetResult(c->pg);

			if (r == NULL)
				break;
			PQclear(r);
		}
		if (status < 0 && watch(c, UV_READABLE) < 0)
			conn_down(c, "cannot watch the connection");
		break;
	case PG_DOWN:
		break;
	}
}

static void on_timer(uv_timer_t *t)
{
	struct pg_conn *c = t->data;

	switch (c->state) {
	case PG_DOWN:
		conn_start(c);
		break;
	case PG_CONNECTING:
		conn_down(c, "connect timed out");
		break;
	case PG_BUSY:
		/* A hung server or a slow query: answer now, start afresh. */
		log_error("pgsql: lookup of user %s timed out after %u ms", c->job->user,
			  c->pool->db->cfg->pgsql_timeout_ms);
		c->job->retried = true;
		conn_down(c, "query timed out");
		break;
	case PG_IDLE:
		break;
	}
}

/* Queued lookups past their deadline fail (the pool is busy or slow). */
static void on_sweep(uv_timer_t *t)
{
	struct pg_pool *pool = t->data;
	uint64_t now = uv_now(pool->loop);
	struct pg_lookup **pp = &pool->head, *l;

	while ((l = *pp) != NULL) {
		if (l->deadline > now) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		if (pool->tail == &l->next)
			pool->tail = pp;
		log_error("pgsql: lookup of user %s waited %u ms for a free connection",
			  l->user, pool->db->cfg->pgsql_timeout_ms);
		lookup_finish(pool, l, -1, NULL);
	}
	if (pool->head == NULL)
		uv_timer_stop(&pool->sweep);
}

static struct pg_pool *pool_get(struct userdb_pgsql *db, uv_loop_t *loop)
{
	struct pg_pool *pool = db->pool;

	if (pool != NULL)
		return pool;
	pool = xcalloc(1, sizeof(*pool));
	pool->db = db;
	pool->loop = loop;
	pool->tail = &pool->head;
	pool->finished_tail = &pool->finished;
	uv_timer_init(loop, &pool->finish);
	uv_unref((uv_handle_t *)&pool->finish);
	pool->finish.data = pool;
	pool->nconns = db->cfg->pgsql_pool_size;
	pool->conns = xcalloc(pool->nconns, sizeof(*pool->conns));
	uv_timer_init(loop, &pool->sweep);
	uv_unref((uv_handle_t *)&pool->sweep);
	pool->sweep.data = pool;
	db->pool = pool;
	for (unsigned i = 0; i < pool->nconns; i++) {
		struct pg_conn *c = &pool->conns[i];

		c->pool = pool;
		c->index = i;
		c->backoff_ms = PG_BACKOFF_MIN_MS;
		uv_timer_init(loop, &c->timer);
		uv_unref((uv_handle_t *)&c->timer);
		c->timer.data = c;
		c->state = PG_CONNECTING;	/* reachable while the others start */
	}
	for (unsigned i = 0; i < pool->nconns; i++)
		conn_start(&pool->conns[i]);
	return pool;
}

void userdb_pgsql_lookup_async(struct userdb_pgsql *db, void *loop, enum userdb_purpose purpose,
			       const char *user, userdb_lookup_cb *cb, void *ctx)
{
	struct pg_pool *pool = pool_get(db, loop);
	struct pg_lookup *l = xcalloc(1, sizeof(*l));

	l->purpose = purpose;
	l->user = xstrdup(user);
	l->cb = cb;
	l->ctx = ctx;
	l->deadline = uv_now(pool->loop) + db->cfg->pgsql_timeout_ms;
	if (!pool_reachable(pool)) {
		struct pg_conn *c = &pool->conns[0];

		if (uv_now(pool->loop) - c->last_attempt >= PG_EAGER_MS)
			conn_start(c);
	}
	queue_push(pool, l, false);
	pool_dispatch(pool);
}

/* SIGHUP: the idle connections are made anew. */
void userdb_pgsql_pool_reload(struct pg_pool *pool)
{
	/* Busy ones finish their query first and stay: good enough, a
	 * changed password in pg_hba applies to the next connection. */
	for (unsigned i = 0; i < pool->nconns; i++) {
		struct pg_conn *c = &pool->conns[i];

		if (c->state == PG_IDLE) {
			unwatch(c);
			PQfinish(c->pg);
			c->pg = NULL;
			c->state = PG_DOWN;
			c->backoff_ms = PG_BACKOFF_MIN_MS;
			conn_start(c);
		}
	}
}

void userdb_pgsql_pool_free(struct pg_pool **poolp)
{
	struct pg_pool *pool = *poolp;
	struct pg_lookup *l;

	if (pool == NULL)
		return;
	/* The loop has stopped and closed every handle (server.c), so the
	 * watches left are ours to free; nobody waits any more. */
	for (unsigned i = 0; i < pool->nconns; i++) {
		free(pool->conns[i].watch);
		PQclear(pool->conns[i].result);
		PQfinish(pool->conns[i].pg);
		if (pool->conns[i].job != NULL)
			lookup_free(pool->conns[i].job);
	}
	while ((l = queue_pop(pool)) != NULL)
		lookup_free(l);
	while ((l = pool->finished) != NULL) {
		pool->finished = l->next;
		lookup_free(l);
	}
	free(pool->conns);
	free(pool);
	*poolp = NULL;
}
