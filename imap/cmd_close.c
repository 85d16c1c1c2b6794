/* CLOSE (RFC 3501 §6.4.2): expunge \Deleted messages silently (unless
 * EXAMINEd), then deselect.  UNSELECT (RFC 3691): just deselect. */
#include "imap/imap.h"
#include "core/async.h"
#include "core/log.h"
#include "store/store.h"

struct close_job {
	struct imap_session *s;
	int ret;
};

static void close_work(void *arg)
{
	struct close_job *j = arg;
	struct mailbox *box = j->s->box;
	unsigned n = mailbox_count(box), count = 0;
	uint32_t *uids = xcalloc(n ? n : 1, sizeof(*uids));

	for (unsigned i = 0; i < n; i++)
		if (mailbox_msg(box, i)->flags & MSG_FLAG_DELETED)
			uids[count++] = mailbox_msg(box, i)->uid;
	j->ret = count > 0 ? mailbox_expunge(box, uids, count) : 0;
	free(uids);
}

static void close_done(void *arg)
{
	struct close_job *j = arg;
	struct imap_session *s = j->s;

	if (!s->gone) {
		if (j->ret < 0)
			log_error("%s: expunge at CLOSE failed", conn_id(s->conn));
		/* RFC 3501 §6.4.2: no untagged EXPUNGE, and we are out either way. */
		imap_deselect(s);
		imap_tagged(s, s->cmd_tag, "OK", "Close completed.");
	}
	free(j);
	imap_command_done(s);
}

bool cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	struct close_job *j;

	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "CLOSE takes no arguments.");
		return true;
	}
	if (s->readonly) {
		imap_deselect(s);
		imap_tagged(s, cmd->tag, "OK", "Close completed.");
		return true;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	imap_async(s, close_work, close_done, j);
	return false;
}

bool cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "UNSELECT takes no arguments.");
		return true;
	}
	imap_deselect(s);
	imap_tagged(s, cmd->tag, "OK", "Unselect completed.");
	return true;
}
