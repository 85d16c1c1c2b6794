/*
 * ENABLE (RFC 5161), in the authenticated state only (§3.1).  No extension
 * we offer needs enabling (no CONDSTORE, QRESYNC or UTF8=ACCEPT), and
 * unknown or not enableable names MUST be ignored (§3.1), so the ENABLED
 * response lists nothing; the CAPABILITY list stays as it was.
 */
#include "imap/imap.h"

bool cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	/* enable = "ENABLE" 1*(SP capability), capability = atom */
	if (cmd->nargs == 0) {
		imap_bad(s, cmd->tag, "Usage: ENABLE capability ...");
		return true;
	}
	for (unsigned i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			imap_bad(s, cmd->tag, "ENABLE takes capability names.");
			return true;
		}
	}
	imap_untagged(s, "ENABLED");
	imap_tagged(s, cmd->tag, "OK", "Nothing to enable.");
	return true;
}
