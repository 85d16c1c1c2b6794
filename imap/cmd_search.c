/*
 * SEARCH and UID SEARCH (RFC 3501 §6.4.4, §6.4.8).  The keys are parsed and
 * their "*"s resolved here on the loop; the evaluation, which may read
 * messages, runs on the thread pool in one job (the session is busy
 * meanwhile, so nothing else touches s->box or the view).  The answer is
 * "* SEARCH" with sequence numbers, or UIDs for UID SEARCH, written with
 * back-pressure since a big mailbox can match millions of messages.
 * Messages the view still counts but the store has lost never match.
 */
#include "imap/imap.h"
#include "imap/imap_search.h"

#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>

#define NUMBERS_PER_WRITE	4096

struct search_job {
	struct imap_session *s;
	struct search_key *key;
	bool uid;
	unsigned count;			/* messages in the view */
	uint32_t *results;		/* sequence numbers or UIDs, ascending */
	size_t nresults, sent;
	int ret;
	unsigned opened;
	uint64_t bytes;
};

static void search_job_free(void *arg)
{
	struct search_job *j = arg;

	imap_search_key_free(&j->key);
	free(j->results);
	free(j);
}

static void search_work(void *arg)
{
	struct search_job *j = arg;
	struct imap_session *s = j->s;
	struct imap_search_run *run = imap_search_run_new(j->key, s->store);

	j->results = xcalloc(j->count ? j->count : 1, sizeof(*j->results));
	for (unsigned seq = 1; seq <= j->count; seq++) {
		const struct store_msg *m = imap_view_store_msg(s, seq);
		int r;

		if (m == NULL)
			continue;	/* expunged, EXPUNGE not sent yet */
		r = imap_search_run_match(run, s->box, seq, m);
		if (r < 0) {
			j->ret = -1;
			break;
		}
		if (r > 0)
			j->results[j->nresults++] = j->uid ? m->uid : seq;
	}
	imap_search_run_stats(run, &j->opened, &j->bytes);
	imap_search_run_free(&run);
}

/* Writes the numbers still to send, until output is full (then on_drain
 * brings us back), and ends the command. */
static void search_write(struct imap_session *s)
{
	struct search_job *j = s->cmd_ctx;
	struct buf b;

	buf_init(&b, NUMBERS_PER_WRITE * 12);
	while (j->sent < j->nresults) {
		if (conn_output_full(s->conn)) {
			buf_free(&b);
			s->on_drain = search_write;
			s->cmd_ctx_free = search_job_free;
			return;	/* imap_async or the drain callback flushes */
		}
		buf_reset(&b);
		for (size_t k = 0; k < NUMBERS_PER_WRITE && j->sent < j->nresults; k++)
			buf_printf(&b, " %u", j->results[j->sent++]);
		conn_write(s->conn, buf_ptr(&b), buf_len(&b));
	}
	buf_free(&b);
	conn_write(s->conn, "\r\n", 2);
	imap_tagged(s, s->cmd_tag, "OK", "%sSearch completed.", j->uid ? "UID " : "");
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	search_job_free(j);
	imap_command_done(s);
}

static void search_done(void *arg)
{
	struct search_job *j = arg;
	struct imap_session *s = j->s;

	if (s->gone || j->ret < 0) {
		if (!s->gone)
			imap_store_error(s, s->cmd_tag, "Search");
		search_job_free(j);
		imap_command_done(s);
		return;
	}
	log_debug("%s: SEARCH: %zu of %u matched, %u messages read (%llu bytes)", conn_id(s->conn),
		  j->nresults, j->count, j->opened, (unsigned long long)j->bytes);
	conn_puts(s->conn, "* SEARCH");
	s->cmd_ctx = j;
	search_write(s);
}

bool cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_view *v = &s->view;
	struct search_key *key;
	struct search_job *j;
	char err[160];

	switch (imap_search_parse(cmd->args, cmd->nargs, &key, err, sizeof(err))) {
	case IMAP_SEARCH_OK:
		break;
	case IMAP_SEARCH_BAD:
		imap_bad(s, cmd->tag, err);
		return true;
	case IMAP_SEARCH_BADCHARSET:
		/* §6.4.4: NO, not BAD, and the charsets we take (§7.1) */
		imap_tagged(s, cmd->tag, "NO", "[BADCHARSET (" IMAP_SEARCH_CHARSETS ")] %s", err);
		return true;
	}
	/* "*" in a UID set is the highest UID; an empty mailbox has none, and
	 * any UID given then matches nothing anyway */
	if (imap_search_resolve(key, v->count, v->count > 0 ? v->msgs[v->count - 1].uid : 0, err,
				sizeof(err)) < 0) {
		imap_search_key_free(&key);
		imap_bad(s, cmd->tag, err);
		return true;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->key = key;
	j->uid = s->uid;
	j->count = v->count;
	imap_async(s, search_work, search_done, j);
	return false;
}
