/*
 * POP3 workloads (RFC 1939), one command at a time:
 *   retr-all  USER, PASS, STAT, LIST, UIDL, RETR of every message, QUIT:
 *             a client downloading the whole maildrop.
 *   mixed     the same, then DELE of every message, and RSET before QUIT
 *             (RFC 1939 §5: RSET unmarks them) so the maildrop stays the
 *             same for the next session.
 *   retr-pipelined  retr-all with the RETRs pipelined (RFC 2449 PIPELINING,
 *             which both servers announce), PIPE_WINDOW in flight, as mpop
 *             does: what the server does per message, not the round trip.
 * Every reply (single or multi-line) is one op; a RETRieved message is a msg.
 * One POP3 session per account at a time is the rule on both servers, so
 * give at least as many users as clients.
 */
#include "lg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_WINDOW LG_PIPE_WINDOW

enum pop3_step { P_GREETING, P_USER, P_PASS, P_STAT, P_LIST, P_UIDL, P_RETR, P_DELE,
		 P_RSET, P_QUIT, P_DONE };

static bool wants_dele(const struct lg_client *cl)
{
	return strcmp(cl->run->opt->workload, "mixed") == 0;
}

static bool pipelined(const struct lg_client *cl)
{
	return strcmp(cl->run->opt->workload, "retr-pipelined") == 0;
}

/* The next RETR of a pipelined download; its send time is kept for its
 * latency. */
static void send_retr(struct lg_client *cl)
{
	cl->pipe_t0[cl->sent % PIPE_WINDOW] = lg_now_ns();
	cl->sent++;
	lg_conn_printf(&cl->conn, "RETR %llu\r\n", (unsigned long long)cl->sent);
}

static bool multiline(int step)
{
	return step == P_LIST || step == P_UIDL || step == P_RETR;
}

static void next_step(struct lg_client *cl)
{
	lg_op_begin(cl);
	cl->state = 0;	/* waiting for the status line */
	switch (cl->step) {
	case P_USER:
		lg_conn_printf(&cl->conn, "USER %s\r\n", cl->user->name);
		return;
	case P_PASS:
		lg_conn_printf(&cl->conn, "PASS %s\r\n", cl->user->pass);
		return;
	case P_STAT:
		lg_conn_send(&cl->conn, "STAT\r\n", 6);
		return;
	case P_LIST:
		lg_conn_send(&cl->conn, "LIST\r\n", 6);
		return;
	case P_UIDL:
		lg_conn_send(&cl->conn, "UIDL\r\n", 6);
		return;
	case P_RETR:
		if (pipelined(cl)) {
			cl->sent = 0;
			while (cl->sent < cl->nmsgs && cl->sent < PIPE_WINDOW)
				send_retr(cl);
			return;
		}
		lg_conn_printf(&cl->conn, "RETR %llu\r\n", (unsigned long long)cl->cursor);
		return;
	case P_DELE:
		lg_conn_printf(&cl->conn, "DELE %llu\r\n", (unsigned long long)cl->cursor);
		return;
	case P_RSET:
		lg_conn_send(&cl->conn, "RSET\r\n", 6);
		return;
	case P_QUIT:
		cl->expect_close = true;
		lg_conn_send(&cl->conn, "QUIT\r\n", 6);
		return;
	default:
		return;
	}
}

/* One reply of a pipelined download: keep the window full. */
static void pipelined_done(struct lg_client *cl)
{
	uint64_t us = (lg_now_ns() - cl->pipe_t0[(cl->cursor - 1) % PIPE_WINDOW]) / 1000;

	lg_hist_add(&cl->run->lat, us);
	cl->run->ops++;
	cl->run->msgs++;
	cl->state = 0;
	if (cl->sent < cl->nmsgs)
		send_retr(cl);
	if (++cl->cursor <= cl->nmsgs)
		return;
	cl->cursor = 1;
	cl->step = P_QUIT;
	next_step(cl);
}

/* The reply to cl->step is complete (ok or not): go on. */
static void step_done(struct lg_client *cl, bool ok)
{
	if (cl->step == P_RETR && pipelined(cl)) {
		pipelined_done(cl);
		return;
	}
	lg_op_end(cl);
	if (!ok && (cl->step == P_USER || cl->step == P_PASS || cl->step == P_STAT)) {
		cl->step = P_QUIT;
		next_step(cl);
		return;
	}
	switch (cl->step) {
	case P_UIDL:
		cl->cursor = 1;
		cl->step = cl->nmsgs ? P_RETR : P_QUIT;
		break;
	case P_RETR:
		cl->run->msgs++;
		if (++cl->cursor <= cl->nmsgs)
			break;
		cl->cursor = 1;
		cl->step = wants_dele(cl) ? P_DELE : P_QUIT;
		break;
	case P_DELE:
		if (++cl->cursor > cl->nmsgs)
			cl->step = P_RSET;
		break;
	case P_QUIT:
		cl->step = P_DONE;
		lg_conn_close(&cl->conn);
		return;
	default:
		cl->step++;
		break;
	}
	next_step(cl);
}

static void start_session(struct lg_client *cl);

static void on_event(struct lg_conn *c, enum lg_conn_event ev, const char *line, size_t len)
{
	struct lg_client *cl = c->owner;
	switch (ev) {
	case LG_CONN_READY:
		cl->step = P_GREETING;
		return;
	case LG_CONN_CLOSED:
		cl->run->bytes_in += c->bytes_in;
		if (cl->step == P_DONE)
			cl->run->sessions++;
		else
			lg_error(cl, "connection lost", NULL, 0);
		start_session(cl);
		return;
	case LG_CONN_LINE:
		break;
	}
	if (cl->step == P_GREETING) {
		if (!lg_starts(line, len, "+OK")) {
			lg_error(cl, "bad greeting", line, len);
			lg_conn_close(c);
			return;
		}
		cl->step = P_USER;
		next_step(cl);
		return;
	}
	if (cl->state == 1) {
		/* Inside a multi-line reply: "." alone ends it (RFC 1939 §3). */
		if (len == 1 && line[0] == '.')
			step_done(cl, true);
		return;
	}
	bool ok = lg_starts(line, len, "+OK");
	if (!ok)
		lg_error(cl, "command failed", line, len);
	if (ok && cl->step == P_STAT)
		cl->nmsgs = strtoull(line + 3, NULL, 10);
	if (ok && multiline(cl->step)) {
		cl->state = 1;
		return;
	}
	step_done(cl, ok);
}

static void start_session(struct lg_client *cl)
{
	if (!lg_session_wanted(cl->run)) {
		lg_client_finished(cl);
		return;
	}
	cl->step = P_GREETING;
	cl->nmsgs = 0;
	lg_client_connect(cl, on_event);
}

static void start(struct lg_run *run)
{
	struct lg_client *cls = lg_clients_new(run, run->opt->clients);
	for (unsigned i = 0; i < run->opt->clients; i++)
		start_session(&cls[i]);
}

const struct lg_workload lg_pop3_retr_all = {
	"pop3", "retr-all", "USER PASS STAT LIST UIDL, RETR every message, QUIT", start,
};
const struct lg_workload lg_pop3_retr_pipelined = {
	"pop3", "retr-pipelined", "as retr-all, with the RETRs pipelined (RFC 2449), as mpop does",
	start,
};
const struct lg_workload lg_pop3_mixed = {
	"pop3", "mixed", "as retr-all, then DELE every message, RSET, QUIT", start,
};
