/* CHECK (RFC 3501 §6.4.1): a checkpoint of the selected mailbox.  The store
 * makes every change durable before it reports success, so there is no
 * housekeeping left to do, and then "CHECK is equivalent to NOOP" (§6.4.1):
 * whatever updates NOOP sends, CHECK sends too. */
#include "imap/imap.h"

bool cmd_check(struct imap_session *s, const struct imap_command *cmd)
{
	return cmd_noop(s, cmd);
}
