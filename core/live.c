/*
 * The shared memory behind core/live.h: layout, the seqlocked session
 * records, the trace rings.  See live.h for who writes what.
 */
#include "core/live.h"
#include "core/abuse_table.h"
#include "core/log.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LIVE_MAGIC 0x64756f6cu	/* "duol" */

struct live_slot {
	uint32_t seq;		/* odd while the worker writes the record */
	uint32_t in_use;
	struct live_info info;
};

struct live_ring_entry {
	uint64_t seq;		/* position + 1 once written, 0 while being written */
	struct live_event ev;
};

struct live_part {
	int32_t pid;		/* the worker using this part, 0 none */
	uint64_t session_counter;
	uint64_t untracked;	/* open sessions that found no free record */
	uint64_t head;		/* trace events written so far */
	struct stats_block stats;
	struct live_ring_entry ring[LIVE_TRACE_RING];
	struct live_slot slots[];
};

struct live_hdr {
	uint32_t magic;
	uint32_t nworkers, nslots;
	size_t part_size;
	/* the trace table: written by the admin process only */
	uint32_t trace_seq;
	uint32_t trace_epoch;	/* changes with every change of the table */
	struct {
		char user[LIVE_USER_MAX];
		uint32_t refs;
	} trace[LIVE_TRACE_USERS];
};

/* Set in the master, inherited by every child. */
static struct live_hdr *hdr;
/* In a worker: its part. */
static struct live_part *mine;
static unsigned my_index;
/* This worker's free records, a stack with the lowest index on top, so
 * the pages touched follow the number of sessions. */
static uint32_t *free_slots;
static unsigned nfree;

struct live_session {
	struct live_slot *slot;		/* NULL: no record (all taken) */
	enum live_proto proto;
	uint64_t id;
	char user[LIVE_USER_MAX];	/* logged in as */
	char attempt[LIVE_USER_MAX];	/* a login of this user is being answered */
	/* the command running now */
	bool running;
	char cmd[LIVE_CMD_MAX];
	uint64_t started_us;		/* monotonic */
	int64_t started_wall_us;
	char summary[LIVE_TRACE_TEXT];
	bool summary_traced;
	/* is the user traced?  Looked up again when the epoch moves. */
	uint32_t epoch_seen;
	bool traced;
};

