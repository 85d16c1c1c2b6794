/*
 * Password schemes of the passwd-file (Dovecot's names): {PLAIN}/{CLEAR},
 * the crypt(3) family through libxcrypt, {SHA512}/{SSHA512} digests,
 * {ARGON2I}/{ARGON2ID} (libargon2) and SCRAM stored keys.  crypt_rn() with
 * a heap crypt_data is thread-safe, which matters: checks run on the
 * thread pool.
 */
#include "core/auth.h"
#include "core/log.h"
#include "core/password_schemes.h"
#include "core/scram.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum scheme_kind {
	KIND_PLAIN,
	KIND_CRYPT,
	KIND_SHA512,	/* variant: 1 = salted (SSHA512); enc */
	KIND_ARGON2,	/* variant: 1 = Argon2id */
	KIND_SCRAM,	/* variant: enum scram_hash */
};

static const struct scheme {
	const char *name;
	enum scheme_kind kind;
	const char *prefix;	/* KIND_CRYPT: crypt_gensalt prefix */
	unsigned long rounds;
	int variant;
	enum digest_encoding enc;
} schemes[] = {
	{ "PLAIN", KIND_PLAIN, NULL, 0, 0, 0 },
	{ "CLEAR", KIND_PLAIN, NULL, 0, 0, 0 },
	{ "SHA512-CRYPT", KIND_CRYPT, "$6$", 0, 0, 0 },
	{ "SHA256-CRYPT", KIND_CRYPT, "$5$", 0, 0, 0 },
	{ "BLF-CRYPT", KIND_CRYPT, "$2y$", 10, 0, 0 },
	{ "MD5-CRYPT", KIND_CRYPT, "$1$", 0, 0, 0 },
	{ "CRYPT", KIND_CRYPT, "", 0, 0, 0 },	/* libxcrypt's own default method */
	{ "SHA512", KIND_SHA512, NULL, 0, 0, DIGEST_BASE64 },
	{ "SHA512.B64", KIND_SHA512, NULL, 0, 0, DIGEST_BASE64 },
	{ "SHA512.HEX", KIND_SHA512, NULL, 0, 0, DIGEST_HEX },
	{ "SSHA512", KIND_SHA512, NULL, 0, 1, DIGEST_BASE64 },
	{ "SSHA512.B64", KIND_SHA512, NULL, 0, 1, DIGEST_BASE64 },
	{ "SSHA512.HEX", KIND_SHA512, NULL, 0, 1, DIGEST_HEX },
	{ "ARGON2I", KIND_ARGON2, NULL, 0, 0, 0 },
	{ "ARGON2ID", KIND_ARGON2, NULL, 0, 1, 0 },
	{ "SCRAM-SHA-1", KIND_SCRAM, NULL, 0, SCRAM_SHA1, 0 },
	{ "SCRAM-SHA-256", KIND_SCRAM, NULL, 0, SCRAM_SHA256, 0 },
};

#define SCHEME_NAMES "SHA512-CRYPT SHA256-CRYPT BLF-CRYPT MD5-CRYPT CRYPT ARGON2ID ARGON2I " \
		     "SSHA512 SHA512 SCRAM-SHA-256 SCRAM-SHA-1 PLAIN CLEAR"

static const struct scheme *scheme_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].name) == len && strncasecmp(schemes[i].name, name, len) == 0)
			return &schemes[i];
	}
	return NULL;
}

/* Splits "{SCHEME}rest": the scheme (NULL if unknown) and the rest.  A
 * value without braces is a bare crypt hash, as Dovecot reads it. */
static const struct scheme *parse_stored(const char *stored, const char **rest_r, bool *known_r)
{
	const char *close;

	*known_r = true;
	if (stored[0] != '{' || (close = strchr(stored, '}')) == NULL) {
		*rest_r = stored;
		return scheme_find("CRYPT", 5);
	}
	*rest_r = close + 1;
	const struct scheme *s = scheme_find(stored + 1, close - stored - 1);
	if (s == NULL)
		*known_r = false;
	return s;
}

bool password_scheme_known(const char *stored)
{
	const char *rest;
	bool known;

	parse_stored(stored, &rest, &known);
	return known;
}

bool password_is_plaintext(const char *stored, const char **plain_r)
{
	const char *rest;
	bool known;
	const struct scheme *s = parse_stored(stored, &rest, &known);

	if (s == NULL || s->kind != KIND_PLAIN || stored[0] != '{')
		return false;
	*plain_r = rest;
	return true;
}

/* Compares without an early exit, so timing tells nothing of where the
 * strings differ (their lengths are not secret). */
static bool equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* A SHA512-CRYPT hash of a random password nobody knows: checking a login
 * against it costs what checking a real account's default hash costs. */
static const char dummy_hash[] =
	"$6$86aF.SToN5od55kw$2xuTPSwTy0u.LrXsjY7TWu2Jo4r8Fl"
	"8d6f0N3Yvqq1oMaNoI0iNBKzsRKkmPUFSlOOfH2cAB5QkWdsnOoWOra1";

