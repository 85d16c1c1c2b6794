#ifndef DUOMAIL_PASSWORD_SCHEMES_H
#define DUOMAIL_PASSWORD_SCHEMES_H
/*
 * Schemes of core/password.c that are not crypt(3): each verifies the text
 * after "{SCHEME}" and makes a new one.  Internal to the auth core.
 * Thread-safe; verification may be slow by design (Argon2): thread pool.
 */
#include <stdbool.h>
#include <stddef.h>

enum digest_encoding { DIGEST_BASE64, DIGEST_HEX };

/* {SHA512}: the digest of the password; {SSHA512}: digest of password+salt,
 * followed by the salt (Dovecot's layout). */
bool sha512_verify(const char *text, const char *password, bool salted, enum digest_encoding enc);
char *sha512_make(const char *password, bool salted, enum digest_encoding enc);
/* Does text decode to a digest (and salt) of the right length? */
bool sha512_valid(const char *text, bool salted, enum digest_encoding enc);

/* {ARGON2I}/{ARGON2ID}: the $argon2id$v=19$m=..,t=..,p=..$salt$hash encoding. */
bool argon2_password_verify(const char *text, const char *password, bool id);
/* NULL with err set if libargon2 fails (out of memory). */
char *argon2_password_make(const char *password, bool id, char *err, size_t errlen);

#endif
