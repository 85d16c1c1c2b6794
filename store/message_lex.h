#ifndef DUOMAIL_MESSAGE_LEX_H
#define DUOMAIL_MESSAGE_LEX_H
/*
 * Small lexical pieces of RFC 5322 and MIME shared by the message parsers
 * (structure, addresses, dates, search): one definition of each, so they
 * cannot drift apart.
 */
#include <stddef.h>

/* s points at "(": returns the first character after the matching ")",
 * nested comments and quoted-pairs included (RFC 5322 §3.2.2), or the end
 * of the string for an unclosed one. */
const char *message_skip_comment(const char *s);

/* Is line (len bytes, no line end) a MIME boundary line of boundary
 * (RFC 2046 §5.1.1): 0 no, 1 "--boundary", 2 the closing "--boundary--";
 * trailing transport padding (spaces, tabs) is allowed. */
int message_boundary_match(const char *line, size_t len, const char *boundary);

#endif
