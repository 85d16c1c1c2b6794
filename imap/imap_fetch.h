#ifndef DUOMAIL_IMAP_FETCH_H
#define DUOMAIL_IMAP_FETCH_H
/*
 * FETCH (RFC 3501 §6.4.5): what the client asked for, and how a body
 * section is cut out of a stored message.
 *
 * imap_fetch_items.c turns the item list into struct fetch_items (pure);
 * imap_fetch_body.c finds a section in the message's MIME tree and turns
 * stored bytes into the bytes IMAP sends (header subsets, CRLF line ends);
 * imap_fetch_msg.c writes one message's FETCH response; cmd_fetch.c runs
 * the command in batches on the thread pool.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/message.h"

struct imap_arg;

/* Deeper than the MIME parser ever nests (store/message.c), so a longer
 * path can only be a client's mistake. */
#define FETCH_MAX_PATH		64
/* Longest field name in HEADER.FIELDS: far past any real one (RFC 5322
 * §2.1.1 limits a whole line to 998). */
#define FETCH_MAX_FIELD_NAME	998
/* Items in one FETCH list: far past any client's, and what keeps the
 * duplicate check (each item against those before it) from stalling the
 * loop: 80,000 items, which fit in a command, took 10 s. */
#define FETCH_MAX_ITEMS		1000

enum fetch_att {
	FETCH_UID,
	FETCH_FLAGS,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_ENVELOPE,
	FETCH_BODY,			/* BODY: BODYSTRUCTURE without extension data */
	FETCH_BODYSTRUCTURE,
	FETCH_SECTION,			/* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER/.TEXT */
};

/* What follows the part numbers in a section spec (RFC 3501 §9 section-text). */
enum fetch_text {
	FETCH_TEXT_NONE,		/* BODY[] or BODY[1.2]: the whole message or part */
	FETCH_TEXT_HEADER,
	FETCH_TEXT_FIELDS,		/* HEADER.FIELDS (names) */
	FETCH_TEXT_FIELDS_NOT,		/* HEADER.FIELDS.NOT (names) */
	FETCH_TEXT_TEXT,
	FETCH_TEXT_MIME,
};

struct fetch_section {
	uint32_t path[FETCH_MAX_PATH];	/* part numbers, 1-based */
	unsigned depth;
	enum fetch_text text;
	char **fields;			/* HEADER.FIELDS[.NOT] names, as given */
	unsigned nfields;
};

struct fetch_item {
	enum fetch_att att;
	/* FETCH_SECTION only: */
	char *name;			/* as the response names it: "BODY[1.MIME]",
					 * "RFC822.TEXT"; without the <origin> */
	bool peek;			/* does not set \Seen */
	bool partial;			/* <origin.count> */
	uint32_t origin, count;
	struct fetch_section section;
};

struct fetch_items {
	struct fetch_item *items;	/* in the order asked, no duplicates */
	unsigned count;
	unsigned atts;			/* 1u << FETCH_* present */
	bool need_structure;		/* the MIME tree is needed */
	bool need_header;		/* only where the top-level header ends
					 * (HEADER, TEXT): found by reading the
					 * header, not the whole message */
	bool need_content;		/* message bytes are read */
	bool set_seen;			/* some item sets \Seen (§6.4.5) */
};

/* Parses the item argument of FETCH: a macro (ALL, FAST, FULL), one item,
 * or a parenthesized list.  With uid (UID FETCH, §6.4.8) UID is added if
 * missing.  Returns 0, or -1 with *error_r a static text for a BAD. */
int imap_fetch_items_parse(const struct imap_arg *arg, bool uid, struct fetch_items *items_r,
			   const char **error_r);
void imap_fetch_items_free(struct fetch_items *items);

/* ---- body sections (imap_fetch_body.c) ---- */

/* Where a section is in the stored message: a range of stored bytes, and
 * its size as sent (every line end CRLF).  A header subset's size is only
 * known after a pass over the header: imap_fetch_filter_*(). */
struct fetch_range {
	bool exists;		/* false: the message has no such part (sent as NIL) */
	uint64_t start, end;	/* stored bytes [start, end) */
	uint64_t vsize;		/* bytes sent, unless filtered */
	bool filtered;		/* HEADER.FIELDS[.NOT]: lines are picked */
};

/* Locates sec in the message whose tree is root.  For BODY[] root may be
 * NULL: the range is then the whole message, psize stored bytes sending
 * as vsize. */
void imap_fetch_locate(const struct message_part *root, const struct fetch_section *sec,
		       uint64_t psize, uint64_t vsize, struct fetch_range *range_r);

/* Finds where the top-level header ends exactly as store/message.c does
 * (after the first empty line, LF or CRLF; the whole message if there is
 * none), from the first byte on, so HEADER and TEXT need no full parse. */
struct fetch_header_scan {
	uint64_t raw, vsize;	/* the header so far: stored bytes, sent bytes */
	unsigned line_len;	/* bytes of the current line, counted to 2 */
	bool prev_cr;
	bool done;
};

void imap_fetch_header_scan_init(struct fetch_header_scan *h);
/* Feeds the next stored bytes; true once the end is found (raw and vsize
 * are then final).  At the end of the message without that, the header is
 * all of it: raw and vsize are final as they are. */
