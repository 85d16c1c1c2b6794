/*
 * Server-side SASL mechanisms (RFC 4422): the framework, PLAIN (RFC 4616)
 * and LOGIN (the de-facto mechanism Outlook and others still use).  The
 * challenge-response mechanisms are in sasl_scram.c and sasl_cram.c.
 */
#include "core/sasl_private.h"
#include "core/log.h"
#include "core/saslprep.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SASL_MAX_FIELD 255	/* RFC 4616 §2: authcid, authzid, passwd */

static bool field_ok(const unsigned char *p, size_t len)
{
	return len <= SASL_MAX_FIELD && memchr(p, '\0', len) == NULL;
}

static enum sasl_status plain_step(struct sasl *s, bool has_data, const unsigned char *data,
				   size_t len, const char **error_r)
{
	const unsigned char *nul1, *nul2, *end = data + len;

	if (!has_data) {
		sasl__challenge(s, "");	/* RFC 4422 §5: empty challenge, send credentials */
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
	/* RFC 4616 §2: the server prepares authcid with SASLprep (a query).
	 * The password is compared as sent: a crypt hash was made of the
	 * bytes the user typed, not of their preparation. */
	char *raw = xstrndup((const char *)nul1 + 1, clen);

	if (saslprep(raw, false, &s->user) < 0 || strlen(s->user) > SASL_MAX_FIELD) {
		free(raw);
		xfree(&s->user);	/* NFKC can make a name longer */
		*error_r = "PLAIN: user name fails SASLprep";
		return SASL_FAIL;
	}
	free(raw);
	/* No proxy authorization: an authzid must name the same user. */
	if (zlen != 0) {
		char *z = xstrndup((const char *)data, zlen), *zp = NULL;
		bool same = saslprep(z, false, &zp) == 0 && strcmp(zp, s->user) == 0;

		free(z);
		free(zp);
		if (!same) {
			*error_r = "PLAIN: authorization identity differs from the user";
			return SASL_FAIL;
		}
	}
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
			sasl__challenge(s, "Username:");
			return SASL_CONTINUE;
		}
		/* An initial response is the user name (SASL-IR practice). */
		s->user = xstrndup((const char *)data, len);
		s->state = 2;
		sasl__challenge(s, "Password:");
		return SASL_CONTINUE;
	case 1:
		if (len == 0) {
			*error_r = "LOGIN: empty user name";
			return SASL_FAIL;
		}
		s->user = xstrndup((const char *)data, len);
		s->state = 2;
		sasl__challenge(s, "Password:");
		return SASL_CONTINUE;
	default:
		s->password = xstrndup((const char *)data, len);
		return SASL_DONE;
	}
}

static const struct sasl_mech mech_plain = { .name = "PLAIN", .plaintext = true,
					    .step = plain_step };
static const struct sasl_mech mech_login = { .name = "LOGIN", .plaintext = true,
					    .step = login_step };

/* Strongest first: RFC 7677 §1 prefers SHA-256, channel binding beats none. */
static const struct sasl_mech *const mechs[] = {
	&sasl_mech_scram_sha256_plus, &sasl_mech_scram_sha1_plus, &sasl_mech_scram_sha256,
	&sasl_mech_scram_sha1, &sasl_mech_cram_md5, &mech_plain, &mech_login,
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

void sasl__challenge(struct sasl *s, const char *text)
{
	s->challenge = (const unsigned char *)text;
	s->challenge_len = strlen(text);
}

bool sasl__has_binding(const struct sasl_context *ctx)
{
	static const char *const types[] = { "tls-exporter", "tls-server-end-point" };
	unsigned char buf[64];
	size_t len;

	if (ctx->channel_binding == NULL)
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (ctx->channel_binding(ctx->cb_ctx, types[i], buf, sizeof(buf), &len) == 0)
			return true;
	return false;
}

static unsigned char process_secret[32];
static pthread_once_t process_secret_once = PTHREAD_ONCE_INIT;

static void make_process_secret(void)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, process_secret, sizeof(process_secret)) < 0)
		fatal("gnutls_rnd failed");
}

void sasl_init(void)
{
	pthread_once(&process_secret_once, make_process_secret);
}

void sasl__fake_secret(const char *label, const char *user, unsigned char out[32])
{
	char *msg;

	sasl_init();
	msg = xasprintf("%s\n%s", label, user);
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, process_secret, sizeof(process_secret), msg,
			     strlen(msg), out) < 0)
		fatal("gnutls_hmac_fast failed");
	free(msg);
}

static bool offered(const struct sasl_mech *m, const struct sasl_context *ctx)
{
	return m->offered == NULL || m->offered(ctx);
}

const char *sasl_mechanisms(const struct sasl_context *ctx)
{
	static char list[256];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < NMECHS; i++) {
		if (mechs[i]->plaintext ? !ctx->plaintext_allowed : !offered(mechs[i], ctx))
			continue;
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 used ? " " : "", mechs[i]->name);
	}
	return list;
}

struct sasl *sasl_begin(const char *name, const struct sasl_context *ctx)
{
	for (size_t i = 0; i < NMECHS; i++) {
		if (strcasecmp(mechs[i]->name, name) == 0) {
			struct sasl *s;

			if (!offered(mechs[i], ctx))
				return NULL;
			s = xcalloc(1, sizeof(*s));
			s->mech = mechs[i];
			s->ctx = *ctx;
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
	if (s->mech->free_data != NULL)
		s->mech->free_data(s);
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

const char *sasl_name(const struct sasl *s)
{
	return s->mech->name;
}

static enum sasl_status challenge_out(struct sasl *s, enum sasl_status st,
				      const unsigned char **challenge_r, size_t *challenge_len_r)
{
	if (st == SASL_CONTINUE) {
		*challenge_r = s->challenge;
		*challenge_len_r = s->challenge_len;
	}
	return st;
}

enum sasl_status sasl_step(struct sasl *s, bool has_data, const unsigned char *data, size_t len,
			   const unsigned char **challenge_r, size_t *challenge_len_r,
			   const char **error_r)
{
	*error_r = "";
	return challenge_out(s, s->mech->step(s, has_data, data, len, error_r), challenge_r,
			     challenge_len_r);
}

void sasl_set_secret(struct sasl *s, int found, const char *stored)
{
	s->mech->set_secret(s, found, stored);
}

enum sasl_status sasl_resume(struct sasl *s, const unsigned char **challenge_r,
			     size_t *challenge_len_r, const char **error_r)
{
	*error_r = "";
	return challenge_out(s, s->mech->resume(s, error_r), challenge_r, challenge_len_r);
}

static char *continuation_line(const unsigned char *challenge, size_t len)
{
	char *b64 = sasl_b64_encode(challenge, len), *line;

	line = xasprintf("+ %s\r\n", b64);
	free(b64);
	return line;
}

enum sasl_status sasl_resume_text(struct sasl *s, char **line_r, const char **error_r)
{
	const unsigned char *challenge;
	size_t clen;
	enum sasl_status st = sasl_resume(s, &challenge, &clen, error_r);

	*line_r = st == SASL_CONTINUE ? continuation_line(challenge, clen) : NULL;
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
	if (st == SASL_CONTINUE)
		*line_r = continuation_line(challenge, clen);
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
