/*
 * {SHA512} and {SSHA512} as Dovecot stores them: base64 by default, hex
 * with the ".HEX" suffix.  Salted: SHA512(password || salt) || salt.
 */
#include "core/password_schemes.h"
#include "core/log.h"
#include "core/sasl.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#define SHA512_LEN 64
#define SSHA_SALT_LEN 16
#define SSHA_MAX_SALT 64

static int hex_decode(const char *in, unsigned char **out_r, size_t *len_r)
{
	size_t n = strlen(in);
	unsigned char *out;

	if (n % 2 != 0)
		return -1;
	out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = in[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else {
				free(out);
				return -1;
			}
		}
		out[i] = (unsigned char)v;
	}
	*out_r = out;
	*len_r = n / 2;
	return 0;
}

static char *encode(const unsigned char *raw, size_t len, enum digest_encoding enc)
{
	char *out;

	if (enc == DIGEST_BASE64)
		return sasl_b64_encode(raw, len);
	out = xmalloc(2 * len + 1);
	for (size_t i = 0; i < len; i++) {
		static const char hex[] = "0123456789abcdef";

		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

static void digest(const char *password, const unsigned char *salt, size_t salt_len,
		   unsigned char *out)
{
	size_t plen = strlen(password);
	unsigned char *buf = xmalloc(plen + salt_len + 1);

	memcpy(buf, password, plen);
	if (salt_len > 0)
		memcpy(buf + plen, salt, salt_len);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA512, buf, plen + salt_len, out) < 0)
		fatal("gnutls_hash_fast failed");
	explicit_bzero(buf, plen + salt_len);
	free(buf);
}

/* The raw digest (and salt) of text, or -1 if it has not their length. */
static int decode_stored(const char *text, bool salted, enum digest_encoding enc,
			 unsigned char **raw_r, size_t *len_r)
{
	if ((enc == DIGEST_BASE64 ? sasl_b64_decode(text, strlen(text), raw_r, len_r) :
	     hex_decode(text, raw_r, len_r)) < 0)
		return -1;
	if (salted ? (*len_r <= SHA512_LEN || *len_r > SHA512_LEN + SSHA_MAX_SALT) :
	    *len_r != SHA512_LEN) {
		free(*raw_r);
		return -1;
	}
	return 0;
}

bool sha512_valid(const char *text, bool salted, enum digest_encoding enc)
{
	unsigned char *raw;
	size_t len;

	if (decode_stored(text, salted, enc, &raw, &len) < 0)
		return false;
	free(raw);
	return true;
}

bool sha512_verify(const char *text, const char *password, bool salted, enum digest_encoding enc)
{
	unsigned char *raw, mine[SHA512_LEN];
	size_t len;
	bool ok;

	if (decode_stored(text, salted, enc, &raw, &len) < 0)
		return false;
	digest(password, raw + SHA512_LEN, len - SHA512_LEN, mine);
	ok = gnutls_memcmp(mine, raw, SHA512_LEN) == 0;
	explicit_bzero(mine, sizeof(mine));
	free(raw);
	return ok;
}

char *sha512_make(const char *password, bool salted, enum digest_encoding enc)
{
	unsigned char raw[SHA512_LEN + SSHA_SALT_LEN];
	size_t salt_len = salted ? SSHA_SALT_LEN : 0;
	char *out;

	if (salted && gnutls_rnd(GNUTLS_RND_NONCE, raw + SHA512_LEN, salt_len) < 0)
		fatal("gnutls_rnd failed");
	digest(password, raw + SHA512_LEN, salt_len, raw);
	out = encode(raw, SHA512_LEN + salt_len, enc);
	explicit_bzero(raw, sizeof(raw));
	return out;
}
