/*
 * The passwd-file user database (Dovecot's format) and the password checks
 * built on it.  The parsed file is an immutable snapshot behind a mutex:
 * lookups copy what they need under the lock and verify outside it, so a
 * slow hash never holds up another thread, and a reload just swaps the
 * snapshot.  The file is re-read when it changes (checked at most once a
 * second) and on SIGHUP.
 */
#include "core/auth.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/userdb.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct auth_user {
	char *name;
	char *password;		/* "{SCHEME}hash" */
	char *fields;		/* uid:gid:gecos:home:shell:extra, kept for later use */
	unsigned lineno;
	struct user_settings settings;	/* from the extra field */
	char *settings_error;	/* why the extra field is unusable, or NULL */
};

/* Extra fields that are not duomail's, summed up once per load. */
struct unknown_field {
	char *name;
	unsigned first_line, count;
};

struct unknown_fields {
	struct unknown_field *v;
	size_t count;
	unsigned lineno;	/* of the line being parsed */
};

struct auth_snapshot {
	struct auth_user *users;	/* sorted by name */
	size_t count;
	struct stat st;		/* of the file it was read from */
	unsigned common_mechs;	/* AUTH_MECH_* every user can use */
};

struct auth_db {
	char *path;
	pthread_mutex_t lock;
	struct auth_snapshot *snap;
	time_t last_check;
	struct stat failed_st;	/* the file as it was when it last failed to load */
	bool handed;		/* the master hands us the file (auth_db_set_handed) */
};

static void user_free(struct auth_user *u)
{
	explicit_bzero(u->password, strlen(u->password));
	free(u->name);
	free(u->password);
	free(u->fields);
	free(u->settings_error);
	user_settings_free(&u->settings);
}

static void snapshot_free(struct auth_snapshot *snap)
{
	if (snap == NULL)
		return;
	for (size_t i = 0; i < snap->count; i++)
		user_free(&snap->users[i]);
	free(snap->users);
	free(snap);
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct auth_user *)a)->name, ((const struct auth_user *)b)->name);
}

