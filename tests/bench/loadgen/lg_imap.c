/*
 * IMAP workloads (RFC 3501), one command at a time per session:
 *   mixed         a mail client's session: LOGIN, SELECT, FETCH the flags
 *                 of the newest 50, headers of ten messages, one body, SEARCH UNSEEN,
 *                 a flag change, APPEND, UID STORE \Deleted and UID EXPUNGE
 *                 of the appended message (RFC 4315), a short IDLE
 *                 (RFC 2177), LOGOUT.  Every tagged reply is one op.
 *   select-fetch  LOGIN, then SELECT INBOX + FETCH 1:* (FLAGS UID) as one
 *                 op, LOGOUT: what a client's resync of a big INBOX costs.
 * Several clients may share a user: each expunges only what it appended,
 * and picks messages below the first EXISTS minus the client count, which
 * no other client removes.
 */
#include "lg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum imap_step {
	S_LOGIN, S_SELECT, S_FETCH_FLAGS, S_FETCH_HEADERS, S_FETCH_BODY, S_SEARCH,
	S_STORE, S_APPEND, S_DELETE, S_EXPUNGE, S_IDLE, S_LOGOUT, S_DONE
};

static bool is_select_fetch(const struct lg_client *cl)
{
	return strcmp(cl->run->opt->workload, "select-fetch") == 0;
}

static void send_cmd(struct lg_client *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void send_cmd(struct lg_client *cl, const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "a%u ", ++cl->tag);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m > 0 && (size_t)(n + m) < sizeof(line))
		lg_conn_send(&cl->conn, line, (size_t)(n + m));
	else
		lg_error(cl, "command too long", NULL, 0);
}

static void quoted(char *out, size_t size, const char *s)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* Sends the command of cl->step, skipping steps that have nothing to do. */
static void next_step(struct lg_client *cl)
{
	struct lg_run *run = cl->run;
	char arg[600];
	for (;;) {
		lg_op_begin(cl);
		switch (cl->step) {
		case S_LOGIN: {
			char u[256], p[256];
			quoted(u, sizeof(u), cl->user->name);
			quoted(p, sizeof(p), cl->user->pass);
			snprintf(arg, sizeof(arg), "%s %s", u, p);
			send_cmd(cl, "LOGIN %s\r\n", arg);
			return;
		}
		case S_SELECT:
			cl->exists = 0;
			send_cmd(cl, "SELECT INBOX\r\n");
			return;
		case S_FETCH_FLAGS:
			if (cl->exists == 0)
				break;
			/* The newest 50 that no other client expunges: a
			 * range into their appends may meet one just gone
			 * (NO [EXPUNGEISSUED], RFC 2180 §4.1.2). */
			snprintf(arg, sizeof(arg), "%llu:%llu",
				 (unsigned long long)(cl->safe > 50 ? cl->safe - 49 : 1),
				 (unsigned long long)cl->safe);
			send_cmd(cl, "FETCH %s (UID FLAGS)\r\n", arg);
			return;
		case S_FETCH_HEADERS: {
			if (cl->exists == 0)
				break;
			uint64_t a = 1 + lg_rand(cl, cl->safe);
			uint64_t b = a + 9 > cl->safe ? cl->safe : a + 9;
			snprintf(arg, sizeof(arg), "%llu:%llu", (unsigned long long)a,
				 (unsigned long long)b);
			send_cmd(cl, "FETCH %s (BODY.PEEK[HEADER.FIELDS "
				 "(FROM TO CC SUBJECT DATE MESSAGE-ID)])\r\n", arg);
			return;
		}
		case S_FETCH_BODY:
			if (cl->exists == 0)
				break;
			snprintf(arg, sizeof(arg), "%llu",
				 (unsigned long long)(1 + lg_rand(cl, cl->safe)));
			send_cmd(cl, "FETCH %s (BODY.PEEK[])\r\n", arg);
			return;
		case S_SEARCH:
			send_cmd(cl, "SEARCH UNSEEN\r\n");
			return;
		case S_STORE:
			if (cl->exists == 0)
				break;
			snprintf(arg, sizeof(arg), "%llu %cFLAGS.SILENT (\\Flagged)",
				 (unsigned long long)(1 + lg_rand(cl, cl->safe)),
				 lg_rand(cl, 2) ? '+' : '-');
			send_cmd(cl, "STORE %s\r\n", arg);
			return;
		case S_APPEND:
			cl->append_uid = 0;
			snprintf(arg, sizeof(arg), "%zu", run->message_len);
			send_cmd(cl, "APPEND INBOX (\\Seen) {%s}\r\n", arg);
			return;
		case S_DELETE:
			if (cl->append_uid == 0)
				break;
			snprintf(arg, sizeof(arg), "%llu", (unsigned long long)cl->append_uid);
			send_cmd(cl, "UID STORE %s +FLAGS.SILENT (\\Deleted)\r\n", arg);
			return;
		case S_EXPUNGE:
			if (cl->append_uid == 0)
				break;
			snprintf(arg, sizeof(arg), "%llu", (unsigned long long)cl->append_uid);
			send_cmd(cl, "UID EXPUNGE %s\r\n", arg);
			return;
		case S_IDLE:
			send_cmd(cl, "IDLE\r\n");
			return;
		case S_LOGOUT:
			cl->expect_close = true;
			send_cmd(cl, "LOGOUT\r\n");
			return;
		default:
			return;
		}
		cl->step++;
	}
}

/* "[APPENDUID 1712345678 42]" (RFC 4315 §3): the new message's UID. */
static uint64_t appenduid(const char *line, size_t len)
{
	const char *p = memmem(line, len, "[APPENDUID ", 11);
	if (!p)
		return 0;
	const char *end = line + len;
	p += 11;
	while (p < end && *p != ' ')
		p++;
	return p < end ? strtoull(p + 1, NULL, 10) : 0;
}

