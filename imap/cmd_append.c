/*
 * APPEND (RFC 3501 §6.3.11) once its command line is complete: the message
 * has streamed into an open save already (imap_append.c); what is left is
 * the last chunk, the commit (fsync of file and directory: the message is
 * acknowledged only once it is durable) and the answer, on the thread pool.
 * The tagged OK carries APPENDUID (RFC 4315 §3).  If the target is the
 * selected mailbox, the client is told of the new message (EXISTS) before
 * the tagged OK.
 */
#include "imap/imap.h"
#include "imap/imap_append.h"

#include "core/log.h"
#include "store/store.h"

#include <string.h>

static void commit_work(void *arg)
{
	struct imap_append *a = arg;

	if (a->len > 0 && store_save_write(a->save, a->buf, a->len) < 0) {
		a->ret = -1;
		store_save_abort(&a->save);
		return;
	}
	/* The new message is \Recent here, not in a session that syncs
	 * between our commit and our sync (§6.3.11, §2.3.2). */
	if (a->to_selected && !a->s->readonly)
		store_save_claim_recent(a->save, a->s->box);
	a->ret = store_save_commit_uid(&a->save, &a->uidvalidity, &a->uid);
	if (a->ret != 0 || !a->to_selected)
		return;
	a->sync_ret = mailbox_sync(a->s->box);
	/* RFC 3501 §6.3.11: the new message is \Recent, and to this session
	 * when it has the mailbox selected read-write (§2.3.2). */
	if (a->sync_ret == 0 && !a->s->readonly)
		a->sync_ret = mailbox_claim_recent(a->s->box);
}

static void commit_done(void *arg)
{
	struct imap_append *a = arg;
	struct imap_session *s = a->s;

	if (s->gone) {
		/* Saved, but nobody is left to tell. */
	} else if (a->ret < 0) {
		imap_store_error(s, s->cmd_tag, "Append");
	} else {
		if (a->to_selected && a->sync_ret == 0)
			imap_view_report(s, true);
		else if (a->to_selected)
			log_warn("%s: appended, but no resync of %s", conn_id(s->conn), s->box_name);
		/* No UID yet (the index was busy): it gets one at the next
		 * sync, and the client can find it then (RFC 4315 §3). */
		if (a->uid != 0)
			imap_tagged(s, s->cmd_tag, "OK", "[APPENDUID %u %u] Append completed.",
				    a->uidvalidity, a->uid);
		else
			imap_tagged(s, s->cmd_tag, "OK", "Append completed.");
	}
	imap_append_free(&a);
	imap_command_done(s);
}

bool cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_append *a = s->append;

	/* The message literal must end the command (no MULTIAPPEND). */
	if (a == NULL || cmd->nargs != a->nargs + 1 ||
	    cmd->args[cmd->nargs - 1].type != IMAP_ARG_LITERAL_EXTERNAL) {
		imap_bad(s, cmd->tag, "Usage: APPEND mailbox [(flags)] [date-time] literal");
		return true;
	}
	s->append = NULL;
	if (a->failed) {
		imap_store_error(s, cmd->tag, "Append");
		imap_append_free(&a);
		return true;
	}
	a->to_selected = s->box != NULL && strcmp(s->box_name, a->mailbox) == 0;
	imap_async(s, commit_work, commit_done, a);
	return false;
}
