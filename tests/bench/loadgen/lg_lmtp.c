/*
 * LMTP workload (RFC 2033) "deliver": each client keeps one connection and
 * delivers one message after another: MAIL FROM, RCPT TO (the users in
 * turn), DATA, the message, and waits for the one 250 (one recipient) that
 * says it is on disk.  One delivery is one op and one msg; sessions counts
 * deliveries too, so --count N means N deliveries.
 */
#include "lg.h"

#include <stdio.h>
#include <string.h>

enum lmtp_step { L_GREETING, L_LHLO, L_MAIL, L_RCPT, L_DATA, L_BODY, L_QUIT, L_DONE };

static unsigned next_user;

static void next_delivery(struct lg_client *cl)
{
	if (!lg_session_wanted(cl->run)) {
		cl->step = L_QUIT;
		cl->expect_close = true;
		lg_conn_send(&cl->conn, "QUIT\r\n", 6);
		return;
	}
	const struct lg_options *o = cl->run->opt;
	cl->user = &o->users[next_user++ % o->nusers];
	lg_op_begin(cl);
	cl->step = L_MAIL;
	lg_conn_send(&cl->conn, "MAIL FROM:<loadgen@bench.test>\r\n", 32);
}

static void on_event(struct lg_conn *c, enum lg_conn_event ev, const char *line, size_t len)
{
	struct lg_client *cl = c->owner;
	struct lg_run *run = cl->run;
	switch (ev) {
	case LG_CONN_READY:
		cl->step = L_GREETING;
		return;
	case LG_CONN_CLOSED:
		run->bytes_in += c->bytes_in;
		if (cl->step != L_DONE)
			lg_error(cl, "connection lost", NULL, 0);
		lg_client_finished(cl);
		return;
	case LG_CONN_LINE:
		break;
	}
	/* "250-..." continues a reply; "250 ..." ends it (RFC 5321 §4.2.1). */
	if (len >= 4 && line[3] == '-')
		return;
	char code = len ? line[0] : '5';
	switch (cl->step) {
	case L_GREETING:
		if (code != '2') {
			lg_error(cl, "bad greeting", line, len);
			lg_conn_close(c);
			return;
		}
		cl->step = L_LHLO;
		lg_conn_send(c, "LHLO loadgen.bench.test\r\n", 25);
		return;
	case L_LHLO:
		if (code != '2') {
			lg_error(cl, "LHLO refused", line, len);
			lg_conn_close(c);
			return;
		}
		next_delivery(cl);
		return;
	case L_MAIL:
		if (code != '2')
			break;
		cl->step = L_RCPT;
		lg_conn_printf(c, "RCPT TO:<%s>\r\n", cl->user->name);
		return;
	case L_RCPT:
		if (code != '2')
			break;
		cl->step = L_DATA;
		lg_conn_send(c, "DATA\r\n", 6);
		return;
	case L_DATA:
		if (code != '3')
			break;
		cl->step = L_BODY;
		lg_conn_send(c, run->message, run->message_len);
		lg_conn_send(c, ".\r\n", 3);
		return;
	case L_BODY:
		if (code != '2')
			break;
		lg_op_end(cl);
		run->msgs++;
		run->sessions++;
		next_delivery(cl);
		return;
	case L_QUIT:
		cl->step = L_DONE;
		lg_conn_close(c);
		return;
	default:
		return;
	}
	/* A refusal: count it, reset the transaction, go on. */
	lg_error(cl, "refused", line, len);
	cl->step = L_LHLO;	/* RSET's 250 then starts the next delivery */
	lg_conn_send(c, "RSET\r\n", 6);
}

static void start(struct lg_run *run)
{
	struct lg_client *cls = lg_clients_new(run, run->opt->clients);
	for (unsigned i = 0; i < run->opt->clients; i++)
		lg_client_connect(&cls[i], on_event);
}

const struct lg_workload lg_lmtp_deliver = {
	"lmtp", "deliver", "MAIL RCPT DATA per message on one connection, each until its 250",
	start,
};