/* crypt(3) of password against setting: 1 it reproduces it, 0 it does not,
 * -1 crypt refused the setting (a damaged hash: that takes no time). */
static int crypt_check(const char *setting, const char *password)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char *out = crypt_rn(password, setting, cd, sizeof(*cd));
	int ret = out == NULL || out[0] == '*' ? -1 : equal_ct(out, setting) ? 1 : 0;

	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

void password_verify_dummy(const char *password)
{
	(void)crypt_check(dummy_hash, password);
}

bool password_verify(const char *stored, const char *password)
{
	const char *rest;
	bool known;
	const struct scheme *s = parse_stored(stored, &rest, &known);

	if (s == NULL || rest[0] == '\0') {
		/* An unknown scheme or an empty hash is never a match, but
		 * answering at once would tell that the account exists. */
		password_verify_dummy(password);
		return false;
	}
	switch (s->kind) {
	case KIND_PLAIN:
		return equal_ct(rest, password);
	case KIND_SHA512:
		return sha512_verify(rest, password, s->variant == 1, s->enc);
	case KIND_ARGON2:
		return argon2_password_verify(rest, password, s->variant == 1);
	case KIND_SCRAM:
		return scram_password_verify((enum scram_hash)s->variant, rest, password);
	case KIND_CRYPT:
		break;
	}
	switch (crypt_check(rest, password)) {
	case 1:
		return true;
	case -1:
		password_verify_dummy(password);
		break;
	}
	return false;
}

char *password_hash(const char *scheme, const char *password, char *err, size_t errlen)
{
	const struct scheme *s = scheme_find(scheme ? scheme : "SHA512-CRYPT",
					     strlen(scheme ? scheme : "SHA512-CRYPT"));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	char *out, *result;

	if (s == NULL) {
		snprintf(err, errlen, "unknown scheme '%s' (known: %s)", scheme, SCHEME_NAMES);
		return NULL;
	}
	switch (s->kind) {
	case KIND_PLAIN:
		return xasprintf("{%s}%s", s->name, password);
	case KIND_SHA512: {
		char *text = sha512_make(password, s->variant == 1, s->enc);

		result = xasprintf("{%s}%s", s->name, text);
		free(text);
		return result;
	}
	case KIND_ARGON2: {
		char *text = argon2_password_make(password, s->variant == 1, err, errlen);

		if (text == NULL)
			return NULL;
		result = xasprintf("{%s}%s", s->name, text);
		free(text);
		return result;
	}
	case KIND_SCRAM:
		return scram_password_make((enum scram_hash)s->variant, password, err, errlen);
	case KIND_CRYPT:
		break;
	}
	if (crypt_gensalt_rn(s->prefix[0] ? s->prefix : NULL, s->rounds, NULL, 0, salt,
			     sizeof(salt)) == NULL) {
		snprintf(err, errlen, "%s: cannot make a salt", s->name);
		return NULL;
	}
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(password, salt, cd, sizeof(*cd));
	if (out == NULL || out[0] == '*') {
		snprintf(err, errlen, "%s: hashing failed", s->name);
		result = NULL;
	} else {
		result = xasprintf("{%s}%s", s->name, out);
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return result;
}

unsigned password_secret_kind(const char *stored)
{
	const char *rest;
	bool known;
	const struct scheme *s = parse_stored(stored, &rest, &known);

	if (s == NULL || stored[0] != '{' || rest[0] == '\0')
		return 0;
	if (s->kind == KIND_PLAIN)
		return AUTH_SECRET_PLAINTEXT;
	if (s->kind == KIND_SCRAM)
		return s->variant == SCRAM_SHA1 ? AUTH_SECRET_SCRAM_SHA1 : AUTH_SECRET_SCRAM_SHA256;
	return 0;
}

bool password_scram_keys(const char *stored, int hash, const char **text_r)
{
	const char *rest;
	bool known;
	const struct scheme *s = parse_stored(stored, &rest, &known);

	if (s == NULL || s->kind != KIND_SCRAM || s->variant != hash || stored[0] != '{')
		return false;
	*text_r = rest;
	return true;
}

bool password_stored_valid(const char *stored)
{
	const char *rest;
	bool known;
	const struct scheme *s = parse_stored(stored, &rest, &known);
	struct scram_keys keys;

	if (s == NULL)
		return false;
	switch (s->kind) {
	case KIND_SHA512:
		return sha512_valid(rest, s->variant == 1, s->enc);
	case KIND_ARGON2:
		return strncmp(rest, s->variant == 1 ? "$argon2id$" : "$argon2i$",
			       s->variant == 1 ? 10 : 9) == 0;
	case KIND_SCRAM:
		return scram_keys_parse((enum scram_hash)s->variant, rest, &keys) == 0;
	case KIND_PLAIN:
	case KIND_CRYPT:
		break;
	}
	return true;
}
