/* NOOP (RFC 3501 §6.1.2).  Mailbox updates will be sent from here too. */
#include "imap/imap.h"

bool cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "NOOP takes no arguments.");
		return true;
	}
	imap_tagged(s, cmd->tag, "OK", "NOOP completed.");
	return true;
}
