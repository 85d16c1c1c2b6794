/*
 * IMAP sessions: lifecycle and the input loop.  Lines and literals go to
 * the parser; a complete command goes to its handler.  Commands are run one
 * at a time in arrival order; while one runs asynchronously (a password
 * check on the thread pool) input stays buffered.
 */
#include "imap/imap.h"
#include "imap/imap_append.h"
#include "imap/imap_session.h"
#include "imap/imap_sync.h"

#include "core/async.h"
#include "core/config.h"
#include "core/live.h"
#include "core/log.h"
#include "core/sasl.h"
#include "core/server.h"
#include "store/store.h"

#include <string.h>
#include <strings.h>

const struct imap_parser_limits imap_session_limits = {
	.max_command = IMAP_MAX_COMMAND,
	.max_literal = IMAP_MAX_LITERAL,
	.max_nonsync = IMAP_MAX_LITERAL,	/* LITERAL+ (RFC 7888 §3) */
	.max_depth = 32,
	.max_args = 100000,
};

const struct config *imap_config(const struct imap_session *s)
{
	return conn_server(s->conn)->cfg;
}

struct imap_job {
	struct imap_session *s;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static void job_work(void *arg)
{
	struct imap_job *j = arg;

	j->work(j->arg);
}

static void job_done(void *arg)
{
	struct imap_job *j = arg;
	/* The conn outlives this callback even if the session ends in it
	 * (on_close comes later from the loop); a gone session has none. */
	struct conn *c = j->s->gone ? NULL : j->s->conn;

	j->s->jobs--;
	j->done(j->arg);
	free(j);
	/* Not a conn callback, so nothing else sends what done queued: a
	 * command that now waits for on_drain would wait forever. */
	if (c != NULL)
		conn_flush(c);
}

void imap_async(struct imap_session *s, void (*work)(void *arg), void (*done)(void *arg),
		void *arg)
{
	imap_async_after(s, 0, work, done, arg);
}

void imap_async_after(struct imap_session *s, unsigned delay_ms, void (*work)(void *arg),
		      void (*done)(void *arg), void *arg)
{
	struct imap_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->work = work;
	j->done = done;
	j->arg = arg;
	s->jobs++;
	async_run_after(conn_loop(s->conn), delay_ms, job_work, job_done, j);
}

bool imap_command_run(struct imap_session *s, const struct imap_cmd_def *def,
		      const struct imap_command *cmd)
{
	free(s->cmd_tag);
	s->cmd_tag = xstrdup(cmd->tag);
	if (def->func(s, cmd)) {
		s->uid = false;
		return true;
	}
	s->busy = true;
	return false;
}

static void dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_cmd_def *def = imap_command_find(cmd->name);

	if (conn_live(s->conn) != NULL) {
		char summary[LIVE_TRACE_TEXT], name[LIVE_CMD_MAX];

		imap_trace_summary(cmd, summary, sizeof(summary));
		imap_trace_name(cmd, name, sizeof(name));
		live_session_command(conn_live(s->conn), def ? name : NULL, summary);
	}
	if (def == NULL) {
		imap_bad(s, cmd->tag, "Unknown command.");
		return;
	}
	if ((def->states & (1u << s->state)) == 0) {
		imap_bad(s, cmd->tag, s->state == IMAP_STATE_NOT_AUTH ?
			 "Not logged in." : "Command not valid in this state.");
		return;
	}
	if (imap_sync_needed(s, cmd)) {
		/* The command's arguments stay in the parser's arena: no
		 * line is parsed while the session is busy. */
		s->busy = true;
		free(s->cmd_tag);
		s->cmd_tag = xstrdup(cmd->tag);
		imap_sync_then_run(s, def, cmd);
		return;
	}
	imap_command_run(s, def, cmd);
}

