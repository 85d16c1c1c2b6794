/* ID (RFC 2971): the client says who it is (logged, bounded); we answer
 * with our name only, no version, to give attackers nothing. */
#include "imap/imap.h"
#include "core/log.h"

#include <string.h>

bool cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *a = cmd->nargs == 1 ? &cmd->args[0] : NULL;

	if (a == NULL || !((a->type == IMAP_ARG_ATOM && strcasecmp(a->str, "NIL") == 0) ||
			   (a->type == IMAP_ARG_LIST && a->count % 2 == 0 && a->count <= 60))) {
		imap_bad(s, cmd->tag, "Usage: ID NIL or ID (field value ...)");
		return true;
	}
	if (a->type == IMAP_ARG_LIST) {
		for (unsigned i = 0; i + 1 < a->count; i += 2) {
			size_t klen, vlen;
			const char *k = imap_arg_string(&a->list[i], &klen);
			const char *v = imap_arg_string(&a->list[i + 1], &vlen);

			/* RFC 2971 §3.3: field strings are at most 30 octets. */
			if (k == NULL || klen > 30) {
				imap_bad(s, cmd->tag, "Invalid ID field.");
				return true;
			}
			if (v != NULL && strcasecmp(k, "name") == 0)
				log_info("%s: client name: %.*s", conn_id(s->conn),
					 (int)(vlen > 64 ? 64 : vlen), v);
		}
	}
	imap_untagged(s, "ID (\"name\" \"duomail\")");
	imap_tagged(s, cmd->tag, "OK", "ID completed.");
	return true;
}
