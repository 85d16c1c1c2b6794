#ifndef DUOMAIL_LMTP_H
#define DUOMAIL_LMTP_H
/*
 * LMTP internals shared by the files of lmtp/ (RFC 2033): the session,
 * its transaction, replies, and the command handlers.  Handlers parse,
 * look users up and hand the message to core/deliver.c; they never touch
 * the disk themselves, and what blocks runs on the thread pool.
 *
 * Session states (RFC 5321 §4.1.4 as RFC 2033 §4.1 amends it):
 *   greeted ──LHLO──> ready ──MAIL──> mail ──RCPT(ok)──> rcpt ──DATA──> data
 *      ^                ^                                               │
 *      └── (none)       └────────── RSET, LHLO, end of DATA ────────────┘
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/userdb.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/deliver.h"
#include "lmtp/lmtp_dot.h"
#include "lmtp/lmtp_parser.h"

struct lmtp_spool;

/* RFC 5321 §4.5.3.1.4 sets 512 octets for a command line; ESMTP
 * parameters make lines longer (RFC 1870 §3 allows for it), and Postfix
 * takes 2048 itself. */
#define LMTP_MAX_LINE 2048

struct lmtp_rcpt {
	char *address;			/* as given in RCPT TO, for Delivered-To */
	char *user;			/* the account it maps to */
	struct user_settings settings;	/* its fields from the user database */
};

struct lmtp_session {
	struct conn *conn;
	/* What jobs on the thread pool may read (never conn, which the loop
	 * may clear meanwhile): the worker's config and user database live
	 * as long as the worker. */
	const struct config *cfg;
	char *helo;			/* LHLO's domain; NULL before LHLO */
	unsigned bad_commands;

	/* The mail transaction (RFC 5321 §3.3): MAIL, RCPTs, DATA. */
	bool mail;			/* MAIL was accepted */
	char *return_path;		/* its reverse-path, "" for <> */
	struct lmtp_rcpt *rcpts;	/* accepted recipients, in RCPT order */
	unsigned nrcpts, rcpts_cap;

	/* DATA (lmtp_data.c) */
	bool in_data;			/* reading the message text */
	struct lmtp_dot dot;
	struct lmtp_spool *spool;
	uint64_t data_size;		/* message bytes so far */
	bool too_big;			/* past [lmtp] max_message_size: read and drop */
	int spool_errno;		/* the spool failed: read and drop, then 451/452 */
	unsigned next_rcpt;		/* the recipient being delivered to */
	char *received;			/* Received up to its "for" clause, see lmtp_data.c */
	char *received_date;		/* and its date-time */
	char id[48];			/* this message's id, in Received and the log */
	enum deliver_status job_status;	/* of the delivery job */
	/* RCPT: the lookup job's question and answer */
	char *pending_local;
	char *pending_address;
	char *pending_user;
	struct user_settings pending_settings;
	void (*rcpt_done)(struct lmtp_session *s, int result);

	/* busy: a thread-pool job runs (a lookup, a flush, a delivery); input
	 * waits in the connection's buffer until lmtp_command_done(). */
	bool busy;
	bool gone;			/* the connection closed while busy */
	bool stop_requested;		/* server shutdown while busy */
};

/* ---- lmtp_session.c ---- */
/* "250 2.1.0 Ok": a reply with its RFC 3463 code (RFC 2034 §3). */
void lmtp_reply(struct lmtp_session *s, int code, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A reply to bad input: counts towards [lmtp] max_bad_commands. */
void lmtp_bad_command(struct lmtp_session *s, int code, const char *status, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));
/* Runs work(s) on the thread pool; done(s) on the loop, unless the
 * connection went meanwhile.  The session is busy until done calls
 * lmtp_command_done(). */
void lmtp_async(struct lmtp_session *s, void (*work)(struct lmtp_session *s),
		void (*done)(struct lmtp_session *s));
/* The running command finished: go on with the pipelined input (or,
 * when the server is stopping, say 421 and close). */
void lmtp_command_done(struct lmtp_session *s);
/* A job within a command (a spool flush during DATA) finished: go on
 * reading. */
void lmtp_input_resume(struct lmtp_session *s);
/* Ends the mail transaction (RSET, LHLO, after DATA's replies). */
void lmtp_transaction_reset(struct lmtp_session *s);
const struct config *lmtp_config(const struct lmtp_session *s);
/* For work outside lmtp_async() (a user lookup on the loop) that kept the
 * session busy: true if the connection closed meanwhile, and s is freed
 * now; false if s goes on. */
bool lmtp_session_reap(struct lmtp_session *s);

/* ---- lmtp_cmds.c ---- */
void lmtp_cmd_lhlo(struct lmtp_session *s, const char *args);
void lmtp_cmd_helo(struct lmtp_session *s, const char *args);
void lmtp_cmd_mail(struct lmtp_session *s, const char *args);
void lmtp_cmd_rcpt(struct lmtp_session *s, const char *args);
void lmtp_cmd_rset(struct lmtp_session *s, const char *args);
void lmtp_cmd_noop(struct lmtp_session *s, const char *args);
void lmtp_cmd_quit(struct lmtp_session *s, const char *args);
void lmtp_cmd_vrfy(struct lmtp_session *s, const char *args);
void lmtp_cmd_expn(struct lmtp_session *s, const char *args);
void lmtp_cmd_help(struct lmtp_session *s, const char *args);

/* ---- lmtp_data.c ---- */
void lmtp_cmd_data(struct lmtp_session *s, const char *args);
/* Takes message text from the connection while in_data. */
void lmtp_data_input(struct lmtp_session *s);

/* ---- lmtp_rcpt.c ---- */
/*
 * Looks up the account for RCPT's local part on the loop (the user
 * database, core/userdb.h): the local part itself, else (when it holds one
 * of [lmtp] recipient_delimiter) the part before the delimiter, each tried
 * as given and then in lower case.  The session is busy meanwhile; then
 * done(s, result) runs with 1 (s->pending_user and s->pending_settings
 * set), 0 no such user or -1 the database failed.  Not called if the
 * connection closed meanwhile.
 */
void lmtp_rcpt_lookup(struct lmtp_session *s, const char *local,
		      void (*done)(struct lmtp_session *s, int result));

#endif
