#ifndef DUOMAIL_MESSAGE_SEARCH_H
#define DUOMAIL_MESSAGE_SEARCH_H
/*
 * Looking for strings in a message as its reader sees it: header fields
 * with their RFC 2047 encoded words decoded, and body text with its
 * content-transfer-encoding (base64, quoted-printable) undone and its
 * charset converted to UTF-8; matching is case-insensitive (text_fold.h).
 * Protocol-neutral; IMAP SEARCH (RFC 3501 §6.4.4) is its user.
 *
 * One pass, streaming, in bounded memory: the message is fed in chunks of
 * any size as it is read, nothing of it is kept but the header field being
 * read (cut at 64 KB) and one line start per MIME boundary check, so a
 * 50 MB message needs no more memory than a small one.  The caller may stop
 * feeding as soon as it knows enough (message_search_header_done(), a
 * string found).
 *
 * What counts as body text: the bodies of text and message parts
 * (RFC 3501 §6.4.4 lets a server skip other media types), and the header of
 * every message/rfc822 inside, decoded.  Parts are told apart as
 * store/message.c does (multipart boundaries, a missing blank line makes all
 * of a part header, nesting past 64 levels is not followed), with that
 * parser reading each part's Content-Type and Content-Transfer-Encoding.  A
 * part with an unknown transfer encoding is skipped (RFC 2045 §6.4).
 */
#include <stdbool.h>
#include <stddef.h>

enum message_search_scope {
	MESSAGE_SEARCH_HEADER,	/* the value of a named field of the message header */
	MESSAGE_SEARCH_BODY,	/* body text */
	MESSAGE_SEARCH_TEXT,	/* a field of the header ("Name: value") or body text */
};

struct message_search;

struct message_search *message_search_new(void);
void message_search_free(struct message_search **ms);

/* Adds a string to look for (UTF-8) and returns its index, from 0 up.
 * field names the header field for MESSAGE_SEARCH_HEADER (case does not
 * matter) and is NULL otherwise.  An empty string is found in every
 * message, for HEADER in every message that has the field. */
unsigned message_search_add(struct message_search *ms, enum message_search_scope scope,
			    const char *field, const char *str, size_t len);
/* Asks for the first value of one header field to be kept (e.g. "Date"). */
void message_search_keep_field(struct message_search *ms, const char *field);

/* Starts on a new message (forgets what the last one found). */
void message_search_begin(struct message_search *ms);
void message_search_feed(struct message_search *ms, const char *data, size_t len);
/* The message ended. */
void message_search_finish(struct message_search *ms);

/* Has string idx been found so far? */
bool message_search_found(const struct message_search *ms, unsigned idx);
/* Has all of the message header been read? */
bool message_search_header_done(const struct message_search *ms);
/* The kept field's value (unfolded, leading white space removed, RFC 2047
 * not decoded), or NULL if the header (so far) has no such field. */
const char *message_search_field(const struct message_search *ms);

#endif
