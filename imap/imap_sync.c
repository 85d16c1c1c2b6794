/*
 * Keeping a selected mailbox current: the worker's shared directory watch
 * (core/watch.h) marks the session dirty; before its next command the
 * session re-reads the store on the thread pool and reports what changed
 * (imap_view.c).  NOOP, CHECK and IDLE always re-read, so a client polling
 * a mailbox that a watch cannot see (NFS) still learns of changes.
 */
#include "imap/imap.h"
#include "imap/imap_sync.h"

#include "core/log.h"
#include "core/watch.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct sync_job {
	struct imap_session *s;
	const struct imap_cmd_def *def;		/* run after the sync; NULL in IDLE */
	const struct imap_command *cmd;
	int ret;
};

static void on_change(void *ctx)
{
	struct imap_session *s = ctx;

	s->box_dirty = true;
	if (s->idling)
		imap_idle_sync(s);
}

void imap_sync_watch(struct imap_session *s)
{
	char **dirs;
	size_t n;

	if (mailbox_watch_dirs(s->box, &dirs, &n) < 0)
		return;
	if (n > 0)
		s->watch = watch_add(conn_loop(s->conn), dirs, n, on_change, s);
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	/* Without a watch every command re-reads the store. */
	s->box_dirty = s->watch == NULL;
}

void imap_sync_unwatch(struct imap_session *s)
{
	watch_remove(&s->watch);
}

/* RFC 3501 §7.4.1: no EXPUNGE while responding to FETCH, STORE or SEARCH
 * (their UID forms may: the client does not depend on numbers there). */
static bool expunge_allowed(const struct imap_command *cmd)
{
	return cmd == NULL || (strcmp(cmd->name, "FETCH") != 0 && strcmp(cmd->name, "STORE") != 0 &&
			       strcmp(cmd->name, "SEARCH") != 0);
}

static void sync_work(void *arg)
{
	struct sync_job *j = arg;
	struct mailbox *box = j->s->box;
	uint32_t uidnext = mailbox_uidnext(box);

	j->ret = mailbox_sync(box);
	/* New mail while selected read-write is \Recent to us if no one
	 * else took it first (RFC 3501 §2.3.2). */
	if (j->ret == 0 && !j->s->readonly && mailbox_uidnext(box) != uidnext)
		j->ret = mailbox_claim_recent(box);
	else if (j->ret == 0 && mailbox_uidnext(box) != uidnext)
		mailbox_show_recent(box);	/* EXAMINE sees them too, §6.3.2 */
}

static void sync_report(struct imap_session *s, const struct sync_job *j)
{
	if (j->ret < 0) {
		const char *text;

		store_last_error(s->store, &text);
		log_error("%s: mailbox sync failed: %s", conn_id(s->conn), text);
		s->box_dirty = true;	/* try again next time */
	}
	imap_view_report(s, expunge_allowed(j->cmd));
}

static void command_sync_done(void *arg)
{
	struct sync_job *j = arg;
	struct imap_session *s = j->s;

	if (s->gone) {
		free(j);
		imap_command_done(s);
		return;
	}
	sync_report(s, j);
	if (conn_is_closing(s->conn)) {	/* the report said BYE */
		free(j);
		imap_command_done(s);
		return;
	}
	if ((j->def->states & (1u << s->state)) == 0) {
		/* Nothing deselects during a sync today; if that changes, the
		 * command still gets its answer. */
		imap_bad(s, s->cmd_tag, "Command not valid in this state.");
		free(j);
		imap_command_done(s);
		return;
	}
	if (imap_command_run(s, j->def, j->cmd)) {
		free(j);
		imap_command_done(s);
		return;
	}
	free(j);	/* the command goes on asynchronously (imap_async flushes) */
}

bool imap_sync_needed(const struct imap_session *s, const struct imap_command *cmd)
{
	if (s->state != IMAP_STATE_SELECTED)
		return false;
	return s->box_dirty || s->watch == NULL || strcmp(cmd->name, "NOOP") == 0 ||
	       strcmp(cmd->name, "CHECK") == 0 || strcmp(cmd->name, "IDLE") == 0;
}

void imap_sync_then_run(struct imap_session *s, const struct imap_cmd_def *def,
			const struct imap_command *cmd)
{
	struct sync_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->def = def;
	j->cmd = cmd;
	s->box_dirty = false;	/* changes from now on need another sync */
	imap_async(s, sync_work, command_sync_done, j);
}

/* ---- IDLE ---- */

static void idle_sync_done(void *arg)
{
	struct sync_job *j = arg;
	struct imap_session *s = j->s;

	s->idle_sync_running = false;
	if (!s->gone)
		sync_report(s, j);	/* sent by imap_async's flush after us */
	free(j);
	if (s->gone) {
		imap_command_done(s);
		return;
	}
	if (s->idle_done) {
		imap_idle_finish(s);
		return;
	}
	if (s->box_dirty)
		imap_idle_sync(s);	/* more came while we read */
}

void imap_idle_sync(struct imap_session *s)
{
	struct sync_job *j;

	if (s->idle_sync_running || s->state != IMAP_STATE_SELECTED)
		return;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	s->idle_sync_running = true;
	s->box_dirty = false;
	imap_async(s, sync_work, idle_sync_done, j);
}
