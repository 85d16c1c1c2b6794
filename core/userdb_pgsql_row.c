/*
 * One row of the admin's SELECT as a user record.  Columns are found by
 * name, so the admin writes whatever SELECT fits their schema and renames
 * with AS: "password" is the stored {SCHEME}hash, the others are the
 * per-user fields of core/policy.h (protocols, maildir, quota_storage,
 * quota_messages, quota_rule, pop3_delete, pop3_folders, pop3_retr_seen),
 * each also with Dovecot's "userdb_" prefix.  A NULL column means "not
 * set": the config's default applies.  See userdb_private.h.
 */
#include "core/userdb_private.h"
#include "core/auth.h"
#include "core/log.h"

#include <string.h>

/* Columns an admin's Dovecot query returns that are not fields here. */
static bool ignored_column(const char *name)
{
	static const char *const names[] = { "user", "username", "userdb_user", "uid", "gid",
					     "userdb_uid", "userdb_gid", "home", "userdb_home" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

struct unknown_ctx {
	const char *user;
};

static void note_unknown(const char *key, size_t len, void *arg)
{
	struct unknown_ctx *uc = arg;

	if (!ignored_column(key))
		log_debug("pgsql: user %s: column '%.*s' is not a duomail field, ignored", uc->user,
			  (int)len, key);
}

/* PostgreSQL's boolean type arrives as "t"/"f" in text results. */
#define BOOLOID 16

int userdb_pgsql_row(const PGresult *res, const char *user, struct userdb_record *rec_r)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	const char **keys, **values;
	struct unknown_ctx uc = { user };
	size_t n = 0;
	char err[256];
	int ret = 1;

	memset(rec_r, 0, sizeof(*rec_r));
	if (rows == 0)
		return 0;
	if (rows > 1) {
		/* Two users of one name: which password is right is a guess. */
		log_error("pgsql: the query for user %s returned %d rows, not one", user, rows);
		return -1;
	}
	keys = xcalloc((size_t)cols + 1, sizeof(*keys));
	values = xcalloc((size_t)cols + 1, sizeof(*values));
	for (int c = 0; c < cols; c++) {
		const char *name = PQfname(res, c);
		const char *value = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);

		if (strcmp(name, "password") == 0 || strcmp(name, "userdb_password") == 0) {
			free(rec_r->password);
			rec_r->password = value != NULL ? xstrdup(value) : NULL;
			continue;
		}
		if (value != NULL && PQftype(res, c) == BOOLOID)
			value = strcmp(value, "t") == 0 ? "yes" : "no";
		keys[n] = name;
		values[n] = value;
		n++;
	}
	if (user_extra_parse_pairs(n, keys, values, &rec_r->settings, note_unknown, &uc, err,
				   sizeof(err)) < 0) {
		log_error("pgsql: user %s: column %s; this user cannot log in or get mail "
			  "(temporary failure) until it is fixed", user, err);
		rec_r->invalid = true;
	}
	if (rec_r->password != NULL && rec_r->password[0] != '\0' &&
	    !password_scheme_known(rec_r->password)) {
		/* Nothing can match it: as if the user had no password. */
		log_error("pgsql: user %s: unknown password scheme", user);
		explicit_bzero(rec_r->password, strlen(rec_r->password));
		rec_r->password[0] = '\0';
	}
	free(keys);
	free(values);
	return ret;
}
