/*
 * Counting (in the workers) and the OpenMetrics text (in the admin
 * process).  See stats.h.  The format: OpenMetrics 1.0 text exposition
 * (https://openmetrics.io), which Prometheus reads: a counter family
 * "x" has samples "x_total", a histogram "x_bucket{le=...}" (cumulative,
 * ending at le="+Inf"), "x_count" and "x_sum"; the text ends "# EOF".
 */
#include "core/stats.h"
#include "core/buf.h"
#include "core/log.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const struct stats_counter_def stats_counter_defs[STAT_COUNT] = {
#define STATS_DEF(e, family, labels, help) [STAT_##e] = { family, labels, help },
	STATS_COUNTERS(STATS_DEF)
#undef STATS_DEF
};

/* 1 ms .. 10 s: a NOOP is well under the first, a big SEARCH or a
 * password hash of a slow scheme lands in the middle. */
const double stats_bucket_bounds[STATS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 10.0,
};

static const char *const proto_names[LIVE_PROTO_COUNT] = { "pop3", "imap", "lmtp" };

const char *live_proto_name(enum live_proto p)
{
	return p < LIVE_PROTO_COUNT ? proto_names[p] : "?";
}

static struct stats_block *block;

void stats_set_block(struct stats_block *b)
{
	block = b;
}

void stats_add(enum stats_counter c, uint64_t n)
{
	if (block != NULL && c < STAT_COUNT)
		__atomic_fetch_add(&block->counters[c], n, __ATOMIC_RELAXED);
}

