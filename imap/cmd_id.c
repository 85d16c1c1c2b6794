/* ID (RFC 2971): the client says who it is (logged, bounded); we answer
 * with our name only, no version, to give attackers nothing. */
#include "imap/imap.h"
#include "core/live.h"
#include "core/log.h"
#include <stdio.h>

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
		char shown[LIVE_CLIENT_ID_MAX] = "";
		size_t used = 0;

		/* `duomail who` shows name and version (RFC 2971 §3.3). */
		for (unsigned i = 0; i + 1 < a->count; i += 2) {
			size_t klen, vlen;
			const char *k = imap_arg_string(&a->list[i], &klen);
			const char *v = imap_arg_string(&a->list[i + 1], &vlen);
			int n;

			if (k == NULL || v == NULL || used >= sizeof(shown) ||
			    (strcasecmp(k, "name") != 0 && strcasecmp(k, "version") != 0))
				continue;
			n = snprintf(shown + used, sizeof(shown) - used, "%s%.*s", used ? " " : "",
				     (int)(vlen > 40 ? 40 : vlen), v);
			used += n > 0 ? (size_t)n : 0;
		}
		for (char *p = shown; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		live_session_client_id(conn_live(s->conn), shown);
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
