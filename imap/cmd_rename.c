/* RENAME (RFC 3501 §6.3.5): children move along; renaming INBOX moves its
 * messages and leaves INBOX empty. */
#include "imap/imap.h"
#include "store/store.h"

bool cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	const char *from, *to;

	if (cmd->nargs != 2) {
		imap_bad(s, cmd->tag, "Usage: RENAME old new");
		return true;
	}
	from = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (from == NULL)
		return true;
	to = imap_arg_mailbox(s, cmd->tag, &cmd->args[1]);
	if (to == NULL)
		return true;
	if (store_mailbox_rename(s->store, from, to) < 0)
		imap_store_error(s, cmd->tag, "Rename");
	else
		imap_tagged(s, cmd->tag, "OK", "Rename completed.");
	return true;
}
