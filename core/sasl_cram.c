/*
 * CRAM-MD5 (RFC 2195), server side.  The server speaks first:
 *   S: <random.time@hostname>
 *   C: user SP hex(HMAC-MD5(password, challenge))
 * It needs the plaintext password, so it works only for {PLAIN}/{CLEAR}
 * users; for anyone else the digest is still computed (with a made-up key)
 * and the answer is the one a wrong password gets.  It is offered only when
 * the user database has plaintext passwords at all (core/sasl_glue.c).
 */
#include "core/sasl_private.h"
#include "core/auth.h"
#include "core/log.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CRAM_MAX_USER 255

const char *sasl__test_cram_challenge;

struct cram {
	char challenge[320];
	unsigned char expected[16];	/* HMAC-MD5 the client must send */
	unsigned char given[16];
	bool tempfail;
};

static void cram_free(struct sasl *s)
{
	if (s->data != NULL)
		explicit_bzero(s->data, sizeof(struct cram));
	free(s->data);
	s->data = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static enum sasl_status cram_step(struct sasl *s, bool has_data, const unsigned char *data,
				  size_t len, const char **error_r)
{
	struct cram *c = s->data;
	const unsigned char *sp;
	uint64_t r;

	if (s->state == 0) {
		/* RFC 2195 has the server speak first: no initial response. */
		if (has_data && len != 0) {
			*error_r = "CRAM-MD5: initial response not allowed";
			return SASL_FAIL;
		}
		if (gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r)) < 0)
			fatal("gnutls_rnd failed");
		c = s->data = xcalloc(1, sizeof(*c));
		if (sasl__test_cram_challenge != NULL)
			snprintf(c->challenge, sizeof(c->challenge), "%s",
				 sasl__test_cram_challenge);
		else
			snprintf(c->challenge, sizeof(c->challenge), "<%" PRIu64 ".%lld@%s>", r,
				 (long long)time(NULL),
				 s->ctx.hostname ? s->ctx.hostname : "duomail");
		sasl__challenge(s, c->challenge);
		s->state = 1;
		return SASL_CONTINUE;
	}
	if (s->state != 1) {
		*error_r = "CRAM-MD5: unexpected response";
		return SASL_FAIL;
	}
	/* The digest is the last 32 characters after the last space; the user
	 * name is everything before it. */
	sp = len > 33 ? data + len - 33 : NULL;
	if (sp == NULL || *sp != ' ' || (size_t)(sp - data) > CRAM_MAX_USER ||
	    memchr(data, '\0', len) != NULL) {
		*error_r = "CRAM-MD5: malformed response";
		return SASL_FAIL;
	}
	for (int i = 0; i < 16; i++) {
		int hi = hexval((char)sp[1 + 2 * i]), lo = hexval((char)sp[2 + 2 * i]);

		if (hi < 0 || lo < 0) {
			*error_r = "CRAM-MD5: digest is not hex";
			return SASL_FAIL;
		}
		c->given[i] = (unsigned char)(hi << 4 | lo);
	}
	s->user = xstrndup((const char *)data, (size_t)(sp - data));
	s->state = 2;
	return SASL_NEED_SECRET;
}

static void cram_set_secret(struct sasl *s, int found, const char *stored)
{
	struct cram *c = s->data;
	const char *plain = NULL;
	unsigned char fake[32];
	bool usable = found == 1 && password_is_plaintext(stored, &plain);

	if (found < 0) {
		c->tempfail = true;
		return;
	}
	sasl__fake_secret("cram-md5", s->user, fake);
	if (gnutls_hmac_fast(GNUTLS_MAC_MD5, usable ? plain : (const char *)fake,
			     usable ? strlen(plain) : sizeof(fake), c->challenge,
			     strlen(c->challenge), c->expected) < 0)
		fatal("gnutls_hmac_fast failed");
	if (!usable)
		c->expected[0] = c->given[0] ^ 0xff;	/* can never match */
	explicit_bzero(fake, sizeof(fake));
}

static enum sasl_status cram_resume(struct sasl *s, const char **error_r)
{
	struct cram *c = s->data;

	if (c->tempfail)
		return SASL_TEMPFAIL;
	if (gnutls_memcmp(c->expected, c->given, sizeof(c->given)) != 0) {
		*error_r = "CRAM-MD5: wrong digest";
		return SASL_FAIL;
	}
	return SASL_AUTHENTICATED;
}

static bool cram_offered(const struct sasl_context *ctx)
{
	return ctx->cram_md5;
}

const struct sasl_mech sasl_mech_cram_md5 = {
	.name = "CRAM-MD5", .offered = cram_offered, .step = cram_step,
	.set_secret = cram_set_secret, .resume = cram_resume, .free_data = cram_free,
};
