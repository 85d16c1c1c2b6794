/*
 * SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2).  Opening syncs the Maildir,
 * which for a big one takes a while: it runs on the thread pool.  SELECT
 * claims the \Recent messages; EXAMINE only looks.  A failed SELECT leaves
 * no mailbox selected.
 */
#include "core/live.h"
#include "imap/imap.h"
#include "imap/imap_sync.h"
#include "core/async.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>

struct select_job {
	struct imap_session *s;
	char *name;
	bool readonly;
	struct mailbox *box;
	int ret;
};

void imap_deselect(struct imap_session *s)
{
	imap_sync_unwatch(s);
	imap_view_free(&s->view);
	s->box_dirty = false;
	mailbox_close(&s->box);
	xfree(&s->box_name);
	/* A session freed after its connection (gone) has no record left. */
	if (!s->gone && s->conn != NULL)
		live_session_mailbox(conn_live(s->conn), NULL);
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

static void select_work(void *arg)
{
	struct select_job *j = arg;

	j->ret = mailbox_open(j->s->store, j->name, &j->box);
	if (j->ret == 0 && !j->readonly)
		j->ret = mailbox_claim_recent(j->box);
	else if (j->ret == 0)
		mailbox_show_recent(j->box);
}

static void select_done(void *arg)
{
	struct select_job *j = arg;
	struct imap_session *s = j->s;
	struct mailbox *box = j->box;

	if (s->gone) {
		mailbox_close(&j->box);
	} else if (j->ret < 0) {
		mailbox_close(&j->box);
		imap_store_error(s, s->cmd_tag, j->readonly ? "Examine" : "Select");
	} else {
		unsigned n = mailbox_count(box), unseen = 0;

		for (unsigned i = 0; i < n && unseen == 0; i++)
			if ((mailbox_msg(box, i)->flags & MSG_FLAG_SEEN) == 0)
				unseen = i + 1;
		s->box = box;
		s->box_name = j->name;
		j->name = NULL;
		live_session_mailbox(conn_live(s->conn), s->box_name);
		s->readonly = j->readonly;
		s->state = IMAP_STATE_SELECTED;
		imap_view_init(s);
		imap_sync_watch(s);
		imap_send_mailbox_flags(s);
		imap_untagged(s, "%u EXISTS", n);
		imap_untagged(s, "%u RECENT", mailbox_recent_count(box));
		if (unseen > 0)
			imap_untagged(s, "OK [UNSEEN %u] First unseen.", unseen);
		imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid.", mailbox_uidvalidity(box));
		imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID.", mailbox_uidnext(box));
		imap_tagged(s, s->cmd_tag, "OK", "[%s] %s completed.",
			    j->readonly ? "READ-ONLY" : "READ-WRITE",
			    j->readonly ? "Examine" : "Select");
	}
	free(j->name);
	free(j);
	imap_command_done(s);
}

static bool select_common(struct imap_session *s, const struct imap_command *cmd, bool readonly)
{
	struct select_job *j;
	const char *name;

	if (cmd->nargs != 1) {
		imap_bad(s, cmd->tag, readonly ? "Usage: EXAMINE mailbox" : "Usage: SELECT mailbox");
		return true;
	}
	name = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (name == NULL)
		return true;
	/* RFC 3501 §6.3.1: the old mailbox goes first, without expunge. */
	imap_deselect(s);
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->name = xstrdup(name);
	j->readonly = readonly;
	imap_async(s, select_work, select_done, j);
	return false;
}

bool cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	return select_common(s, cmd, false);
}

bool cmd_examine(struct imap_session *s, const struct imap_command *cmd)
{
	return select_common(s, cmd, true);
}
