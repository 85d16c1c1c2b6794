/*
 * FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8).
 *
 * The response is made in batches of about FETCH_BATCH_BYTES.  When the
 * items read messages (a body section, ENVELOPE, BODYSTRUCTURE) a batch runs
 * on the thread pool, since it opens and parses files; the session is busy
 * meanwhile, so nothing on the loop touches the mailbox.  Items the view
 * already knows (UID, FLAGS, INTERNALDATE, RFC822.SIZE) are made on the loop,
 * with no file opened.  After each batch the output goes to the connection;
 * once conn_output_full() says the client is behind, the command waits for
 * on_drain.  So a 50 MB literal streams through a few hundred KB, and
 * FETCH 1:* FLAGS over 100,000 messages never stalls the other sessions.
 *
 * Messages the client still counts but the store has lost (expunged by
 * another session, RFC 3501 §7.4.1 forbids telling it now) are skipped; a
 * FETCH then ends NO [EXPUNGEISSUED] (RFC 5530, as Dovecot does), a UID
 * FETCH just leaves them out (§6.4.8: UIDs not there are ignored).  A
 * message whose file cannot be read (its mode) is skipped too, and either
 * ends NO [SERVERBUG]: the others still come.
 */
#include "imap/imap.h"
#include "imap/imap_fetch.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define FETCH_BATCH_BYTES	(256u << 10)
#define FETCH_BATCH_MSGS	1024	/* messages opened per batch at most */

struct fetch_job {
	struct imap_session *s;
	char *tag;
	bool uid;			/* UID FETCH */
	struct fetch_items items;
	struct fetch_ctx ctx;
	unsigned *seqs;
	size_t nseqs, next;
	struct fetch_msg msg;		/* the message being written */
	bool in_msg;
	struct buf out;			/* one batch */
	bool on_pool;			/* batches read messages */
	bool skipped;			/* messages gone from the store */
	bool failed;			/* a store error ended it early */
	bool finished;
};

enum fetch_step {
	FETCH_MORE,			/* make the next batch now */
	FETCH_WAIT,			/* for on_drain */
	FETCH_DONE,			/* the job is freed */
};

static void job_free(void *arg)
{
	struct fetch_job *j = arg;

	if (j->in_msg)
		imap_fetch_msg_end(&j->msg);
	imap_fetch_ctx_free(&j->ctx);
	imap_fetch_items_free(&j->items);
	buf_free(&j->out);
	free(j->seqs);
	free(j->tag);
	j->s->cmd_ctx = NULL;
	j->s->cmd_ctx_free = NULL;
	free(j);
}

/* Fills j->out with the next batch.  On the thread pool when j->on_pool. */
static void batch(struct fetch_job *j)
{
	unsigned opened = 0;

	j->ctx.bytes_read = 0;
	while (!j->finished) {
		if (!j->in_msg) {
			int ret;

			if (j->next == j->nseqs) {
				j->finished = true;
				break;
			}
			if (buf_len(&j->out) >= FETCH_BATCH_BYTES ||
			    j->ctx.bytes_read >= FETCH_BATCH_READ ||
			    (j->on_pool && opened == FETCH_BATCH_MSGS))
				break;
			ret = imap_fetch_msg_begin(&j->ctx, j->seqs[j->next++], &j->msg);
			opened++;
			if (ret == 0) {
				j->skipped = j->skipped || !j->uid;
				continue;
			}
			if (ret < 0) {
				j->failed = j->finished = true;
				break;
			}
			j->in_msg = true;
		}
		if (!imap_fetch_msg_write(&j->ctx, &j->msg, &j->out, FETCH_BATCH_BYTES))
			break;
		imap_fetch_msg_end(&j->msg);
		j->in_msg = false;
	}
}

static void finish(struct fetch_job *j)
{
	struct imap_session *s = j->s;

	if (!s->gone && !conn_is_closing(s->conn)) {
		if (j->failed)
			imap_store_error(s, j->tag, "Fetch");
		else if (j->ctx.unreadable)
			/* RFC 5530: the server's own problem; the others went out */
			imap_tagged(s, j->tag, "NO",
				    "[SERVERBUG] Some of the messages cannot be read; the server "
				    "log says which.");
		else if (j->skipped)
			imap_tagged(s, j->tag, "NO",
				    "[EXPUNGEISSUED] Some of the requested messages no longer exist.");
		else
			imap_tagged(s, j->tag, "OK", "Fetch completed.");
		conn_flush(s->conn);
	}
	job_free(j);
}

