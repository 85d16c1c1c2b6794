#ifndef DUOMAIL_IMAP_VIEW_H
#define DUOMAIL_IMAP_VIEW_H
/*
 * The client's view of the selected mailbox: message sequence numbers as the
 * client knows them (RFC 3501 §2.3.1.2), each with its UID and the flags last
 * reported.  It is separate from the store's view (store/store.h), which a
 * mailbox_sync() changes at once: the client's numbering may only change by
 * untagged EXISTS and EXPUNGE responses, and EXPUNGE may not be sent during
 * FETCH, STORE or SEARCH (RFC 3501 §7.4.1), so a message can be gone from
 * the store while the client still counts it (expunged = true here).
 *
 * imap_view_report() compares the two after a sync and tells the client what
 * changed: EXPUNGE (when allowed), EXISTS, RECENT, FETCH (FLAGS).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct imap_arg;
struct imap_session;
struct store_msg;

struct imap_view_msg {
	uint32_t uid;
	unsigned flags;		/* MSG_FLAG_*, as last reported to the client */
	uint32_t keywords;	/* the mailbox's keyword bits, likewise */
	bool expunged;		/* gone from the store, EXPUNGE not sent yet */
};

struct imap_view {
	struct imap_view_msg *msgs;	/* index = sequence number - 1 */
	unsigned count;			/* the EXISTS the client knows */
	unsigned recent;		/* the RECENT the client knows */
	unsigned nkeywords;		/* keywords named in the last FLAGS response */
	uint32_t uidvalidity;		/* the one SELECT reported */
};

/* Fills the view from s->box (just opened): no responses. */
void imap_view_init(struct imap_session *s);
void imap_view_free(struct imap_view *v);

/* After mailbox_sync()/mailbox_expunge() on s->box: sends the untagged
 * responses for what changed (EXPUNGE only if allow_expunge; otherwise the
 * messages stay counted, marked expunged, until a later call allows it). */
void imap_view_report(struct imap_session *s, bool allow_expunge);

/* The store's current entry for sequence number seq (1..count), or NULL if
 * the message is expunged (or seq is out of range).  Valid until the next
 * sync/expunge of s->box. */
const struct store_msg *imap_view_store_msg(const struct imap_session *s, unsigned seq);

/* Sequence number of uid in the view, 0 if not there. */
unsigned imap_view_seq_of_uid(const struct imap_session *s, uint32_t uid);

/* Resolves a sequence-set argument against the view: message numbers, or
 * UIDs when uid is true (RFC 3501 §6.4.8: UIDs not in the mailbox are
 * ignored; "*" is the highest).  Fills *seqs_r with ascending sequence
 * numbers (free() it; may be NULL with *count_r 0).  A bad set, or a message
 * number above count, is answered with a tagged BAD here and -1 returned.
 * Messages marked expunged are included: the caller decides. */
int imap_view_seqset(struct imap_session *s, const char *tag, const struct imap_arg *arg,
		     bool uid, unsigned **seqs_r, size_t *count_r);

/* Records that the client was told flags for seq (STORE's own FETCH
 * responses, or .SILENT), so no FETCH is sent for it by the next report.
 * The keywords are taken from the store's entry. */
void imap_view_set_flags(struct imap_session *s, unsigned seq, unsigned flags);

/* Appends a flag list "(\Seen \Recent)" for MSG_FLAG_* flags only. */
void imap_buf_flags(struct buf *b, unsigned flags);
/* The flag list of a message of the selected mailbox: its flags and its
 * keywords by name ("(\Seen $Forwarded)"). */
void imap_buf_msg_flags(struct buf *b, const struct imap_session *s, const struct store_msg *m);
/* The untagged FLAGS and PERMANENTFLAGS of the selected mailbox (SELECT,
 * and again when a keyword is new: RFC 3501 §7.2.6). */
void imap_send_mailbox_flags(struct imap_session *s);

/* Flag names from a flag-list argument: keywords to look up or create. */
struct imap_keyword_names {
	const char **names;	/* point into the command's arguments */
	unsigned count;
};

/* Parses a flag-list argument (a list of flags, or one flag) as STORE and
 * APPEND take it (RFC 3501 §9 flag-list).  \Recent is ignored (clients may
 * not set it, §2.3.2).  Returns 0, or -1 after a tagged BAD.
 * imap_arg_flags() drops keywords; imap_arg_flags_kw() adds their names to
 * *kw (free kw->names with free()). */
int imap_arg_flags(struct imap_session *s, const char *tag, const struct imap_arg *arg,
		   unsigned *flags_r);
int imap_arg_flags_kw(struct imap_session *s, const char *tag, const struct imap_arg *arg,
		      unsigned *flags_r, struct imap_keyword_names *kw);

#endif
