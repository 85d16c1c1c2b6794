/*
 * {ARGON2I} and {ARGON2ID} through Debian's libargon2, in the PHC string
 * encoding Dovecot (through libsodium) also writes:
 * $argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>.  The parameters travel in
 * the string, so hashes made elsewhere with other costs verify too.
 */
#include "core/password_schemes.h"
#include "core/log.h"

#include <argon2.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

/* RFC 9106 §4, the second recommended option (64 MiB, 3 passes): what a
 * login costs in memory on the thread pool, per concurrent check. */
#define ARGON2_T_COST 3
#define ARGON2_M_COST 65536	/* KiB */
#define ARGON2_PARALLEL 1
#define ARGON2_SALT_LEN 16
#define ARGON2_HASH_LEN 32

bool argon2_password_verify(const char *text, const char *password, bool id)
{
	/* The type is the scheme's: an $argon2i$ string under {ARGON2ID} is refused. */
	const char *prefix = id ? "$argon2id$" : "$argon2i$";

	if (strncmp(text, prefix, strlen(prefix)) != 0)
		return false;
	return argon2_verify(text, password, strlen(password), id ? Argon2_id : Argon2_i) ==
	       ARGON2_OK;
}

char *argon2_password_make(const char *password, bool id, char *err, size_t errlen)
{
	unsigned char salt[ARGON2_SALT_LEN];
	argon2_type type = id ? Argon2_id : Argon2_i;
	size_t len = argon2_encodedlen(ARGON2_T_COST, ARGON2_M_COST, ARGON2_PARALLEL,
				       ARGON2_SALT_LEN, ARGON2_HASH_LEN, type);
	char *encoded = xmalloc(len);
	int rc;

	if (gnutls_rnd(GNUTLS_RND_NONCE, salt, sizeof(salt)) < 0)
		fatal("gnutls_rnd failed");
	rc = argon2_hash(ARGON2_T_COST, ARGON2_M_COST, ARGON2_PARALLEL, password, strlen(password),
			 salt, sizeof(salt), NULL, ARGON2_HASH_LEN, encoded, len, type,
			 ARGON2_VERSION_13);
	if (rc != ARGON2_OK) {
		snprintf(err, errlen, "ARGON2: %s", argon2_error_message(rc));
		free(encoded);
		return NULL;
	}
	return encoded;
}
