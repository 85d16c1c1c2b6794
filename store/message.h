#ifndef DUOMAIL_MESSAGE_H
#define DUOMAIL_MESSAGE_H
/*
 * RFC 5322 + MIME (RFC 2045, 2046) message structure, protocol-neutral:
 * the tree of parts with where each one's header and body are, their sizes
 * as IMAP counts them (every line end CRLF), body line counts, and the
 * Content-* fields BODYSTRUCTURE reports.  Incremental: feed the message in
 * chunks of any size, as it is read from the store, in bounded memory.
 *
 * Broken MIME is parsed the way mail readers do: a missing boundary
 * parameter makes a multipart a single body, a missing final boundary ends
 * at the end of the enclosing part, a body without a header/body separator
 * is all header.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct message_param {
	char *name;		/* lower-cased */
	char *value;		/* unquoted; RFC 2231 continuations joined */
};

/* The header fields ENVELOPE is made of (RFC 3501 §7.4.2), kept for the
 * message and for every message/rfc822 inside it. */
enum message_env_field {
	ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO, ENV_CC, ENV_BCC,
	ENV_IN_REPLY_TO, ENV_MESSAGE_ID, ENV_FIELD_COUNT,
};

struct message_part {
	/* offsets in the message as stored */
	uint64_t header_offset;
	uint64_t body_offset;
	uint64_t end_offset;
	/* sizes and lines with CRLF line ends */
	uint64_t header_vsize;
	uint64_t body_vsize;
	uint64_t body_lines;

	/* Content-Type (default text/plain; charset=us-ascii, RFC 2045 §5.2;
	 * message/rfc822 in a multipart/digest) */
	char *type, *subtype;		/* lower-cased */
	struct message_param *params;
	unsigned nparams;
	char *id, *description, *encoding, *md5, *language, *location;
	/* first occurrence, unfolded, leading white space removed; only on
	 * the root and on a message/rfc822 part's child (NULL elsewhere) */
	char *env[ENV_FIELD_COUNT];

	char *disposition;		/* lower-cased, NULL if none */
	struct message_param *disposition_params;
	unsigned ndisposition_params;

	/* multipart: its parts; message/rfc822: one, the message inside */
	struct message_part *children;	/* first child; the rest via next */
	unsigned nchildren;
	struct message_part *next;	/* next sibling */
	struct message_part *parent;
};

struct message_parser;

struct message_parser *message_parser_new(void);
void message_parser_feed(struct message_parser *p, const char *data, size_t len);
/* Ends the message and returns its tree (the caller frees it with
 * message_part_free); the parser is freed. */
struct message_part *message_parser_finish(struct message_parser **p);
void message_part_free(struct message_part **part);

/* A parameter's value, or NULL. */
const char *message_param(const struct message_param *params, unsigned n, const char *name);

#endif
