/* DELETE (RFC 3501 §6.3.4).  INBOX and mailboxes with children stay.
 * Removing a big folder's files takes a while, so it runs on the thread
 * pool; the session is busy meanwhile, so nothing else touches the store. */
#include "imap/imap.h"
#include "core/async.h"
#include "core/log.h"
#include "store/store.h"

struct delete_job {
	struct imap_session *s;
	char *name;
	int ret;
};

static void delete_work(void *arg)
{
	struct delete_job *j = arg;

	j->ret = store_mailbox_delete(j->s->store, j->name);
}

static void delete_done(void *arg)
{
	struct delete_job *j = arg;
	struct imap_session *s = j->s;

	if (!s->gone) {
		if (j->ret < 0)
			imap_store_error(s, s->cmd_tag, "Delete");
		else
			imap_tagged(s, s->cmd_tag, "OK", "Delete completed.");
	}
	free(j->name);
	free(j);
	imap_command_done(s);
}

bool cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	struct delete_job *j;
	const char *name;

	if (cmd->nargs != 1) {
		imap_bad(s, cmd->tag, "Usage: DELETE mailbox");
		return true;
	}
	name = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (name == NULL)
		return true;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->name = xstrdup(name);
	imap_async(s, delete_work, delete_done, j);
	return false;
}
