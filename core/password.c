/*
 * Password schemes of the passwd-file (Dovecot's names): {PLAIN}/{CLEAR}
 * and the crypt(3) family through libxcrypt.  crypt_rn() with a heap
 * crypt_data is thread-safe, which matters: checks run on the thread pool.
 */
#include "core/auth.h"
#include "core/log.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct scheme {
	const char *name;
	const char *prefix;	/* crypt_gensalt prefix; NULL = plaintext */
	unsigned long rounds;
} schemes[] = {
	{ "PLAIN", NULL, 0 },
	{ "CLEAR", NULL, 0 },
	{ "SHA512-CRYPT", "$6$", 0 },
	{ "SHA256-CRYPT", "$5$", 0 },
	{ "BLF-CRYPT", "$2y$", 10 },
	{ "MD5-CRYPT", "$1$", 0 },
	{ "CRYPT", "", 0 },	/* libxcrypt's own default method */
};

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

	if (s == NULL || s->prefix != NULL || stored[0] != '{')
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
	if (s->prefix == NULL)
		return equal_ct(rest, password);
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
		snprintf(err, errlen, "unknown scheme '%s' (known: PLAIN CLEAR SHA512-CRYPT "
			 "SHA256-CRYPT BLF-CRYPT MD5-CRYPT CRYPT)", scheme);
		return NULL;
	}
	if (s->prefix == NULL)
		return xasprintf("{%s}%s", s->name, password);
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
