/*
 * IDLE (RFC 2177): the client waits, the server pushes EXISTS, EXPUNGE and
 * FETCH (FLAGS) as they happen, until "DONE".  The push comes from the
 * worker's shared watch of the mailbox (imap_sync.c), so an idling session
 * costs no polling: changes by other sessions, POP3, deliveries and foreign
 * programs reach it within WATCH_DELAY_MS plus one store re-read.
 */
#include "imap/imap.h"
#include "imap/imap_sync.h"

#include <strings.h>

bool cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(s, cmd->tag, "IDLE takes no arguments.");
		return true;
	}
	s->idling = true;
	s->idle_done = false;
	s->idle_bad = false;
	conn_puts(s->conn, "+ idling\r\n");
	return false;
}

void imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	/* RFC 2177 §3: anything but DONE is a protocol error; the IDLE ends
	 * either way, so the next line is a command again. */
	s->idle_bad = !(len == 4 && strncasecmp(line, "DONE", 4) == 0);
	if (s->idle_sync_running) {
		s->idle_done = true;	/* finished when the sync is back */
		return;
	}
	imap_idle_finish(s);
}

void imap_idle_finish(struct imap_session *s)
{
	bool bad = s->idle_bad;

	s->idling = false;
	s->idle_done = false;
	s->idle_bad = false;
	if (bad)
		imap_bad(s, s->cmd_tag, "Expected DONE to end IDLE.");
	else
		imap_tagged(s, s->cmd_tag, "OK", "Idle completed.");
	imap_command_done(s);
}
