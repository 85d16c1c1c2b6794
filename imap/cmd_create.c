/* CREATE (RFC 3501 §6.3.3).  A trailing "/" only says a hierarchy is
 * intended; the mailbox is made all the same. */
#include "imap/imap.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>

bool cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name;
	char *copy;

	if (cmd->nargs != 1) {
		imap_bad(s, cmd->tag, "Usage: CREATE mailbox");
		return true;
	}
	name = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (name == NULL)
		return true;
	copy = xstrdup(name);
	if (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	if (store_mailbox_create(s->store, copy) < 0)
		imap_store_error(s, cmd->tag, "Create");
	else
		imap_tagged(s, cmd->tag, "OK", "Create completed.");
	free(copy);
	return true;
}
