#ifndef DUOMAIL_STORE_H
#define DUOMAIL_STORE_H
/*
 * The mail store: the only code that touches mail on disk.  POP3, IMAP, LMTP
 * and `duomail deliver` all go through this interface, so every protocol sees
 * one truth.  The front ends know nothing of Maildir; the backend is chosen
 * behind the vtable in store_private.h (Maildir++ is the default).
 *
 * Conventions: functions return 0 on success and -1 on failure; the failure
 * is then described by store_last_error().  Objects are used by one thread at
 * a time (a session may open on the thread pool and then read on its loop).
 * Calls do blocking file I/O on local disk, bounded per call: open/sync scan a
 * directory and belong on the thread pool; a read of one chunk may run on the loop.
 *
 * Several processes (server workers, deliver, admin commands, a foreign MTA)
 * may use one user's store at the same time; the backend locks internally.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum store_error {
	STORE_OK = 0,
	STORE_ERR_TEMP,		/* I/O error, lock timeout: retry later */
	STORE_ERR_NOSPACE,	/* disk full or over quota */
	STORE_ERR_NOTFOUND,	/* no such mailbox */
	STORE_ERR_EXISTS,	/* mailbox already exists */
	STORE_ERR_EXPUNGED,	/* the message is gone (expunged by someone else) */
	STORE_ERR_INUSE,	/* exclusive lock held by another session */
	STORE_ERR_PERM,		/* permission denied / not allowed */
	STORE_ERR_INVALID,	/* bad name or argument */
	STORE_ERR_OVERQUOTA,	/* the user's quota would be exceeded (issue 4) */
};

/* Message flags, as in IMAP.  Maildir keeps them in the file name. */
enum {
	MSG_FLAG_SEEN     = 1 << 0,
	MSG_FLAG_ANSWERED = 1 << 1,
	MSG_FLAG_FLAGGED  = 1 << 2,
	MSG_FLAG_DELETED  = 1 << 3,
	MSG_FLAG_DRAFT    = 1 << 4,
	MSG_FLAG_RECENT   = 1 << 5,	/* this view's claim, see mailbox_claim_recent() */
};

struct store;
struct mailbox;
struct msg_stream;
struct store_save;

/* What the store knows about one message in an open mailbox view. */
struct store_msg {
	uint32_t uid;		/* IMAP UID, ascending within the mailbox */
	uint64_t vsize;		/* size with every line ending as CRLF (POP3/IMAP octets) */
	uint64_t psize;		/* size as stored */
	time_t received;	/* IMAP INTERNALDATE */
	time_t pop3_retrieved;	/* when a POP3 RETR last fetched it, 0 = never */
	unsigned flags;		/* MSG_FLAG_* */
	uint32_t keywords;	/* bit i: the mailbox's keyword i (mailbox_keyword()) */
	const char *uidl;	/* POP3 UIDL: fixed for the life of the message, even
				 * across a lost index and a new UIDVALIDITY; 1..70
				 * chars in 0x21..0x7E (RFC 1939 §7) */
	bool pop3_hidden;	/* "deleted" by POP3 in hide mode: POP3 does not list
				 * it, IMAP does (mailbox_set_pop3_hidden()) */
};

/* ---- the user's store ---- */

/* Opens USER's store under root (ROOT/USER/ for Maildir), creating the
 * INBOX if it does not exist yet.  user must already be validated as a
 * known account name (no '/', not "." or "..").  On failure *err_r says why. */
int store_open(const char *root, const char *user, struct store **st_r, enum store_error *err_r);
/* The same for a store at dir (absolute, validated by the caller: a
 * user's maildir= field).  dir's parent must exist; dir is made. */
int store_open_dir(const char *dir, struct store **st_r, enum store_error *err_r);
void store_close(struct store **st);

/* The last failure on st (or on a mailbox/save/stream made from it) and a
 * short text for the log (never shown to clients verbatim). */
