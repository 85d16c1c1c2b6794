#ifndef DUOMAIL_LIVE_H
#define DUOMAIL_LIVE_H
/*
 * Live state of a running server, for the admin process (core/admin.h):
 * who is connected, what each session does, its pending POP3 deletions,
 * the trace feed and the counters (core/stats.h).
 *
 * The master maps one shared anonymous memory region before it forks
 * anything (live_create()).  Each worker owns one part of it: a block of
 * session records, a ring of trace events and its counters.  Only that
 * worker writes there (from its loop thread); the admin process only
 * reads, with a sequence number check per record (a seqlock), so a reader
 * never blocks a worker and a worker that died holds nothing up: its part
 * simply stops changing, and the admin process skips a part whose pid is
 * gone.  A restarted worker takes over its predecessor's part: it clears
 * the session records and goes on with the counters and the ring.
 *
 * The only thing the admin process writes is the list of users being
 * traced.  Sessions look at it only when its epoch changed, so tracing
 * costs nothing more than one load per command when nobody traces.
 *
 * What a record holds is chosen for the admin: user, protocol, peer, TLS,
 * the IMAP client's ID, the selected mailbox, since when, the last
 * command's name.  Never a password, a SASL response, a command's
 * arguments or message data; trace text is redacted by the protocols
 * (live_trace_*()) before it gets here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/stats.h"

#define LIVE_USER_MAX		128	/* longer names are cut (shown, never matched) */
#define LIVE_PEER_MAX		64
#define LIVE_CLIENT_ID_MAX	96
#define LIVE_MAILBOX_MAX	128
#define LIVE_CMD_MAX		STATS_COMMAND_NAME
#define LIVE_PENDING_MAX	512	/* pending POP3 deletions listed per session */
#define LIVE_MAX_SLOTS		8192	/* session records per worker */
#define LIVE_TRACE_RING		4096	/* trace events kept per worker (1.6 MB) */
#define LIVE_TRACE_TEXT		232
#define LIVE_TRACE_USERS	16	/* users traced at once */

/* A session as the admin sees it (a copy taken from shared memory). */
struct live_info {
	uint64_t id;			/* unique while the server runs */
	pid_t pid;			/* the worker */
	uint8_t proto;			/* enum live_proto */
	bool tls;
	int64_t since;			/* unix time of connect */
	int64_t last_at;		/* unix time of the last command, 0 none */
	char user[LIVE_USER_MAX];	/* "" before login */
	char peer[LIVE_PEER_MAX];	/* "127.0.0.1:40312", "unix" */
	char client_id[LIVE_CLIENT_ID_MAX];	/* IMAP ID (RFC 2971) name/version */
	char mailbox[LIVE_MAILBOX_MAX];	/* IMAP SELECTed mailbox, "" none */
	char last_cmd[LIVE_CMD_MAX];	/* name only: "FETCH", "PASS" */
	uint32_t pending_count;		/* POP3 DELEs not yet committed by QUIT */
	uint32_t pending_listed;	/* of which pending[] holds the first */
	uint64_t pending[LIVE_PENDING_MAX];	/* live_uidl_hash() of their UIDLs */
};

/* One trace event (a copy). */
struct live_event {
	int64_t ts_us;			/* unix time, microseconds */
	uint64_t session;		/* live_info.id */
	uint8_t proto;
	char dir;			/* 'C' client, 'S' server, '*' connect/close */
	char user[LIVE_USER_MAX];
	char text[LIVE_TRACE_TEXT];
};

/* ---- the master ---- */

/* Maps the region for nworkers workers of up to max_slots sessions each.
 * 0, or -1 with errno (the server then runs without admin state). */
int live_create(unsigned nworkers, unsigned max_slots);
/* The worker process index (0..nworkers-1) takes over its part. */
void live_worker_begin(unsigned index);
bool live_enabled(void);

/* ---- in a worker: the session's record ----
 * All functions take NULL (no record: no region, or all slots taken) and
 * then do nothing. */
struct live_session;

struct live_session *live_session_open(enum live_proto proto, const char *peer);
void live_session_close(struct live_session **ls);
void live_session_tls(struct live_session *ls);
/* After a successful login (counts it); ok=false counts a failed one. */
void live_session_login(struct live_session *ls, const char *user, bool ok);
void live_session_mailbox(struct live_session *ls, const char *name);	/* NULL: none */
void live_session_client_id(struct live_session *ls, const char *text);
/*
 * A command starts: name is its name in upper case (counted, and its
 * latency measured until live_session_reply()); summary is what trace
 * shows after "C: ", already redacted by the protocol.  name NULL: an
 * unknown command (counted, traced, not timed).
 */
void live_session_command(struct live_session *ls, const char *name, const char *summary);
/* A line the client sent that is not a command (a SASL response, IMAP's
 * DONE): traced only. */
void live_session_client_line(struct live_session *ls, const char *summary);
/* The command's status line (POP3 +OK/-ERR, IMAP's tagged reply): ends
 * the latency measurement of the running command, and is traced. */
void live_session_reply(struct live_session *ls, const char *status_line);
/* POP3: a DELE marked a message with this UIDL; clear: RSET or QUIT. */
void live_session_pending_add(struct live_session *ls, const char *uidl);
void live_session_pending_clear(struct live_session *ls);

/* The hash compare uses to match pending deletions to messages (FNV-1a). */
uint64_t live_uidl_hash(const char *uidl);

/* ---- the admin process ---- */

unsigned live_nworkers(void);
/* pid of worker w, or 0 if it is not running. */
pid_t live_worker_pid(unsigned w);
/* Calls fn for every session of the running workers, user NULL = all.
 * Returns how many sessions there were that had no record (slots full). */
uint64_t live_sessions(const char *user, void (*fn)(const struct live_info *, void *), void *arg);
/* Sums the running and past workers' counters, with the abuse table's
 * (live_set_abuse(); none: zeros). */
void live_stats(struct stats_snapshot *snap);
struct abuse_table;
void live_set_abuse(struct abuse_table *t);

/* Tracing: a user is traced while its count is above 0.  -1 if the table
 * is full. */
int live_trace_start(const char *user);
void live_trace_stop(const char *user);
/* A new admin process starts with nobody traced: the readers of one that
 * died are gone with it. */
void live_trace_reset(void);
/* Where a reader is in each worker's ring. */
struct live_trace_cursor {
	uint64_t next[256];
};
void live_trace_cursor_init(struct live_trace_cursor *cur);
/* Calls fn for each new event of user since the cursor; returns how many
 * events were lost (overwritten before they could be read). */
uint64_t live_trace_read(struct live_trace_cursor *cur, const char *user,
			 void (*fn)(const struct live_event *, void *), void *arg);

#endif
