#ifndef DUOMAIL_ABUSE_TABLE_H
#define DUOMAIL_ABUSE_TABLE_H
/*
 * The abuse table: what every worker process must agree on to defend against
 * brute force and connection floods, in one fixed-size table of shared
 * memory that the master maps (MAP_SHARED|MAP_ANONYMOUS) before it forks.
 *
 * Per key (a client address, or a user name) it holds:
 *   - open connections (per IP) or logged-in sessions (per user), counted
 *     per worker, so when a worker dies the one started in its place drops
 *     exactly those counts (abuse_table_worker_gone) and nothing leaks;
 *   - failed logins and the time of the last one: the failure penalty.
 *
 * Keys: an IPv4 address is itself; an IPv6 address counts by its /64 (one
 * customer's network, as Dovecot and fail2ban-style tools treat it); an
 * IPv4-mapped IPv6 address is the IPv4 address.  A user is its name.  The
 * table stores a keyed hash (HMAC-SHA-256 with a secret drawn at start-up)
 * of the key, never the name or address itself, and the secret keeps an
 * attacker from choosing keys that land in one bucket.
 *
 * Size and eviction: the table never grows.  It is split into buckets of
 * ABUSE_TABLE_WAYS entries; a new key takes a free entry of its bucket,
 * else the least recently used entry of the bucket that holds no open
 * connection (so only failure history is ever forgotten, oldest first).
 * If every entry of the bucket holds connections, the new key is not
 * tracked and the call says so (-1): the caller lets the client in rather
 * than refuse it for a full table (fail open), and that is counted.  Sized
 * at two entries per possible connection (abuse_table_size_for), a bucket
 * is practically never full of live entries.
 *
 * Locking: one process-shared, robust mutex; every call holds it for a
 * bucket scan at most.  A worker that dies holding it does not block the
 * others: the next locker takes it over (EOWNERDEAD) and goes on.
 *
 * Calls take the current time in milliseconds of CLOCK_MONOTONIC (one clock
 * for all processes; abuse_now_ms()), so the unit tests can drive time.
 * Thread-safe and process-safe; never blocks for long.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ABUSE_TABLE_WAYS 8

struct abuse_table;

/* The hashed identity of an address or user in the table. */
struct abuse_key {
	uint8_t id[16];
	uint64_t bucket_hash;
};

/* The failure penalty: after n failed logins the next login waits
 * initial_ms * 2^(n-1), at most max_ms (0: no penalty at all); a quiet
 * period of reset_ms without a failure forgets them. */
struct abuse_penalty_policy {
	unsigned initial_ms;
	unsigned max_ms;
	unsigned reset_ms;
};

/* Counters an admin command can read (all since the server started). */
struct abuse_stats {
	uint64_t logins_failed;		/* wrong user or password */
	uint64_t logins_delayed;	/* logins that waited for a penalty */
	uint64_t ip_limit_refused;	/* connections over max_connections_per_ip */
	uint64_t user_limit_refused;	/* logins over max_connections_per_user */
	uint64_t bad_command_disconnects;	/* sessions closed for too many errors */
	uint64_t untracked;		/* keys not tracked: their bucket was full */
};

enum abuse_event {
	ABUSE_EV_LOGIN_FAILED,
	ABUSE_EV_LOGIN_DELAYED,
	ABUSE_EV_IP_LIMIT,
	ABUSE_EV_USER_LIMIT,
	ABUSE_EV_BAD_COMMANDS,
};

/* Entries for a server of nworkers workers with max_connections each:
 * two per possible connection (its address and its user), bounded so the
 * table stays under 64 MiB. */
unsigned abuse_table_size_for(unsigned nworkers, unsigned max_connections);

/* Maps a table of about nentries entries (rounded up to whole buckets) for
 * nworkers workers (1..65535).  Call before fork(); children inherit it.
 * Returns 0, or -1 with a message in err. */
int abuse_table_create(unsigned nworkers, unsigned nentries,
		       const struct abuse_penalty_policy *penalty, struct abuse_table **t_r,
		       char *err, size_t errlen);
/* Unmaps it (each process that holds it may call this for itself). */
void abuse_table_destroy(struct abuse_table **t);

/* The worker started in slot `worker`, before it accepts anything: forgets
 * the connections and sessions of the one that died there, so they stop
 * counting against their addresses and users.  (Not the root master: it
 * never touches the table the unprivileged workers write.) */
void abuse_table_worker_gone(struct abuse_table *t, unsigned worker);

/* The key of a numeric address ("192.0.2.1", "2001:db8::1").  0, or -1 if
 * ip is not one. */
int abuse_key_ip(const struct abuse_table *t, const char *ip, struct abuse_key *k_r);
/* The key of a user name. */
void abuse_key_user(const struct abuse_table *t, const char *user, struct abuse_key *k_r);

/*
 * Counts one more connection (or session) of key on worker, unless limit
 * (0 = unlimited) is already reached.  Returns 1 counted, 0 refused (over
 * the limit; not counted), -1 not tracked (bucket full; not counted, let it
 * in).  *count_r: the key's count across all workers, this one included
 * when counted.  Each 1 must be paired with one abuse_conn_close().
 */
int abuse_conn_open(struct abuse_table *t, unsigned worker, const struct abuse_key *k,
		    unsigned limit, unsigned *count_r);
void abuse_conn_close(struct abuse_table *t, unsigned worker, const struct abuse_key *k);

/* How long a login from key waits now (ms, 0 = not at all), given the
 * failures on record (returned in *failures_r if not NULL). */
unsigned abuse_penalty_delay(struct abuse_table *t, const struct abuse_key *k, uint64_t now_ms,
			     unsigned *failures_r);
/* A failed login from key; returns its failure count now. */
unsigned abuse_penalty_fail(struct abuse_table *t, const struct abuse_key *k, uint64_t now_ms);
/* A successful login from key: its failures are forgotten. */
void abuse_penalty_clear(struct abuse_table *t, const struct abuse_key *k);
/* The delay after n failures under policy p (pure; for the tests too). */
unsigned abuse_penalty_for(const struct abuse_penalty_policy *p, unsigned failures);

void abuse_count(struct abuse_table *t, enum abuse_event ev);
void abuse_stats_get(struct abuse_table *t, struct abuse_stats *st_r);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t abuse_now_ms(void);

#endif