enum store_error store_last_error(const struct store *st, const char **text_r);

/* POP3's exclusive maildrop lock (RFC 1939 §8): one POP3 session per user
 * across all processes.  -1 with STORE_ERR_INUSE if someone else holds it.
 * Released by store_pop3_unlock() or store_close(). */
int store_pop3_lock(struct store *st);
void store_pop3_unlock(struct store *st);

/* Records a POP3 login at now and returns the previous one in *prev_r
 * (0 if none); used to enforce LOGIN-DELAY (RFC 2449 §6.8) across processes. */
int store_pop3_login_stamp(struct store *st, time_t now, time_t *prev_r);

/* ---- the mailbox list (IMAP folders) ----
 *
 * Mailbox names are the IMAP wire form: modified UTF-7 (RFC 3501 §5.1.3)
 * with "/" between levels, e.g. "Archive/Entw&APw-rfe".  That is also what
 * Maildir++ keeps on disk (".Archive.Entw&APw-rfe", as Dovecot does), so a
 * Dovecot Maildir moves over unchanged.  The front end validates and converts
 * the encoding; the store refuses names that would be unsafe on disk: empty
 * levels, ".", control characters, or a "." inside a level (Maildir++'s own
 * separator).  "INBOX" is case-insensitive. */

struct store_mailbox_info {
	char *name;		/* "INBOX" first, then by name */
};

/* Every mailbox that exists.  Free with store_mailbox_list_free(). */
int store_mailbox_list(struct store *st, struct store_mailbox_info **list_r, size_t *count_r);
void store_mailbox_list_free(struct store_mailbox_info **list, size_t count);

/* Creates name (and missing parents, RFC 3501 §6.3.3).  -1 with
 * STORE_ERR_EXISTS if it exists, STORE_ERR_INVALID for a bad name. */
int store_mailbox_create(struct store *st, const char *name);
/* Deletes name and its mail.  INBOX cannot be deleted (STORE_ERR_PERM); nor
 * a mailbox with children (STORE_ERR_PERM: delete those first). */
int store_mailbox_delete(struct store *st, const char *name);
/* Renames old_name and its children (RFC 3501 §6.3.5).  Renaming INBOX
 * moves its messages into a new mailbox and leaves INBOX empty. */
int store_mailbox_rename(struct store *st, const char *old_name, const char *new_name);

/* Special-use mailboxes (RFC 6154 §2).  A new account's store starts with
 * one of each: store_open() makes and subscribes them when it creates the
 * account, and only then, so one the user deletes stays deleted.  The use
 * goes with the top-level name (as in Dovecot's usual configuration), so a
 * "Trash" made again later is the trash again. */
enum store_special_use {
	STORE_USE_NONE,
	STORE_USE_SENT,
	STORE_USE_DRAFTS,
	STORE_USE_TRASH,
	STORE_USE_JUNK,
	STORE_USE_ARCHIVE,
};
#define STORE_USE_COUNT 5	/* the uses above but NONE */

enum store_special_use store_special_use(const char *name);
/* The mailbox name of a use ("Sent"), NULL for STORE_USE_NONE. */
const char *store_special_name(enum store_special_use use);

/* Subscriptions (RFC 3501 §6.3.6): names, whether or not they exist. */
int store_subscription_set(struct store *st, const char *name, bool subscribed);
/* Free the array and each name with free(). */
int store_subscriptions(struct store *st, char ***names_r, size_t *count_r);

/* ---- mailboxes ---- */

/* Opens a view of mailbox name ("INBOX", or "a/b" for the Maildir++ folder
 * .a.b).  Synchronises with disk first: messages dropped into new/ are taken
 * in and given UIDs, vanished files are forgotten. */
int mailbox_open(struct store *st, const char *name, struct mailbox **box_r);
void mailbox_close(struct mailbox **box);