/* The parser announced a literal: refuse it, skip it, or start reading it. */
static void literal_start(struct imap_session *s)
{
	const struct imap_literal_info *li = imap_parser_literal(s->parser);

	if (imap_append_literal_start(s, li))
		return;
	s->in_literal = true;
	s->lit_len = 0;
	s->lit_size = (size_t)li->size;
	s->lit_skip = !li->fits_inline;
	if (s->lit_skip) {
		/* Only an APPEND gets here, with a literal that is not its
		 * message (a huge mailbox name): refuse before the bytes come
		 * (a sync literal), or let a non-sync one pass unread. */
		if (li->sync) {
			imap_tagged(s, NULL, "BAD", "Literal too big.");
			imap_parser_reset(s->parser);
			s->in_literal = false;
		}
		return;
	}
	s->lit_buf = xrealloc(s->lit_buf, s->lit_size ? s->lit_size : 1);
	if (li->sync)
		conn_puts(s->conn, "+ OK\r\n");
}

/* Reads literal bytes; true when the literal is complete. */
static bool literal_read(struct imap_session *s)
{
	if (s->lit_append) {
		if (!imap_append_literal_read(s))
			return false;
		s->in_literal = false;
		s->lit_append = false;
		imap_parser_literal_external(s->parser);
		return true;
	}
	while (s->lit_len < s->lit_size) {
		const char *data;
		size_t n = conn_read_bytes(s->conn, s->lit_size - s->lit_len, &data);

		if (n == 0)
			return false;
		if (!s->lit_skip)
			memcpy(s->lit_buf + s->lit_len, data, n);
		s->lit_len += n;
	}
	s->in_literal = false;
	if (s->lit_skip) {
		imap_parser_literal_external(s->parser);
		s->lit_skip = false;
	} else {
		imap_parser_literal_data(s->parser, s->lit_buf, s->lit_len);
	}
	return true;
}

static void handle_parse(struct imap_session *s, enum imap_parse_result r)
{
	const struct imap_parse_error *err;
	const struct imap_command *cmd;
	const char *name;
	bool answered;

	switch (r) {
	case IMAP_PARSE_DONE:
		cmd = imap_parser_command(s->parser);
		if (imap_append_answered(s)) {
			imap_append_drop(s);	/* refused when its message came */
			return;
		}
		for (unsigned i = 0; i < cmd->nargs && s->append == NULL; i++) {
			if (cmd->args[i].type == IMAP_ARG_LITERAL_EXTERNAL) {
				imap_tagged(s, cmd->tag, "NO", "[TOOBIG] Message too big.");
				return;
			}
		}
		dispatch(s, cmd);
		/* Not taken by APPEND (refused, say); if the command waits for
		 * a sync first, imap_command_done() cleans up after it. */
		if (!s->busy)
			imap_append_drop(s);
		return;
	case IMAP_PARSE_LITERAL:
		literal_start(s);
		return;
	case IMAP_PARSE_ERROR:
		err = imap_parser_error(s->parser);
		name = imap_parser_command_name(s->parser);
		answered = imap_append_answered(s);
		imap_append_drop(s);
		if (err->too_big && !err->fatal && name != NULL && strcmp(name, "APPEND") == 0)
			/* Refused before the client sent it (RFC 7888 §4). */
			imap_tagged(s, err->tag, "NO", "[TOOBIG] Message too big.");
		else if (!answered)
			imap_bad(s, err->tag, err->text);
		if (err->fatal) {
			/* Octets we cannot read as commands are on their way. */
			imap_untagged(s, err->too_big ? "BYE [TOOBIG] Literal too big." :
					 "BYE Invalid literal.");
			conn_close(s->conn);
		}
		return;
	}
}

static void imap_process_input(struct imap_session *s)
{
	/* IDLE is a running command that still reads: its DONE. */
	while ((!s->busy || (s->idling && !s->idle_done)) && !conn_is_closing(s->conn) &&
	       !conn_output_full(s->conn)) {
		char *line;
		size_t len;
		int ret;

		if (s->in_literal) {
			if (!literal_read(s))
				return;
			continue;
		}
		ret = conn_getline(s->conn, &line, &len);
		if (ret == 0)
			return;
		if (ret < 0) {
			/* Whatever command it was is lost; the line is skipped. */
			imap_parser_reset(s->parser);
			imap_append_drop(s);
			sasl_free(&s->sasl);
			imap_bad(s, NULL, "Line too long.");
			continue;
		}
		if (s->sasl != NULL) {
			live_session_client_line(conn_live(s->conn), "<redacted>");
			imap_authenticate_continue(s, line, len);
			continue;
		}
		if (s->idling) {
			live_session_client_line(conn_live(s->conn),
						 len == 4 && strncasecmp(line, "DONE", 4) == 0 ?
						 "DONE" : "<not DONE>");
			imap_idle_line(s, line, len);
			continue;
		}
		handle_parse(s, imap_parser_line(s->parser, line, len));
	}
}

