#ifndef DUOMAIL_UTF8_H
#define DUOMAIL_UTF8_H
/*
 * UTF-8 as RFC 3629 §3-4 defines it: no overlong forms, no surrogates,
 * nothing past U+10FFFF.  The one decoder of SASLprep's input check, IMAP's
 * modified UTF-7, POP3's test for UTF-8 headers and the fuzzers' checks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The code point at p[0..len) and, in *n_r, its length in bytes; -1 if the
 * bytes there are not one well-formed character (also when len is 0 or the
 * character is cut off at len). */
int32_t utf8_decode(const unsigned char *p, size_t len, size_t *n_r);

/* Is s[0..len) well-formed UTF-8 throughout? */
bool utf8_valid(const char *s, size_t len);

/* cp (at most U+10FFFF, not a surrogate) as UTF-8 in out; returns its
 * length, 1 to 4. */
size_t utf8_encode(uint32_t cp, char out[4]);

#endif
