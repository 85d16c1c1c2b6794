/*
 * STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS, each with
 * .SILENT.  Flag changes are renames on disk, so they run on the thread
 * pool; the FETCH responses are built from what the store then says, which
 * includes changes other sessions made to the same messages meanwhile.
 */
#include "imap/imap.h"

#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALL_FLAGS (MSG_FLAG_SEEN | MSG_FLAG_ANSWERED | MSG_FLAG_FLAGGED | MSG_FLAG_DELETED | \
		   MSG_FLAG_DRAFT)

struct store_job {
	struct imap_session *s;
	unsigned *seqs;
	uint32_t *uids;		/* 0 for a message already expunged */
	size_t count;
	char op;		/* '+', '-' or 0 (replace) */
	unsigned add, remove;
	char **keywords;	/* names given */
	unsigned nkeywords;
	bool silent;
	int ret;
};

/* Keyword names to bits: made when they are to be set (durably, for every
 * session); only looked up when they are to be removed. */
static int keyword_bits(struct store_job *j, uint32_t *bits_r)
{
	struct mailbox *box = j->s->box;
	uint32_t bits = 0;

	for (unsigned i = 0; i < j->nkeywords; i++) {
		unsigned idx;

		if (j->op == '-') {
			int found = mailbox_keyword_find(box, j->keywords[i]);

			if (found < 0)
				continue;
			idx = (unsigned)found;
		} else if (mailbox_keyword_find(box, j->keywords[i]) < 0 &&
			   mailbox_keyword_count(box) == STORE_MAX_KEYWORDS) {
			return -2;	/* no room for another name */
		} else if (mailbox_keyword_add(box, j->keywords[i], &idx) < 0) {
			return -1;
		}
		bits |= 1u << idx;
	}
	*bits_r = bits;
	return 0;
}

static void store_work(void *arg)
{
	struct store_job *j = arg;
	uint32_t kw = 0, kw_add, kw_remove;

	j->ret = keyword_bits(j, &kw);
	if (j->ret < 0)
		return;
	kw_add = j->op == '-' ? 0 : kw;
	kw_remove = j->op == '-' ? kw : j->op == '+' ? 0 : ~kw;
	for (size_t i = 0; i < j->count && j->ret == 0; i++)
		if (j->uids[i] != 0)
			j->ret = mailbox_update_flags_keywords(j->s->box, j->uids[i], j->add,
							       j->remove, kw_add, kw_remove);
}

static void store_done(void *arg)
{
	struct store_job *j = arg;
	struct imap_session *s = j->s;
	bool missing = false;
	struct buf b;

	if (s->gone)
		goto out;
	if (mailbox_keyword_count(s->box) > s->view.nkeywords)
		imap_send_mailbox_flags(s);	/* RFC 3501 §7.2.6: new names first */
	buf_init(&b, (size_t)-1);
	for (size_t i = 0; i < j->count; i++) {
		const struct store_msg *m = imap_view_store_msg(s, j->seqs[i]);

		if (m == NULL) {
			missing = true;
			continue;
		}
		imap_view_set_flags(s, j->seqs[i], m->flags);
		if (j->silent)
			continue;
		buf_reset(&b);
		buf_printf(&b, "* %u FETCH (FLAGS ", j->seqs[i]);
		imap_buf_msg_flags(&b, s, m);
		if (s->uid)	/* RFC 3501 §6.4.8: UID STORE's FETCHes carry the UID */
			buf_printf(&b, " UID %u", m->uid);
		buf_append(&b, ")\r\n", 3);
		conn_write(s->conn, buf_ptr(&b), buf_len(&b));
	}
	buf_free(&b);
	if (j->ret == -2)
		imap_tagged(s, s->cmd_tag, "NO", "[LIMIT] Too many keywords in this mailbox.");
	else if (j->ret < 0)
		imap_store_error(s, s->cmd_tag, "Store");
	else if (missing && !s->uid)
		/* RFC 2180 §4.2.1; the code is RFC 5530's */
		imap_tagged(s, s->cmd_tag, "NO",
			    "[EXPUNGEISSUED] Some of the messages no longer exist.");
	else
		imap_tagged(s, s->cmd_tag, "OK", "Store completed.");
out:
	for (unsigned i = 0; i < j->nkeywords; i++)
		free(j->keywords[i]);
	free(j->keywords);
	free(j->seqs);
	free(j->uids);
	free(j);
	imap_command_done(s);
}

bool cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_job *j;
	const char *item;
	struct imap_keyword_names kw = { 0 };
	unsigned flags = 0, *seqs;
	size_t count;
	char op = 0;
	bool silent = false;

	if (cmd->nargs < 3 || cmd->args[1].type != IMAP_ARG_ATOM) {
		imap_bad(s, cmd->tag, "Usage: STORE sequence-set [+-]FLAGS[.SILENT] (flags)");
		return true;
	}
	item = cmd->args[1].str;
	if (item[0] == '+' || item[0] == '-')
		op = *item++;
	if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else if (strcasecmp(item, "FLAGS") != 0) {
		imap_bad(s, cmd->tag, "Unknown STORE item (FLAGS, +FLAGS or -FLAGS, and .SILENT).");
		return true;
	}
	/* RFC 3501 §9 store-att-flags: a flag-list, or flags without parens */
	if (cmd->args[2].type == IMAP_ARG_LIST && cmd->nargs > 3) {
		imap_bad(s, cmd->tag, "Invalid flags.");
		return true;
	}
	for (unsigned i = 2; i < cmd->nargs; i++) {
		if (imap_arg_flags_kw(s, cmd->tag, &cmd->args[i], &flags, &kw) < 0) {
			free(kw.names);
			return true;
		}
	}
	if (s->readonly) {
		free(kw.names);
		imap_tagged(s, cmd->tag, "NO", "Mailbox is read-only (EXAMINE).");
		return true;
	}
	if (imap_view_seqset(s, cmd->tag, &cmd->args[0], s->uid, &seqs, &count) < 0) {
		free(kw.names);
		return true;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->seqs = seqs;
	j->count = count;
	j->uids = xcalloc(count ? count : 1, sizeof(*j->uids));
	for (size_t i = 0; i < count; i++)
		if (imap_view_store_msg(s, seqs[i]) != NULL)
			j->uids[i] = s->view.msgs[seqs[i] - 1].uid;
	j->silent = silent;
	j->op = op;
	j->keywords = xcalloc(kw.count ? kw.count : 1, sizeof(*j->keywords));
	for (unsigned i = 0; i < kw.count; i++)
		j->keywords[i] = xstrdup(kw.names[i]);
	j->nkeywords = kw.count;
	free(kw.names);
	j->add = op == '-' ? 0 : flags;
	j->remove = op == '-' ? flags : op == '+' ? 0 : ALL_FLAGS & ~flags;
	imap_async(s, store_work, store_done, j);
	return false;
}
