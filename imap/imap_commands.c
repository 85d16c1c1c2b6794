/* The IMAP command table: name, handler, states it is allowed in. */
#include "imap/imap.h"

#include <string.h>

static const struct imap_cmd_def commands[] = {
	{ "CAPABILITY", cmd_capability, IMAP_CMD_ANY },
	{ "NOOP", cmd_noop, IMAP_CMD_ANY },
	{ "LOGOUT", cmd_logout, IMAP_CMD_ANY },
	{ "ID", cmd_id, IMAP_CMD_ANY },			/* RFC 2971 */
	{ "STARTTLS", cmd_starttls, IMAP_CMD_NOT_AUTH },
	{ "LOGIN", cmd_login, IMAP_CMD_NOT_AUTH },
	{ "AUTHENTICATE", cmd_authenticate, IMAP_CMD_NOT_AUTH },
	{ "SELECT", cmd_select, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "EXAMINE", cmd_examine, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "STATUS", cmd_status, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "CLOSE", cmd_close, IMAP_CMD_SELECTED },
	{ "UNSELECT", cmd_unselect, IMAP_CMD_SELECTED },	/* RFC 3691 */
	{ "LIST", cmd_list, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "LSUB", cmd_lsub, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "CREATE", cmd_create, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "DELETE", cmd_delete, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "RENAME", cmd_rename, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "SUBSCRIBE", cmd_subscribe, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "UNSUBSCRIBE", cmd_unsubscribe, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "STORE", cmd_store, IMAP_CMD_SELECTED },
	{ "EXPUNGE", cmd_expunge, IMAP_CMD_SELECTED },
	{ "UID", cmd_uid, IMAP_CMD_SELECTED },
	{ "IDLE", cmd_idle, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },	/* RFC 2177 */
	{ "FETCH", cmd_fetch, IMAP_CMD_SELECTED },
	{ "APPEND", cmd_append, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "COPY", cmd_copy, IMAP_CMD_SELECTED },
	{ "MOVE", cmd_move, IMAP_CMD_SELECTED },		/* RFC 6851 */
	{ "CHECK", cmd_check, IMAP_CMD_SELECTED },
	{ "NAMESPACE", cmd_namespace, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },	/* RFC 2342 */
	{ "ENABLE", cmd_enable, IMAP_CMD_AUTH },		/* RFC 5161 */
	{ "SEARCH", cmd_search, IMAP_CMD_SELECTED },
	/* RFC 9208 */
	{ "GETQUOTAROOT", cmd_getquotaroot, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "GETQUOTA", cmd_getquota, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
	{ "SETQUOTA", cmd_setquota, IMAP_CMD_AUTH | IMAP_CMD_SELECTED },
};

const struct imap_cmd_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
