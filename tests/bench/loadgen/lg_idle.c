/*
 * IMAP workload "idle": --clients sessions log in, SELECT INBOX and IDLE
 * (RFC 2177), at most --ramp of them setting up at once.  When all are
 * idling, it waits --settle seconds and reads the server's memory: the
 * growth of its PSS since before the first connection, divided by the
 * sessions, is the memory per connection.  Then, with --lmtp, it delivers
 * one message over LMTP to every user the sessions use (one transaction)
 * and measures, per session, the time from the end of DATA to the
 * "* n EXISTS" that the server pushes (RFC 2177 §3: the server may send
 * untagged EXISTS while idling).  A session that gets none within 30 s
 * is an error.
 */
#include "lg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum idle_state { I_GREETING, I_LOGIN, I_SELECT, I_IDLE, I_IDLING, I_GONE };

static struct {
	struct lg_client *cls;
	unsigned n, next, setting_up, ready, failed;
	uint64_t setup_t0;
	uv_timer_t timer;
	uv_timer_t setup_timer;		/* a bound on the whole set-up */
	struct lg_client courier;	/* the LMTP delivery */
	unsigned courier_rcpts, courier_replies;
	uint64_t push_t0;		/* when the final dot was sent; 0 before */
	bool finishing;
} I;

static void launch(void);
static void deliver(void);

static void finish(void)
{
	if (I.finishing)
		return;
	I.finishing = true;
	uv_timer_stop(&I.timer);
	struct lg_run *run = I.cls[0].run;
	if (I.push_t0) {
		run->have_push = true;
		uint64_t missed = I.ready - run->push.count;
		for (uint64_t i = 0; i < missed; i++)
			lg_error(&I.cls[0], "no EXISTS pushed within 30 s", NULL, 0);
	}
	for (unsigned i = 0; i < I.n; i++) {
		struct lg_client *cl = &I.cls[i];
		if (cl->state != I_GONE) {
			cl->expect_close = true;
			lg_conn_close(&cl->conn);
		}
	}
}

static void timer_push_timeout(uv_timer_t *t)
{
	finish();
}

static void timer_settled(uv_timer_t *t)
{
	struct lg_run *run = I.cls[0].run;
	struct lg_proc_sample s;
	lg_add_extra(run, "idle_sessions", I.ready);
	lg_add_extra(run, "setup_s", (double)(lg_now_ns() - I.setup_t0) / 1e9 - run->opt->settle_s);
	if (run->have_proc && I.ready && lg_proc_sample(run->opt->pids, run->opt->npids, &s) == 0) {
		if (s.pss_kib > run->peak_pss_kib)
			run->peak_pss_kib = s.pss_kib;
		lg_add_extra(run, "mem_per_conn_kib",
			     ((double)s.pss_kib - (double)run->before.pss_kib) / I.ready);
		lg_add_extra(run, "rss_per_conn_kib",
			     ((double)s.rss_kib - (double)run->before.rss_kib) / I.ready);
	}
	fprintf(stderr, "loadgen: %u sessions idling, %u failed\n", I.ready, I.failed);
	if (run->opt->have_lmtp && I.ready)
		deliver();
	else
		finish();
}

/* Sessions still setting up after IDLE_SETUP_S are failures. */
#define IDLE_SETUP_S 300

static void timer_setup_over(uv_timer_t *t)
{
	for (unsigned i = 0; i < I.n; i++) {
		struct lg_client *cl = &I.cls[i];
		if (cl->state < I_IDLING && cl->conn.open && !cl->conn.closing) {
			lg_error(cl, "no IDLE within the set-up time", NULL, 0);
			lg_conn_close(&cl->conn);
		}
	}
}

static void setup_over(bool ok)
{
	I.setting_up--;
	if (ok)
		I.ready++;
	else
		I.failed++;
	if (I.ready + I.failed == I.n) {
		uv_timer_stop(&I.setup_timer);
		uv_timer_start(&I.timer, timer_settled,
			       (uint64_t)(I.cls[0].run->opt->settle_s * 1000), 0);
		return;
	}
	launch();
}

