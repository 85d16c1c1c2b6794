/*
 * `duomail stats`: the running server's counters (connections, commands,
 * logins, bytes, deliveries), open sessions, and command latencies, from
 * the admin socket.  The same numbers as /metrics ([listen] http).
 */
#include "core/admin_cmd.h"
#include "core/commands.h"
#include "core/log.h"
#include "core/stats.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail stats [--config FILE] [--json]\n"
		   "Prints the running server's counters since it started (connections, commands,\n"
		   "logins, bytes, LMTP deliveries; per protocol), the open sessions and each\n"
		   "command's latency (count, mean, and the bucket under which 50%% and 99%% fall).\n"
		   "Exit: 0, 2 bad config, 64 usage, 69 server not reachable.\n");
}

struct stat_lines {
	char **lines;
	size_t n;
};

static void collect(char **fields, size_t n, void *arg)
{
	struct stat_lines *s = arg;
	size_t size = 1;
	char *line;

	/* Kept in the wire form, escaped again, and split where printed. */
	for (size_t i = 0; i < n; i++)
		size += 2 * strlen(fields[i]) + 1;
	line = xmalloc(size);
	line[0] = '\0';
	for (size_t i = 0; i < n; i++)
		admin_field_put(line, size, fields[i]);
	s->lines = xrealloc(s->lines, (s->n + 1) * sizeof(*s->lines));
	s->lines[s->n++] = line;
}

/* labels `protocol="pop3",result="ok"` as a JSON object. */
static void json_labels(const char *labels)
{
	bool first = true;
	const char *p = labels;

	printf("{");
	while (*p != '\0') {
		const char *eq = strchr(p, '='), *end;

		if (eq == NULL || eq[1] != '"' || (end = strchr(eq + 2, '"')) == NULL)
			break;
		printf("%s\"%.*s\":\"%.*s\"", first ? "" : ",", (int)(eq - p), p,
		       (int)(end - eq - 2), eq + 2);
		first = false;
		p = end + 1;
		if (*p == ',')
			p++;
	}
	printf("}");
}

/* The upper bound of the bucket in which quantile q of the counts falls. */
static const char *quantile_bucket(const unsigned long long *b, unsigned long long count,
				   double q, char *out, size_t size)
{
	unsigned long long cum = 0;

	for (int k = 0; k <= STATS_BUCKETS; k++) {
		cum += b[k];
		if (count > 0 && (double)cum >= q * (double)count) {
			if (k == STATS_BUCKETS)
				snprintf(out, size, ">%gs", stats_bucket_bounds[STATS_BUCKETS - 1]);
			else if (stats_bucket_bounds[k] < 1)
				snprintf(out, size, "<=%gms", stats_bucket_bounds[k] * 1000);
			else
				snprintf(out, size, "<=%gs", stats_bucket_bounds[k]);
			return out;
		}
	}
	snprintf(out, size, "-");
	return out;
}

static void parse_buckets(const char *s, unsigned long long *b)
{
	char *end;

	for (int k = 0; k <= STATS_BUCKETS; k++) {
		b[k] = strtoull(s, &end, 10);
		s = *end == ',' ? end + 1 : end;
	}
}

