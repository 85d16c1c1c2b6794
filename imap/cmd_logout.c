/* LOGOUT (RFC 3501 §6.1.3): BYE, then the tagged OK, then close. */
#include "imap/imap.h"

bool cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "LOGOUT takes no arguments.");
		return true;
	}
	s->state = IMAP_STATE_LOGOUT;
	imap_untagged(s, "BYE Logging out.");
	imap_tagged(s, cmd->tag, "OK", "Logout completed.");
	conn_close(s->conn);
	return true;
}
