/*
 * LMTP sessions: lifecycle, the command table and the input loop.
 *
 * Commands are taken one at a time from the connection's line buffer, so
 * pipelined commands (RFC 2920) are answered in order: a command that
 * cannot finish at once (a user lookup or a delivery on the thread pool)
 * marks the session busy, and the lines behind it stay buffered until
 * lmtp_command_done().  During DATA the input is message text, taken raw by
 * lmtp_data.c.
 */
#include "lmtp/lmtp.h"
#include "lmtp/lmtp_session.h"
#include "lmtp/lmtp_spool.h"

#include "core/abuse_table.h"
#include "core/live.h"
#include "core/async.h"
#include "core/config.h"
#include "core/log.h"
#include "core/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct lmtp_command {
	const char *verb;
	void (*func)(struct lmtp_session *s, const char *args);
} lmtp_commands[] = {
	{ "LHLO", lmtp_cmd_lhlo },
	{ "MAIL", lmtp_cmd_mail },
	{ "RCPT", lmtp_cmd_rcpt },
	{ "DATA", lmtp_cmd_data },
	{ "RSET", lmtp_cmd_rset },
	{ "NOOP", lmtp_cmd_noop },
	{ "QUIT", lmtp_cmd_quit },
	{ "VRFY", lmtp_cmd_vrfy },
	{ "EXPN", lmtp_cmd_expn },
	{ "HELP", lmtp_cmd_help },
	/* RFC 2033 §4.1: HELO and EHLO are not LMTP. */
	{ "HELO", lmtp_cmd_helo },
	{ "EHLO", lmtp_cmd_helo },
};

const struct config *lmtp_config(const struct lmtp_session *s)
{
	return s->cfg;
}

/* fmt is lmtp_reply()'s checked format (the attribute says so). */
static void vreply(struct lmtp_session *s, int code, const char *status, const char *fmt,
		   va_list ap) __attribute__((format(printf, 4, 0)));

static void vreply(struct lmtp_session *s, int code, const char *status, const char *fmt,
		   va_list ap)
{
	char text[512];

	vsnprintf(text, sizeof(text), fmt, ap);
	conn_printf(s->conn, "%d %s %s\r\n", code, status, text);
	live_session_reply(conn_live(s->conn), text);	/* ends the command's timing */
}

void lmtp_reply(struct lmtp_session *s, int code, const char *status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, code, status, fmt, ap);
	va_end(ap);
}

void lmtp_bad_command(struct lmtp_session *s, int code, const char *status, const char *fmt,
		      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, code, status, fmt, ap);
	va_end(ap);
	if (++s->bad_commands >= lmtp_config(s)->lmtp_max_bad_commands &&
	    !conn_is_closing(s->conn)) {
		log_info("%s: too many bad commands (%u), disconnecting", conn_id(s->conn),
			 s->bad_commands);
		if (conn_server(s->conn)->abuse != NULL)
			abuse_count(conn_server(s->conn)->abuse, ABUSE_EV_BAD_COMMANDS);
		lmtp_reply(s, 421, "4.7.0", "%s Too many errors, closing connection",
			   lmtp_config(s)->hostname);
		conn_close(s->conn);
	}
}

void lmtp_transaction_reset(struct lmtp_session *s)
{
	for (unsigned i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].address);
		free(s->rcpts[i].user);
		user_settings_free(&s->rcpts[i].settings);
	}
	s->nrcpts = 0;
	s->mail = false;
	xfree(&s->return_path);
	xfree(&s->received);
	xfree(&s->received_date);
	s->spool_errno = 0;
	lmtp_spool_free(&s->spool);
	s->in_data = false;
	s->data_size = 0;
	s->too_big = false;
	s->next_rcpt = 0;
}

static void lmtp_session_free(struct lmtp_session *s)
{
	lmtp_transaction_reset(s);
	free(s->rcpts);
	free(s->pending_local);
	free(s->pending_user);
	user_settings_free(&s->pending_settings);
	free(s->pending_address);
	free(s->helo);
	free(s);
}

static void lmtp_execute(struct lmtp_session *s, const char *line, size_t len)
{
	struct lmtp_cmdline cmd;

	switch (lmtp_parse_command(line, len, &cmd)) {
	case LMTP_PARSE_OK:
		break;
	case LMTP_PARSE_EMPTY:
		lmtp_bad_command(s, 500, "5.5.2", "Empty command");
		return;
	case LMTP_PARSE_BAD:
		lmtp_bad_command(s, 500, "5.5.2", "Syntax error, command unrecognized");
		return;
	}
	for (size_t i = 0; i < sizeof(lmtp_commands) / sizeof(lmtp_commands[0]); i++) {
		if (strcmp(lmtp_commands[i].verb, cmd.verb) == 0) {
			/* Counted and timed (until its first reply: DATA's is
			 * the 354); LMTP has no user, so nothing is traced. */
			live_session_command(conn_live(s->conn), cmd.verb, cmd.verb);
			lmtp_commands[i].func(s, cmd.args);
			return;
		}
	}
	/* BDAT, STARTTLS, AUTH, ...: not announced in LHLO, so not used by
	 * a well-behaved client (RFC 5321 §4.2.4). */
	live_session_command(conn_live(s->conn), NULL, "?");
	lmtp_bad_command(s, 500, "5.5.1", "Command unrecognized");
}

