/*
 * POP3 sessions: lifecycle, the command table and the input loop.
 *
 * Commands are taken one at a time from the connection's line buffer, so
 * pipelined commands (RFC 2449 §6.6) are answered in order.  A command that
 * cannot finish at once (a password check on the thread pool, a RETR
 * waiting for the client to read) marks the session busy; input then stays
 * buffered until pop3_command_done() picks up the next line.
 */
#include "pop3/pop3.h"
#include "pop3/pop3_session.h"

#include "core/abuse_table.h"
#include "core/config.h"
#include "core/live.h"
#include "core/log.h"
#include "core/sasl.h"
#include "core/server.h"
#include "store/store.h"

#include <gnutls/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ST_AUTH  (1u << POP3_AUTHORIZATION)
#define ST_TRANS (1u << POP3_TRANSACTION)

static const struct pop3_command {
	const char *name;
	void (*func)(struct pop3_session *s, struct pop3_cmdline *cmd);
	unsigned states;
} pop3_commands[] = {
	{ "USER", pop3_cmd_user, ST_AUTH },
	{ "PASS", pop3_cmd_pass, ST_AUTH },
	{ "APOP", pop3_cmd_apop, ST_AUTH },
	{ "AUTH", pop3_cmd_auth, ST_AUTH },
	{ "STLS", pop3_cmd_stls, ST_AUTH },
	{ "UTF8", pop3_cmd_utf8, ST_AUTH },
	{ "CAPA", pop3_cmd_capa, ST_AUTH | ST_TRANS },
	{ "LANG", pop3_cmd_lang, ST_AUTH | ST_TRANS },
	{ "QUIT", pop3_cmd_quit, ST_AUTH | ST_TRANS },
	{ "STAT", pop3_cmd_stat, ST_TRANS },
	{ "LIST", pop3_cmd_list, ST_TRANS },
	{ "UIDL", pop3_cmd_uidl, ST_TRANS },
	{ "RETR", pop3_cmd_retr, ST_TRANS },
	{ "TOP",  pop3_cmd_top,  ST_TRANS },
	{ "DELE", pop3_cmd_dele, ST_TRANS },
	{ "RSET", pop3_cmd_rset, ST_TRANS },
	{ "NOOP", pop3_cmd_noop, ST_TRANS },
};

const struct config *pop3_config(const struct pop3_session *s)
{
	return conn_server(s->conn)->cfg;
}

/* fmt is pop3_reply_ok/err()'s checked format (the attribute says so). */
static void reply(struct pop3_session *s, const char *status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void reply(struct pop3_session *s, const char *status, const char *fmt, va_list ap)
{
	char line[600];
	size_t n = strlen(status);
	int len;

	/* Formatted once, for the client and for `duomail trace`: a
	 * pipelined download answers 100,000 RETRs a second. */
	memcpy(line, status, n);
	line[n] = ' ';
	len = vsnprintf(line + n + 1, sizeof(line) - n - 3, fmt, ap);
	if (len <= 0)
		line[n] = '\0';	/* no text: the status alone */
	else
		n += 1 + ((size_t)len < sizeof(line) - n - 3 ? (size_t)len : sizeof(line) - n - 4);
	live_session_reply(conn_live(s->conn), line);
	memcpy(line + n, "\r\n", 2);
	conn_write(s->conn, line, n + 2);
}

void pop3_reply_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(s, "+OK", fmt, ap);
	va_end(ap);
}

void pop3_reply_err(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(s, "-ERR", fmt, ap);
	va_end(ap);
}

void pop3_bad_command(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(s, "-ERR", fmt, ap);
	va_end(ap);
	if (++s->bad_commands >= pop3_config(s)->pop3_max_bad_commands &&
	    !conn_is_closing(s->conn)) {
		log_info("%s: too many bad commands (%u), disconnecting%s%s", conn_id(s->conn),
			 s->bad_commands, s->user ? " user=" : "", s->user ? s->user : "");
		if (conn_server(s->conn)->abuse != NULL)
			abuse_count(conn_server(s->conn)->abuse, ABUSE_EV_BAD_COMMANDS);
		pop3_reply_err(s, "Too many bad commands, closing connection.");
		conn_close(s->conn);
	}
}