/* Re-reads disk changes made by others since open / the last sync. */
int mailbox_sync(struct mailbox *box);

/* Directories whose changes mean the mailbox may have changed (for a
 * watcher, core/watch.h); new strings in *dirs_r, free each and the array.
 * 0 directories: the backend has no such thing and the caller must poll. */
int mailbox_watch_dirs(const struct mailbox *box, char ***dirs_r, size_t *count_r);

/* \Recent (RFC 3501 §2.3.2): messages that came since some session last
 * selected the mailbox read-write.  mailbox_recent_count() only counts them
 * (STATUS, EXAMINE); mailbox_claim_recent() makes them this view's (SELECT):
 * they get MSG_FLAG_RECENT here and are no longer recent for anyone else. */
unsigned mailbox_recent_count(const struct mailbox *box);
int mailbox_claim_recent(struct mailbox *box);
/* A read-only view (EXAMINE) shows the recent messages as \Recent without
 * taking them from anyone: RFC 3501 §6.3.2 forbids EXAMINE to clear \Recent,
 * and FETCH FLAGS and SEARCH RECENT/NEW/OLD must agree with "* n RECENT".
 * Only this view's flags change; nothing is written. */
void mailbox_show_recent(struct mailbox *box);

uint32_t mailbox_uidvalidity(const struct mailbox *box);
uint32_t mailbox_uidnext(const struct mailbox *box);
unsigned mailbox_count(const struct mailbox *box);
/* Message i (0-based, ascending UID order).  Valid until the next sync/expunge. */
const struct store_msg *mailbox_msg(const struct mailbox *box, unsigned i);
/* Index of uid in the view, or -1 if not present. */
int mailbox_find_uid(const struct mailbox *box, uint32_t uid);
/* The same, looking at position hint first: for callers that walk the
 * messages in order (a FETCH 1:*, a POP3 download), where the search was
 * a tenth of the time. */
int mailbox_find_uid_at(const struct mailbox *box, uint32_t uid, unsigned hint);

/* Opens the message's bytes as stored.  -1 with STORE_ERR_EXPUNGED if it was
 * removed by someone else meanwhile (or its file was replaced by something
 * that is not a file: links are never followed), STORE_ERR_PERM if its file
 * cannot be read (its mode; the store logs that once per message, callers
 * need not). */
int mailbox_msg_open(struct mailbox *box, uint32_t uid, struct msg_stream **stream_r);
/* Reads up to len bytes: >0 count, 0 end of message, -1 I/O error. */
ssize_t msg_stream_read(struct msg_stream *stream, void *buf, size_t len);
/* Moves to offset (bytes as stored) so the next read starts there, for a
 * part of a message (IMAP BODY[1.2]) without reading what comes before.
 * An offset past the end is not an error: reads then return 0. */
int msg_stream_seek(struct msg_stream *stream, uint64_t offset);
void msg_stream_close(struct msg_stream **stream);

/* The MIME structure of uid (store/message.h), parsed from its bytes the
 * first time and then kept in a small cache of this view (store/message_cache.h:
 * bounded by entries and bytes, least recently used first out, entries of
 * expunged messages dropped by the next sync/expunge).  The tree stays valid
 * until the next mailbox_msg_structure(), sync, expunge or close of box.
 * Reads the whole message on a miss: call it off the loop.  -1 with
 * STORE_ERR_EXPUNGED if the message is gone. */
struct message_part;
int mailbox_msg_structure(struct mailbox *box, uint32_t uid, const struct message_part **part_r);

/* Adds and removes flags on uid.  A message that is already gone is not an
 * error (it is simply skipped). */
int mailbox_update_flags(struct mailbox *box, uint32_t uid, unsigned add, unsigned remove);
/* The same for many messages (POP3's \Seen marks at QUIT): cheaper than a
 * call each.  -1 if any failed (the others are still changed). */
int mailbox_update_flags_many(struct mailbox *box, const uint32_t *uids, size_t count,
			      unsigned add, unsigned remove);

