#ifndef DUOMAIL_IMAP_FORMAT_H
#define DUOMAIL_IMAP_FORMAT_H
/*
 * IMAP data items built into a buffer (RFC 3501 §9 formal syntax): strings
 * (quoted when they can be, literals otherwise), nstrings, ENVELOPE and
 * BODY/BODYSTRUCTURE from a parsed message (store/message.h).
 */
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct message_part;

void imap_buf_string(struct buf *b, const char *s, size_t len);
/* NIL for NULL. */
void imap_buf_nstring(struct buf *b, const char *s);

/* ENVELOPE of msg: the root, or the child of a message/rfc822 part. */
void imap_envelope(struct buf *b, const struct message_part *msg);

/* BODYSTRUCTURE (extended = true) or BODY (false) of part. */
void imap_bodystructure(struct buf *b, const struct message_part *part, bool extended);

#endif