void imap_command_done(struct imap_session *s)
{
	s->uid = false;
	s->on_drain = NULL;
	imap_append_drop(s);	/* an APPEND that never ran (deselected meanwhile) */
	imap_input_resume(s);
}

void imap_input_resume(struct imap_session *s)
{
	s->busy = false;
	if (s->gone) {
		if (s->jobs > 0)
			return;		/* the last job's done comes back here */
		imap_session_free(s);
		return;
	}
	imap_process_input(s);
	conn_flush(s->conn);
}

void imap_session_free(struct imap_session *s)
{
	if (s->cmd_ctx_free != NULL)
		s->cmd_ctx_free(s->cmd_ctx);	/* before the mailbox it reads goes */
	imap_parser_free(&s->parser);
	sasl_free(&s->sasl);
	imap_deselect(s);
	imap_append_drop(s);	/* a message cut off: its temp file goes */
	store_close(&s->store);
	free(s->lit_buf);
	free(s->cmd_tag);
	free(s->user);
	free(s);
}

static void imap_on_open(struct conn *c)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));

	s->conn = c;
	s->state = IMAP_STATE_NOT_AUTH;
	s->parser = imap_parser_new(&imap_session_limits);
	conn_set_ctx(c, s);
	conn_set_max_line(c, IMAP_MAX_LINE);
	/* RFC 3501 §5.4: an autologout timer of at least 30 minutes. */
	conn_set_idle_timeout(c, 30 * 60);
	log_info("%s: connected%s", conn_id(c), conn_is_tls(c) ? " (TLS)" : "");
	imap_untagged(s, "OK [CAPABILITY %s] %s duomail IMAP ready.", imap_capabilities(s),
		      imap_config(s)->hostname);
}

static void imap_on_input(struct conn *c)
{
	imap_process_input(conn_ctx(c));
}

static void imap_on_drain(struct conn *c)
{
	struct imap_session *s = conn_ctx(c);

	if (s->on_drain != NULL)
		s->on_drain(s);
	else
		imap_process_input(s);
}

static void imap_on_timeout(struct conn *c)
{
	struct imap_session *s = conn_ctx(c);

	imap_untagged(s, "BYE Autologout; idle for too long.");
	conn_close(c);
}

static void imap_on_shutdown(struct conn *c)
{
	struct imap_session *s = conn_ctx(c);

	/* RFC 3501 §7.1.5: BYE before the server closes the connection. */
	imap_untagged(s, "BYE Server shutting down.");
	conn_close(c);
}

static void imap_on_close(struct conn *c)
{
	struct imap_session *s = conn_ctx(c);

	log_info("%s: disconnected%s%s", conn_id(c), s->user ? " user=" : "", s->user ? s->user : "");
	conn_set_ctx(c, NULL);
	if (s->jobs > 0) {
		s->gone = true;		/* the last job's imap_command_done() frees it */
		return;
	}
	imap_session_free(s);
}

const struct conn_handler imap_handler = {
	.name = "imap",
	/* RFC 3501 §7.1.5: a BYE greeting rejects the connection; RFC 5530
	 * §3: UNAVAILABLE, a temporary failure. */
	.refuse_greeting = "* BYE [UNAVAILABLE] Too many connections from your address, "
			   "try again later.\r\n",
	.on_open = imap_on_open,
	.on_input = imap_on_input,
	.on_drain = imap_on_drain,
	.on_tls_ready = imap_on_input,
	.on_timeout = imap_on_timeout,
	.on_shutdown = imap_on_shutdown,
	.on_close = imap_on_close,
};
