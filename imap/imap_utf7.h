#ifndef DUOMAIL_IMAP_UTF7_H
#define DUOMAIL_IMAP_UTF7_H
/*
 * Modified UTF-7 mailbox names (RFC 3501 §5.1.3): printable US-ASCII but
 * "&" stands for itself, "&" is "&-", anything else is UTF-16 in a base64
 * variant ("," for "/", no padding) between "&" and "-".  The store keeps
 * names in UTF-8; the IMAP front end converts at the protocol boundary.
 */
#include <stddef.h>

/* UTF-8 -> modified UTF-7.  Returns a new string, or NULL if utf8 is not
 * valid UTF-8 (or holds a control character). */
char *imap_utf7_encode(const char *utf8);

/* Modified UTF-7 -> UTF-8.  Strict: rejects what RFC 3501 says must not be
 * sent (raw 8-bit or control bytes, base64 for printable ASCII, an
 * unterminated or empty "&" run other than "&-", broken surrogates, non-zero
 * padding bits, two adjacent encoded runs).  Returns a new string or NULL. */
char *imap_utf7_decode(const char *mutf7);

#endif
