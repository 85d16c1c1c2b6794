/*
 * PostgreSQL as the user database (see userdb.h): its settings, and the
 * blocking lookups of CLI commands (`duomail deliver`) on one plain
 * connection of the process.  The servers' lookups go through the
 * non-blocking pool of core/userdb_pgsql_pool.c.
 */
#include "core/userdb_private.h"
#include "core/config.h"
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const char *userdb_pgsql_query(const struct config *cfg, enum userdb_purpose purpose)
{
	if (purpose == USERDB_USER && cfg->pgsql_user_query != NULL)
		return cfg->pgsql_user_query;
	return cfg->pgsql_password_query;
}

/* libpq's messages end in a newline and may span lines: one log line. */
const char *userdb_pgsql_one_line(const char *msg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", msg != NULL && msg[0] != '\0' ? msg : "unknown error");
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--)
		buf[n - 1] = '\0';
	return buf;
}

/* Notices (a WARNING from the server) go to our log, not to stderr raw. */
void userdb_pgsql_notice(void *arg, const char *message)
{
	char buf[512];

	log_info("pgsql: %s", userdb_pgsql_one_line(message, buf, sizeof(buf)));
}

/* ---- open, close, reload ---- */

int userdb_pgsql_open(const struct config *cfg, struct userdb_pgsql **db_r, char *err,
		      size_t errlen)
{
	struct userdb_pgsql *db;

	if (cfg->pgsql_connect == NULL || cfg->pgsql_password_query == NULL) {
		snprintf(err, errlen, "[pgsql] connect and password_query are needed");
		return -1;
	}
	db = xcalloc(1, sizeof(*db));
	db->cfg = cfg;
	pthread_mutex_init(&db->lock, NULL);
	*db_r = db;
	return 0;
}

void userdb_pgsql_reload(struct userdb_pgsql *db)
{
	if (db->pool != NULL)
		userdb_pgsql_pool_reload(db->pool);
}

void userdb_pgsql_close(struct userdb_pgsql **dbp)
{
	struct userdb_pgsql *db = *dbp;

	if (db == NULL)
		return;
	userdb_pgsql_pool_free(&db->pool);
	PQfinish(db->blocking);
	pthread_mutex_destroy(&db->lock);
	free(db);
	*dbp = NULL;
}

/* ---- blocking lookups (CLI) ---- */

static PGresult *exec_blocking(struct userdb_pgsql *db, const char *sql, const char *user)
{
	const char *params[1] = { user };
	char timeout[64];

	if (db->blocking == NULL || PQstatus(db->blocking) != CONNECTION_OK) {
		PQfinish(db->blocking);
		db->blocking = PQconnectdb(db->cfg->pgsql_connect);
		if (db->blocking == NULL || PQstatus(db->blocking) != CONNECTION_OK)
			return NULL;
		PQsetNoticeProcessor(db->blocking, userdb_pgsql_notice, NULL);
		/* No event loop to time it here: the server cancels a slow one. */
		snprintf(timeout, sizeof(timeout), "SET statement_timeout = %u",
			 db->cfg->pgsql_timeout_ms);
		PQclear(PQexec(db->blocking, timeout));
	}
	return PQexecParams(db->blocking, sql, 1, NULL, params, NULL, NULL, 0);
}

int userdb_pgsql_lookup(struct userdb_pgsql *db, enum userdb_purpose purpose, const char *user,
			struct userdb_record *rec_r)
{
	const char *sql = userdb_pgsql_query(db->cfg, purpose);
	PGresult *res;
	char buf[512];
	int ret = -1;

	memset(rec_r, 0, sizeof(*rec_r));
	pthread_mutex_lock(&db->lock);
	res = exec_blocking(db, sql, user);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* A connection kept from an earlier call may have died. */
		PQclear(res);
		res = exec_blocking(db, sql, user);
	}
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		ret = userdb_pgsql_row(res, user, rec_r);
	else
		log_error("pgsql: lookup of user %s failed: %s", user,
			  userdb_pgsql_one_line(res != NULL ? PQresultErrorMessage(res) :
				   db->blocking != NULL ? PQerrorMessage(db->blocking) : "out of memory",
				   buf, sizeof(buf)));
	PQclear(res);
	pthread_mutex_unlock(&db->lock);
	return ret;
}
