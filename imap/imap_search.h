#ifndef DUOMAIL_IMAP_SEARCH_H
#define DUOMAIL_IMAP_SEARCH_H
/*
 * SEARCH keys (RFC 3501 §6.4.4, §9 search-key): the command's arguments
 * parsed into a tree (imap_search_parse.c, pure), and the tree evaluated
 * message by message against the store (imap_search_eval.c).
 *
 * Semantics chosen where the RFC leaves room:
 *   - KEYWORD matches the messages that have the keyword in the store
 *     (names compared case-insensitively); a keyword the mailbox has never
 *     had matches nothing, so UNKEYWORD of it matches everything.
 *   - String keys match a case-insensitive substring of the decoded text
 *     (store/message_search.h).  FROM, TO, CC, BCC and SUBJECT look at the
 *     header field of that name.  An empty string matches every message,
 *     except for HEADER, where it matches the messages that have the field
 *     (§6.4.4).  TEXT is the header (each field as "Name: value") or the
 *     body.
 *   - BEFORE/ON/SINCE compare the internal date's calendar day in the
 *     server's time zone; SENT* the day written in the Date: header, its time
 *     and zone disregarded (§6.4.4).  A message whose Date: cannot be read
 *     matches no SENT* key (and so every NOT SENT* key).
 *   - A message number past the end of the mailbox in a sequence set is an
 *     error (BAD, §9 seq-number), as for FETCH; UIDs that do not exist are
 *     not (§6.4.8).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_seqset.h"

struct buf;
struct imap_arg;
struct mailbox;
struct store;
struct store_msg;

#define IMAP_SEARCH_MAX_DEPTH	64	/* nested lists, NOTs and ORs */

enum search_key_type {
	SEARCH_ALL,		/* ALL, a string key with "" */
	SEARCH_AND,		/* a parenthesized list, and the top level */
	SEARCH_OR,		/* two children */
	SEARCH_NOT,		/* one child */
	SEARCH_FLAGS,		/* (flags & flag_mask) == flag_value */
	SEARCH_KEYWORD,		/* str names it; UNKEYWORD is NOT KEYWORD */
	SEARCH_SEQSET,		/* message sequence numbers */
	SEARCH_UIDSET,
	SEARCH_LARGER,		/* RFC822.SIZE > size */
	SEARCH_SMALLER,		/* RFC822.SIZE < size */
	SEARCH_BEFORE,		/* internal date */
	SEARCH_ON,
	SEARCH_SINCE,
	SEARCH_SENTBEFORE,	/* Date: header */
	SEARCH_SENTON,
	SEARCH_SENTSINCE,
	SEARCH_HEADER,		/* field contains str: HEADER, FROM, TO, CC, BCC, SUBJECT */
	SEARCH_BODY,
	SEARCH_TEXT,
};

struct search_key {
	enum search_key_type type;
	struct search_key *children;	/* AND, OR, NOT: first child */
	struct search_key *next;	/* the next sibling */
	unsigned flag_mask, flag_value;	/* MSG_FLAG_* */
	struct seqset set;		/* SEQSET, UIDSET */
	uint32_t size;
	uint32_t date;			/* year * 10000 + month * 100 + day */
	char *field;			/* HEADER */
	char *str;			/* HEADER, BODY, TEXT: UTF-8; KEYWORD */
	size_t len;
	int needle;			/* evaluation's own: the string's index, */
	int keyword;			/* and the keyword's in the mailbox (-1: none) */
};

/* ---- parsing (imap_search_parse.c) ---- */

enum imap_search_parse_result {
	IMAP_SEARCH_OK,
	IMAP_SEARCH_BAD,	/* *error says what: for a tagged BAD */
	IMAP_SEARCH_BADCHARSET,	/* CHARSET other than UTF-8 / US-ASCII: tagged NO
				 * [BADCHARSET (UTF-8 US-ASCII)] */
};

#define IMAP_SEARCH_CHARSETS	"UTF-8 US-ASCII"

/* Parses SEARCH's arguments: [CHARSET charset] 1*search-key.  On
 * IMAP_SEARCH_OK *key_r is the tree (an AND of the keys given), to be freed
 * with imap_search_key_free(); its "*"s are not resolved yet.  The text in
 * error (size bytes) is ours, fit for a response. */
enum imap_search_parse_result imap_search_parse(const struct imap_arg *args, unsigned nargs,
						struct search_key **key_r, char *error,
						size_t size);
void imap_search_key_free(struct search_key **key);

/* A canonical text form of the tree, for tests and logs:
 * (FLAGS(+SEEN -DELETED) OR(HEADER(From "x") NOT(UID(1:*))) ON 19940201) */
void imap_search_key_dump(struct buf *b, const struct search_key *key);

/* RFC 3501 §9 date-text "1-Feb-1994" (case-insensitive month, a real day
 * of that month) as year * 10000 + month * 100 + day.  Returns 0 or -1. */
int imap_search_parse_date(const char *s, size_t len, uint32_t *date_r);

/* ---- evaluation (imap_search_eval.c) ---- */

/* Puts the mailbox's numbers in for "*" in every set: count for message
 * numbers, last_uid for UIDs (§9 says UIDNEXT for an empty mailbox; any
 * value does there, as no message can match).
 * Returns 0, or -1 with a text in error if a message number is past count
 * (including "*" in an empty mailbox). */
int imap_search_resolve(struct search_key *key, unsigned count, uint32_t last_uid,
			char *error, size_t size);

struct imap_search_run;

/* Prepares the evaluation of key (resolved; it must outlive the run) in a
 * mailbox of store st (whose last error tells an expunged message). */
struct imap_search_run *imap_search_run_new(struct search_key *key, struct store *st);
void imap_search_run_free(struct imap_search_run **run);

/* Does message seq (msg, in box) match?  1 yes, 0 no, -1 the store failed
 * (store_last_error() says why).  Reads the message only when a key needs
 * it and only as far as it needs (flags, keywords, UID, size and internal
 * date need no read; header keys stop after the header), in bounded
 * memory.  Blocks on disk: for the thread pool.  A message expunged
 * meanwhile matches nothing. */
int imap_search_run_match(struct imap_search_run *run, struct mailbox *box, unsigned seq,
			  const struct store_msg *msg);

/* What the run has read so far (for tests and logs). */
void imap_search_run_stats(const struct imap_search_run *run, unsigned *opened_r,
			   uint64_t *bytes_r);

#endif
