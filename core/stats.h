#ifndef DUOMAIL_STATS_H
#define DUOMAIL_STATS_H
/*
 * Server counters, for `duomail stats` and the OpenMetrics /metrics page.
 *
 * Each worker process counts into its own block of the shared memory that
 * the master made before forking (core/live.h), so counting is one add on
 * the worker's own cache line and needs no lock; the admin process sums the
 * blocks when asked.  A restarted worker goes on counting in its
 * predecessor's block, so the totals only ever grow (what OpenMetrics
 * counters must do).
 *
 * Every counter is listed once, in STATS_COUNTERS below: an entry is
 * X(ENUM, family, labels, help), and entries of one family sit together (the
 * renderer writes a family's # TYPE and # HELP once, at its first entry).
 * To add a counter, add a line; nothing else needs to change.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/abuse_table.h"

/* The protocols as the counters and the live session records know them. */
enum live_proto { LIVE_POP3, LIVE_IMAP, LIVE_LMTP, LIVE_PROTO_COUNT };
const char *live_proto_name(enum live_proto p);

/* Families whose entries are per protocol list them in enum live_proto's
 * order, so STAT_X_POP3 + proto is the entry of proto. */
#define STATS_COUNTERS(X) \
	X(CONN_POP3, "duomail_connections", "protocol=\"pop3\"", "Connections accepted") \
	X(CONN_IMAP, "duomail_connections", "protocol=\"imap\"", "Connections accepted") \
	X(CONN_LMTP, "duomail_connections", "protocol=\"lmtp\"", "Connections accepted") \
	X(CMD_POP3, "duomail_commands", "protocol=\"pop3\"", "Commands received") \
	X(CMD_IMAP, "duomail_commands", "protocol=\"imap\"", "Commands received") \
	X(CMD_LMTP, "duomail_commands", "protocol=\"lmtp\"", "Commands received") \
	X(AUTH_OK_POP3, "duomail_auth", "protocol=\"pop3\",result=\"success\"", "Logins by result") \
	X(AUTH_OK_IMAP, "duomail_auth", "protocol=\"imap\",result=\"success\"", "Logins by result") \
	X(AUTH_FAIL_POP3, "duomail_auth", "protocol=\"pop3\",result=\"failure\"", "Logins by result") \
	X(AUTH_FAIL_IMAP, "duomail_auth", "protocol=\"imap\",result=\"failure\"", "Logins by result") \
	X(BYTES_IN_POP3, "duomail_received_bytes", "protocol=\"pop3\"", "Bytes read from clients (as on the wire, TLS included)") \
	X(BYTES_IN_IMAP, "duomail_received_bytes", "protocol=\"imap\"", "Bytes read from clients (as on the wire, TLS included)") \
	X(BYTES_IN_LMTP, "duomail_received_bytes", "protocol=\"lmtp\"", "Bytes read from clients (as on the wire, TLS included)") \
	X(BYTES_OUT_POP3, "duomail_sent_bytes", "protocol=\"pop3\"", "Bytes sent to clients (as on the wire, TLS included)") \
	X(BYTES_OUT_IMAP, "duomail_sent_bytes", "protocol=\"imap\"", "Bytes sent to clients (as on the wire, TLS included)") \
	X(BYTES_OUT_LMTP, "duomail_sent_bytes", "protocol=\"lmtp\"", "Bytes sent to clients (as on the wire, TLS included)") \
	X(DELIVER_OK, "duomail_deliveries", "result=\"success\"", "LMTP deliveries, one per recipient") \
	X(DELIVER_FAIL, "duomail_deliveries", "result=\"failure\"", "LMTP deliveries, one per recipient")

enum stats_counter {
#define STATS_ENUM(e, family, labels, help) STAT_##e,
	STATS_COUNTERS(STATS_ENUM)
#undef STATS_ENUM
	STAT_COUNT
};

struct stats_counter_def {
	const char *family, *labels, *help;
};
extern const struct stats_counter_def stats_counter_defs[STAT_COUNT];

/* Command latency: a histogram per (protocol, command name) with fixed
 * buckets, upper bounds in seconds (the last, +Inf, is implied). */
#define STATS_BUCKETS 10
extern const double stats_bucket_bounds[STATS_BUCKETS];
#define STATS_MAX_COMMANDS 96		/* distinct names per worker */
#define STATS_COMMAND_NAME 16

struct stats_hist {
	char name[STATS_COMMAND_NAME];	/* "FETCH", "UID FETCH", "RETR" */
	uint8_t proto;			/* enum live_proto */
	uint64_t buckets[STATS_BUCKETS + 1];	/* not cumulative; [STATS_BUCKETS] = +Inf */
	uint64_t count;
	uint64_t sum_us;
};

/* One worker's block in shared memory.  Written by that worker only. */
struct stats_block {
	uint64_t counters[STAT_COUNT];
	uint32_t nhist;			/* entries of hist in use (release-stored) */
	struct stats_hist hist[STATS_MAX_COMMANDS];
};

/* Counting, in a worker.  No-ops outside a server (unit tests, `deliver`). */
void stats_add(enum stats_counter c, uint64_t n);
static inline void stats_inc(enum stats_counter c) { stats_add(c, 1); }
/* One command of proto named name took us microseconds. */
void stats_observe(enum live_proto proto, const char *name, uint64_t us);

/* Where stats_add() counts; core/live.c sets it when a worker starts. */
void stats_set_block(struct stats_block *b);

/* The sum over workers, made by the admin process. */
struct stats_snapshot {
	uint64_t counters[STAT_COUNT];
	struct stats_hist hist[STATS_MAX_COMMANDS * 2];
	size_t nhist;
	unsigned sessions[LIVE_PROTO_COUNT];	/* open now */
	unsigned workers, workers_alive;
	/* The abuse defence's own counters (core/abuse_table.h), shown as
	 * the family duomail_abuse_events{event=...}. */
	struct abuse_stats abuse;
};

/* The abuse counters one by one, for the renderers: the label value of
 * event i (0 .. STATS_ABUSE_EVENTS-1) and its count in snap. */
#define STATS_ABUSE_EVENTS 6
const char *stats_abuse_event(unsigned i, const struct stats_snapshot *snap, uint64_t *n_r);
void stats_snapshot_add(struct stats_snapshot *snap, const struct stats_block *b);

/* The snapshot as OpenMetrics text (ends "# EOF\n"); new string. */
char *stats_openmetrics(const struct stats_snapshot *snap);

#endif
