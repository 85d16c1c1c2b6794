#ifndef DUOMAIL_COMMANDS_H
#define DUOMAIL_COMMANDS_H
/*
 * The subcommands of the duomail binary.  Each gets argv with argv[0] the
 * subcommand name and returns the process exit code (sysexits.h style where
 * the contract says so; 2 for a bad config, 64 for usage errors).
 */
int cmd_serve(int argc, char **argv);	/* core/cmd_serve.c */
int cmd_deliver(int argc, char **argv);	/* core/cmd_deliver.c */
int cmd_pw(int argc, char **argv);	/* core/cmd_pw.c */
int cmd_user(int argc, char **argv);	/* core/cmd_user.c */
int cmd_mailbox(int argc, char **argv);	/* core/cmd_mailbox.c */
/* `expunge` and `check` (not cmd_expunge/cmd_check: IMAP's commands) */
int cmd_store_expunge(int argc, char **argv);	/* core/cmd_store_expunge.c */
int cmd_store_check(int argc, char **argv);	/* core/cmd_store_check.c */
int cmd_import(int argc, char **argv);	/* core/cmd_import.c */
/* the live admin commands (core/admin_cmd.h) */
int cmd_who(int argc, char **argv);	/* core/cmd_who.c */
int cmd_trace(int argc, char **argv);	/* core/cmd_trace.c */
int cmd_stats(int argc, char **argv);	/* core/cmd_stats.c */
int cmd_compare(int argc, char **argv);	/* core/cmd_compare.c */
int cmd_dns(int argc, char **argv);	/* core/cmd_dns.c */

#define EXIT_CONFIG 2

/* The options every subcommand shares.  Looks at argv[*i]: CMD_ARG_HELP for
 * --help/-h, CMD_ARG_CONFIG for --config FILE / --config=FILE (sets
 * *config_r, advances *i past FILE), CMD_ARG_OTHER for anything else. */
enum cmd_arg { CMD_ARG_HELP, CMD_ARG_CONFIG, CMD_ARG_OTHER };
enum cmd_arg cmd_common_arg(int argc, char **argv, int *i, const char **config_r);

#endif
