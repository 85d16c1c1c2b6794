#ifndef DUOMAIL_IMAP_H
#define DUOMAIL_IMAP_H
/*
 * IMAP internals shared by the files of imap/: the session (RFC 3501 §3
 * states), the command table and the response helpers.  One file per
 * command: imap/cmd_<name>.c.  A handler returns true when the command is
 * finished, false when it continues asynchronously (it then calls
 * imap_command_done() itself).
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/conn.h"
#include "core/login_guard.h"
#include "imap/imap_parser.h"
#include "imap/imap_view.h"

struct imap_append;
struct watch_sub;
struct sasl;
struct store;

enum imap_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

#define IMAP_MAX_LINE		65536
#define IMAP_MAX_COMMAND	(1u << 20)	/* lines plus inline literals */
#define IMAP_MAX_LITERAL	(64u << 20)	/* an APPEND message */

/* The parser limits of every session (imap_session.c); the fuzz target
 * drives the parser with these very values. */
extern const struct imap_parser_limits imap_session_limits;

struct imap_session {
	struct conn *conn;
	enum imap_state state;
	struct imap_parser *parser;
	unsigned bad_commands;

	/* a literal being read: into lit_buf, or skipped (refused APPEND), or
	 * streamed into the store (an APPEND message, imap_append.h) */
	bool in_literal;
	bool lit_skip;
	bool lit_append;
	struct imap_append *append;	/* APPEND with its message under way */
	char *lit_buf;
	size_t lit_len, lit_size;

	/* a command running asynchronously: input waits */
	bool busy;
	bool gone;			/* the connection closed while a job ran */
	unsigned jobs;			/* imap_async() jobs on the thread pool */
	char *cmd_tag;			/* tag of the running command */
	bool uid;			/* it came as "UID <command>" (RFC 3501 §6.4.8) */
	/* A command producing bulk output (FETCH) that stopped on
	 * conn_output_full() sets this; it is called when output drains. */
	void (*on_drain)(struct imap_session *s);
	/* That command's own state, and how to free it should the session
	 * end while it waits for on_drain (the client left mid-FETCH). */
	void *cmd_ctx;
	void (*cmd_ctx_free)(void *ctx);

	struct sasl *sasl;		/* AUTHENTICATE in progress */
	/* SCRAM/CRAM-MD5 verify inside the exchange: its failure penalty
	 * (core/login_guard.h), from the secret lookup to the outcome. */
	struct login_guard sasl_guard;
	bool sasl_guarded;
	unsigned sasl_delay_ms;		/* its wait before the secret is used */
	char *user;
	struct store *store;

	/* SELECTED state */
	struct mailbox *box;
	char *box_name;
	bool readonly;			/* EXAMINE */
	struct imap_view view;		/* what the client was told (imap_view.h) */
	bool box_dirty;			/* a change was noticed: sync before the next command */
	struct watch_sub *watch;	/* change notification for box */

	/* IDLE (RFC 2177) */
	bool idling;
	bool idle_sync_running;
	bool idle_done;			/* DONE arrived while a sync job ran */
	bool idle_bad;			/* ... or something that was not DONE */

	struct imap_command uid_cmd;	/* "UID FETCH ..." as "FETCH ..." */
};

/* Allowed states of a command, and its handler. */
#define IMAP_CMD_NOT_AUTH	(1u << IMAP_STATE_NOT_AUTH)
#define IMAP_CMD_AUTH		(1u << IMAP_STATE_AUTH)
#define IMAP_CMD_SELECTED	(1u << IMAP_STATE_SELECTED)
#define IMAP_CMD_ANY		(IMAP_CMD_NOT_AUTH | IMAP_CMD_AUTH | IMAP_CMD_SELECTED)

struct imap_cmd_def {
	const char *name;
	bool (*func)(struct imap_session *s, const struct imap_command *cmd);
	unsigned states;
};

/* imap_commands.c: the table */
const struct imap_cmd_def *imap_command_find(const char *name);

/* imap_session.c */
const struct config *imap_config(const struct imap_session *s);
/* Runs a command's handler (its state already checked): true when it
 * finished, false when it goes on asynchronously. */
bool imap_command_run(struct imap_session *s, const struct imap_cmd_def *def,
		      const struct imap_command *cmd);
/* Ends an asynchronous command (handler returned false): input goes on. */
void imap_command_done(struct imap_session *s);
/* Input goes on after a pause within a command (s->busy set around an
 * imap_async() job while a literal streams), or the session is freed if the
 * client left and no job runs any more. */
void imap_input_resume(struct imap_session *s);
/* Runs work on the thread pool, then done on the loop.  The session lives
 * until done returns; if the client left meanwhile s->gone is true: done
 * must then send nothing, free its job and still call imap_command_done()
 * (which frees the session) if it would have. */