static struct live_part *part(unsigned w)
{
	return (struct live_part *)((char *)hdr + sizeof(*hdr) + (size_t)w * hdr->part_size);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int live_create(unsigned nworkers, unsigned max_slots)
{
	size_t part_size, total;
	void *p;

	if (nworkers == 0 || nworkers > 256)
		return -1;
	if (max_slots > LIVE_MAX_SLOTS)
		max_slots = LIVE_MAX_SLOTS;
	if (max_slots == 0)
		max_slots = 1;
	part_size = sizeof(struct live_part) + (size_t)max_slots * sizeof(struct live_slot);
	part_size = (part_size + 63) & ~(size_t)63;
	total = sizeof(struct live_hdr) + (size_t)nworkers * part_size;
	/* Pages are only backed once touched: slots are taken lowest first,
	 * so what is used follows the number of sessions, not max_slots. */
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -1;
	hdr = p;
	hdr->magic = LIVE_MAGIC;
	hdr->nworkers = nworkers;
	hdr->nslots = max_slots;
	hdr->part_size = part_size;
	return 0;
}

bool live_enabled(void)
{
	return hdr != NULL;
}

void live_worker_begin(unsigned index)
{
	if (hdr == NULL || index >= hdr->nworkers)
		return;
	my_index = index;
	mine = part(index);
	/* The records of a worker that died describe sessions that are gone;
	 * one it was killed while writing has an odd number: make it even
	 * again, or readers would take it as being written for ever. */
	for (unsigned i = 0; i < hdr->nslots; i++) {
		struct live_slot *s = &mine->slots[i];
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

		if (!__atomic_load_n(&s->in_use, __ATOMIC_RELAXED) && (seq & 1) == 0)
			continue;
		__atomic_store_n(&s->seq, seq | 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		s->in_use = 0;
		__atomic_store_n(&s->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
	}
	free(free_slots);
	free_slots = xcalloc(hdr->nslots, sizeof(*free_slots));
	for (nfree = 0; nfree < hdr->nslots; nfree++)
		free_slots[nfree] = hdr->nslots - 1 - nfree;
	__atomic_store_n(&mine->untracked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&mine->pid, (int32_t)getpid(), __ATOMIC_RELEASE);
	stats_set_block(&mine->stats);
}

/* ---- writing a record (the worker) ---- */

static void slot_begin(struct live_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void slot_end(struct live_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static void trace_emit(struct live_session *ls, int64_t ts_us, char dir, const char *text)
{
	uint64_t h = mine->head;
	struct live_ring_entry *e = &mine->ring[h % LIVE_TRACE_RING];

	__atomic_store_n(&e->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->ev.ts_us = ts_us;
	e->ev.session = ls->id;
	e->ev.proto = (uint8_t)ls->proto;
	e->ev.dir = dir;
	copy_str(e->ev.user, sizeof(e->ev.user), ls->user[0] ? ls->user : ls->attempt);
	copy_str(e->ev.text, sizeof(e->ev.text), text);
	__atomic_store_n(&e->seq, h + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&mine->head, h + 1, __ATOMIC_RELEASE);
}

/* Reads the trace table consistently into users (count returned). */
static unsigned trace_table(char users[LIVE_TRACE_USERS][LIVE_USER_MAX], uint32_t *epoch_r)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(&hdr->trace_seq, __ATOMIC_ACQUIRE);
		unsigned n = 0;

		if (s1 & 1) {
			sched_yield();
			continue;
		}
		for (unsigned i = 0; i < LIVE_TRACE_USERS; i++)
			if (hdr->trace[i].refs > 0)
				memcpy(users[n++], hdr->trace[i].user, LIVE_USER_MAX);
		*epoch_r = hdr->trace_epoch;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&hdr->trace_seq, __ATOMIC_RELAXED) == s1)
			return n;
	}
	return 0;
}

/* Is this session's user traced?  One load unless the table changed. */
static bool traced(struct live_session *ls)
{
	uint32_t epoch = __atomic_load_n(&hdr->trace_epoch, __ATOMIC_ACQUIRE);
	const char *user = ls->user[0] ? ls->user : ls->attempt;

	if (epoch == 0 || user[0] == '\0')
		return false;
	if (epoch != ls->epoch_seen) {
		char users[LIVE_TRACE_USERS][LIVE_USER_MAX];
		unsigned n = trace_table(users, &ls->epoch_seen);

		ls->traced = false;
		for (unsigned i = 0; i < n; i++)
			if (strcmp(users[i], user) == 0)
				ls->traced = true;
	}
	return ls->traced;
}

struct live_session *live_session_open(enum live_proto proto, const char *peer)
{
	struct live_session *ls;

	if (mine == NULL)
		return NULL;
	ls = xcalloc(1, sizeof(*ls));
	ls->proto = proto;
	ls->id = ((uint64_t)(my_index + 1) << 40) | ++mine->session_counter;
	stats_inc(STAT_CONN_POP3 + proto);
	if (nfree > 0) {
		struct live_slot *s = &mine->slots[free_slots[--nfree]];

		slot_begin(s);
		memset(&s->info, 0, offsetof(struct live_info, pending));
		s->info.id = ls->id;
		s->info.pid = mine->pid;
		s->info.proto = (uint8_t)proto;
		s->info.since = time(NULL);
		copy_str(s->info.peer, sizeof(s->info.peer), peer);
		s->in_use = 1;
		slot_end(s);
		ls->slot = s;
	}
	if (ls->slot == NULL)
		__atomic_fetch_add(&mine->untracked, 1, __ATOMIC_RELAXED);
	return ls;
}

void live_session_close(struct live_session **lsp)
{
	struct live_session *ls = *lsp;

	if (ls == NULL)
		return;
	if (traced(ls))
		trace_emit(ls, wall_us(), '*', "disconnected");
	if (ls->slot != NULL) {
		slot_begin(ls->slot);
		ls->slot->in_use = 0;
		slot_end(ls->slot);
		free_slots[nfree++] = (uint32_t)(ls->slot - mine->slots);
	} else {
		__atomic_fetch_sub(&mine->untracked, 1, __ATOMIC_RELAXED);
	}
	free(ls);
	*lsp = NULL;
}

void live_session_tls(struct live_session *ls)
{
	if (ls == NULL || ls->slot == NULL)
		return;
	slot_begin(ls->slot);
	ls->slot->info.tls = true;
	slot_end(ls->slot);
}

void live_session_login(struct live_session *ls, const char *user, bool ok)
{
	if (ls == NULL)
		return;
	if (ls->proto == LIVE_POP3)
		stats_inc(ok ? STAT_AUTH_OK_POP3 : STAT_AUTH_FAIL_POP3);
	else if (ls->proto == LIVE_IMAP)
		stats_inc(ok ? STAT_AUTH_OK_IMAP : STAT_AUTH_FAIL_IMAP);
	if (ok) {
		copy_str(ls->user, sizeof(ls->user), user);
		if (ls->slot != NULL) {
			slot_begin(ls->slot);
			copy_str(ls->slot->info.user, sizeof(ls->slot->info.user), user);
			slot_end(ls->slot);
		}
	} else {
		/* Traced until this command's reply: the admin watching
		 * sees the failed attempt (never its password). */
		copy_str(ls->attempt, sizeof(ls->attempt), user);
	}
	ls->epoch_seen = 0;
	/* The login command was not traced when it came: nobody knew whose
	 * it was.  Now that it is known, it goes out first. */
	if (ls->running && !ls->summary_traced && traced(ls)) {
		trace_emit(ls, ls->started_wall_us, 'C', ls->summary);
		ls->summary_traced = true;
	}
}

void live_session_mailbox(struct live_session *ls, const char *name)
{
	if (ls == NULL || ls->slot == NULL)
		return;
	slot_begin(ls->slot);
	copy_str(ls->slot->info.mailbox, sizeof(ls->slot->info.mailbox), name);
	slot_end(ls->slot);
}

void live_session_client_id(struct live_session *ls, const char *text)
{
	if (ls == NULL || ls->slot == NULL)
		return;
	slot_begin(ls->slot);
	copy_str(ls->slot->info.client_id, sizeof(ls->slot->info.client_id), text);
	slot_end(ls->slot);
}

void live_session_command(struct live_session *ls, const char *name, const char *summary)
{
	if (ls == NULL)
		return;
	stats_inc(STAT_CMD_POP3 + ls->proto);
	ls->running = name != NULL;
	copy_str(ls->cmd, sizeof(ls->cmd), name ? name : "");
	ls->started_us = mono_us();
	ls->started_wall_us = wall_us();
	copy_str(ls->summary, sizeof(ls->summary), summary);
	ls->summary_traced = traced(ls);
	if (ls->summary_traced)
		trace_emit(ls, ls->started_wall_us, 'C', summary);
	if (ls->slot != NULL) {
		slot_begin(ls->slot);
		copy_str(ls->slot->info.last_cmd, sizeof(ls->slot->info.last_cmd),
			 name ? name : "?");
		ls->slot->info.last_at = time(NULL);
		slot_end(ls->slot);
	}
}

void live_session_client_line(struct live_session *ls, const char *summary)
{
	if (ls != NULL && traced(ls))
		trace_emit(ls, wall_us(), 'C', summary);
}

void live_session_reply(struct live_session *ls, const char *status_line)
{
	if (ls == NULL)
		return;
	if (ls->running) {
		stats_observe(ls->proto, ls->cmd, mono_us() - ls->started_us);
		ls->running = false;
	}
	if (traced(ls))
		trace_emit(ls, wall_us(), 'S', status_line);
	if (ls->attempt[0] != '\0') {
		ls->attempt[0] = '\0';
		ls->epoch_seen = 0;
	}
}

uint64_t live_uidl_hash(const char *uidl)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)uidl; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

void live_session_pending_add(struct live_session *ls, const char *uidl)
{
	struct live_info *in;

	if (ls == NULL || ls->slot == NULL)
		return;
	in = &ls->slot->info;
	slot_begin(ls->slot);
	if (in->pending_listed < LIVE_PENDING_MAX)
		in->pending[in->pending_listed++] = live_uidl_hash(uidl);
	in->pending_count++;
	slot_end(ls->slot);
}

void live_session_pending_clear(struct live_session *ls)
{
	if (ls == NULL || ls->slot == NULL)
		return;
	slot_begin(ls->slot);
	ls->slot->info.pending_count = ls->slot->info.pending_listed = 0;
	slot_end(ls->slot);
}

/* ---- reading (the admin process) ---- */

unsigned live_nworkers(void)
{
	return hdr ? hdr->nworkers : 0;
}

pid_t live_worker_pid(unsigned w)
{
	pid_t pid;

	if (hdr == NULL || w >= hdr->nworkers)
		return 0;
	pid = __atomic_load_n(&part(w)->pid, __ATOMIC_ACQUIRE);
	/* A worker killed with -9 never cleared its pid: ask the kernel. */
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return 0;
	return pid;
}

/* Copies slot s if it is in use; false if it is free or kept changing. */
static bool slot_read(struct live_slot *s, struct live_info *out)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		bool used;