static int cmp_user_line(const void *a, const void *b)
{
	const struct auth_user *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

static bool user_name_ok(const char *name)
{
	if (name[0] == '\0' || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == '/' || *p == 0x7f)
			return false;
	return true;
}

static void note_unknown(const char *key, size_t len, void *ctx)
{
	struct unknown_fields *uf = ctx;

	for (size_t i = 0; i < uf->count; i++) {
		if (strlen(uf->v[i].name) == len && memcmp(uf->v[i].name, key, len) == 0) {
			uf->v[i].count++;
			return;
		}
	}
	/* A bounded summary: a file full of odd names is not a log flood. */
	if (uf->count == 32)
		return;
	uf->v = xrealloc(uf->v, (uf->count + 1) * sizeof(*uf->v));
	uf->v[uf->count].name = xstrndup(key, len);
	uf->v[uf->count].first_line = uf->lineno;
	uf->v[uf->count].count = 1;
	uf->count++;
}

/* The extra field is what follows uid:gid:gecos:home:shell; it may hold
 * ':' itself (Dovecot's quota_rule=*:storage=1G). */
static void parse_settings(const char *path, struct auth_user *u, struct unknown_fields *uf)
{
	const char *extra = u->fields;
	char err[256];

	for (int i = 0; i < 5 && extra != NULL; i++) {
		extra = strchr(extra, ':');
		if (extra != NULL)
			extra++;
	}
	if (extra == NULL)
		return;
	uf->lineno = u->lineno;
	if (user_extra_parse(extra, &u->settings, note_unknown, uf, err, sizeof(err)) < 0)
		u->settings_error = xasprintf("%s:%u: user %s: %s", path, u->lineno, u->name, err);
}

/* Logs what a load found wrong in extra fields, and frees the summary. */
static void report_settings(const struct auth_snapshot *snap, const char *path,
			    struct unknown_fields *uf)
{
	for (size_t i = 0; i < snap->count; i++)
		if (snap->users[i].settings_error != NULL)
			log_error("%s; this user cannot log in or get mail (temporary failure) "
				  "until it is fixed", snap->users[i].settings_error);
	for (size_t i = 0; i < uf->count; i++) {
		log_info("%s:%u: extra field '%s' is not a duomail setting, ignored (%u line%s)",
			 path, uf->v[i].first_line, uf->v[i].name, uf->v[i].count,
			 uf->v[i].count == 1 ? "" : "s");
		free(uf->v[i].name);
	}
	free(uf->v);
}

/* Reads the open file f (which it closes), named path in messages. */
static int snapshot_read(FILE *f, const char *path, struct auth_snapshot **snap_r, char *err,
			 size_t errlen)
{
	struct auth_snapshot *snap = xcalloc(1, sizeof(*snap));
	struct unknown_fields unknown = { 0 };
	size_t alloc = 0, cap = 0;
	char *line = NULL;
	ssize_t n;
	unsigned lineno = 0;

	fstat(fileno(f), &snap->st);
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *name, *pw, *rest;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (line[strspn(line, " \t")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		name = line;
		pw = strchr(line, ':');
		if (pw == NULL) {
			snprintf(err, errlen, "%s:%u: expected user:password", path, lineno);
			goto fail;
		}
		*pw++ = '\0';
		rest = strchr(pw, ':');
		if (rest != NULL)
			*rest++ = '\0';
		if (!user_name_ok(name)) {
			snprintf(err, errlen, "%s:%u: invalid user name", path, lineno);
			goto fail;
		}
		if (pw[0] != '\0' && !password_scheme_known(pw)) {
			snprintf(err, errlen, "%s:%u: user %s: unknown password scheme", path, lineno,
				 name);
			goto fail;
		}
		/* A value that can never verify is the admin's typo, not a
		 * reason to refuse the whole file: said once, per load. */
		if (pw[0] != '\0' && !password_stored_valid(pw))
			log_error("%s:%u: user %s: the %.*s value is malformed: this user cannot log in",
				  path, lineno, name, (int)strcspn(pw, "}") + 1, pw);
		if (snap->count == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			snap->users = xrealloc(snap->users, alloc * sizeof(*snap->users));
		}
		snap->users[snap->count].name = xstrdup(name);
		snap->users[snap->count].password = xstrdup(pw);
		snap->users[snap->count].fields = xstrdup(rest ? rest : "");
		snap->users[snap->count].lineno = lineno;
		memset(&snap->users[snap->count].settings, 0, sizeof(struct user_settings));
		snap->users[snap->count].settings_error = NULL;
		snap->count++;
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	/* A name listed twice: the first line wins, as in Dovecot. */
	if (snap->count > 0)
		qsort(snap->users, snap->count, sizeof(*snap->users), cmp_user_line);
	size_t kept = 0;
	for (size_t i = 0; i < snap->count; i++) {
		struct auth_user *u = &snap->users[i];

		if (kept > 0 && strcmp(snap->users[kept - 1].name, u->name) == 0) {
			user_free(u);
			continue;
		}
		snap->users[kept++] = *u;
	}
	snap->count = kept;
	snap->common_mechs = snap->count > 0 ? ~0u : 0;
	for (size_t i = 0; i < snap->count; i++)
		snap->common_mechs &=
			auth_mechs_of_secret(password_secret_kind(snap->users[i].password));
	/* A bad extra field refuses that one user, not the whole file: the
	 * others go on working, and a typo is found in the log. */
	for (size_t i = 0; i < snap->count; i++)
		parse_settings(path, &snap->users[i], &unknown);
	report_settings(snap, path, &unknown);
	*snap_r = snap;
	return 0;
fail:
	explicit_bzero(line, cap);
	free(line);
	fclose(f);
	snapshot_free(snap);
	return -1;
}

static int snapshot_load(const char *path, struct auth_snapshot **snap_r, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return snapshot_read(f, path, snap_r, err, errlen);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int auth_db_open(const char *path, struct auth_db **db_r, char *err, size_t errlen)
{
	struct auth_snapshot *snap;
	struct auth_db *db;

	if (snapshot_load(path, &snap, err, errlen) < 0)
		return -1;
	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	db->snap = snap;
	db->last_check = time(NULL);
	pthread_mutex_init(&db->lock, NULL);
	*db_r = db;
	return 0;
}

void auth_db_close(struct auth_db **dbp)
{
	struct auth_db *db = *dbp;

	if (db == NULL)
		return;
	snapshot_free(db->snap);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
	*dbp = NULL;
}

int auth_db_reload(struct auth_db *db, char *err, size_t errlen)
{
	struct auth_snapshot *snap, *old;

	if (snapshot_load(db->path, &snap, err, errlen) < 0)
		return -1;
	pthread_mutex_lock(&db->lock);
	old = db->snap;
	db->snap = snap;
	db->last_check = time(NULL);
	pthread_mutex_unlock(&db->lock);
	snapshot_free(old);
	return 0;
}

void auth_db_set_handed(struct auth_db *db)
{
	db->handed = true;
}

int auth_db_reload_fd(struct auth_db *db, int fd, bool force, char *err, size_t errlen)
{
	struct auth_snapshot *snap, *old;
	struct stat st;
	int copy;
	FILE *f;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", db->path, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&db->lock);
	if (!force && same_file(&st, &db->snap->st)) {
		/* We read this very file ourselves already. */
		pthread_mutex_unlock(&db->lock);
		return 0;
	}
	pthread_mutex_unlock(&db->lock);
	copy = dup(fd);
	if (copy < 0 || lseek(copy, 0, SEEK_SET) < 0 || (f = fdopen(copy, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", db->path, strerror(errno));
		if (copy >= 0)
			close(copy);
		return -1;
	}
	if (snapshot_read(f, db->path, &snap, err, errlen) < 0) {
		pthread_mutex_lock(&db->lock);
		db->failed_st = st;
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	pthread_mutex_lock(&db->lock);
	old = db->snap;
	db->snap = snap;
	db->last_check = time(NULL);
	pthread_mutex_unlock(&db->lock);
	snapshot_free(old);
	if (!force)	/* said as when we notice the change ourselves */
		log_info("%s changed: %zu users", db->path, snap->count);
	return 1;
}

/* Re-reads the file if it changed; called with the lock held. */
static void maybe_reload_locked(struct auth_db *db)
{
	struct auth_snapshot *snap;
	struct stat st;
	time_t now = time(NULL);
	char err[512];

	if (now == db->last_check)
		return;
	db->last_check = now;
	if (stat(db->path, &st) < 0)
		return;
	if (same_file(&st, &db->snap->st) || same_file(&st, &db->failed_st))
		return;
	if (snapshot_load(db->path, &snap, err, sizeof(err)) < 0) {
		db->failed_st = st;	/* do not retry until it changes again */
		/* A file only root may read: the master reads it and hands
		 * it over (auth_db_reload_fd), nothing to report here. */
		if (!(db->handed && errno == EACCES))
			log_error("%s (keeping the previous user list)", err);
		return;
	}
	snapshot_free(db->snap);
	db->snap = snap;
	log_info("%s changed: %zu users", db->path, snap->count);
}

/* The user's entry in the current snapshot (re-read first if the file
 * changed), or NULL.  db->lock held; the entry lives until it is released. */
static struct auth_user *find_user_locked(struct auth_db *db, const char *user)
{
	struct auth_user key = { .name = (char *)user };

	maybe_reload_locked(db);
	if (db->snap->count == 0)
		return NULL;
	return bsearch(&key, db->snap->users, db->snap->count, sizeof(key), cmp_user);
}

static void free_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

int auth_db_lookup(struct auth_db *db, const char *user, struct userdb_record *rec_r)
{
	struct auth_user *u;
	int ret = 0;

	memset(rec_r, 0, sizeof(*rec_r));
	pthread_mutex_lock(&db->lock);
	u = find_user_locked(db, user);
	if (u != NULL) {
		rec_r->password = xstrdup(u->password);
		if (u->settings_error != NULL) {
			log_error("refusing %s: %s", user, u->settings_error);
			rec_r->invalid = true;
		} else {
			user_settings_copy(&rec_r->settings, &u->settings);
		}
		ret = 1;
	}
	pthread_mutex_unlock(&db->lock);
	return ret;
}

enum auth_result auth_verify_stored(const char *stored, const char *password)
{
	if (stored == NULL || stored[0] == '\0') {
		/* An unknown user costs what a wrong password costs. */
		password_verify_dummy(password);
		return AUTH_FAILED;
	}
	return password_verify(stored, password) ? AUTH_OK : AUTH_FAILED;
}

unsigned auth_mechs_of_secret(unsigned kinds)
{
	unsigned mechs = 0;

	if (kinds & AUTH_SECRET_PLAINTEXT)
		mechs |= AUTH_MECH_CRAM_MD5 | AUTH_MECH_SCRAM_SHA1 | AUTH_MECH_SCRAM_SHA256;
	if (kinds & AUTH_SECRET_SCRAM_SHA1)
		mechs |= AUTH_MECH_SCRAM_SHA1;
	if (kinds & AUTH_SECRET_SCRAM_SHA256)
		mechs |= AUTH_MECH_SCRAM_SHA256;
	return mechs;
}

unsigned auth_db_common_mechs(struct auth_db *db)
{
	unsigned mechs;

	/* No reload check here: this runs on the loop for every CAPABILITY. */
	pthread_mutex_lock(&db->lock);
	mechs = db->snap->common_mechs;
	pthread_mutex_unlock(&db->lock);
	return mechs;
}

enum auth_result auth_verify_apop_stored(const char *stored, const char *timestamp,
					 const char *digest_hex)
{
	unsigned char md5[16];
	char hex[33];
	char *input;
	const char *secret;
	unsigned char diff = 0;

	if (stored == NULL || !password_is_plaintext(stored, &secret))
		return AUTH_FAILED;
	input = xasprintf("%s%s", timestamp, secret);
	gnutls_hash_fast(GNUTLS_DIG_MD5, input, strlen(input), md5);
	free_secret(&input);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md5[i]);
	if (strlen(digest_hex) != 32)
		return AUTH_FAILED;
	for (int i = 0; i < 32; i++)
		diff |= (unsigned char)(hex[i] ^ digest_hex[i]);
	return diff == 0 ? AUTH_OK : AUTH_FAILED;
}

