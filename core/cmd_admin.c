/* Shared by the offline admin subcommands: see cmd_admin.h. */
#include "core/cmd_admin.h"
#include "core/account.h"
#include "core/auth.h"
#include "core/commands.h"
#include "core/log.h"
#include "core/privilege.h"
#include "core/config.h"
#include "core/policy.h"
#include "core/userdb.h"
#include "store/store.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

int admin_open(const char *cmd, const char *config_path, struct config **cfg_r,
	       struct userdb **db_r)
{
	char err[512];

	*cfg_r = NULL;
	*db_r = NULL;
	/* Without --config, the one the live commands use too. */
	if (config_path == NULL)
		config_path = ADMIN_DEFAULT_CONFIG;
	if (config_load(config_path, cfg_r, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s\n", err);
		return EXIT_CONFIG;
	}
	if (userdb_open(*cfg_r, db_r, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail %s: %s\n", cmd, err);
		config_free(cfg_r);
		return EX_TEMPFAIL;
	}
	return 0;
}

/* As `duomail serve` does after binding: files the command makes in the
 * store must belong to the user the server runs as, or the server could
 * not change them.  The passwd-file was read before, as root. */
/* As root: [server] user and group, as the server's workers (core/privilege.h);
 * root with no user refuses unless allow_root. */
static int drop_privileges(const char *cmd, const struct config *cfg)
{
	char err[512];

	if (privilege_check(cfg, err, sizeof(err)) < 0 ||
	    privilege_drop(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int admin_lookup(const char *cmd, struct userdb *db, const char *user,
		 struct userdb_record *rec_r)
{
	switch (userdb_lookup(db, USERDB_USER, user, rec_r)) {
	case 1:
		if (!rec_r->invalid)
			return 0;
		fprintf(stderr, "duomail %s: the user database's fields for '%s' are invalid "
				"(see the log above)\n", cmd, user);
		userdb_record_free(rec_r);
		return EX_TEMPFAIL;
	case 0:
		fprintf(stderr, "duomail %s: no such user '%s'\n", cmd, user);
		return EX_NOUSER;
	default:
		fprintf(stderr, "duomail %s: the user database is unavailable (see the log "
				"above)\n", cmd);
		return EX_TEMPFAIL;
	}
}

int admin_open_store(const char *cmd, const struct config *cfg, struct userdb *db,
		     const char *user, struct store **st_r)
{
	struct userdb_record rec = { 0 };
	enum account_status status;
	int ret;

	*st_r = NULL;
	ret = admin_lookup(cmd, db, user, &rec);
	if (ret != 0)
		return ret;
	if (drop_privileges(cmd, cfg) < 0) {
		userdb_record_free(&rec);
		return EXIT_CONFIG;
	}
	status = account_open(cfg, user, &rec.settings, st_r, NULL);
	userdb_record_free(&rec);
	switch (status) {
	case ACCOUNT_OK:
		return 0;
	case ACCOUNT_NOUSER:
		fprintf(stderr, "duomail %s: no such user '%s'\n", cmd, user);
		return EX_NOUSER;
	case ACCOUNT_TEMPFAIL:
		break;
	}
	fprintf(stderr, "duomail %s: cannot open the mail of '%s' (see the log above)\n", cmd,
		user);
	return EX_TEMPFAIL;
}

int admin_account_dir(const char *cmd, const struct config *cfg, struct userdb *db,
		      const char *user, char **dir_r)
{
	struct userdb_record rec = { 0 };
	int ret = admin_lookup(cmd, db, user, &rec);

	*dir_r = NULL;
	if (ret != 0)
		return ret;
	/* The rule account_open() applies (core/account.c). */
	if (rec.settings.maildir != NULL && !cfg->allow_maildir_outside_root &&
	    !policy_path_inside(cfg->store_root, rec.settings.maildir)) {
		fprintf(stderr, "duomail %s: the maildir of '%s', %s, is outside [store] root "
				"%s\n", cmd, user, rec.settings.maildir, cfg->store_root);
		userdb_record_free(&rec);
		return EX_DATAERR;
	}
	*dir_r = rec.settings.maildir != NULL ? xstrdup(rec.settings.maildir) :
						  xasprintf("%s/%s", cfg->store_root, user);
	userdb_record_free(&rec);
	return 0;
}

int admin_store_error(const char *cmd, struct store *st, const char *what)
{
	const char *text;
	enum store_error e = store_last_error(st, &text);

	if (e == STORE_ERR_NOTFOUND)
		fprintf(stderr, "duomail %s: no such mailbox '%s'\n", cmd, what);
	else
		fprintf(stderr, "duomail %s: %s: %s\n", cmd, what,
			text != NULL && text[0] != '\0' ? text : store_strerror(e));
	switch (e) {
	case STORE_ERR_NOTFOUND:
		return EX_NOINPUT;
	case STORE_ERR_EXISTS:
		return EX_CANTCREAT;
	case STORE_ERR_INVALID:
	case STORE_ERR_PERM:
		return EX_DATAERR;
	default:
		return EX_TEMPFAIL;
	}
}

/* One line from stdin, without echo on a terminal.  NULL at EOF. */
static char *read_line(const char *prompt)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

char *admin_read_password(const char *cmd)
{
	char *pw = read_line("New password: "), *again;

	if (pw == NULL || pw[0] == '\0') {
		fprintf(stderr, "duomail %s: no password given on stdin\n", cmd);
		free(pw);
		return NULL;
	}
	if (isatty(STDIN_FILENO)) {
		again = read_line("Again: ");
		if (again == NULL || strcmp(pw, again) != 0) {
			fprintf(stderr, "duomail %s: the passwords differ\n", cmd);
			if (again != NULL)
				explicit_bzero(again, strlen(again));
			free(again);
			explicit_bzero(pw, strlen(pw));
			free(pw);
			return NULL;
		}
		explicit_bzero(again, strlen(again));
		free(again);
	}
	return pw;
}
