#ifndef DUOMAIL_USERDB_H
#define DUOMAIL_USERDB_H
/*
 * The user database: who exists, their stored password and their per-user
 * fields (core/policy.h: POP3 settings, quota, allowed protocols, Maildir).
 * One interface, two backends chosen by [auth] userdb:
 *
 *   passwd-file  Dovecot's passwd-file (core/auth_db.c), re-read when it
 *                changes and on SIGHUP.  Lookups run on the thread pool.
 *   pgsql        PostgreSQL through libpq (core/userdb_pgsql*.c): in each
 *                worker a pool of [pgsql] pool_size connections driven
 *                by the worker's event loop (non-blocking libpq on a
 *                uv_poll), a queue of waiting lookups, a timeout per
 *                lookup, reconnects with backoff.
 *
 * Results everywhere: 1 found, 0 no such user, -1 temporary failure (the
 * database is down or answered nonsense, or the user's fields are invalid;
 * logged with the reason).  Callers turn -1 into IMAP NO [UNAVAILABLE],
 * POP3 -ERR [SYS/TEMP], LMTP 451 4.3.0, deliver exit 75.
 */
#include "core/policy.h"

#include <stdbool.h>
#include <stddef.h>

struct config;
struct auth_db;
struct userdb;

/* What a lookup is for.  The SQL backend runs [pgsql] password_query for
 * USERDB_LOGIN and [pgsql] user_query for USERDB_USER (LMTP, deliver);
 * the passwd-file has one line for both. */
enum userdb_purpose {
	USERDB_LOGIN,
	USERDB_USER,
};

struct userdb_record {
	char *password;			/* "{SCHEME}hash"; NULL or "" = cannot log in */
	struct user_settings settings;	/* the user's own fields */
	/* The fields are unusable (logged): the user exists, but a login
	 * with the right password and every delivery get a temporary
	 * failure until the admin fixes them.  A wrong password is still
	 * just wrong, so the answer does not tell that the user exists. */
	bool invalid;
};

void userdb_record_free(struct userdb_record *rec);

/* Opens the backend cfg names.  It keeps a pointer to cfg (which must
 * outlive it).  The SQL backend only checks its settings here: connections
 * are made by each worker at its first lookup.  0, or -1 with a one-line
 * message in err. */
int userdb_open(const struct config *cfg, struct userdb **db_r, char *err, size_t errlen);
/* A passwd-file database without a config (unit tests). */
int userdb_open_passwd(const char *path, struct userdb **db_r, char *err, size_t errlen);
/* Frees everything, connections included.  In a worker, call it after the
 * event loop has stopped and its handles are closed (server.c does). */
void userdb_close(struct userdb **db);

/* SIGHUP: the passwd-file is re-read now (on error the old data stays and
 * -1 is returned); the SQL pool drops its idle connections, so a changed
 * pg_hba or password takes effect. */
int userdb_reload(struct userdb *db, char *err, size_t errlen);

/* The passwd-file behind db, or NULL for another backend.  A login looks
 * a passwd-file up in its verification job (core/login.c): a search in
 * memory needs no trip of its own. */
struct auth_db *userdb_passwd(struct userdb *db);

/*
 * Looks user up without blocking loop (a uv_loop_t *): cb runs later on
 * the loop thread, exactly once, with result 1/0/-1 and on 1 the record
 * (the callee owns it: take what you need, or move it out and zero it).
 * This is also what a SASL mechanism calls to get a user's stored secret
 * (purpose USERDB_LOGIN).  A lookup cannot be cancelled; a caller whose
 * session ends meanwhile just ignores the answer.
 */
typedef void userdb_lookup_cb(int result, struct userdb_record *rec, void *ctx);
void userdb_lookup_async(struct userdb *db, void *loop, enum userdb_purpose purpose,
			 const char *user, userdb_lookup_cb *cb, void *ctx);

/* The same, blocking: for CLI commands such as `duomail deliver`, never
 * on an event loop thread.  Thread-safe (the SQL backend uses one plain
 * connection per process for these, one lookup at a time, bounded by
 * query_timeout on the server's side).  On 1, *rec_r is filled (free
 * with userdb_record_free()). */
int userdb_lookup(struct userdb *db, enum userdb_purpose purpose, const char *user,
		  struct userdb_record *rec_r);

#endif
