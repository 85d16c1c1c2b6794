/*
 * `duomail user add|passwd|del|list --config FILE ...`: the users of a
 * passwd-file, edited as a file (core/passwd_edit.h: locked, re-read,
 * written whole and atomically, every other line kept).  The running
 * server's workers each re-read the file within a second of the change
 * (core/auth_db.c), so nothing needs a reload.  Only a passwd-file: users
 * of [auth] userdb = pgsql live in the database, which has its own tools.  Passwords come from stdin,
 * never the command line (where `ps` would show them); hashes are made by
 * password_hash(), so every scheme it knows is available with -s.
 */
#include "core/admin_cmd.h"
#include "core/auth.h"
#include "core/cmd_admin.h"
#include "core/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "core/passwd_edit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: duomail user add    --config FILE [-s SCHEME] [--extra FIELDS] USER < password\n"
		"       duomail user passwd --config FILE [-s SCHEME] USER < password\n"
		"       duomail user del    --config FILE USER\n"
		"       duomail user list   --config FILE [--json]\n"
		"Edits the passwd-file of [auth] passwd_file (locked, written atomically, other\n"
		"lines kept).  The password is read from stdin (without echo on a terminal).\n"
		"-s: the scheme (default SHA512-CRYPT, as 'duomail pw').  --extra: the extra\n"
		"field, space-separated key=value settings (pop3_delete=hide quota_storage=1G).\n"
		"del removes the user's lines, not its mail.  Exit: 0 done, 64 usage,\n"
		"2 bad config, 65 bad name or the result would not be a valid file,\n"
		"67 no such user, 73 user exists, 75 file busy or unwritable.\n");
}

struct user_args {
	const char *config, *scheme, *extra, *user;
	bool json;
};

/* The fields after the password of line ("uid:gid:..."), or "" . */
static const char *fields_after_password(const char *line)
{
	const char *p = strchr(line, ':');

	p = p != NULL ? strchr(p + 1, ':') : NULL;
	return p != NULL ? p : "";
}

static char *make_hash(const struct user_args *a)
{
	char err[256], *pw, *hash;

	pw = admin_read_password("user");
	if (pw == NULL)
		return NULL;
	hash = password_hash(a->scheme, pw, err, sizeof(err));
	explicit_bzero(pw, strlen(pw));
	free(pw);
	if (hash == NULL)
		fprintf(stderr, "duomail user: %s\n", err);
	return hash;
}

static int commit(struct passwd_edit **ed)
{
	char err[1024];

	int r = passwd_edit_commit(ed, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "duomail user: %s\n", err);
	return r == 0 ? 0 : r == -1 ? EX_DATAERR : EX_TEMPFAIL;
}

static int do_add(struct passwd_edit *ed, const struct user_args *a)
{
	char *hash, *line;
	int ret;

	if (passwd_edit_find(ed, a->user) >= 0) {
		fprintf(stderr, "duomail user: user '%s' exists already\n", a->user);
		passwd_edit_abort(&ed);
		return EX_CANTCREAT;
	}
	if (a->extra != NULL && strpbrk(a->extra, "\r\n") != NULL) {
		fprintf(stderr, "duomail user: --extra: no line breaks\n");
		passwd_edit_abort(&ed);
		return EX_USAGE;
	}
	hash = make_hash(a);
	if (hash == NULL) {
		passwd_edit_abort(&ed);
		return EX_USAGE;
	}
	line = a->extra != NULL ? xasprintf("%s:%s::::::%s", a->user, hash, a->extra) :
				  xasprintf("%s:%s", a->user, hash);
	passwd_edit_append(ed, line);
	explicit_bzero(hash, strlen(hash));
	free(hash);
	explicit_bzero(line, strlen(line));
	free(line);
	ret = commit(&ed);
	if (ret == 0)
		printf("added user %s\n", a->user);
	return ret;
}

static int do_passwd(struct passwd_edit *ed, const struct user_args *a)
{
	long i = passwd_edit_find(ed, a->user);
	char *hash, *line;
	int ret;

	if (i < 0) {
		fprintf(stderr, "duomail user: no such user '%s'\n", a->user);
		passwd_edit_abort(&ed);
		return EX_NOUSER;
	}
	hash = make_hash(a);
	if (hash == NULL) {
		passwd_edit_abort(&ed);
		return EX_USAGE;
	}
	/* Only the password changes: uid, gid, home, extra stay as they were. */
	line = xasprintf("%s:%s%s", a->user, hash,
			 fields_after_password(passwd_edit_line(ed, (size_t)i)));
	passwd_edit_set(ed, (size_t)i, line);
	explicit_bzero(hash, strlen(hash));
	free(hash);
	explicit_bzero(line, strlen(line));
	free(line);
	ret = commit(&ed);
	if (ret == 0)
		printf("changed the password of %s\n", a->user);
	return ret;
}