static void lmtp_process_input(struct lmtp_session *s)
{
	while (!s->busy && !conn_is_closing(s->conn) && !conn_output_full(s->conn)) {
		char *line;
		size_t len;
		int ret;

		if (s->in_data) {
			lmtp_data_input(s);
			if (s->in_data)
				break;	/* waiting for more text, or busy */
			continue;
		}
		ret = conn_getline(s->conn, &line, &len);
		if (ret == 0)
			break;
		if (ret < 0) {
			/* RFC 5321 §4.3.2: 500 covers a command line too long. */
			lmtp_bad_command(s, 500, "5.5.2", "Line too long");
			continue;
		}
		lmtp_execute(s, line, len);
	}
}

void lmtp_input_resume(struct lmtp_session *s)
{
	s->busy = false;
	lmtp_process_input(s);
	conn_flush(s->conn);
}

void lmtp_command_done(struct lmtp_session *s)
{
	s->busy = false;
	if (s->stop_requested) {
		lmtp_reply(s, 421, "4.3.2", "%s Server shutting down", lmtp_config(s)->hostname);
		conn_close(s->conn);
		return;
	}
	lmtp_input_resume(s);
}

bool lmtp_session_reap(struct lmtp_session *s)
{
	if (!s->gone)
		return false;
	lmtp_session_free(s);
	return true;
}

/* ---- thread-pool jobs ---- */

struct lmtp_job {
	struct lmtp_session *s;
	void (*work)(struct lmtp_session *s);
	void (*done)(struct lmtp_session *s);
};

static void job_work(void *arg)
{
	struct lmtp_job *j = arg;

	j->work(j->s);
}

static void job_done(void *arg)
{
	struct lmtp_job *j = arg;
	struct lmtp_session *s = j->s;

	void (*done)(struct lmtp_session *s) = j->done;

	free(j);
	if (s->gone) {
		/* on_close came while the job ran and left s to us. */
		lmtp_session_free(s);
		return;
	}
	done(s);
}

void lmtp_async(struct lmtp_session *s, void (*work)(struct lmtp_session *s),
		void (*done)(struct lmtp_session *s))
{
	struct lmtp_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->work = work;
	j->done = done;
	s->busy = true;
	async_run(conn_loop(s->conn), job_work, job_done, j);
}

/* ---- connection callbacks ---- */

static void lmtp_on_open(struct conn *c)
{
	struct lmtp_session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = conn_server(c)->cfg;

	s->conn = c;
	s->cfg = cfg;
	conn_set_ctx(c, s);
	conn_set_max_line(c, LMTP_MAX_LINE);
	conn_set_idle_timeout(c, cfg->lmtp_idle_timeout);
	log_info("%s: connected", conn_id(c));
	/* RFC 2034 §3: no enhanced code in the greeting. */
	conn_printf(c, "220 %s duomail LMTP ready\r\n", cfg->hostname);
}

static void lmtp_on_input(struct conn *c)
{
	lmtp_process_input(conn_ctx(c));
}

static void lmtp_on_drain(struct conn *c)
{
	lmtp_process_input(conn_ctx(c));
}

static void lmtp_on_timeout(struct conn *c)
{
	struct lmtp_session *s = conn_ctx(c);

	if (s->busy) {
		/* Our own work (a long delivery) is no idle client. */
		conn_set_idle_timeout(c, lmtp_config(s)->lmtp_idle_timeout);
		return;
	}
	log_info("%s: idle timeout%s", conn_id(c), s->in_data ? " in DATA" : "");
	lmtp_reply(s, 421, "4.4.2", "%s Timeout, closing connection", lmtp_config(s)->hostname);
	conn_close(c);
}

static void lmtp_on_shutdown(struct conn *c)
{
	struct lmtp_session *s = conn_ctx(c);

	/* A message being received or delivered is finished first (within
	 * the worker's grace period); a client between commands is told. */
	if (s->busy || s->in_data) {
		s->stop_requested = true;
		return;
	}
	lmtp_reply(s, 421, "4.3.2", "%s Server shutting down", lmtp_config(s)->hostname);
	conn_close(c);
}

static void lmtp_on_close(struct conn *c)
{
	struct lmtp_session *s = conn_ctx(c);

	log_info("%s: disconnected%s", conn_id(c),
		 s->in_data ? " in DATA: the message is dropped" : "");
	conn_set_ctx(c, NULL);
	s->conn = NULL;
	if (s->busy) {
		/* A thread-pool job still refers to s; it frees it when done. */
		s->gone = true;
		return;
	}
	lmtp_session_free(s);
}

const struct conn_handler lmtp_handler = {
	.name = "lmtp",
	.on_open = lmtp_on_open,
	.on_input = lmtp_on_input,
	.on_drain = lmtp_on_drain,
	.on_timeout = lmtp_on_timeout,
	.on_shutdown = lmtp_on_shutdown,
	.on_close = lmtp_on_close,
};