void stats_observe(enum live_proto proto, const char *name, uint64_t us)
{
	struct stats_hist *h = NULL;
	uint32_t n;
	unsigned b;

	if (block == NULL || name == NULL || name[0] == '\0')
		return;
	n = block->nhist;
	for (uint32_t i = 0; i < n; i++) {
		if (block->hist[i].proto == proto &&
		    strncmp(block->hist[i].name, name, STATS_COMMAND_NAME - 1) == 0) {
			h = &block->hist[i];
			break;
		}
	}
	if (h == NULL) {
		if (n >= STATS_MAX_COMMANDS)
			return;
		h = &block->hist[n];
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->proto = (uint8_t)proto;
		/* Readers see the entry only once it has its name. */
		__atomic_store_n(&block->nhist, n + 1, __ATOMIC_RELEASE);
	}
	for (b = 0; b < STATS_BUCKETS && (double)us / 1e6 > stats_bucket_bounds[b]; b++)
		;
	__atomic_fetch_add(&h->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

void stats_snapshot_add(struct stats_snapshot *snap, const struct stats_block *b)
{
	uint32_t n = __atomic_load_n(&b->nhist, __ATOMIC_ACQUIRE);

	for (int c = 0; c < STAT_COUNT; c++)
		snap->counters[c] += __atomic_load_n(&b->counters[c], __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < n && i < STATS_MAX_COMMANDS; i++) {
		const struct stats_hist *src = &b->hist[i];
		struct stats_hist *dst = NULL;

		for (size_t k = 0; k < snap->nhist; k++)
			if (snap->hist[k].proto == src->proto &&
			    strncmp(snap->hist[k].name, src->name, STATS_COMMAND_NAME) == 0)
				dst = &snap->hist[k];
		if (dst == NULL) {
			if (snap->nhist >= sizeof(snap->hist) / sizeof(snap->hist[0]))
				continue;
			dst = &snap->hist[snap->nhist++];
			memcpy(dst->name, src->name, STATS_COMMAND_NAME);
			dst->name[STATS_COMMAND_NAME - 1] = '\0';
			dst->proto = src->proto;
		}
		for (int k = 0; k <= STATS_BUCKETS; k++)
			dst->buckets[k] += __atomic_load_n(&src->buckets[k], __ATOMIC_RELAXED);
		dst->count += __atomic_load_n(&src->count, __ATOMIC_RELAXED);
		dst->sum_us += __atomic_load_n(&src->sum_us, __ATOMIC_RELAXED);
	}
}

/* A command name as a label value: ours are upper-case letters and one
 * space ("UID FETCH"), but escape what OpenMetrics requires anyway. */
static void put_label_value(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_printf(b, "\\n");
		else
			buf_printf(b, "%c", *s);
	}
}

const char *stats_abuse_event(unsigned i, const struct stats_snapshot *snap, uint64_t *n_r)
{
	static const struct { const char *name; size_t offset; } events[STATS_ABUSE_EVENTS] = {
		{ "login_failed", offsetof(struct abuse_stats, logins_failed) },
		{ "login_delayed", offsetof(struct abuse_stats, logins_delayed) },
		{ "ip_limit_refused", offsetof(struct abuse_stats, ip_limit_refused) },
		{ "user_limit_refused", offsetof(struct abuse_stats, user_limit_refused) },
		{ "bad_command_disconnect", offsetof(struct abuse_stats, bad_command_disconnects) },
		{ "untracked", offsetof(struct abuse_stats, untracked) },
	};

	if (i >= STATS_ABUSE_EVENTS)
		return NULL;
	memcpy(n_r, (const char *)&snap->abuse + events[i].offset, sizeof(*n_r));
	return events[i].name;
}

char *stats_openmetrics(const struct stats_snapshot *snap)
{
	struct buf b;
	const char *family = NULL;
	char *out;

	buf_init(&b, 4u << 20);	/* a few hundred lines in practice */
	for (int c = 0; c < STAT_COUNT; c++) {
		const struct stats_counter_def *d = &stats_counter_defs[c];

		if (family == NULL || strcmp(family, d->family) != 0) {
			family = d->family;
			buf_printf(&b, "# TYPE %s counter\n# HELP %s %s.\n", family, family, d->help);
		}
		buf_printf(&b, "%s_total{%s} %llu\n", family, d->labels,
			   (unsigned long long)snap->counters[c]);
	}
	buf_printf(&b, "# TYPE duomail_abuse_events counter\n"
		       "# HELP duomail_abuse_events Abuse defence events (README \"Abuse defence\").\n");
	for (unsigned i = 0; i < STATS_ABUSE_EVENTS; i++) {
		uint64_t n;
		const char *name = stats_abuse_event(i, snap, &n);

		buf_printf(&b, "duomail_abuse_events_total{event=\"%s\"} %llu\n", name,
			   (unsigned long long)n);
	}
	buf_printf(&b, "# TYPE duomail_sessions gauge\n"
		       "# HELP duomail_sessions Sessions open now.\n");
	for (int p = 0; p < LIVE_PROTO_COUNT; p++)
		buf_printf(&b, "duomail_sessions{protocol=\"%s\"} %u\n", proto_names[p],
			   snap->sessions[p]);
	buf_printf(&b, "# TYPE duomail_workers gauge\n"
		       "# HELP duomail_workers Worker processes running.\n"
		       "duomail_workers %u\n", snap->workers_alive);
	buf_printf(&b, "# TYPE duomail_command_duration_seconds histogram\n"
		       "# HELP duomail_command_duration_seconds Time from a command to its "
		       "status reply.\n# UNIT duomail_command_duration_seconds seconds\n");
	for (size_t i = 0; i < snap->nhist; i++) {
		const struct stats_hist *h = &snap->hist[i];
		uint64_t cum = 0;

		for (int k = 0; k <= STATS_BUCKETS; k++) {
			cum += h->buckets[k];
			buf_printf(&b, "duomail_command_duration_seconds_bucket{protocol=\"%s\",command=\"",
				   live_proto_name(h->proto));
			put_label_value(&b, h->name);
			if (k < STATS_BUCKETS)
				buf_printf(&b, "\",le=\"%g\"} %llu\n", stats_bucket_bounds[k],
					   (unsigned long long)cum);
			else
				buf_printf(&b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		buf_printf(&b, "duomail_command_duration_seconds_count{protocol=\"%s\",command=\"",
			   live_proto_name(h->proto));
		put_label_value(&b, h->name);
		buf_printf(&b, "\"} %llu\n", (unsigned long long)h->count);
		buf_printf(&b, "duomail_command_duration_seconds_sum{protocol=\"%s\",command=\"",
			   live_proto_name(h->proto));
		put_label_value(&b, h->name);
		buf_printf(&b, "\"} %.6f\n", (double)h->sum_us / 1e6);
	}
	buf_printf(&b, "# EOF\n");
	out = xstrndup(buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	return out;
}
