/* STARTTLS (RFC 3501 §6.2.1, RFC 2595): OK in the clear, then TLS.  The
 * conn layer throws away anything pipelined after the command. */
#include "imap/imap.h"

bool cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "STARTTLS takes no arguments.");
		return true;
	}
	if (conn_is_tls(s->conn)) {
		imap_bad(s, cmd->tag, "TLS is already active.");
		return true;
	}
	if (!conn_can_start_tls(s->conn)) {
		imap_tagged(s, cmd->tag, "NO", "TLS is not available.");
		return true;
	}
	imap_tagged(s, cmd->tag, "OK", "Begin TLS negotiation now.");
	/* Nothing the parser holds may survive into the protected session. */
	imap_parser_reset(s->parser);
	conn_start_tls(s->conn);
	return true;
}
