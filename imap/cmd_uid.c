/*
 * UID FETCH, SEARCH, STORE, COPY, MOVE, EXPUNGE (RFC 3501 §6.4.8, RFC 4315
 * §2.1, RFC 6851 §3.2): the same handlers as without UID, told by s->uid
 * that the numbers are UIDs.
 */
#include "imap/imap.h"

#include <ctype.h>
#include <string.h>

static const char *const uid_commands[] = { "FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE" };

bool cmd_uid(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_cmd_def *def = NULL;
	char name[16];
	size_t len;

	if (cmd->nargs < 1 || cmd->args[0].type != IMAP_ARG_ATOM || cmd->args[0].len >= sizeof(name)) {
		imap_bad(s, cmd->tag, "Usage: UID FETCH|SEARCH|STORE|COPY|MOVE|EXPUNGE ...");
		return true;
	}
	len = cmd->args[0].len;
	for (size_t i = 0; i <= len; i++)
		name[i] = (char)toupper((unsigned char)cmd->args[0].str[i]);
	for (size_t i = 0; i < sizeof(uid_commands) / sizeof(uid_commands[0]); i++)
		if (strcmp(name, uid_commands[i]) == 0)
			def = imap_command_find(name);
	if (def == NULL) {
		imap_bad(s, cmd->tag, "Unknown UID command.");
		return true;
	}
	/* In the session, not on our stack: a handler that goes on
	 * asynchronously may still look at it. */
	s->uid_cmd.tag = cmd->tag;
	s->uid_cmd.name = def->name;
	s->uid_cmd.args = cmd->args + 1;
	s->uid_cmd.nargs = cmd->nargs - 1;
	s->uid = true;
	return def->func(s, &s->uid_cmd);
}
