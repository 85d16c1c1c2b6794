/* The shared abuse table: per-IP and per-user counts and failure penalties
 * across worker processes.  See abuse_table.h. */
#include "core/abuse_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define ABUSE_TABLE_MAX_BYTES	(64u << 20)
#define ABUSE_TABLE_MIN_ENTRIES	1024

struct abuse_entry {
	uint8_t id[16];
	bool used;
	uint32_t failures;
	uint64_t last_fail_ms;
	uint64_t last_use;	/* the table's use counter: LRU order */
	/* Per worker, and no total kept beside them: a worker killed between
	 * two updates must not leave a total that disagrees with its parts. */
	uint16_t conns[];
};

struct abuse_table {
	pthread_mutex_t lock;
	uint8_t secret[32];
	struct abuse_penalty_policy penalty;
	unsigned nworkers;
	unsigned nbuckets;
	size_t stride;		/* bytes per entry */
	size_t map_size;
	uint64_t use_counter;
	struct abuse_stats stats;
	/* entries follow, nbuckets * ABUSE_TABLE_WAYS of stride bytes */
	_Alignas(8) unsigned char entries[];
};

static size_t entry_stride(unsigned nworkers)
{
	size_t s = sizeof(struct abuse_entry) + nworkers * sizeof(uint16_t);

	return (s + 7) & ~(size_t)7;
}

unsigned abuse_table_size_for(unsigned nworkers, unsigned max_connections)
{
	uint64_t want = 2ull * nworkers * max_connections;
	uint64_t cap = ABUSE_TABLE_MAX_BYTES / entry_stride(nworkers);

	if (want > cap)
		want = cap;
	if (want < ABUSE_TABLE_MIN_ENTRIES)
		want = ABUSE_TABLE_MIN_ENTRIES;
	return (unsigned)want;
}

static struct abuse_entry *entry_at(struct abuse_table *t, size_t i)
{
	return (struct abuse_entry *)(t->entries + i * t->stride);
}

static void lock(struct abuse_table *t)
{
	/* A worker that died inside the lock left at most one entry half
	 * updated (counters only); take the lock over and go on. */
	if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&t->lock);
}

static void unlock(struct abuse_table *t)
{
	pthread_mutex_unlock(&t->lock);
}

int abuse_table_create(unsigned nworkers, unsigned nentries,
		       const struct abuse_penalty_policy *penalty, struct abuse_table **t_r,
		       char *err, size_t errlen)
{
	pthread_mutexattr_t attr;
	struct abuse_table *t;
	size_t stride, size;
	unsigned nbuckets;

	*t_r = NULL;
	if (nworkers == 0 || nworkers > UINT16_MAX) {
		snprintf(err, errlen, "abuse table: bad worker count %u", nworkers);
		return -1;
	}
	stride = entry_stride(nworkers);
	nbuckets = (nentries + ABUSE_TABLE_WAYS - 1) / ABUSE_TABLE_WAYS;
	if (nbuckets == 0)
		nbuckets = 1;
	size = sizeof(*t) + (size_t)nbuckets * ABUSE_TABLE_WAYS * stride;
	/* Anonymous shared memory comes zeroed, and untouched pages cost
	 * nothing until a key lands there. */
	t = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED) {
		snprintf(err, errlen, "abuse table: mmap of %zu bytes: %s", size, strerror(errno));
		return -1;
	}
	if (getrandom(t->secret, sizeof(t->secret), 0) != (ssize_t)sizeof(t->secret)) {
		snprintf(err, errlen, "abuse table: getrandom: %s", strerror(errno));
		munmap(t, size);
		return -1;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&t->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	t->penalty = *penalty;
	t->nworkers = nworkers;
	t->nbuckets = nbuckets;
	t->stride = stride;
	t->map_size = size;
	*t_r = t;
	return 0;
}

