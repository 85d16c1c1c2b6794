#ifndef DUOMAIL_USERDB_PRIVATE_H
#define DUOMAIL_USERDB_PRIVATE_H
/*
 * Between core/userdb.c (the interface) and the PostgreSQL backend
 * (core/userdb_pgsql.c: settings and blocking lookups,
 * core/userdb_pgsql_pool.c: the connection pool on the event loop,
 * core/userdb_pgsql_row.c: a result row as a user record).
 */
#include "core/userdb.h"

#include <libpq-fe.h>
#include <pthread.h>

struct pg_pool;

struct userdb_pgsql {
	const struct config *cfg;
	struct pg_pool *pool;	/* this worker's, made at its first lookup */
	/* The blocking lookups (CLI); several threads may use them. */
	pthread_mutex_t lock;
	PGconn *blocking;
};

/* Checks the settings; connects nothing yet.  0 or -1 with err. */
int userdb_pgsql_open(const struct config *cfg, struct userdb_pgsql **pg_r, char *err,
		      size_t errlen);
void userdb_pgsql_close(struct userdb_pgsql **pg);
void userdb_pgsql_reload(struct userdb_pgsql *pg);
void userdb_pgsql_lookup_async(struct userdb_pgsql *pg, void *loop, enum userdb_purpose purpose,
			       const char *user, userdb_lookup_cb *cb, void *ctx);
int userdb_pgsql_lookup(struct userdb_pgsql *pg, enum userdb_purpose purpose, const char *user,
			struct userdb_record *rec_r);

/* ---- core/userdb_pgsql_pool.c ---- */
/* Frees the pool (after the loop closed its handles) and sets *pool NULL. */
void userdb_pgsql_pool_free(struct pg_pool **pool);
/* SIGHUP: idle connections are made anew. */
void userdb_pgsql_pool_reload(struct pg_pool *pool);

/* The query to run for purpose. */
const char *userdb_pgsql_query(const struct config *cfg, enum userdb_purpose purpose);

/* libpq's message (ending in a newline, maybe several lines) as one log
 * line in buf. */
const char *userdb_pgsql_one_line(const char *msg, char *buf, size_t len);
/* A PQsetNoticeProcessor() callback: server notices go to the log. */
void userdb_pgsql_notice(void *arg, const char *message);

/* A PGRES_TUPLES_OK result as user's record: columns by name ("password",
 * and the per-user fields of core/policy.h, with or without Dovecot's
 * "userdb_" prefix).  1 one row (*rec_r filled; a value duomail cannot
 * honour is logged and marks it invalid), 0 no row, -1 more than one row
 * (logged). */
int userdb_pgsql_row(const PGresult *res, const char *user, struct userdb_record *rec_r);

#endif
