#ifndef DUOMAIL_IMAP_MATCH_H
#define DUOMAIL_IMAP_MATCH_H
/*
 * LIST/LSUB patterns (RFC 3501 §6.3.8): "*" matches anything, "%" anything
 * but the hierarchy delimiter "/".  The reference name is prefixed to the
 * pattern.  "INBOX" matches in any case (RFC 3501 §5.1).
 */
#include <stdbool.h>

/* Does name match pattern? */
bool imap_match(const char *pattern, const char *name);

/* Could a child of name ("name/...") match pattern?  Lets LIST show a
 * parent that only exists because of its children. */
bool imap_match_prefix(const char *pattern, const char *name);

#endif