static void idler_event(struct lg_conn *c, enum lg_conn_event ev, const char *line, size_t len)
{
	struct lg_client *cl = c->owner;
	struct lg_run *run = cl->run;
	if (ev == LG_CONN_READY)
		return;
	if (ev == LG_CONN_CLOSED) {
		int was = cl->state;
		cl->state = I_GONE;
		run->bytes_in += c->bytes_in;
		if (!cl->expect_close)
			lg_error(cl, "connection lost", NULL, 0);
		if (was < I_IDLING)
			setup_over(false);
		else if (!cl->expect_close && !cl->got_push && I.ready)
			I.ready--;	/* no longer waits for the push */
		run->sessions += cl->expect_close;
		lg_client_finished(cl);
		if (I.push_t0 && run->push.count >= I.ready)
			finish();
		return;
	}
	char tag[8];
	snprintf(tag, sizeof(tag), "a%u ", cl->tag);
	switch (cl->state) {
	case I_GREETING:
		if (!lg_starts(line, len, "* OK"))
			break;
		cl->state = I_LOGIN;
		cl->tag = 1;
		lg_op_begin(cl);
		lg_conn_printf(c, "a1 LOGIN \"%s\" \"%s\"\r\n", cl->user->name, cl->user->pass);
		return;
	case I_LOGIN:
	case I_SELECT:
		if (lg_starts(line, len, "* "))
			return;
		if (!lg_starts(line, len, tag) || !lg_starts(line + 3, len - 3, "OK"))
			break;
		lg_op_end(cl);
		lg_op_begin(cl);
		cl->tag++;
		if (cl->state == I_LOGIN) {
			cl->state = I_SELECT;
			lg_conn_send(c, "a2 SELECT INBOX\r\n", 17);
		} else {
			cl->state = I_IDLE;
			lg_conn_send(c, "a3 IDLE\r\n", 9);
		}
		return;
	case I_IDLE:
		if (!lg_starts(line, len, "+"))
			break;
		lg_op_end(cl);
		cl->state = I_IDLING;
		setup_over(true);
		return;
	case I_IDLING:
		if (I.push_t0 && !cl->got_push && len > 2 && line[0] == '*' &&
		    memmem(line, len, " EXISTS", 7)) {
			cl->got_push = true;
			lg_hist_add(&run->push, (lg_now_ns() - I.push_t0) / 1000);
			if (run->push.count >= I.ready)
				finish();
		}
		return;	/* "* OK Still here" and the like */
	default:
		return;
	}
	lg_error(cl, "unexpected reply during set-up", line, len);
	lg_conn_close(c);
}

static void launch(void)
{
	struct lg_run *run = I.cls[0].run;
	while (I.next < I.n && I.setting_up < run->opt->ramp) {
		struct lg_client *cl = &I.cls[I.next++];
		I.setting_up++;
		cl->state = I_GREETING;
		lg_client_connect(cl, idler_event);
	}
}

/* ---- the one LMTP delivery ---- */

static void courier_event(struct lg_conn *c, enum lg_conn_event ev, const char *line,
			  size_t len)
{
	struct lg_client *cl = c->owner;
	struct lg_run *run = cl->run;
	const struct lg_options *o = run->opt;
	if (ev == LG_CONN_READY)
		return;
	if (ev == LG_CONN_CLOSED) {
		if (!cl->expect_close) {
			lg_error(cl, "LMTP connection lost", NULL, 0);
			finish();
		}
		return;
	}
	if (len >= 4 && line[3] == '-')
		return;
	if (len == 0 || (line[0] != '2' && line[0] != '3')) {
		lg_error(cl, "LMTP delivery refused", line, len);
		cl->expect_close = true;
		lg_conn_close(c);
		finish();
		return;
	}
	switch (cl->step++) {
	case 0:
		lg_conn_send(c, "LHLO loadgen.bench.test\r\n", 25);
		return;
	case 1:
		lg_conn_send(c, "MAIL FROM:<loadgen@bench.test>\r\n", 32);
		return;
	case 2:
		for (unsigned i = 0; i < I.courier_rcpts; i++)
			lg_conn_printf(c, "RCPT TO:<%s>\r\n", o->users[i].name);
		return;
	default:
		break;
	}
	/* RCPT replies, then DATA's 354, then one reply per recipient. */
	unsigned k = cl->step - 4;	/* replies after the LHLO/MAIL ones */
	if (k + 1 < I.courier_rcpts)
		return;
	if (k + 1 == I.courier_rcpts) {
		lg_conn_send(c, "DATA\r\n", 6);
		return;
	}
	if (k == I.courier_rcpts) {
		lg_conn_send(c, run->message, run->message_len);
		I.push_t0 = lg_now_ns();
		lg_conn_send(c, ".\r\n", 3);
		uv_timer_start(&I.timer, timer_push_timeout, 30000, 0);
		return;
	}
	if (++I.courier_replies == I.courier_rcpts) {
		lg_add_extra(run, "delivery_ms", (double)(lg_now_ns() - I.push_t0) / 1e6);
		cl->expect_close = true;
		lg_conn_send(c, "QUIT\r\n", 6);
		lg_conn_close(c);
	}
}

static void deliver(void)
{
	struct lg_run *run = I.cls[0].run;
	struct lg_client *cl = &I.courier;
	cl->run = run;
	cl->user = &run->opt->users[0];
	cl->step = 0;
	I.courier_rcpts = run->opt->nusers < I.n ? run->opt->nusers : I.n;
	if (lg_conn_open(&cl->conn, run->loop, (const struct sockaddr *)&run->opt->lmtp_addr,
			 NULL, courier_event, cl) < 0) {
		lg_error(cl, "cannot make an LMTP socket", NULL, 0);
		finish();
	}
}

static void start(struct lg_run *run)
{
	I.n = run->opt->clients;
	I.cls = lg_clients_new(run, I.n);
	I.setup_t0 = lg_now_ns();
	uv_timer_init(run->loop, &I.timer);
	uv_unref((uv_handle_t *)&I.timer);
	uv_timer_init(run->loop, &I.setup_timer);
	uv_unref((uv_handle_t *)&I.setup_timer);
	uv_timer_start(&I.setup_timer, timer_setup_over, IDLE_SETUP_S * 1000, 0);
	launch();
}

const struct lg_workload lg_imap_idle = {
	"imap", "idle",
	"N sessions in IDLE: memory per connection, one LMTP delivery pushed to all (p99)",
	start,
};
