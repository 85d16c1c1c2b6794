/*
 * Server-side SASL mechanisms (RFC 4422): PLAIN (RFC 4616) and LOGIN (the
 * de-facto mechanism Outlook and others still use).  A small table of
 * mechanisms, so SCRAM drops in beside them.
 */
#include "core/sasl.h"
#include "core/log.h"

#include <gnutls/gnutls.h>
#include <string.h>
#include <strings.h>

#define SASL_MAX_FIELD 255	/* RFC 4616 §2: authcid, authzid, passwd */

struct sasl_mech {
	const char *name;
	bool plaintext;
	enum sasl_status (*step)(struct sasl *s, bool has_data, const unsigned char *data,
				 size_t len, const char **error_r);
};

struct sasl {
	const struct sasl_mech *mech;
	int state;
	char *user;
	char *password;
	const char *challenge;
};

static bool field_ok(const unsigned char *p, size_t len)
{
	return len <= SASL_MAX_FIELD && memchr(p, '\0', len) == NULL;
}

static enum sasl_status plain_step(struct sasl *s, bool has_data, const unsigned char *data,
				   size_t len, const char **error_r)
{
	const unsigned char *nul1, *nul2, *end = data + len;

	if (!has_data) {
		s->challenge = "";	/* RFC 4422 §5: empty challenge, send credentials */
		return SASL_CONTINUE;
	}
	/* message = [authzid] NUL authcid NUL passwd */
	nul1 = memchr(data, '\0', len);
	nul2 = nul1 ? memchr(nul1 + 1, '\0', end - nul1 - 1) : NULL;
	if (nul1 == NULL || nul2 == NULL || memchr(nul2 + 1, '\0', end - nul2 - 1) != NULL) {
		*error_r = "PLAIN: malformed message";
		return SASL_FAIL;
	}
	size_t zlen = nul1 - data, clen = nul2 - nul1 - 1, plen = end - nul2 - 1;

	if (clen == 0 || plen == 0 || zlen > SASL_MAX_FIELD || clen > SASL_MAX_FIELD ||
	    plen > SASL_MAX_FIELD) {
		*error_r = "PLAIN: empty or overlong field";
		return SASL_FAIL;
	}
	/* No proxy authorization: an authzid must name the same user. */
	if (zlen != 0 && (zlen != clen || memcmp(data, nul1 + 1, clen) != 0)) {
		*error_r = "PLAIN: authorization identity differs from the user";
		return SASL_FAIL;
	}
	s->user = xstrndup((const char *)nul1 + 1, clen);
	s->password = xstrndup((const char *)nul2 + 1, plen);
	return SASL_DONE;
}

static enum sasl_status login_step(struct sasl *s, bool has_data, const unsigned char *data,
				   size_t len, const char **error_r)
{
	if (has_data && !field_ok(data, len)) {
		*error_r = "LOGIN: overlong field or NUL byte";
		return SASL_FAIL;
	}
	switch (s->state) {
	case 0:
		if (!has_data || len == 0) {
			s->state = 1;
			s->challenge = "Username:";
			return SASL_CONTINUE;
		}
		/* An initial response is the user name (SASL-IR practice). */
		s->user = xstrndup((const char *)data, len);
		s->state = 2;
		s->challenge = "Password:";
		return SASL_CONTINUE;
	case 1:
		if (len == 0) {
			*error_r = "LOGIN: empty user name";
			return SASL_FAIL;
		}
		s->user = xstrndup((const char *)data, len);
		s->state = 2;
		s->challenge = "Password:";
		return SASL_CONTINUE;
	default:
		s->password = xstrndup((const char *)data, len);
		return SASL_DONE;
	}
}

static const struct sasl_mech mechs[] = {
	{ "PLAIN", true, plain_step },
	{ "LOGIN", true, login_step },
};

const char *sasl_mechanisms(bool plaintext_allowed)
{
	return plaintext_allowed ? "PLAIN LOGIN" : "";
}

