/* SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.6, §6.3.7).  A name need not
 * exist to be subscribed (the RFC lets the server choose; clients rely on
 * it when a folder is created elsewhere later). */
#include "imap/imap.h"
#include "store/store.h"

static bool subscription(struct imap_session *s, const struct imap_command *cmd, bool on)
{
	const char *name;

	if (cmd->nargs != 1) {
		imap_bad(s, cmd->tag, on ? "Usage: SUBSCRIBE mailbox" : "Usage: UNSUBSCRIBE mailbox");
		return true;
	}
	name = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (name == NULL)
		return true;
	if (store_subscription_set(s->store, name, on) < 0)
		imap_store_error(s, cmd->tag, on ? "Subscribe" : "Unsubscribe");
	else
		imap_tagged(s, cmd->tag, "OK", on ? "Subscribe completed." : "Unsubscribe completed.");
	return true;
}

bool cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return subscription(s, cmd, true);
}

bool cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return subscription(s, cmd, false);
}
