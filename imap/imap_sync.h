#ifndef DUOMAIL_IMAP_SYNC_H
#define DUOMAIL_IMAP_SYNC_H
/*
 * Keeping the selected mailbox current (imap_sync.c): change notification,
 * the re-read of the store before a command, and IDLE's pushes.
 */
#include <stdbool.h>
#include <stddef.h>

struct imap_cmd_def;
struct imap_command;
struct imap_session;

/* Subscribes s (with s->box just opened) to the worker's change
 * notification; imap_sync_unwatch() ends it. */
void imap_sync_watch(struct imap_session *s);
void imap_sync_unwatch(struct imap_session *s);

/* Must the store be re-read before cmd runs? */
bool imap_sync_needed(const struct imap_session *s, const struct imap_command *cmd);
/* Re-reads on the thread pool, reports the changes, then runs cmd. */
void imap_sync_then_run(struct imap_session *s, const struct imap_cmd_def *def,
			const struct imap_command *cmd);

/* IDLE (cmd_idle.c, RFC 2177): a change arrived, push it now. */
void imap_idle_sync(struct imap_session *s);
/* A line arrived while idling ("DONE", or a mistake). */
void imap_idle_line(struct imap_session *s, const char *line, size_t len);
/* Ends IDLE with its tagged response. */
void imap_idle_finish(struct imap_session *s);

#endif
