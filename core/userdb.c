/*
 * The user database interface: one record per user from whichever backend
 * the config names.  See userdb.h.
 */
#include "core/userdb.h"
#include "core/async.h"
#include "core/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "core/userdb_private.h"

#include <string.h>

struct userdb {
	enum userdb_kind kind;
	struct auth_db *passwd;		/* passwd-file */
	struct userdb_pgsql *pgsql;	/* pgsql */
};

void userdb_record_free(struct userdb_record *rec)
{
	if (rec->password != NULL) {
		explicit_bzero(rec->password, strlen(rec->password));
		free(rec->password);
	}
	user_settings_free(&rec->settings);
	memset(rec, 0, sizeof(*rec));
}

int userdb_open_passwd(const char *path, struct userdb **db_r, char *err, size_t errlen)
{
	struct userdb *db = xcalloc(1, sizeof(*db));

	db->kind = USERDB_PASSWD_FILE;
	if (auth_db_open(path, &db->passwd, err, errlen) < 0) {
		free(db);
		return -1;
	}
	*db_r = db;
	return 0;
}

int userdb_open(const struct config *cfg, struct userdb **db_r, char *err, size_t errlen)
{
	struct userdb *db;

	if (cfg->userdb == USERDB_PASSWD_FILE)
		return userdb_open_passwd(cfg->passwd_file, db_r, err, errlen);
	db = xcalloc(1, sizeof(*db));
	db->kind = USERDB_PGSQL;
	if (userdb_pgsql_open(cfg, &db->pgsql, err, errlen) < 0) {
		free(db);
		return -1;
	}
	*db_r = db;
	return 0;
}

void userdb_close(struct userdb **dbp)
{
	struct userdb *db = *dbp;

	if (db == NULL)
		return;
	auth_db_close(&db->passwd);
	userdb_pgsql_close(&db->pgsql);
	free(db);
	*dbp = NULL;
}

int userdb_reload(struct userdb *db, char *err, size_t errlen)
{
	if (db->kind == USERDB_PGSQL) {
		userdb_pgsql_reload(db->pgsql);
		return 0;
	}
	return auth_db_reload(db->passwd, err, errlen);
}

struct auth_db *userdb_passwd(struct userdb *db)
{
	return db->passwd;
}

int userdb_lookup(struct userdb *db, enum userdb_purpose purpose, const char *user,
		  struct userdb_record *rec_r)
{
	memset(rec_r, 0, sizeof(*rec_r));
	if (db->kind == USERDB_PGSQL)
		return userdb_pgsql_lookup(db->pgsql, purpose, user, rec_r);
	return auth_db_lookup(db->passwd, user, rec_r);
}

/* A passwd-file lookup is a search in memory, but it may re-read the file
 * first (it changed): that is disk I/O, so it runs on the thread pool. */
struct passwd_job {
	struct auth_db *db;
	char *user;
	userdb_lookup_cb *cb;
	void *ctx;
	int result;
	struct userdb_record rec;
};

static void passwd_work(void *arg)
{
	struct passwd_job *j = arg;

	j->result = auth_db_lookup(j->db, j->user, &j->rec);
}

static void passwd_done(void *arg)
{
	struct passwd_job *j = arg;

	j->cb(j->result, j->result > 0 ? &j->rec : NULL, j->ctx);
	userdb_record_free(&j->rec);
	free(j->user);
	free(j);
}

void userdb_lookup_async(struct userdb *db, void *loop, enum userdb_purpose purpose,
			 const char *user, userdb_lookup_cb *cb, void *ctx)
{
	struct passwd_job *j;

	if (db->kind == USERDB_PGSQL) {
		userdb_pgsql_lookup_async(db->pgsql, loop, purpose, user, cb, ctx);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->db = db->passwd;
	j->user = xstrdup(user);
	j->cb = cb;
	j->ctx = ctx;
	async_run(loop, passwd_work, passwd_done, j);
}