/* What `duomail trace` shows of a command: the line, but never PASS's
 * password, APOP's digest or AUTH's initial response. */
static void trace_summary(const struct pop3_cmdline *cmd, char *out, size_t size)
{
	int n = snprintf(out, size, "%s", cmd->keyword);

	if (strcmp(cmd->keyword, "PASS") == 0) {
		snprintf(out + n, size - n, " <redacted>");
		return;
	}
	for (unsigned i = 0; i < cmd->nargs && (size_t)n < size; i++) {
		bool secret = (strcmp(cmd->keyword, "APOP") == 0 && i == 1) ||
			      (strcmp(cmd->keyword, "AUTH") == 0 && i == 1);

		n += snprintf(out + n, size - n, " %s", secret ? "<redacted>" : cmd->args[i]);
	}
}

static void pop3_execute(struct pop3_session *s, char *line, size_t len)
{
	struct pop3_cmdline cmd;
	enum pop3_parse_error err = pop3_parse_line(line, len, &cmd);

	if (conn_live(s->conn) != NULL) {
		char summary[200];
		bool known = false;

		if (err == POP3_PARSE_OK) {
			trace_summary(&cmd, summary, sizeof(summary));
			for (size_t i = 0; i < sizeof(pop3_commands) / sizeof(pop3_commands[0]); i++)
				known |= strcmp(pop3_commands[i].name, cmd.keyword) == 0;
		} else {
			snprintf(summary, sizeof(summary), "<%zu bytes, not a command>", len);
		}
		live_session_command(conn_live(s->conn), known ? cmd.keyword : NULL, summary);
	}

	switch (err) {
	case POP3_PARSE_OK:
		break;
	case POP3_PARSE_EMPTY:
		pop3_bad_command(s, "Empty command.");
		return;
	case POP3_PARSE_BAD_KEYWORD:
		pop3_bad_command(s, "Unknown command.");
		return;
	}
	for (size_t i = 0; i < sizeof(pop3_commands) / sizeof(pop3_commands[0]); i++) {
		const struct pop3_command *c = &pop3_commands[i];

		if (strcmp(c->name, cmd.keyword) != 0)
			continue;
		if (cmd.too_many_args && c->func != pop3_cmd_pass) {
			pop3_bad_command(s, "Too many arguments.");
			return;
		}
		if ((c->states & (1u << s->state)) == 0) {
			pop3_bad_command(s, "%s is not valid %s.", c->name,
					 s->state == POP3_AUTHORIZATION ?
					 "before logging in" : "after logging in");
			return;
		}
		c->func(s, &cmd);
		return;
	}
	pop3_bad_command(s, "Unknown command.");
}

static void pop3_process_input(struct pop3_session *s)
{
	while (!s->busy && !conn_is_closing(s->conn) && !conn_output_full(s->conn)) {
		char *line;
		size_t len;
		int ret = conn_getline(s->conn, &line, &len);

		if (ret == 0)
			break;
		if (ret < 0) {
			if (s->sasl != NULL)
				sasl_free(&s->sasl);
			conn_set_max_line(s->conn, POP3_MAX_LINE);
			pop3_bad_command(s, "Line too long.");
			continue;
		}
		if (s->sasl != NULL) {
			live_session_client_line(conn_live(s->conn), "<redacted>");
			pop3_auth_continue(s, line, len);
		}
		else
			pop3_execute(s, line, len);
	}
}

