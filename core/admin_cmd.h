#ifndef DUOMAIL_ADMIN_CMD_H
#define DUOMAIL_ADMIN_CMD_H
/*
 * What the live admin subcommands (who, trace, stats, compare, dns) share:
 * their options, exit codes, asking the admin socket, JSON output.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/admin.h"
#include "core/config.h"

/* sysexits.h values the contract uses */
#define EXIT_USAGE	64
#define EXIT_NOUSER	67
#define EXIT_UNAVAIL	69	/* no server to ask */
#define EXIT_PROTOCOL	76	/* the server's answer made no sense */

#define ADMIN_DEFAULT_CONFIG "/etc/duomail/duomail.conf"

struct admin_opts {
	const char *config;	/* --config FILE, default ADMIN_DEFAULT_CONFIG */
	bool json;		/* --json */
	const char *args[2];	/* positional arguments */
	int nargs;
};

/*
 * Parses argv (argv[0] the subcommand): --config, --json (if json_ok),
 * --help (prints usage, returns 0 through *exit_r), at most max_args
 * positional arguments, at least min_args.  Returns true to go on, false
 * with *exit_r set.
 */
bool admin_opts_parse(int argc, char **argv, bool json_ok, int min_args, int max_args,
		      void (*usage)(FILE *), struct admin_opts *o, int *exit_r);

/* Loads o->config; on failure prints the one-line error, returns NULL. */
struct config *admin_load_config(const char *cmd, const struct admin_opts *o);

/* Does user exist in cfg's passwd-file?  Prints the error and returns the
 * exit code (EXIT_NOUSER, EXIT_CONFIG) if not; 0 if it does. */
int admin_check_user(const char *cmd, const struct config *cfg, const char *user);

/*
 * Asks the admin socket request and calls fn for each line between "ok"
 * and "end" (split into fields).  Returns 0, or -1 with the reason in err
 * and *exit_r (EXIT_UNAVAIL: no server; EXIT_PROTOCOL: a bad answer).
 */
int admin_query(const struct config *cfg, const char *request,
		void (*fn)(char **fields, size_t n, void *arg), void *arg, char *err,
		size_t errlen, int *exit_r);

/* Writes s as a JSON string (quotes, escapes; bytes >= 0x80 as they are,
 * which is valid when s is UTF-8). */
void json_string(FILE *f, const char *s);
/* "2026-12-01 10:20:01" local time; t 0 gives "-". */
void admin_format_time(int64_t t, char *out, size_t size);
/* "w1.12": the worker and counter of a session id, as who and trace show it. */
void admin_format_session(uint64_t id, char *out, size_t size);

#endif