void imap_async(struct imap_session *s, void (*work)(void *arg), void (*done)(void *arg),
		void *arg);
/* The same, queued after delay_ms (a login under a failure penalty). */
void imap_async_after(struct imap_session *s, unsigned delay_ms, void (*work)(void *arg),
		      void (*done)(void *arg), void *arg);
void imap_session_free(struct imap_session *s);

/* imap_trace.c: the command as `duomail trace` shows it (literals as
 * sizes, passwords <redacted>), and its name for the latency counters. */
void imap_trace_summary(const struct imap_command *cmd, char *out, size_t size);
void imap_trace_name(const struct imap_command *cmd, char *out, size_t size);

/* imap_resp.c: responses.  text is ours, never client input. */
void imap_tagged(struct imap_session *s, const char *tag, const char *status,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void imap_untagged(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A client error: BAD, counted against the bad-command limit. */
void imap_bad(struct imap_session *s, const char *tag, const char *text);
/* Counts a failed command (a BAD, a failed login) against [imap]
 * max_bad_commands; at the limit says BYE and closes. */
void imap_count_bad(struct imap_session *s);
/* Writes s as an IMAP string: quoted if it can be, else a literal. */
void imap_write_string(struct imap_session *s, const char *str, size_t len);
/* The CAPABILITY list for the session's current state. */
const char *imap_capabilities(const struct imap_session *s);
/* An astring / string argument's text, or NULL if arg is not one. */
const char *imap_arg_string(const struct imap_arg *arg, size_t *len_r);
/* A mailbox argument as the store names it (modified UTF-7, "INBOX" in
 * upper case), or NULL after answering BAD/NO itself. */
const char *imap_arg_mailbox(struct imap_session *s, const char *tag, const struct imap_arg *arg);
/* Answers the tagged NO for the store's last error, with its RFC 5530 code. */
void imap_store_error(struct imap_session *s, const char *tag, const char *what);

/* the commands */
bool cmd_capability(struct imap_session *s, const struct imap_command *cmd);
bool cmd_noop(struct imap_session *s, const struct imap_command *cmd);
bool cmd_logout(struct imap_session *s, const struct imap_command *cmd);
bool cmd_id(struct imap_session *s, const struct imap_command *cmd);
bool cmd_starttls(struct imap_session *s, const struct imap_command *cmd);
bool cmd_login(struct imap_session *s, const struct imap_command *cmd);
bool cmd_authenticate(struct imap_session *s, const struct imap_command *cmd);
bool cmd_select(struct imap_session *s, const struct imap_command *cmd);
bool cmd_examine(struct imap_session *s, const struct imap_command *cmd);
bool cmd_status(struct imap_session *s, const struct imap_command *cmd);
bool cmd_close(struct imap_session *s, const struct imap_command *cmd);
bool cmd_unselect(struct imap_session *s, const struct imap_command *cmd);
/* Leaves the SELECTED state without expunging anything. */
void imap_deselect(struct imap_session *s);
bool cmd_list(struct imap_session *s, const struct imap_command *cmd);
bool cmd_lsub(struct imap_session *s, const struct imap_command *cmd);
bool cmd_create(struct imap_session *s, const struct imap_command *cmd);
bool cmd_delete(struct imap_session *s, const struct imap_command *cmd);
bool cmd_rename(struct imap_session *s, const struct imap_command *cmd);
bool cmd_subscribe(struct imap_session *s, const struct imap_command *cmd);
bool cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd);
bool cmd_store(struct imap_session *s, const struct imap_command *cmd);
bool cmd_expunge(struct imap_session *s, const struct imap_command *cmd);
bool cmd_uid(struct imap_session *s, const struct imap_command *cmd);
bool cmd_idle(struct imap_session *s, const struct imap_command *cmd);
bool cmd_search(struct imap_session *s, const struct imap_command *cmd);
bool cmd_fetch(struct imap_session *s, const struct imap_command *cmd);	/* and UID FETCH */
bool cmd_append(struct imap_session *s, const struct imap_command *cmd);
/* COPY and MOVE (RFC 6851), and UID COPY / UID MOVE with s->uid set */
bool cmd_copy(struct imap_session *s, const struct imap_command *cmd);
bool cmd_move(struct imap_session *s, const struct imap_command *cmd);
bool cmd_check(struct imap_session *s, const struct imap_command *cmd);
bool cmd_namespace(struct imap_session *s, const struct imap_command *cmd);
bool cmd_enable(struct imap_session *s, const struct imap_command *cmd);
bool cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd);	/* RFC 9208 */
bool cmd_getquota(struct imap_session *s, const struct imap_command *cmd);
bool cmd_setquota(struct imap_session *s, const struct imap_command *cmd);
/* imap_login.c: a SASL response line during AUTHENTICATE */
void imap_authenticate_continue(struct imap_session *s, char *line, size_t len);

#endif
