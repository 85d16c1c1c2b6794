/* NAMESPACE (RFC 2342): one personal namespace, no prefix, "/" between
 * levels, as LIST shows (RFC 2342 §5, example 5.1); no other users' and no
 * shared mailboxes. */
#include "imap/imap.h"

bool cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "NAMESPACE takes no arguments.");
		return true;
	}
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, cmd->tag, "OK", "Namespace completed.");
	return true;
}
