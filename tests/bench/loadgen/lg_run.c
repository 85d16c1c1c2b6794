/* What every workload shares: clock, counters, the end of the run. */
#include "lg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t lg_now_ns(void)
{
	return uv_hrtime();
}

uint64_t lg_rand(struct lg_client *cl, uint64_t n)
{
	/* xorshift64: a fixed, cheap sequence per client, so runs repeat. */
	uint64_t x = cl->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	cl->rng = x;
	return n ? x % n : 0;
}

struct lg_client *lg_clients_new(struct lg_run *run, unsigned n)
{
	struct lg_client *cls = calloc(n, sizeof(*cls));
	if (!cls) {
		fprintf(stderr, "loadgen: out of memory for %u clients\n", n);
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		cls[i].run = run;
		cls[i].id = i;
		cls[i].user = &run->opt->users[i % run->opt->nusers];
		cls[i].rng = 0x9E3779B97F4A7C15ull * (i + 1);
	}
	run->active = n;
	run->clients = cls;
	return cls;
}

bool lg_session_wanted(struct lg_run *run)
{
	if (run->stop)
		return false;
	if (run->opt->count && run->sessions_started >= run->opt->count)
		return false;
	run->sessions_started++;
	return true;
}

void lg_op_begin(struct lg_client *cl)
{
	cl->op_t0 = lg_now_ns();
}

void lg_op_end(struct lg_client *cl)
{
	uint64_t us = (lg_now_ns() - cl->op_t0) / 1000;
	lg_hist_add(&cl->run->lat, us);
	cl->run->ops++;
}

void lg_error(struct lg_client *cl, const char *what, const char *line, size_t len)
{
	struct lg_run *run = cl->run;
	run->errors++;
	if (run->errors <= 10)
		fprintf(stderr, "loadgen: client %u (%s): %s%s%.*s\n", cl->id, cl->user->name,
			what, line ? ": " : "", line ? (int)(len > 200 ? 200 : len) : 0,
			line ? line : "");
	if (run->errors == 10)
		fprintf(stderr, "loadgen: (further errors only counted)\n");
}

static void sample_cb(uv_timer_t *t)
{
	struct lg_run *run = t->data;
	struct lg_proc_sample s;
	if (lg_proc_sample(run->opt->pids, run->opt->npids, &s) == 0 &&
	    s.pss_kib > run->peak_pss_kib)
		run->peak_pss_kib = s.pss_kib;
}

void lg_client_finished(struct lg_client *cl)
{
	struct lg_run *run = cl->run;
	if (run->active == 0 || --run->active > 0)
		return;
	run->t_end_ns = lg_now_ns();
	uv_timer_stop(&run->deadline);
	uv_timer_stop(&run->sampler);
	if (run->have_proc) {
		sample_cb(&run->sampler);
		if (lg_proc_sample(run->opt->pids, run->opt->npids, &run->after) < 0)
			run->have_proc = false;
	}
	lg_report(run);
	uv_stop(run->loop);
}

void lg_add_extra(struct lg_run *run, const char *key, double val)
{
	if (run->nextra < LG_MAX_EXTRA) {
		run->extra[run->nextra].key = key;
		run->extra[run->nextra].val = val;
		run->nextra++;
	}
}

void lg_client_connect(struct lg_client *cl, lg_conn_cb cb)
{
	struct lg_run *run = cl->run;
	cl->expect_close = false;
	cl->in_session = true;
	cl->tag = 0;
	if (lg_conn_open(&cl->conn, run->loop, (const struct sockaddr *)&run->opt->addr,
			 run->cred, cb, cl) < 0) {
		lg_error(cl, "cannot make a socket", NULL, 0);
		cl->in_session = false;
		lg_client_finished(cl);
	}
}

bool lg_starts(const char *line, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len >= n && memcmp(line, s, n) == 0;
}
