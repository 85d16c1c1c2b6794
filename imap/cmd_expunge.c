/*
 * EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1): removes the
 * \Deleted messages (UID EXPUNGE: only those in its set, so a client does
 * not destroy messages another client marked meanwhile), durably, and
 * reports each with an untagged EXPUNGE.
 */
#include "imap/imap.h"

#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>

struct expunge_job {
	struct imap_session *s;
	uint32_t *only;		/* UID EXPUNGE: these UIDs (ascending), else NULL */
	size_t nonly;
	uint32_t uidvalidity;	/* of the client's UIDs */
	int ret;
};

static void expunge_work(void *arg)
{
	struct expunge_job *j = arg;
	struct mailbox *box = j->s->box;
	unsigned n;
	uint32_t *uids;
	size_t count = 0;

	/* Flags as they are on disk now, not as this view last read them. */
	j->ret = mailbox_sync(box);
	if (j->ret < 0)
		return;
	/* Renumbered meanwhile (a lost index): the client's UIDs now name
	 * other messages, and even plain EXPUNGE would remove what it never
	 * heard of.  Nothing is done; the report closes the session
	 * (RFC 3501 §2.3.1.1) and the client selects again. */
	if (mailbox_uidvalidity(box) != j->uidvalidity)
		return;
	n = mailbox_count(box);
	uids = xcalloc(n ? n : 1, sizeof(*uids));
	for (unsigned i = 0; i < n; i++) {
		const struct store_msg *m = mailbox_msg(box, i);

		if ((m->flags & MSG_FLAG_DELETED) == 0)
			continue;
		if (j->only != NULL) {
			size_t lo = 0, hi = j->nonly;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (j->only[mid] < m->uid)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == j->nonly || j->only[lo] != m->uid)
				continue;
		}
		uids[count++] = m->uid;
	}
	j->ret = count > 0 ? mailbox_expunge(box, uids, count) : 0;
	free(uids);
}

static void expunge_done(void *arg)
{
	struct expunge_job *j = arg;
	struct imap_session *s = j->s;

	if (!s->gone) {
		imap_view_report(s, true);	/* a BYE if renumbered: then no more */
		if (j->ret < 0)
			imap_store_error(s, s->cmd_tag, "Expunge");
		else
			imap_tagged(s, s->cmd_tag, "OK", "Expunge completed.");
	}
	free(j->only);
	free(j);
	imap_command_done(s);
}

bool cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	struct expunge_job *j;

	if (cmd->nargs != (s->uid ? 1u : 0u)) {
		imap_bad(s, cmd->tag, s->uid ? "Usage: UID EXPUNGE uid-set" : "EXPUNGE takes no arguments.");
		return true;
	}
	if (s->readonly) {
		imap_tagged(s, cmd->tag, "NO", "Mailbox is read-only (EXAMINE).");
		return true;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->uidvalidity = s->view.uidvalidity;
	if (s->uid) {
		unsigned *seqs;
		size_t count;

		if (imap_view_seqset(s, cmd->tag, &cmd->args[0], true, &seqs, &count) < 0) {
			free(j);
			return true;
		}
		j->only = xcalloc(count ? count : 1, sizeof(*j->only));
		for (size_t i = 0; i < count; i++)
			j->only[i] = s->view.msgs[seqs[i] - 1].uid;
		j->nonly = count;
		free(seqs);
	}
	imap_async(s, expunge_work, expunge_done, j);
	return false;
}