/* Keywords (IMAP's user-defined flags, RFC 3501 §2.3.2) are per mailbox: a
 * list of names, and per message a bit set over it.  Names are compared
 * case-insensitively.  A mailbox holds at most STORE_MAX_KEYWORDS. */
#define STORE_MAX_KEYWORDS 26
unsigned mailbox_keyword_count(const struct mailbox *box);
const char *mailbox_keyword(const struct mailbox *box, unsigned i);
/* The index of keyword name, or -1 if the mailbox has no such keyword. */
int mailbox_keyword_find(const struct mailbox *box, const char *name);
/* The index of name, adding it to the mailbox's list if it is new (durably,
 * visible to every session).  -1 with STORE_ERR_NOSPACE when the list is
 * full. */
int mailbox_keyword_add(struct mailbox *box, const char *name, unsigned *index_r);
/* Flags and keywords in one change (one rename on Maildir). */
int mailbox_update_flags_keywords(struct mailbox *box, uint32_t uid, unsigned add,
				  unsigned remove, uint32_t kw_add, uint32_t kw_remove);

/* Removes the messages durably (the change is fsync'd before return) and
 * re-reads the view, which then no longer lists them.  UIDs that are
 * already gone are ignored. */
int mailbox_expunge(struct mailbox *box, const uint32_t *uids, size_t count);

/* What mailbox_copy() did: copy i of the message src_uids[i] is dest_uids[i]
 * in the target, whose UIDVALIDITY is uidvalidity.  Both arrays ascend. */
struct store_copy_map {
	uint32_t uidvalidity;
	size_t count;
	uint32_t *src_uids;
	uint32_t *dest_uids;
};

/* Copies the messages uids (ascending UIDs of box's view) into mailbox dest
 * of the same store, which may be box's own mailbox.  Durable on return:
 * the copies are on disk and hold their new UIDs, given in the order of
 * uids, so map_r can answer COPYUID (RFC 4315 §3).  A copy keeps its
 * message's flags as they are on disk now (never \Recent, which belongs to
 * a view), its keywords by name (dest learns names it lacks, as far as it
 * has room) and its internal date; in dest it is \Recent like any new
 * message (RFC 3501 §6.4.7).  Messages that are gone from disk meanwhile
 * (expunged by another session) or not in the view are skipped: they are
 * missing from the map, which may end up empty.  On failure dest is as it
 * was (RFC 3501 §6.4.7): STORE_ERR_NOTFOUND if dest does not exist,
 * STORE_ERR_NOSPACE if the disk is full.  Blocking: belongs on the thread
 * pool.  Free the map with store_copy_map_free() either way. */
int mailbox_copy(struct mailbox *box, const uint32_t *uids, size_t count, const char *dest,
		 struct store_copy_map *map_r);
/* The same for a MOVE (IMAP MOVE, POP3's trash mode): the caller expunges
 * the sources right after, so the account does not grow and the copies are
 * not refused for quota (they are still counted, and the expunge takes
 * them off again). */
int mailbox_copy_for_move(struct mailbox *box, const uint32_t *uids, size_t count,
			  const char *dest, struct store_copy_map *map_r);
void store_copy_map_free(struct store_copy_map *map);

/* POP3's hide mode: the messages stay (IMAP sees them, flags and all) but
 * POP3 no longer lists them (store_msg.pop3_hidden).  Durable on return,
 * kept by base name apart from the index, so the marks survive restarts,
 * a lost or rebuilt index and a new UIDVALIDITY.  A copy (COPY, MOVE) of a
 * hidden message is hidden too: POP3 has had it already.  UIDs that are
 * gone are skipped. */
int mailbox_set_pop3_hidden(struct mailbox *box, const uint32_t *uids, size_t count);