void abuse_table_destroy(struct abuse_table **tp)
{
	struct abuse_table *t = *tp;

	if (t == NULL)
		return;
	/* Not pthread_mutex_destroy(): other processes may still use it. */
	munmap(t, t->map_size);
	*tp = NULL;
}

static uint32_t entry_total(const struct abuse_table *t, const struct abuse_entry *e)
{
	uint32_t n = 0;

	for (unsigned w = 0; w < t->nworkers; w++)
		n += e->conns[w];
	return n;
}

static void entry_release_if_idle(const struct abuse_table *t, struct abuse_entry *e)
{
	if (e->failures == 0 && entry_total(t, e) == 0)
		e->used = false;
}

void abuse_table_worker_gone(struct abuse_table *t, unsigned worker)
{
	size_t n = (size_t)t->nbuckets * ABUSE_TABLE_WAYS;

	if (worker >= t->nworkers)
		return;
	lock(t);
	for (size_t i = 0; i < n; i++) {
		struct abuse_entry *e = entry_at(t, i);

		if (!e->used || e->conns[worker] == 0)
			continue;
		e->conns[worker] = 0;
		entry_release_if_idle(t, e);
	}
	unlock(t);
}

static void make_key(const struct abuse_table *t, char kind, const void *data, size_t len,
		     struct abuse_key *k_r)
{
	uint8_t msg[300], mac[32];

	if (len > sizeof(msg) - 1)
		len = sizeof(msg) - 1;	/* user names are at most 255 bytes */
	msg[0] = (uint8_t)kind;		/* an address never equals a user */
	memcpy(msg + 1, data, len);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, t->secret, sizeof(t->secret), msg, len + 1, mac);
	memcpy(k_r->id, mac, sizeof(k_r->id));
	memcpy(&k_r->bucket_hash, mac + 16, sizeof(k_r->bucket_hash));
}

int abuse_key_ip(const struct abuse_table *t, const char *ip, struct abuse_key *k_r)
{
	uint8_t a[16];
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, ip, a) == 1) {
		make_key(t, '4', a, 4, k_r);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		make_key(t, '4', a + 12, 4, k_r);
	else
		make_key(t, '6', a, 8, k_r);	/* the /64 */
	return 0;
}

void abuse_key_user(const struct abuse_table *t, const char *user, struct abuse_key *k_r)
{
	make_key(t, 'u', user, strlen(user), k_r);
}

/* The entry of k: found, or (create) a free or evicted one of its bucket;
 * NULL if not found, or the bucket is full of live entries. */