void pop3_command_done(struct pop3_session *s)
{
	s->busy = false;
	if (s->gone) {
		pop3_session_free(s);
		return;
	}
	if (s->stop_requested) {
		pop3_reply_err(s, "[SYS/TEMP] Server shutting down.");
		conn_close(s->conn);
		return;
	}
	pop3_process_input(s);
	conn_flush(s->conn);
}

void pop3_session_free(struct pop3_session *s)
{
	pop3_transfer_free(&s->transfer);
	sasl_free(&s->sasl);
	pop3_maildrop_free(&s->drop);
	store_close(&s->store);	/* also releases the maildrop lock */
	account_policy_free(&s->policy);
	free(s->user);
	free(s);
}

/* ---- connection callbacks ---- */

static void pop3_on_open(struct conn *c)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = conn_server(c)->cfg;
	uint32_t rnd = 0;

	s->conn = c;
	s->state = POP3_AUTHORIZATION;
	conn_set_ctx(c, s);
	conn_set_max_line(c, POP3_MAX_LINE);
	conn_set_idle_timeout(c, cfg->pop3_idle_timeout);
	/* RFC 1939 §7: the APOP timestamp must differ for every greeting. */
	gnutls_rnd(GNUTLS_RND_NONCE, &rnd, sizeof(rnd));
	snprintf(s->apop_timestamp, sizeof(s->apop_timestamp), "<%ld.%08x.%ld@%s>",
		 (long)getpid(), rnd, (long)time(NULL), cfg->hostname);
	log_info("%s: connected%s", conn_id(c), conn_is_tls(c) ? " (TLS)" : "");
	pop3_reply_ok(s, "%s duomail POP3 ready. %s", cfg->hostname, s->apop_timestamp);
}

static void pop3_on_input(struct conn *c)
{
	pop3_process_input(conn_ctx(c));
}

static void pop3_on_drain(struct conn *c)
{
	struct pop3_session *s = conn_ctx(c);

	if (s->transfer != NULL)
		pop3_transfer_resume(s);
	else if (s->listing != 0)
		pop3_listing_resume(s);
	else
		pop3_process_input(s);
}

static void pop3_on_tls_ready(struct conn *c)
{
	pop3_process_input(conn_ctx(c));
}

static void pop3_on_timeout(struct conn *c)
{
	struct pop3_session *s = conn_ctx(c);

	/* RFC 1939 §3: the autologout timer ends the session without UPDATE. */
	log_info("%s: idle timeout%s", conn_id(c), s->user ? "" : " before login");
	pop3_reply_err(s, "Disconnected for inactivity.");
	conn_close(c);
}

static void pop3_on_shutdown(struct conn *c)
{
	struct pop3_session *s = conn_ctx(c);

	if (s->busy) {
		s->stop_requested = true;
		return;
	}
	pop3_reply_err(s, "[SYS/TEMP] Server shutting down.");
	conn_close(c);
}

static void pop3_on_close(struct conn *c)
{
	struct pop3_session *s = conn_ctx(c);

	log_info("%s: disconnected%s%s", conn_id(c), s->user ? " user=" : "",
		 s->user ? s->user : "");
	conn_set_ctx(c, NULL);
	s->conn = NULL;
	if (s->busy && s->transfer == NULL && s->listing == 0) {
		/* A thread-pool job still refers to s; it frees it when done. */
		s->gone = true;
		return;
	}
	pop3_session_free(s);
}

const struct conn_handler pop3_handler = {
	.name = "pop3",
	/* RFC 3206 §4: SYS/TEMP, a temporary problem; try again later. */
	.refuse_greeting = "-ERR [SYS/TEMP] Too many connections from your address, "
			   "try again later.\r\n",
	.on_open = pop3_on_open,
	.on_input = pop3_on_input,
	.on_drain = pop3_on_drain,
	.on_tls_ready = pop3_on_tls_ready,
	.on_timeout = pop3_on_timeout,
	.on_shutdown = pop3_on_shutdown,
	.on_close = pop3_on_close,
};