bool imap_fetch_header_scan(struct fetch_header_scan *h, const char *data, size_t len);

/* Turns stored bytes into sent bytes, streaming: bare LF becomes CRLF
 * (RFC 3501 §2.3.4 counts octets with CRLF line ends), NUL becomes 0x80
 * (a literal may not hold NUL, §4.3 / §9 CHAR8; the size is unchanged),
 * and for a header subset only the fields wanted pass (§6.4.5: names
 * compared case-insensitively, the blank line after the header kept). */
struct fetch_xform {
	const struct fetch_section *sec;	/* for FIELDS / FIELDS_NOT, else NULL */
	bool prev_cr;
	/* header subset state */
	bool at_line_start;
	bool in_field;		/* a field's first line is being read */
	bool keep;		/* the current field passes */
	char name[FETCH_MAX_FIELD_NAME + 1];
	size_t name_len;	/* bytes of the first line held back in name */
	bool name_over;		/* the first line's start is longer than name */
};

void imap_fetch_xform_init(struct fetch_xform *x, const struct fetch_section *filter);
/* Output for len input bytes is at most this. */
#define FETCH_XFORM_OUT_MAX(len) (2 * ((len) + FETCH_MAX_FIELD_NAME + 1))
/* Feeds len stored bytes, writes what is sent to out (FETCH_XFORM_OUT_MAX
 * room) and returns its length. */
size_t imap_fetch_xform_feed(struct fetch_xform *x, const char *in, size_t len, char *out);
/* At the end of the range: what a header subset held back (a last line
 * without line end).  Returns its length in out (FETCH_XFORM_OUT_MAX(0)). */
size_t imap_fetch_xform_end(struct fetch_xform *x, char *out);

/* ---- one message's FETCH response (imap_fetch_msg.c) ---- */

struct buf;
struct imap_session;
struct msg_stream;
struct store_msg;

/* Stored bytes read at a time. */
#define FETCH_CHUNK		(32u << 10)

/* Flags a response told the client, for imap_view_set_flags() on the loop. */
struct fetch_told {
	unsigned seq, flags;
};

/* The command's state that every message shares. */
struct fetch_ctx {
	struct imap_session *s;
	const struct fetch_items *items;
	char *chunk;			/* FETCH_CHUNK */
	char *scratch;			/* FETCH_XFORM_OUT_MAX(FETCH_CHUNK) */
	struct fetch_range *ranges;	/* per item, for the message in progress */
	uint64_t *sizes;		/* per item: bytes the section sends */
	uint64_t bytes_read;		/* stored bytes read, for the caller's batching */
	struct fetch_told *told;
	size_t ntold, told_cap;
	/* problems to log on the loop (the pool thread does not log) */
	uint32_t short_uid;		/* a message's bytes ran out: padded */
	uint32_t seen_failed_uid;	/* \Seen could not be set */
	bool unreadable;		/* a message's file could not be read: left out */
};

struct fetch_msg {
	unsigned seq;
	const struct store_msg *sm;
	const struct message_part *tree;	/* if items need_structure */
	struct message_part top;	/* else, if they need_header: only the
					 * top level's offsets and sizes */
	struct msg_stream *stream;		/* if items need_content */
	bool seen_set;			/* this FETCH set \Seen: FLAGS go out */
	bool started;			/* "* n FETCH (" is written */
	unsigned next;			/* the item being written */
	/* a section's literal being written */
	bool in_literal;
	bool read_failed;
	struct fetch_xform xform;
	uint64_t raw_pos;		/* next stored byte to read */
	uint64_t out_pos;		/* bytes the section made so far */
	uint64_t lit_start, lit_len, lit_sent;
};

void imap_fetch_ctx_init(struct fetch_ctx *ctx, struct imap_session *s,
			 const struct fetch_items *items);
void imap_fetch_ctx_free(struct fetch_ctx *ctx);

/* Prepares message seq of the client's view: looks it up, gets its MIME
 * tree and opens its bytes if the items need them (disk I/O when they do:
 * the thread pool), sizes the header subsets, and sets \Seen if an item
 * asks for that (§6.4.5) and the mailbox is read-write.  Returns 1 ready,
 * 0 the message is gone (expunged: skip it), -1 a store error. */
int imap_fetch_msg_begin(struct fetch_ctx *ctx, unsigned seq, struct fetch_msg *m);
/* Appends m's response to out.  true when it is complete; false when out
 * holds budget bytes or a batch's worth was read, within a literal: call
 * again with an emptied out. */
bool imap_fetch_msg_write(struct fetch_ctx *ctx, struct fetch_msg *m, struct buf *out,
			  size_t budget);
void imap_fetch_msg_end(struct fetch_msg *m);

/* Stored bytes a batch reads at most (a partial fetch far into a message
 * with bare LFs reads up to its origin without sending anything). */
#define FETCH_BATCH_READ	(4u << 20)

/* INTERNALDATE as RFC 3501 §9 date-time: "17-Jul-1996 02:44:25 -0700",
 * in the server's time zone. */
void imap_fetch_date(char out[32], int64_t t);

#endif
