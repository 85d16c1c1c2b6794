#ifndef DUOMAIL_POP3_H
#define DUOMAIL_POP3_H
/*
 * POP3 internals shared by the files of pop3/: the session, its state
 * machine (RFC 1939 §3: AUTHORIZATION, TRANSACTION, UPDATE) and the command
 * handlers.  Handlers parse, call the store and format replies; they never
 * touch the disk themselves.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/conn.h"
#include "core/login_guard.h"
#include "core/policy.h"
#include "pop3/pop3_parser.h"

struct sasl;
struct store;
struct mailbox;
struct pop3_transfer;

enum pop3_state {
	POP3_AUTHORIZATION,
	POP3_TRANSACTION,
	POP3_UPDATE,
};

/* Line limits.  RFC 2449 §4 caps a command at 255 octets; we accept more
 * (long passwords exist), and SASL responses are longer still (RFC 5034 §4). */
#define POP3_MAX_LINE		1024
#define POP3_MAX_SASL_LINE	16384
#define POP3_MAX_USER		255

/* One message as this session numbered it: the RFC 1939 snapshot. */
struct pop3_msg {
	uint32_t uid;
	unsigned folder;	/* index in the maildrop's folders */
	uint64_t vsize;
	char *uidl;		/* the maildrop's UIDL (pop3_folder_uidl()) */
	bool deleted;
	bool retrieved;
};

/* A folder of the maildrop, open for the session. */
struct pop3_folder {
	char *name;
	struct mailbox *box;
};

/* The maildrop: the account policy's folders merged into one numbering,
 * INBOX first, then each other folder, each in UID order. */
struct pop3_maildrop {
	struct pop3_folder *folders;
	unsigned nfolders;
	struct pop3_msg *msgs;
	unsigned nmsgs;
};

struct pop3_session {
	struct conn *conn;
	enum pop3_state state;
	char apop_timestamp[160];	/* "<pid.rand.time@host>", RFC 1939 §7 */

	char *user;			/* after USER / a login attempt */
	bool utf8;			/* RFC 6856 UTF8 mode */
	unsigned bad_commands;
	struct sasl *sasl;		/* AUTH exchange in progress */
	/* SCRAM/CRAM-MD5 verify inside the exchange: its failure penalty
	 * (core/login_guard.h), from the secret lookup to the outcome. */
	struct login_guard sasl_guard;
	bool sasl_guarded;
	unsigned sasl_delay_ms;		/* its wait before the secret is used */

	/* busy: a thread-pool job or a transfer is running; input waits. */
	bool busy;
	bool gone;			/* the connection closed while busy */
	bool stop_requested;		/* server shutdown while busy */

	struct store *store;
	struct account_policy policy;	/* from the login */
	struct pop3_maildrop drop;
	time_t login_time;

	struct pop3_transfer *transfer;	/* RETR/TOP in progress */
	char listing;			/* 'L' LIST or 'U' UIDL in progress, else 0 */
	unsigned listing_next;		/* next message index to list */
};

/* ---- pop3_session.c ---- */
void pop3_reply_ok(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_reply_err(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A command failed because of bad input: counts towards max_bad_commands. */
void pop3_bad_command(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The running command finished: process the next pipelined one. */
void pop3_command_done(struct pop3_session *s);
/* Frees the session once nothing refers to it any more. */
void pop3_session_free(struct pop3_session *s);
const struct config *pop3_config(const struct pop3_session *s);

/* ---- pop3_auth.c: AUTHORIZATION state ---- */
void pop3_cmd_user(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_pass(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_apop(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_auth(struct pop3_session *s, struct pop3_cmdline *cmd);
/* A line during an AUTH exchange (RFC 5034 §4). */
void pop3_auth_continue(struct pop3_session *s, char *line, size_t len);

/* ---- pop3_cmds.c: everything else but RETR/TOP ---- */
void pop3_cmd_capa(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_stls(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_utf8(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_lang(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_quit(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_stat(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_list(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_uidl(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_dele(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_rset(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_noop(struct pop3_session *s, struct pop3_cmdline *cmd);
/* Looks up argument arg as a message number: the message, or NULL after
 * replying -ERR (RFC 1939 §5: a message marked deleted counts as gone). */
struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg);
/* Output drained: continue a multi-line LIST/UIDL. */
void pop3_listing_resume(struct pop3_session *s);

/* ---- pop3_maildrop.c: the maildrop at login and at QUIT ---- */
/* The UIDL a message of folder shows: its store UIDL in INBOX; elsewhere
 * "folder/uidl", or the SHA-1 (hex) of that when it would not be a valid
 * UIDL (RFC 1939 §7: 1..70 characters 0x21..0x7E).  Both are fixed for the
 * life of the message, and never equal an INBOX message's.  New string. */
char *pop3_folder_uidl(const char *folder, const char *uidl);
/* Opens the policy's folders (a missing one is skipped), applies EXPIRE
 * (RFC 2449 §6.7: messages retrieved expire_days ago or more are deleted
 * as the policy says; -1 never) and takes the snapshot, without the
 * messages hidden from POP3.  *expired_r: how many expired.  Blocking. */
int pop3_maildrop_open(struct store *st, const struct account_policy *policy, int expire_days,
		       time_t now, struct pop3_maildrop *drop, unsigned *expired_r);
void pop3_maildrop_free(struct pop3_maildrop *drop);

struct pop3_commit_result {
	size_t deleted, retrieved;
	bool delete_failed;	/* some deletions did not happen */
	bool record_failed;	/* \Seen or retrieval times not all recorded */
};
/* The UPDATE state (RFC 1939 §6): RETRieved messages get \Seen (if the
 * policy says so) and their retrieval time; DELEted ones (and, with
 * expire_retrieved, RETRieved ones: EXPIRE 0) are deleted as the policy
 * says.  Blocking: thread pool. */
void pop3_maildrop_commit(struct store *st, const struct account_policy *policy,
			  struct pop3_maildrop *drop, bool expire_retrieved, time_t now,
			  struct pop3_commit_result *result);

/* ---- pop3_retr.c ---- */
void pop3_cmd_retr(struct pop3_session *s, struct pop3_cmdline *cmd);
void pop3_cmd_top(struct pop3_session *s, struct pop3_cmdline *cmd);
/* Output drained: continue a transfer. */
void pop3_transfer_resume(struct pop3_session *s);
void pop3_transfer_free(struct pop3_transfer **t);

#endif
