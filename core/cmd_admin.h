#ifndef DUOMAIL_CMD_ADMIN_H
#define DUOMAIL_CMD_ADMIN_H
/*
 * What the offline admin subcommands share (cmd_user.c, cmd_mailbox.c,
 * cmd_store_expunge.c, cmd_store_check.c, cmd_import.c): loading the config, finding
 * the user through the user database, opening its store.
 *
 * Exit codes (sysexits.h, as deliver's): 0 done, 1 `check` found problems,
 * 2 bad config, 64 usage, 65 bad input data (a corrupt source),
 * 66 no such mailbox or source, 67 no such user, 73 cannot create (the
 * target exists or has mail), 75 temporary failure (lock busy, I/O).
 * Errors are one line on stderr: "duomail CMD: problem".
 */
#include <stdio.h>

#include "core/admin_cmd.h"	/* json_string(), shared with the live commands */

struct config;
struct store;
struct userdb;
struct userdb_record;

/* Loads the config (config_path NULL: ADMIN_DEFAULT_CONFIG, as the live
 * commands do) and opens its user database (core/userdb.h,
 * whichever [auth] userdb names).  0, or an exit code after printing the
 * error. */
int admin_open(const char *cmd, const char *config_path, struct config **cfg_r,
	       struct userdb **db_r);
/* Looks user up (USERDB_USER, as deliver does).  0 with *rec_r filled
 * (free it with userdb_record_free()), or an exit code (67 no such user,
 * 75 database down or the user's fields invalid) after printing it. */
int admin_lookup(const char *cmd, struct userdb *db, const char *user,
		 struct userdb_record *rec_r);
/* Opens user's store, the account's policy applied, first giving up root
 * for [server] user as the server does.  0, or an exit code (67 unknown
 * user) after printing the error. */
int admin_open_store(const char *cmd, const struct config *cfg, struct userdb *db,
		     const char *user, struct store **st_r);
/* The directory of user's account: its maildir= from the user database,
 * else [store] root/USER (new string in *dir_r).  0 or an exit code. */
int admin_account_dir(const char *cmd, const struct config *cfg, struct userdb *db,
		      const char *user, char **dir_r);
/* The exit code for a store failure on st, after printing it. */
int admin_store_error(const char *cmd, struct store *st, const char *what);
/* A password from stdin: one line, without echo on a terminal, asked
 * twice there.  NULL (after an error message) if none or they differ.
 * Free with explicit_bzero + free. */
char *admin_read_password(const char *cmd);

#endif
