/*
 * DATA: the message text, and one reply per accepted recipient after it
 * (RFC 2033 §4.2).
 *
 * The text is taken raw from the connection, unstuffed (lmtp_dot.c) into
 * the spool (lmtp_spool.c), whose full chunks are written out on the thread
 * pool while input waits, so a fast client goes at the disk's pace.  A
 * message past [lmtp] max_message_size, or one the spool could not hold,
 * is still read to its end (the client cannot stop sending; RFC 5321
 * §4.2.5 wants the replies after the end) and dropped, and then each
 * recipient gets the failure.
 *
 * Then each recipient in RCPT order gets its own copy through
 * core/deliver.c on the thread pool, and its reply as soon as that copy is
 * durable or has failed: a 250 only for a copy store_save_commit() fsync'd.
 * A client that leaves before the end has nothing delivered; one that
 * leaves during the replies gets no more copies made.
 */
#include "lmtp/lmtp.h"
#include "lmtp/lmtp_spool.h"

#include "core/live.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Reading a message that is dropped: no spool, so any size will do. */
#define DISCARD_CHUNK (64u << 10)

static unsigned long message_counter;	/* this worker's messages, for ids */

void lmtp_cmd_data(struct lmtp_session *s, const char *args)
{
	if (args[0] != '\0') {
		lmtp_bad_command(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (!s->mail) {
		lmtp_bad_command(s, 503, "5.5.1", "Need MAIL and RCPT before DATA");
		return;
	}
	if (s->nrcpts == 0) {
		/* RFC 2033 §4.2: DATA without a successful RCPT fails with 503. */
		lmtp_bad_command(s, 503, "5.5.1", "No valid recipients");
		return;
	}
	s->spool = lmtp_spool_new(s->cfg->lmtp_spool_dir);
	s->spool_errno = 0;
	s->data_size = 0;
	s->too_big = false;
	lmtp_dot_init(&s->dot);
	s->in_data = true;
	/* RFC 2034 §3: 3xx replies have no enhanced code. */
	conn_puts(s->conn, "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
}

/* ---- the end: replies ---- */

/* The transaction is over; the session goes on with the next command.
 * from_job: called where a job ended (so lmtp_command_done() resumes the
 * input), else from within the input loop, which goes on by itself. */
static void transaction_over(struct lmtp_session *s, bool from_job)
{
	lmtp_transaction_reset(s);
	if (from_job) {
		lmtp_command_done(s);
	} else if (s->stop_requested) {
		lmtp_reply(s, 421, "4.3.2", "%s Server shutting down", s->cfg->hostname);
		conn_close(s->conn);
	}
}

static void reply_status(struct lmtp_session *s, const struct lmtp_rcpt *r,
			 enum deliver_status status)
{
	switch (status) {
	case DELIVER_OK:
		lmtp_reply(s, 250, "2.0.0", "<%s> Delivered (%s)", r->address, s->id);
		break;
	case DELIVER_NOUSER:
		lmtp_reply(s, 550, "5.1.1", "<%s>: no such user here", r->address);
		break;
	case DELIVER_NOSPACE:
		lmtp_reply(s, 452, "4.3.1", "<%s> Insufficient system storage", r->address);
		break;
	case DELIVER_OVERQUOTA:
		/* RFC 3463 X.2.2 mailbox full: permanent by default, as the
		 * user must act; some sites prefer the MTA to keep trying. */
		if (s->cfg->lmtp_quota_tempfail)
			lmtp_reply(s, 452, "4.2.2", "<%s> Mailbox full", r->address);
		else
			lmtp_reply(s, 552, "5.2.2", "<%s> Mailbox full", r->address);
		break;
	case DELIVER_TEMPFAIL:
		lmtp_reply(s, 451, "4.3.0", "<%s> Temporary failure, try again later", r->address);
		break;
	}
	stats_inc(status == DELIVER_OK ? STAT_DELIVER_OK : STAT_DELIVER_FAIL);
	log_info("%s: %s from <%s> to <%s> (%s): %s", conn_id(s->conn), s->id,
		 s->return_path, r->address, r->user, deliver_status_text(status));
}

/* Every recipient gets the same failure: nothing could be delivered. */
static void fail_all(struct lmtp_session *s)
{
	for (unsigned i = 0; i < s->nrcpts; i++) {
		const struct lmtp_rcpt *r = &s->rcpts[i];

		stats_inc(STAT_DELIVER_FAIL);
		if (s->too_big) {
			/* RFC 1870 §6.3, RFC 3463 X.3.4 */
			lmtp_reply(s, 552, "5.3.4", "<%s> Message size exceeds fixed maximum "
				   "message size", r->address);
		} else if (s->spool_errno == ENOSPC || s->spool_errno == EDQUOT) {
			lmtp_reply(s, 452, "4.3.1", "<%s> Insufficient system storage", r->address);
		} else {
			lmtp_reply(s, 451, "4.3.0", "<%s> Temporary failure, try again later",
				   r->address);
		}
	}
	if (s->too_big)
		log_info("%s: message over %" PRIu64 " bytes refused for %u recipient%s",
			 conn_id(s->conn), s->cfg->lmtp_max_message_size, s->nrcpts,
			 s->nrcpts == 1 ? "" : "s");
	else
		log_error("%s: spooling the message failed: %s", conn_id(s->conn),
			  strerror(s->spool_errno));
}

/* ---- delivery, one recipient per job ---- */

static int replay_write(void *ctx, const char *p, size_t n)
{
	return delivery_write(ctx, p, n) == DELIVER_OK ? 0 : 1;
}

static void deliver_work(struct lmtp_session *s)
{
	const struct lmtp_rcpt *r = &s->rcpts[s->next_rcpt];
	char *received = xasprintf("%s\n\tfor <%s>; %s", s->received, r->address,
				   s->received_date);
	struct deliver_env env = {
		.return_path = s->return_path,
		.delivered_to = r->address,
		.received = received,
	};
	struct delivery *d;
	int ret;

	s->job_status = delivery_begin(s->cfg, r->user, &r->settings, &env, &d);
	free(received);
	if (s->job_status != DELIVER_OK)
		return;
	ret = lmtp_spool_replay(s->spool, replay_write, d);
	if (ret < 0) {
		log_error("lmtp %s: reading the spool: %s", s->id, strerror(errno));
		delivery_abort(&d);
		s->job_status = DELIVER_TEMPFAIL;
		return;
	}
	/* A write failure is repeated by the commit, which then frees d. */
	s->job_status = delivery_commit(&d);
}

static void deliver_done(struct lmtp_session *s)
{
	reply_status(s, &s->rcpts[s->next_rcpt], s->job_status);
	s->next_rcpt++;
	/* A client that has gone would not see the replies, and will send
	 * the message again: make no more copies than can be helped. */
	if (s->next_rcpt < s->nrcpts && !conn_is_closing(s->conn)) {
		conn_flush(s->conn);
		lmtp_async(s, deliver_work, deliver_done);
		return;
	}
	transaction_over(s, true);
}

/* The Received field (RFC 5321 §4.4) but its "for" clause and date-time,
 * which deliver_work() adds per recipient. */
static void make_received(struct lmtp_session *s)
{
	const char *ip = conn_peer_ip(s->conn);
	char date[64], from[96];
	struct tm tm;
	time_t now = time(NULL);

	snprintf(s->id, sizeof(s->id), "%lx.%lx.%lu", (unsigned long)now,
		 (unsigned long)getpid(), ++message_counter);
	if (strcmp(ip, "unix") == 0)
		snprintf(from, sizeof(from), "(unix socket)");
	else if (strchr(ip, ':') != NULL)
		snprintf(from, sizeof(from), "([IPv6:%s])", ip);	/* RFC 5321 §4.1.3 */
	else
		snprintf(from, sizeof(from), "([%s])", ip);
	/* RFC 3848: "with LMTP" (no TLS, no AUTH on this listener). */
	s->received = xasprintf("from %s %s\n\tby %s (duomail) with LMTP id %s", s->helo, from,
				s->cfg->hostname, s->id);
	/* RFC 5322 §3.3 date-time, in the C locale's English names. */
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	s->received_date = xstrdup(date);
}

static void end_of_data(struct lmtp_session *s)
{
	s->in_data = false;
	if (s->too_big || s->spool_errno != 0) {
		fail_all(s);
		transaction_over(s, false);
		return;
	}
	make_received(s);
	s->next_rcpt = 0;
	lmtp_async(s, deliver_work, deliver_done);
}

/* ---- reading the text ---- */

static void flush_work(struct lmtp_session *s)
{
	if (lmtp_spool_flush(s->spool) < 0)
		s->spool_errno = errno;
}

static void flush_done(struct lmtp_session *s)
{
	if (s->spool_errno != 0)
		lmtp_spool_free(&s->spool);	/* the rest is read and dropped */
	lmtp_input_resume(s);
}

void lmtp_data_input(struct lmtp_session *s)
{
	while (s->in_data && !s->busy && !conn_is_closing(s->conn)) {
		const char *data;
		char *out = NULL;
		size_t room = DISCARD_CHUNK, n, used, out_len;

		if (s->spool != NULL) {
			out = lmtp_spool_reserve(s->spool, LMTP_DOT_SLACK, &room);
			if (room == 0) {
				lmtp_async(s, flush_work, flush_done);
				return;
			}
		}
		n = conn_read_bytes(s->conn, room, &data);
		if (n == 0)
			return;
		used = lmtp_dot_decode(&s->dot, data, n, out, &out_len);
		/* What follows the final dot is the next pipelined command. */
		conn_unread(s->conn, n - used);
		s->data_size += out_len;
		if (s->spool != NULL) {
			if (s->data_size > s->cfg->lmtp_max_message_size) {
				s->too_big = true;
				lmtp_spool_free(&s->spool);
			} else {
				lmtp_spool_commit(s->spool, out_len);
			}
		}
		if (s->dot.done)
			end_of_data(s);
	}
}