static struct abuse_entry *entry_find(struct abuse_table *t, const struct abuse_key *k,
				      bool create)
{
	size_t first = (size_t)(k->bucket_hash % t->nbuckets) * ABUSE_TABLE_WAYS;
	struct abuse_entry *free_e = NULL, *lru = NULL;

	for (size_t i = first; i < first + ABUSE_TABLE_WAYS; i++) {
		struct abuse_entry *e = entry_at(t, i);

		if (!e->used) {
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (memcmp(e->id, k->id, sizeof(k->id)) == 0) {
			e->last_use = ++t->use_counter;
			return e;
		}
		if ((lru == NULL || e->last_use < lru->last_use) && entry_total(t, e) == 0)
			lru = e;
	}
	if (!create)
		return NULL;
	if (free_e == NULL)
		free_e = lru;
	if (free_e == NULL) {
		t->stats.untracked++;
		return NULL;
	}
	memset(free_e, 0, t->stride);
	memcpy(free_e->id, k->id, sizeof(k->id));
	free_e->used = true;
	free_e->last_use = ++t->use_counter;
	return free_e;
}

int abuse_conn_open(struct abuse_table *t, unsigned worker, const struct abuse_key *k,
		    unsigned limit, unsigned *count_r)
{
	struct abuse_entry *e;
	uint32_t total;
	int ret;

	*count_r = 0;
	if (worker >= t->nworkers)
		return -1;
	lock(t);
	e = entry_find(t, k, true);
	total = e != NULL ? entry_total(t, e) : 0;
	if (e == NULL) {
		ret = -1;
	} else if (limit > 0 && total >= limit) {
		*count_r = total;
		ret = 0;
	} else if (e->conns[worker] == UINT16_MAX) {
		*count_r = total;	/* more than a worker can hold anyway */
		ret = 0;
	} else {
		e->conns[worker]++;
		*count_r = total + 1;
		ret = 1;
	}
	unlock(t);
	return ret;
}

void abuse_conn_close(struct abuse_table *t, unsigned worker, const struct abuse_key *k)
{
	struct abuse_entry *e;

	if (worker >= t->nworkers)
		return;
	lock(t);
	e = entry_find(t, k, false);
	/* Gone already if the master reset this worker's counts. */
	if (e != NULL && e->conns[worker] > 0) {
		e->conns[worker]--;
		entry_release_if_idle(t, e);
	}
	unlock(t);
}

unsigned abuse_penalty_for(const struct abuse_penalty_policy *p, unsigned failures)
{
	uint64_t d;

	if (failures == 0 || p->max_ms == 0)
		return 0;
	d = p->initial_ms;
	for (unsigned i = 1; i < failures && d < p->max_ms; i++)
		d *= 2;
	return d > p->max_ms ? p->max_ms : (unsigned)d;
}

/* Forgets failures older than the quiet period. */
static void penalty_expire(const struct abuse_table *t, struct abuse_entry *e, uint64_t now_ms)
{
	if (e->failures > 0 && now_ms - e->last_fail_ms >= t->penalty.reset_ms)
		e->failures = 0;
}

unsigned abuse_penalty_delay(struct abuse_table *t, const struct abuse_key *k, uint64_t now_ms,
			     unsigned *failures_r)
{
	struct abuse_entry *e;
	unsigned failures = 0;

	lock(t);
	e = entry_find(t, k, false);
	if (e != NULL) {
		penalty_expire(t, e, now_ms);
		failures = e->failures;
		entry_release_if_idle(t, e);
	}
	unlock(t);
	if (failures_r != NULL)
		*failures_r = failures;
	return abuse_penalty_for(&t->penalty, failures);
}

unsigned abuse_penalty_fail(struct abuse_table *t, const struct abuse_key *k, uint64_t now_ms)
{
	struct abuse_entry *e;
	unsigned failures = 0;

	lock(t);
	t->stats.logins_failed++;
	e = entry_find(t, k, true);
	if (e != NULL) {
		penalty_expire(t, e, now_ms);
		if (e->failures < UINT32_MAX)
			e->failures++;
		e->last_fail_ms = now_ms;
		failures = e->failures;
	}
	unlock(t);
	return failures;
}

void abuse_penalty_clear(struct abuse_table *t, const struct abuse_key *k)
{
	struct abuse_entry *e;

	lock(t);
	e = entry_find(t, k, false);
	if (e != NULL) {
		e->failures = 0;
		entry_release_if_idle(t, e);
	}
	unlock(t);
}

void abuse_count(struct abuse_table *t, enum abuse_event ev)
{
	lock(t);
	switch (ev) {
	case ABUSE_EV_LOGIN_FAILED:
		t->stats.logins_failed++;
		break;
	case ABUSE_EV_LOGIN_DELAYED:
		t->stats.logins_delayed++;
		break;
	case ABUSE_EV_IP_LIMIT:
		t->stats.ip_limit_refused++;
		break;
	case ABUSE_EV_USER_LIMIT:
		t->stats.user_limit_refused++;
		break;
	case ABUSE_EV_BAD_COMMANDS:
		t->stats.bad_command_disconnects++;
		break;
	}
	unlock(t);
}

void abuse_stats_get(struct abuse_table *t, struct abuse_stats *st_r)
{
	lock(t);
	*st_r = t->stats;
	unlock(t);
}

uint64_t abuse_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