		if (s1 & 1) {
			sched_yield();
			continue;
		}
		used = s->in_use != 0;
		if (used)
			memcpy(out, &s->info, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == s1)
			return used;
	}
	return false;
}

uint64_t live_sessions(const char *user, void (*fn)(const struct live_info *, void *), void *arg)
{
	struct live_info *info;
	uint64_t untracked = 0;

	if (hdr == NULL)
		return 0;
	info = xmalloc(sizeof(*info));
	for (unsigned w = 0; w < hdr->nworkers; w++) {
		struct live_part *p = part(w);

		if (live_worker_pid(w) == 0)
			continue;
		untracked += __atomic_load_n(&p->untracked, __ATOMIC_RELAXED);
		for (unsigned i = 0; i < hdr->nslots; i++) {
			if (!__atomic_load_n(&p->slots[i].in_use, __ATOMIC_RELAXED))
				continue;
			if (!slot_read(&p->slots[i], info))
				continue;
			info->user[sizeof(info->user) - 1] = '\0';
			if (user == NULL || strcmp(user, info->user) == 0)
				fn(info, arg);
		}
	}
	free(info);
	return untracked;
}

static struct abuse_table *abuse_source;

void live_set_abuse(struct abuse_table *t)
{
	abuse_source = t;
}

static void count_session(const struct live_info *in, void *arg)
{
	struct stats_snapshot *snap = arg;

	if (in->proto < LIVE_PROTO_COUNT)
		snap->sessions[in->proto]++;
}