/* On the loop after a batch: hands it to the client and records the flags
 * it told (so no unsolicited FETCH repeats them). */
static enum fetch_step deliver(struct fetch_job *j)
{
	struct imap_session *s = j->s;
	struct fetch_ctx *ctx = &j->ctx;

	/* (s->conn is gone with the client: nothing of it after s->gone) */
	if (!s->gone && ctx->short_uid != 0)
		log_error("%s: uid %u in %s is shorter than its size: padded", conn_id(s->conn),
			  ctx->short_uid, s->box_name);
	if (!s->gone && ctx->seen_failed_uid != 0)
		log_warn("%s: cannot set \\Seen on uid %u in %s", conn_id(s->conn),
			 ctx->seen_failed_uid, s->box_name);
	ctx->short_uid = 0;
	ctx->seen_failed_uid = 0;
	if (s->gone || conn_is_closing(s->conn)) {
		finish(j);
		return FETCH_DONE;
	}
	conn_write(s->conn, buf_ptr(&j->out), buf_len(&j->out));
	buf_reset(&j->out);
	for (size_t i = 0; i < ctx->ntold; i++)
		imap_view_set_flags(s, ctx->told[i].seq, ctx->told[i].flags);
	ctx->ntold = 0;
	if (j->finished) {
		finish(j);
		return FETCH_DONE;
	}
	conn_flush(s->conn);
	return conn_output_full(s->conn) ? FETCH_WAIT : FETCH_MORE;
}

static void fetch_drained(struct imap_session *s);
static void batch_work(void *arg);
static void batch_done(void *arg);

/* Runs batches until the command is finished (true: j is freed) or it
 * waits for the pool or for the client (false). */
static bool run(struct fetch_job *j)
{
	for (;;) {
		if (j->on_pool) {
			imap_async(j->s, batch_work, batch_done, j);
			return false;
		}
		batch(j);
		switch (deliver(j)) {
		case FETCH_MORE:
			continue;
		case FETCH_WAIT:
			j->s->on_drain = fetch_drained;
			return false;
		case FETCH_DONE:
			return true;
		}
	}
}

static void batch_work(void *arg)
{
	batch(arg);
}

static void batch_done(void *arg)
{
	struct fetch_job *j = arg;
	struct imap_session *s = j->s;

	switch (deliver(j)) {
	case FETCH_MORE:
		if (!run(j))
			return;
		break;
	case FETCH_WAIT:
		s->on_drain = fetch_drained;
		return;
	case FETCH_DONE:
		break;
	}
	imap_command_done(s);
}

static void fetch_drained(struct imap_session *s)
{
	s->on_drain = NULL;
	if (run(s->cmd_ctx))
		imap_command_done(s);
}

bool cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	struct fetch_job *j;
	struct fetch_items items;
	const char *err;
	unsigned *seqs;
	size_t count;

	if (cmd->nargs != 2) {
		imap_bad(s, cmd->tag, s->uid ? "Usage: UID FETCH uid-set items" :
			 "Usage: FETCH sequence-set items");
		return true;
	}
	if (imap_fetch_items_parse(&cmd->args[1], s->uid, &items, &err) < 0) {
		imap_bad(s, cmd->tag, err);
		return true;
	}
	if (imap_view_seqset(s, cmd->tag, &cmd->args[0], s->uid, &seqs, &count) < 0) {
		imap_fetch_items_free(&items);
		return true;	/* answered BAD */
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->tag = xstrdup(cmd->tag);
	j->uid = s->uid;
	j->items = items;
	j->seqs = seqs;
	j->nseqs = count;
	j->on_pool = count > 0 && (items.need_content || items.need_structure || items.set_seen);
	imap_fetch_ctx_init(&j->ctx, s, &j->items);
	buf_init(&j->out, (size_t)-1);
	s->cmd_ctx = j;
	s->cmd_ctx_free = job_free;
	return run(j);
}