struct sasl *sasl_begin(const char *name)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (strcasecmp(mechs[i].name, name) == 0) {
			struct sasl *s = xcalloc(1, sizeof(*s));

			s->mech = &mechs[i];
			return s;
		}
	}
	return NULL;
}

void sasl_free(struct sasl **sp)
{
	struct sasl *s = *sp;

	if (s == NULL)
		return;
	free(s->user);
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s);
	*sp = NULL;
}

bool sasl_is_plaintext(const struct sasl *s)
{
	return s->mech->plaintext;
}

enum sasl_status sasl_step(struct sasl *s, bool has_data, const unsigned char *data, size_t len,
			   const unsigned char **challenge_r, size_t *challenge_len_r,
			   const char **error_r)
{
	enum sasl_status st;

	*error_r = "";
	st = s->mech->step(s, has_data, data, len, error_r);
	if (st == SASL_CONTINUE) {
		*challenge_r = (const unsigned char *)s->challenge;
		*challenge_len_r = strlen(s->challenge);
	}
	return st;
}

enum sasl_status sasl_step_text(struct sasl *s, const char *text, size_t len, bool initial,
				char **line_r, const char **error_r)
{
	const unsigned char *challenge;
	unsigned char *data = NULL;
	size_t dlen = 0, clen;
	enum sasl_status st;

	*line_r = NULL;
	*error_r = "";
	if (text != NULL && !initial && len == 1 && text[0] == '*')
		return SASL_CANCELLED;
	if (text != NULL && !(initial && len == 1 && text[0] == '=') &&
	    sasl_b64_decode(text, len, &data, &dlen) < 0)
		return SASL_BAD_BASE64;
	st = sasl_step(s, text != NULL, data ? data : (const unsigned char *)"", dlen, &challenge,
		       &clen, error_r);
	if (data != NULL) {
		explicit_bzero(data, dlen);
		free(data);
	}
	if (st == SASL_CONTINUE) {
		char *b64 = sasl_b64_encode(challenge, clen);

		*line_r = xasprintf("+ %s\r\n", b64);
		free(b64);
	}
	return st;
}

const char *sasl_user(const struct sasl *s) { return s->user; }
const char *sasl_password(const struct sasl *s) { return s->password; }

/* Strict RFC 4648 alphabet and padding: GnuTLS's decoder is more lenient
 * than a protocol parser should be. */
static bool b64_valid(const char *in, size_t len)
{
	size_t pad = 0;

	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return false;	/* data after padding */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/'))
			return false;
	}
	return pad <= 2;
}

int sasl_b64_decode(const char *in, size_t inlen, unsigned char **out_r, size_t *outlen_r)
{
	gnutls_datum_t src = { (unsigned char *)in, (unsigned)inlen }, dst = { NULL, 0 };
	unsigned char *out;

	if (!b64_valid(in, inlen))
		return -1;
	if (inlen == 0) {
		*out_r = xcalloc(1, 1);
		*outlen_r = 0;
		return 0;
	}
	if (gnutls_base64_decode2(&src, &dst) < 0)
		return -1;
	out = xmalloc(dst.size + 1);
	memcpy(out, dst.data, dst.size);
	out[dst.size] = '\0';
	*outlen_r = dst.size;
	explicit_bzero(dst.data, dst.size);
	gnutls_free(dst.data);
	*out_r = out;
	return 0;
}

char *sasl_b64_encode(const unsigned char *in, size_t inlen)
{
	gnutls_datum_t src = { (unsigned char *)in, (unsigned)inlen }, dst = { NULL, 0 };
	char *out;
	size_t o = 0;

	if (inlen == 0)
		return xstrdup("");
	if (gnutls_base64_encode2(&src, &dst) < 0)
		fatal("base64 encoding failed");
	out = xmalloc(dst.size + 1);
	for (unsigned i = 0; i < dst.size; i++)
		if (dst.data[i] != '\n' && dst.data[i] != '\r' && dst.data[i] != '\0')
			out[o++] = (char)dst.data[i];
	out[o] = '\0';
	gnutls_free(dst.data);
	return out;
}
