/* CAPABILITY (RFC 3501 §6.1.1): what this session may use now. */
#include "imap/imap.h"

bool cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "CAPABILITY takes no arguments.");
		return true;
	}
	imap_untagged(s, "CAPABILITY %s", imap_capabilities(s));
	imap_tagged(s, cmd->tag, "OK", "Capability completed.");
	return true;
}