static void print(const struct stat_lines *s, bool json)
{
	bool first;
	char *f[8];
	char tmp[4096];

	if (json) {
		printf("{\"counters\":[");
		first = true;
		for (size_t i = 0; i < s->n; i++) {
			snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
			if (admin_fields_split(tmp, f, 8) == 4 && strcmp(f[0], "counter") == 0) {
				printf("%s{\"name\":\"%s_total\",\"labels\":", first ? "" : ",", f[1]);
				json_labels(f[2]);
				printf(",\"value\":%s}", f[3]);
				first = false;
			}
		}
		printf("],\"sessions\":{");
		first = true;
		for (size_t i = 0; i < s->n; i++) {
			snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
			if (admin_fields_split(tmp, f, 8) == 3 && strcmp(f[0], "sessions") == 0) {
				printf("%s\"%s\":%s", first ? "" : ",", f[1], f[2]);
				first = false;
			}
		}
		printf("},\"latency\":[");
		first = true;
		for (size_t i = 0; i < s->n; i++) {
			unsigned long long b[STATS_BUCKETS + 1];

			snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
			if (admin_fields_split(tmp, f, 8) != 6 || strcmp(f[0], "hist") != 0)
				continue;
			parse_buckets(f[5], b);
			printf("%s{\"protocol\":\"%s\",\"command\":", first ? "" : ",", f[1]);
			json_string(stdout, f[2]);
			printf(",\"count\":%s,\"sum_seconds\":%.6f,\"buckets\":[", f[3],
			       strtoull(f[4], NULL, 10) / 1e6);
			for (int k = 0; k <= STATS_BUCKETS; k++) {
				if (k < STATS_BUCKETS)
					printf("%s{\"le\":%g,\"count\":%llu}", k ? "," : "",
					       stats_bucket_bounds[k], b[k]);
				else
					printf(",{\"le\":\"+Inf\",\"count\":%llu}", b[k]);
			}
			printf("]}");
			first = false;
		}
		printf("]");
		for (size_t i = 0; i < s->n; i++) {
			snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
			if (admin_fields_split(tmp, f, 8) == 3 && strcmp(f[0], "workers") == 0)
				printf(",\"workers\":{\"running\":%s,\"configured\":%s}", f[1], f[2]);
		}
		printf("}\n");
		return;
	}
	printf("%-60s %s\n", "COUNTER", "VALUE");
	for (size_t i = 0; i < s->n; i++) {
		char name[300];

		snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
		if (admin_fields_split(tmp, f, 8) != 4 || strcmp(f[0], "counter") != 0)
			continue;
		snprintf(name, sizeof(name), "%s_total{%s}", f[1], f[2]);
		printf("%-60s %s\n", name, f[3]);
	}
	printf("\nsessions open:");
	for (size_t i = 0; i < s->n; i++) {
		size_t n;

		snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
		n = admin_fields_split(tmp, f, 8);
		if (n == 3 && strcmp(f[0], "sessions") == 0)
			printf(" %s %s", f[1], f[2]);
		else if (n == 3 && strcmp(f[0], "workers") == 0)
			printf("; workers running %s of %s", f[1], f[2]);
	}
	printf("\n\n%-5s %-14s %10s %12s %10s %10s\n", "PROTO", "COMMAND", "COUNT", "MEAN", "P50",
	       "P99");
	for (size_t i = 0; i < s->n; i++) {
		unsigned long long b[STATS_BUCKETS + 1], count, sum;
		char p50[32], p99[32];

		snprintf(tmp, sizeof(tmp), "%s", s->lines[i]);
		if (admin_fields_split(tmp, f, 8) != 6 || strcmp(f[0], "hist") != 0)
			continue;
		parse_buckets(f[5], b);
		count = strtoull(f[3], NULL, 10);
		sum = strtoull(f[4], NULL, 10);
		printf("%-5s %-14s %10llu %10.3fms %10s %10s\n", f[1], f[2], count,
		       count ? (double)sum / (double)count / 1000.0 : 0.0,
		       quantile_bucket(b, count, 0.5, p50, sizeof(p50)),
		       quantile_bucket(b, count, 0.99, p99, sizeof(p99)));
	}
}

int cmd_stats(int argc, char **argv)
{
	struct admin_opts o;
	struct stat_lines s = { 0 };
	struct config *cfg;
	char err[512];
	int ret;

	if (!admin_opts_parse(argc, argv, true, 0, 0, usage, &o, &ret))
		return ret;
	cfg = admin_load_config("stats", &o);
	if (cfg == NULL)
		return EXIT_CONFIG;
	if (admin_query(cfg, "stats", collect, &s, err, sizeof(err), &ret) < 0) {
		fprintf(stderr, "duomail stats: %s\n", err);
	} else {
		ret = 0;
		print(&s, o.json);
	}
	for (size_t i = 0; i < s.n; i++)
		free(s.lines[i]);
	free(s.lines);
	config_free(&cfg);
	return ret;
}
