#ifndef DUOMAIL_SCRAM_H
#define DUOMAIL_SCRAM_H
/*
 * SCRAM key material (RFC 5802 §3), shared by the SASL mechanisms and the
 * {SCRAM-SHA-1}/{SCRAM-SHA-256} password schemes.  The primitives are
 * GnuTLS's (PBKDF2, HMAC, hash); nothing here talks to a client.
 * Thread-safe.
 *
 *   SaltedPassword = PBKDF2(HMAC-H, SASLprep(password), salt, i)
 *   StoredKey      = H(HMAC(SaltedPassword, "Client Key"))
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * Stored form, as Dovecot writes it after {SCRAM-SHA-256}:
 *   <iterations>,<base64 salt>,<base64 StoredKey>,<base64 ServerKey>
 */
#include <stdbool.h>
#include <stddef.h>

#define SCRAM_MAX_HASH 32	/* SHA-256 */
#define SCRAM_MAX_SALT 64
#define SCRAM_DEFAULT_ITERATIONS 4096	/* RFC 7677 §4 minimum */
#define SCRAM_MAX_ITERATIONS 10000000	/* a stored value above this is refused */

enum scram_hash { SCRAM_SHA1, SCRAM_SHA256 };

struct scram_keys {
	enum scram_hash hash;
	unsigned iterations;
	unsigned char salt[SCRAM_MAX_SALT];
	size_t salt_len;
	unsigned char stored_key[SCRAM_MAX_HASH];
	unsigned char server_key[SCRAM_MAX_HASH];
};

/* Digest length of hash: 20 or 32. */
size_t scram_hash_len(enum scram_hash hash);
/* "SCRAM-SHA-1" / "SCRAM-SHA-256": the scheme and mechanism name. */
const char *scram_hash_name(enum scram_hash hash);

/* HMAC-H(key, data) into out (scram_hash_len bytes) and H(data). */
void scram_hmac(enum scram_hash hash, const void *key, size_t keylen, const void *data,
		size_t len, unsigned char *out);
void scram_digest(enum scram_hash hash, const void *data, size_t len, unsigned char *out);

/* Derives keys->stored_key and server_key from an already SASLprep'd
 * password with keys->hash, salt and iterations set.  CPU work that grows
 * with the iterations: thread pool.  0, or -1 if GnuTLS fails. */
int scram_derive(struct scram_keys *keys, const char *prepared_password);

/* Parses the stored form (after "{SCRAM-SHA-...}") for hash.  0, or -1 if
 * malformed (wrong key length, iterations 0 or too many, bad base64). */
int scram_keys_parse(enum scram_hash hash, const char *text, struct scram_keys *keys_r);
/* The stored form of keys, a new string. */
char *scram_keys_format(const struct scram_keys *keys);

/* Scheme helpers (core/password.c): does password match the stored text,
 * and a new stored text for password (fresh 16-byte salt, 4096 rounds). */
bool scram_password_verify(enum scram_hash hash, const char *text, const char *password);
char *scram_password_make(enum scram_hash hash, const char *password, char *err, size_t errlen);

#endif
