#ifndef DUOMAIL_SASLPREP_H
#define DUOMAIL_SASLPREP_H
/*
 * SASLprep (RFC 4013), the string preparation SCRAM (RFC 5802 §2.2) and
 * PLAIN (RFC 4616 §2) apply to user names and passwords, through libidn's
 * stringprep tables.  Thread-safe.
 */
#include <stdbool.h>

/*
 * Prepares the UTF-8 string in.  stored: in is a stored string (a password
 * being hashed), for which unassigned code points are prohibited (RFC 3454
 * §7); otherwise in is a query (what a client sent), where they pass.
 * Returns 0 with *out_r a new string (the caller wipes and frees it), or -1:
 * not UTF-8, a prohibited character (controls, RFC 4013 §2.3), bad
 * bidirectional text, or nothing left after mapping.
 */
int saslprep(const char *in, bool stored, char **out_r);

#endif