void live_stats(struct stats_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	if (hdr == NULL)
		return;
	snap->workers = hdr->nworkers;
	for (unsigned w = 0; w < hdr->nworkers; w++) {
		stats_snapshot_add(snap, &part(w)->stats);
		if (live_worker_pid(w) != 0)
			snap->workers_alive++;
	}
	live_sessions(NULL, count_session, snap);
	if (abuse_source != NULL)
		abuse_stats_get(abuse_source, &snap->abuse);
}

/* ---- the trace table (the admin process) ---- */

static void table_change(void)
{
	/* | 1: odd while changing, even if an admin process was killed
	 * halfway through a change before us. */
	__atomic_store_n(&hdr->trace_seq, hdr->trace_seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void table_done(void)
{
	uint32_t e = hdr->trace_epoch + 1;

	/* 0 means "never traced": skip it when the counter wraps. */
	__atomic_store_n(&hdr->trace_epoch, e == 0 ? 1 : e, __ATOMIC_RELAXED);
	__atomic_store_n(&hdr->trace_seq, hdr->trace_seq + 1, __ATOMIC_RELEASE);
}

void live_trace_reset(void)
{
	if (hdr == NULL)
		return;
	table_change();
	for (int i = 0; i < LIVE_TRACE_USERS; i++)
		hdr->trace[i].refs = 0;
	table_done();
}

int live_trace_start(const char *user)
{
	int free_i = -1;

	if (hdr == NULL)
		return -1;
	for (int i = 0; i < LIVE_TRACE_USERS; i++) {
		if (hdr->trace[i].refs > 0 && strcmp(hdr->trace[i].user, user) == 0) {
			table_change();
			hdr->trace[i].refs++;
			table_done();
			return 0;
		}
		if (hdr->trace[i].refs == 0 && free_i < 0)
			free_i = i;
	}
	if (free_i < 0)
		return -1;
	table_change();
	copy_str(hdr->trace[free_i].user, LIVE_USER_MAX, user);
	hdr->trace[free_i].refs = 1;
	table_done();
	return 0;
}

void live_trace_stop(const char *user)
{
	if (hdr == NULL)
		return;
	for (int i = 0; i < LIVE_TRACE_USERS; i++) {
		if (hdr->trace[i].refs > 0 && strcmp(hdr->trace[i].user, user) == 0) {
			table_change();
			hdr->trace[i].refs--;
			table_done();
			return;
		}
	}
}

void live_trace_cursor_init(struct live_trace_cursor *cur)
{
	memset(cur, 0, sizeof(*cur));
	for (unsigned w = 0; hdr != NULL && w < hdr->nworkers; w++)
		cur->next[w] = __atomic_load_n(&part(w)->head, __ATOMIC_ACQUIRE);
}

uint64_t live_trace_read(struct live_trace_cursor *cur, const char *user,
			 void (*fn)(const struct live_event *, void *), void *arg)
{
	struct live_event ev;
	uint64_t lost = 0;

	for (unsigned w = 0; hdr != NULL && w < hdr->nworkers; w++) {
		struct live_part *p = part(w);
		uint64_t head = __atomic_load_n(&p->head, __ATOMIC_ACQUIRE);
		uint64_t i = cur->next[w];

		if (head - i > LIVE_TRACE_RING) {
			lost += head - LIVE_TRACE_RING - i;
			i = head - LIVE_TRACE_RING;
		}
		for (; i < head; i++) {
			struct live_ring_entry *e = &p->ring[i % LIVE_TRACE_RING];

			if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != i + 1) {
				lost++;
				continue;
			}
			memcpy(&ev, &e->ev, sizeof(ev));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != i + 1) {
				lost++;
				continue;
			}
			ev.user[sizeof(ev.user) - 1] = '\0';
			ev.text[sizeof(ev.text) - 1] = '\0';
			if (strcmp(ev.user, user) == 0)
				fn(&ev, arg);
		}
		cur->next[w] = head;
	}
	return lost;
}
