#ifndef DUOMAIL_IMAP_APPEND_H
#define DUOMAIL_IMAP_APPEND_H
/*
 * APPEND's message literal, streamed into the store as it arrives
 * (imap_append.c), never held whole in memory.  The session hands over
 * every literal an APPEND announces; imap_append_literal_start() takes the
 * message one: it checks the mailbox, flags and date that came before it,
 * opens the save on the thread pool, and only then sends "+" for a
 * synchronising literal (RFC 3501 §7.5), so a missing mailbox gets its
 * NO [TRYCREATE] (§6.3.11) before any byte is sent.  The octets gather in
 * a buffer of APPEND_CHUNK that is written out on the thread pool while
 * input waits.  cmd_append.c finishes when the command line is complete:
 * the last write, the commit (fsync) and APPENDUID (RFC 4315 §3).
 *
 * A refused message literal: for a synchronising one the command ends at
 * once (the client sends nothing); a non-synchronising one (LITERAL+) is on
 * its way regardless, so the refusal is sent now, as RFC 7888 §4 allows,
 * and its octets and the rest of its command are read and dropped.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define APPEND_CHUNK (256u << 10)

struct imap_literal_info;
struct imap_session;
struct store_save;

struct imap_append {
	struct imap_session *s;
	char *tag;
	char *mailbox;		/* as the store names it */
	unsigned flags;		/* MSG_FLAG_* */
	char **keywords;	/* names (RFC 3501 §2.3.2), nkeywords of them */
	size_t nkeywords;
	time_t received;	/* 0: now */
	unsigned nargs;		/* arguments before the message literal */
	uint64_t size;		/* of the message literal */
	bool sync;		/* the client waits for "+" */
	bool answered;		/* refused and answered: drop the octets */
	bool failed;		/* a write failed: drop the octets, NO at the end */
	struct store_save *save;
	char *buf;		/* octets not written yet (APPEND_CHUNK) */
	size_t len;
	int ret;		/* of the job on the thread pool */
	/* cmd_append.c */
	bool to_selected;	/* the target is the selected mailbox */
	int sync_ret;
	uint32_t uidvalidity, uid;
};

/* An APPEND announced literal li.  True if it is the message and taken
 * over: s->lit_append is set and imap_append_literal_read() reads it, or
 * (a refused synchronising literal) the command is over.  False: the
 * session reads it as usual (a mailbox name given as a literal). */
bool imap_append_literal_start(struct imap_session *s, const struct imap_literal_info *li);
/* Takes the message octets that have arrived; true when all are in. */
bool imap_append_literal_read(struct imap_session *s);
/* Was the command in s->append answered already (refused)? */
bool imap_append_answered(const struct imap_session *s);
/* Ends s->append if there is one: the message is not saved, nothing of it
 * stays on disk. */
void imap_append_drop(struct imap_session *s);
void imap_append_free(struct imap_append **a);

#endif