static void untagged(struct lg_client *cl, const char *line, size_t len)
{
	/* "* 12 EXISTS", "* 12 EXPUNGE", "* 3 FETCH (... {N}" */
	char *end;
	unsigned long long n = strtoull(line + 2, &end, 10);
	size_t at = (size_t)(end - line);
	if (end != line + 2 && at < len) {
		if (lg_starts(end, len - at, " EXISTS"))
			cl->exists = n;
		else if (lg_starts(end, len - at, " EXPUNGE") && cl->exists)
			cl->exists--;
		else if (lg_starts(end, len - at, " FETCH"))
			cl->run->msgs++;
	}
}

static void literal_at_end(struct lg_client *cl, const char *line, size_t len)
{
	if (len < 3 || line[len - 1] != '}')
		return;
	size_t i = len - 1;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i > 0 && line[i - 1] == '{' && i < len - 1)
		lg_conn_skip(&cl->conn, strtoull(line + i, NULL, 10));
}

static void tagged_select_fetch(struct lg_client *cl)
{
	switch (cl->step) {
	case S_LOGIN:
		cl->step = S_SELECT;
		next_step(cl);
		return;
	case S_SELECT: {
		/* The op is SELECT and FETCH together: op_t0 keeps running. */
		cl->tag++;
		lg_conn_printf(&cl->conn, "a%u FETCH 1:* (FLAGS UID)\r\n", cl->tag);
		cl->step = S_FETCH_FLAGS;
		return;
	}
	case S_FETCH_FLAGS:
		lg_op_end(cl);
		cl->step = S_LOGOUT;
		next_step(cl);
		return;
	default:
		cl->step = S_DONE;
		lg_conn_close(&cl->conn);
		return;
	}
}

static void tagged(struct lg_client *cl, const char *line, size_t len, size_t taglen)
{
	const char *rest = line + taglen;
	size_t rlen = len - taglen;
	if (!lg_starts(rest, rlen, "OK")) {
		lg_error(cl, "command failed", line, len);
		if (cl->step == S_LOGIN || cl->step == S_SELECT) {
			cl->step = S_LOGOUT;
			next_step(cl);
			return;
		}
	}
	if (is_select_fetch(cl)) {
		tagged_select_fetch(cl);
		return;
	}
	lg_op_end(cl);
	switch (cl->step) {
	case S_SELECT: {
		unsigned clients = cl->run->opt->clients;
		cl->safe = cl->exists > clients ? cl->exists - clients : (cl->exists ? 1 : 0);
		break;
	}
	case S_APPEND:
		cl->append_uid = appenduid(rest, rlen);
		if (cl->append_uid == 0)
			lg_error(cl, "APPEND without APPENDUID", line, len);
		break;
	case S_LOGOUT:
		cl->step = S_DONE;
		lg_conn_close(&cl->conn);
		return;
	default:
		break;
	}
	cl->step++;
	next_step(cl);
}

static void start_session(struct lg_client *cl);

static void on_event(struct lg_conn *c, enum lg_conn_event ev, const char *line, size_t len)
{
	struct lg_client *cl = c->owner;
	struct lg_run *run = cl->run;
	switch (ev) {
	case LG_CONN_READY:
		cl->state = 0;	/* waiting for the greeting */
		return;
	case LG_CONN_CLOSED:
		run->bytes_in += c->bytes_in;
		if (cl->step == S_DONE)
			run->sessions++;
		else
			lg_error(cl, "connection lost", NULL, 0);
		start_session(cl);
		return;
	case LG_CONN_LINE:
		break;
	}
	if (cl->state == 0) {
		if (!lg_starts(line, len, "* OK")) {
			lg_error(cl, "bad greeting", line, len);
			lg_conn_close(c);
			return;
		}
		cl->state = 1;
		cl->step = S_LOGIN;
		next_step(cl);
		return;
	}
	if (lg_starts(line, len, "* ")) {
		untagged(cl, line, len);
		literal_at_end(cl, line, len);
		return;
	}
	if (lg_starts(line, len, "+")) {
		if (cl->step == S_APPEND) {
			lg_conn_send(c, run->message, run->message_len);
			lg_conn_send(c, "\r\n", 2);
		} else if (cl->step == S_IDLE) {
			lg_conn_send(c, "DONE\r\n", 6);
		} else {
			lg_error(cl, "unexpected continuation", line, len);
		}
		return;
	}
	char tag[24];
	int taglen = snprintf(tag, sizeof(tag), "a%u ", cl->tag);
	if (lg_starts(line, len, tag)) {
		tagged(cl, line, len, (size_t)taglen);
		return;
	}
	/* The rest of a line after a literal: ")" and the like. */
	literal_at_end(cl, line, len);
}

static void start_session(struct lg_client *cl)
{
	cl->in_session = false;
	if (!lg_session_wanted(cl->run)) {
		lg_client_finished(cl);
		return;
	}
	cl->step = S_LOGIN;
	cl->state = 0;
	lg_client_connect(cl, on_event);
}

static void start(struct lg_run *run)
{
	struct lg_client *cls = lg_clients_new(run, run->opt->clients);
	for (unsigned i = 0; i < run->opt->clients; i++)
		start_session(&cls[i]);
}

const struct lg_workload lg_imap_mixed = {
	"imap", "mixed",
	"LOGIN SELECT FETCH(flags,headers,body) SEARCH STORE APPEND EXPUNGE IDLE LOGOUT",
	start,
};
const struct lg_workload lg_imap_select_fetch = {
	"imap", "select-fetch", "LOGIN, SELECT INBOX + FETCH 1:* (FLAGS UID) as one op, LOGOUT",
	start,
};
