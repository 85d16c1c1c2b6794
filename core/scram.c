/* SCRAM key derivation and its stored form (see scram.h). */
#include "core/scram.h"
#include "core/log.h"
#include "core/sasl.h"
#include "core/saslprep.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t scram_hash_len(enum scram_hash hash)
{
	return hash == SCRAM_SHA1 ? 20 : 32;
}

const char *scram_hash_name(enum scram_hash hash)
{
	return hash == SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

static gnutls_mac_algorithm_t mac_of(enum scram_hash hash)
{
	return hash == SCRAM_SHA1 ? GNUTLS_MAC_SHA1 : GNUTLS_MAC_SHA256;
}

void scram_hmac(enum scram_hash hash, const void *key, size_t keylen, const void *data,
		size_t len, unsigned char *out)
{
	if (gnutls_hmac_fast(mac_of(hash), key, keylen, data, len, out) < 0)
		fatal("gnutls_hmac_fast failed");
}

void scram_digest(enum scram_hash hash, const void *data, size_t len, unsigned char *out)
{
	if (gnutls_hash_fast(hash == SCRAM_SHA1 ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_SHA256, data, len,
			     out) < 0)
		fatal("gnutls_hash_fast failed");
}

int scram_derive(struct scram_keys *keys, const char *prepared_password)
{
	unsigned char salted[SCRAM_MAX_HASH], client_key[SCRAM_MAX_HASH];
	size_t hl = scram_hash_len(keys->hash);
	gnutls_datum_t pw = { (unsigned char *)prepared_password,
			      (unsigned)strlen(prepared_password) };
	gnutls_datum_t salt = { keys->salt, (unsigned)keys->salt_len };

	if (gnutls_pbkdf2(mac_of(keys->hash), &pw, &salt, keys->iterations, salted, hl) < 0)
		return -1;
	scram_hmac(keys->hash, salted, hl, "Client Key", 10, client_key);
	scram_digest(keys->hash, client_key, hl, keys->stored_key);
	scram_hmac(keys->hash, salted, hl, "Server Key", 10, keys->server_key);
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
	return 0;
}

/* Decodes one base64 field of exactly want bytes (want 0: 1..max). */
static int field_decode(const char *p, size_t len, unsigned char *out, size_t want, size_t max,
			size_t *len_r)
{
	unsigned char *raw;
	size_t rawlen;
	int ret = -1;

	if (sasl_b64_decode(p, len, &raw, &rawlen) < 0)
		return -1;
	if ((want != 0 && rawlen == want) || (want == 0 && rawlen > 0 && rawlen <= max)) {
		memcpy(out, raw, rawlen);
		if (len_r != NULL)
			*len_r = rawlen;
		ret = 0;
	}
	explicit_bzero(raw, rawlen);
	free(raw);
	return ret;
}

int scram_keys_parse(enum scram_hash hash, const char *text, struct scram_keys *keys_r)
{
	const char *f[4];
	size_t flen[4];
	const char *p = text;
	char *end;
	unsigned long iter;

	memset(keys_r, 0, sizeof(*keys_r));
	keys_r->hash = hash;
	for (int i = 0; i < 4; i++) {
		const char *comma = strchr(p, ',');

		f[i] = p;
		flen[i] = comma ? (size_t)(comma - p) : strlen(p);
		if ((i < 3) != (comma != NULL))
			return -1;	/* exactly four fields */
		p = comma ? comma + 1 : p + flen[i];
	}
	if (flen[0] == 0 || f[0][0] < '1' || f[0][0] > '9')
		return -1;
	iter = strtoul(f[0], &end, 10);
	if (end != f[0] + flen[0] || iter > SCRAM_MAX_ITERATIONS)
		return -1;
	keys_r->iterations = (unsigned)iter;
	if (field_decode(f[1], flen[1], keys_r->salt, 0, SCRAM_MAX_SALT, &keys_r->salt_len) < 0 ||
	    field_decode(f[2], flen[2], keys_r->stored_key, scram_hash_len(hash), 0, NULL) < 0 ||
	    field_decode(f[3], flen[3], keys_r->server_key, scram_hash_len(hash), 0, NULL) < 0)
		return -1;
	return 0;
}

char *scram_keys_format(const struct scram_keys *keys)
{
	size_t hl = scram_hash_len(keys->hash);
	char *salt = sasl_b64_encode(keys->salt, keys->salt_len);
	char *sk = sasl_b64_encode(keys->stored_key, hl);
	char *svk = sasl_b64_encode(keys->server_key, hl);
	char *out = xasprintf("%u,%s,%s,%s", keys->iterations, salt, sk, svk);

	free(salt);
	free(sk);
	free(svk);
	return out;
}

bool scram_password_verify(enum scram_hash hash, const char *text, const char *password)
{
	struct scram_keys stored, given;
	char *prepared;
	bool ok;

	if (scram_keys_parse(hash, text, &stored) < 0 || saslprep(password, false, &prepared) < 0)
		return false;
	given = stored;
	ok = scram_derive(&given, prepared) == 0 &&
	     gnutls_memcmp(given.stored_key, stored.stored_key, scram_hash_len(hash)) == 0;
	explicit_bzero(prepared, strlen(prepared));
	free(prepared);
	explicit_bzero(&given, sizeof(given));
	return ok;
}

char *scram_password_make(enum scram_hash hash, const char *password, char *err, size_t errlen)
{
	struct scram_keys keys = { .hash = hash, .iterations = SCRAM_DEFAULT_ITERATIONS,
				   .salt_len = 16 };
	char *prepared, *text, *out;

	/* Stored strings: unassigned code points are not allowed (RFC 4013 §2.5). */
	if (saslprep(password, true, &prepared) < 0) {
		snprintf(err, errlen, "%s: the password is not valid for SASLprep (RFC 4013): "
			 "control or unassigned characters, or not UTF-8", scram_hash_name(hash));
		return NULL;
	}
	if (gnutls_rnd(GNUTLS_RND_NONCE, keys.salt, keys.salt_len) < 0 ||
	    scram_derive(&keys, prepared) < 0) {
		explicit_bzero(prepared, strlen(prepared));
		free(prepared);
		snprintf(err, errlen, "%s: key derivation failed", scram_hash_name(hash));
		return NULL;
	}
	explicit_bzero(prepared, strlen(prepared));
	free(prepared);
	text = scram_keys_format(&keys);
	out = xasprintf("{%s}%s", scram_hash_name(hash), text);
	free(text);
	explicit_bzero(&keys, sizeof(keys));
	return out;
}