static int do_del(struct passwd_edit *ed, const struct user_args *a)
{
	long i;
	unsigned removed = 0;
	int ret;

	/* Every line of the name: were a later duplicate left, it would
	 * become the user's line (the first one counts). */
	while ((i = passwd_edit_find(ed, a->user)) >= 0) {
		passwd_edit_remove(ed, (size_t)i);
		removed++;
	}
	if (removed == 0) {
		fprintf(stderr, "duomail user: no such user '%s'\n", a->user);
		passwd_edit_abort(&ed);
		return EX_NOUSER;
	}
	ret = commit(&ed);
	if (ret == 0)
		printf("deleted user %s (its mail is kept)\n", a->user);
	return ret;
}

/* Field n (0 = user) of line, as a new string, "" if missing.  The last
 * field (extra, n = 7) runs to the end of the line: it may hold ':'. */
static char *field(const char *line, int n)
{
	const char *p = line, *end;

	for (int k = 0; k < n; k++) {
		p = strchr(p, ':');
		if (p == NULL)
			return xstrdup("");
		p++;
	}
	end = n == 7 ? p + strlen(p) : p + strcspn(p, ":");
	return xstrndup(p, (size_t)(end - p));
}

static int do_list(struct passwd_edit *ed, const struct user_args *a)
{
	bool first = true;

	if (a->json)
		printf("[");
	for (size_t i = 0; i < passwd_edit_count(ed); i++) {
		const char *line = passwd_edit_line(ed, i);
		char *name = passwd_line_user(line);

		if (name == NULL)
			continue;
		if (passwd_edit_find(ed, name) != (long)i) {
			free(name);	/* a duplicate: the first line counts */
			continue;
		}
		if (a->json) {
			static const char *const keys[] = { "uid", "gid", "gecos", "home",
							    "shell", "extra" };
			char *pw = field(line, 1);
			const char *close = strchr(pw, '}');

			printf("%s\n  {\"user\": ", first ? "" : ",");
			json_string(stdout, name);
			/* The scheme, never the hash. */
			if (pw[0] == '{' && close != NULL) {
				pw[close - pw] = '\0';
				printf(", \"scheme\": ");
				json_string(stdout, pw + 1);
			}
			explicit_bzero(pw, strlen(pw));
			free(pw);
			for (int k = 0; k < 6; k++) {
				char *v = field(line, k + 2);

				printf(", \"%s\": ", keys[k]);
				json_string(stdout, v);
				free(v);
			}
			printf("}");
		} else {
			printf("%s\n", name);
		}
		first = false;
		free(name);
	}
	if (a->json)
		printf("%s]\n", first ? "" : "\n");
	passwd_edit_abort(&ed);
	return 0;
}

int cmd_user(int argc, char **argv)
{
	struct user_args a = { .scheme = "SHA512-CRYPT" };
	const char *action = NULL;
	struct config *cfg = NULL;
	struct passwd_edit *ed = NULL;
	char err[1024];
	int ret;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &a.config);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if (strcmp(argv[i], "--json") == 0) {
			a.json = true;
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			a.scheme = argv[++i];
		} else if (strcmp(argv[i], "--extra") == 0 && i + 1 < argc) {
			a.extra = argv[++i];
		} else if (argv[i][0] != '-' && action == NULL) {
			action = argv[i];
		} else if (argv[i][0] != '-' && a.user == NULL) {
			a.user = argv[i];
		} else {
			fprintf(stderr, "duomail user: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (a.config == NULL)
		a.config = ADMIN_DEFAULT_CONFIG;
	if (action == NULL ||
	    (strcmp(action, "list") == 0) != (a.user == NULL) ||
	    (strcmp(action, "add") != 0 && strcmp(action, "passwd") != 0 &&
	     strcmp(action, "del") != 0 && strcmp(action, "list") != 0)) {
		usage(stderr);
		return EX_USAGE;
	}
	if (a.user != NULL && !passwd_user_name_ok(a.user)) {
		fprintf(stderr, "duomail user: invalid user name (no ':', '/', white space, "
				"control characters or leading '.')\n");
		return EX_DATAERR;
	}
	if (config_load(a.config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s\n", err);
		return EXIT_CONFIG;
	}
	if (cfg->userdb != USERDB_PASSWD_FILE || cfg->passwd_file == NULL) {
		fprintf(stderr, "duomail user: only manages passwd-files, and %s has "
				"[auth] userdb = pgsql: manage those users in the database\n",
			a.config);
		config_free(&cfg);
		return EX_USAGE;
	}
	/* The file check logs each unknown extra field: not news here. */
	log_set_level(LOG_LEVEL_WARN);
	if (passwd_edit_begin(cfg->passwd_file, &ed, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail user: %s\n", err);
		config_free(&cfg);
		return EX_TEMPFAIL;
	}
	if (strcmp(action, "add") == 0)
		ret = do_add(ed, &a);
	else if (strcmp(action, "passwd") == 0)
		ret = do_passwd(ed, &a);
	else if (strcmp(action, "del") == 0)
		ret = do_del(ed, &a);
	else
		ret = do_list(ed, &a);
	config_free(&cfg);
	return ret;
}