/* Records that POP3 retrieved these messages at when (for EXPIRE). */
int mailbox_set_pop3_retrieved(struct mailbox *box, const uint32_t *uids, size_t count, time_t when);

/* ---- quota (issue 4) ----
 *
 * Limits on the whole account (every mailbox counts, Trash too): the sum of
 * its messages' sizes as stored (store_msg.psize, the ",S=" of Maildir
 * names) and their number.  The store enforces them: a save whose commit
 * would exceed a limit fails with STORE_ERR_OVERQUOTA (and so does a copy
 * that is not for a move); expunges and deletes make room again.  The
 * usage is kept up to date incrementally, shared by every process that
 * uses the account (Maildir: the Maildir++ "maildirsize" file, as Courier
 * and Dovecot keep it), and recounted when it is missing or implausible. */

/* Sets st's limits, 0 = unlimited; call it right after store_open() (the
 * login and delivery code does, core/account.h).  A store without limits
 * still keeps an existing usage record up to date. */
void store_set_quota(struct store *st, uint64_t storage, uint64_t messages);

struct store_quota {
	uint64_t storage_used, storage_limit;	/* bytes */
	uint64_t messages_used, messages_limit;
};

/* The account's usage now, with st's limits (recounted if the record needs
 * it).  Blocking: thread pool. */
int store_quota_get(struct store *st, struct store_quota *q_r);
/* Would bytes more in messages more messages go over a limit?  0 no, -1
 * with STORE_ERR_OVERQUOTA yes (or another error).  Only a hint, for
 * refusing early (an APPEND before its literal is sent): the commit checks
 * again, atomically. */
int store_quota_check(struct store *st, uint64_t bytes, uint64_t messages);

/* ---- saving (deliver, LMTP, APPEND) ---- */

/* Starts a new message for mailbox (it must exist).  received=0 means now. */
int store_save_begin(struct store *st, const char *mailbox, time_t received, unsigned flags,
		     struct store_save **save_r);
/* -1 with STORE_ERR_OVERQUOTA as soon as the message alone no longer fits
 * in the room the account has left (the save is then dead: abort it). */
int store_save_write(struct store_save *save, const void *data, size_t len);
/* Gives the message being saved these keywords (names, RFC 3501 §2.3.2),
 * before the commit.  The mailbox learns the names it does not have yet;
 * one it has no room for (STORE_MAX_KEYWORDS) is left out, as APPEND's
 * flags are a SHOULD (RFC 3501 §6.3.11) and the message matters more.
 * Takes the mailbox's lock briefly: thread pool. */
int store_save_keywords(struct store_save *save, const char *const *names, size_t count);
/* Makes the message durable and visible: fsync file, move into place, fsync
 * the directory.  -1 with STORE_ERR_OVERQUOTA if it does not fit the quota
 * (nothing is saved then).  If uid_r is not NULL the message's UID is assigned now and
 * returned; *uid_r is 0 if the message is saved but could not get its UID
 * yet (index lock timeout): it gets one at the next sync, and the call still
 * succeeds, since failing would make the client save it twice.  *save is
 * freed either way. */
int store_save_commit(struct store_save **save, uint32_t *uid_r);
/* The same, also giving the mailbox's UIDVALIDITY with the UID (UIDPLUS
 * APPENDUID, RFC 4315 §3); both are 0 when the UID is not known yet. */
int store_save_commit_uid(struct store_save **save, uint32_t *uidvalidity_r, uint32_t *uid_r);
void store_save_abort(struct store_save **save);
/* The message goes into the mailbox view has open (an IMAP APPEND to the
 * selected mailbox): the commit then syncs view and makes the new message
 * \Recent in it under the same lock that gives it its UID, so no other
 * session of the mailbox can claim it first (RFC 3501 §6.3.11, §2.3.2).
 * Needs a UID (store_save_commit_uid). */
void store_save_claim_recent(struct store_save *save, struct mailbox *view);

const char *store_strerror(enum store_error err);

#endif
