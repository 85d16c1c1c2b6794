/*
 * SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants, server side (RFC
 * 5802 §5 and §7, RFC 7677).  The exchange:
 *
 *   C: gs2-header client-first-message-bare   n,,n=user,r=<cnonce>
 *   S: r=<cnonce><snonce>,s=<salt>,i=<iterations>   (after the secret lookup)
 *   C: c=<b64 gs2-header+cbind-data>,r=<nonce>,p=<b64 ClientProof>
 *   S: v=<b64 ServerSignature>   (or the protocol's failure, see server_error)
 *   C: (empty)   -> authenticated
 *
 * Where the secret comes from: stored {SCRAM-SHA-*} keys of the same hash,
 * or a {PLAIN} password, derived here with the user's stable salt and 4096
 * iterations.  Anyone else (unknown user, a crypt hash, keys of the other
 * hash) gets the same made-up salt and random keys, so the exchange runs
 * alike and fails where a wrong password fails: at the proof.  The salt
 * of a {PLAIN} user and of an unknown user come from one function of the
 * user name (sasl__fake_secret), so a second attempt tells them apart no
 * more than the first.
 */
#include "core/sasl_private.h"
#include "core/auth.h"
#include "core/log.h"
#include "core/saslprep.h"
#include "core/scram.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAM_MAX_NAME 255	/* like SASL_MAX_FIELD */
#define SCRAM_MAX_NONCE 256
#define SCRAM_SERVER_NONCE 18	/* random bytes: 24 base64 characters */
#define SCRAM_MAX_CBIND 64

const char *sasl__test_server_nonce;

enum scram_state_id { S_FIRST, S_SECRET, S_FINAL, S_ACK };

struct scram {
	char *gs2_header;	/* as sent, with its trailing comma */
	unsigned char cbind[SCRAM_MAX_CBIND];
	size_t cbind_len;
	char *client_first_bare;
	char *nonce;		/* client nonce + server nonce */
	char *server_first;
	char *server_final;
	bool tempfail;
	struct scram_keys keys;
};

/* variant: bit 0 the hash (enum scram_hash), bit 1 -PLUS. */
static enum scram_hash mech_hash(const struct sasl *s)
{
	return (enum scram_hash)(s->mech->variant & 1);
}

static bool mech_plus(const struct sasl *s)
{
	return (s->mech->variant & 2) != 0;
}

static void scram_free(struct sasl *s)
{
	struct scram *sc = s->data;

	if (sc == NULL)
		return;
	free(sc->gs2_header);
	free(sc->client_first_bare);
	free(sc->nonce);
	free(sc->server_first);
	free(sc->server_final);
	explicit_bzero(sc, sizeof(*sc));
	free(sc);
	s->data = NULL;
}

/* saslname (RFC 5802 §7): "=2C" is ',', "=3D" is '=', any other '=' is
 * invalid; ',' ends it (the caller split there).  Returns a new string or NULL. */
static char *saslname_decode(const char *p, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] != '=') {
			out[o++] = p[i];
			continue;
		}
		if (len - i >= 3 && p[i + 1] == '2' && p[i + 2] == 'C')
			out[o++] = ',';
		else if (len - i >= 3 && p[i + 1] == '3' && p[i + 2] == 'D')
			out[o++] = '=';
		else {
			free(out);
			return NULL;
		}
		i += 2;
	}
	out[o] = '\0';
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Length of the attribute value at p (up to ',' or the end). */
static size_t value_len(const char *p)
{
	return strcspn(p, ",");
}

static bool cb_name_ok(const char *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool nonce_ok(const char *p, size_t len)
{
	if (len == 0 || len > SCRAM_MAX_NONCE)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* Optional extensions after the mandatory attributes: ",x=value" each. */
static bool extensions_ok(const char *p, const char *end)
{
	while (p < end) {
		if (*p != ',' || end - p < 3 || !((p[1] >= 'a' && p[1] <= 'z') ||
						  (p[1] >= 'A' && p[1] <= 'Z')) || p[2] != '=')
			return false;
		p += 3;
		p += value_len(p);
	}
	return true;
}

/* Prepared user name from a saslname, or NULL. */
static char *user_from_saslname(const char *p, size_t len)
{
	char *raw = saslname_decode(p, len), *user = NULL;

	if (raw == NULL)
		return NULL;
	if (saslprep(raw, false, &user) < 0 || strlen(user) > SCRAM_MAX_NAME) {
		free(user);
		user = NULL;
	}
	free(raw);
	return user;
}

static enum sasl_status fail(const char **error_r, const char *why)
{
	*error_r = why;
	return SASL_FAIL;
}

/* client-first-message = gs2-header client-first-message-bare */
static enum sasl_status client_first(struct sasl *s, const char *msg, const char **error_r)
{
	struct scram *sc;
	const char *p = msg, *cb_name = NULL, *authzid = NULL, *bare;
	size_t cb_len = 0, az_len = 0, n;
	char flag = msg[0];

	/* gs2-cbind-flag = ("p=" cb-name) / "n" / "y" */
	if ((flag == 'n' || flag == 'y') && p[1] == ',') {
		p += 2;
	} else if (flag == 'p' && p[1] == '=') {
		cb_name = p + 2;
		cb_len = value_len(cb_name);
		if (!cb_name_ok(cb_name, cb_len) || cb_name[cb_len] != ',')
			return fail(error_r, "SCRAM: bad channel binding name");
		p = cb_name + cb_len + 1;
	} else {
		return fail(error_r, "SCRAM: bad gs2 header");
	}
	if (p[0] == 'a' && p[1] == '=') {
		authzid = p + 2;
		az_len = value_len(authzid);
		p = authzid + az_len;
	}
	if (*p != ',')
		return fail(error_r, "SCRAM: bad gs2 header");
	bare = ++p;

	/* RFC 5802 §6 channel binding negotiation. */
	if (mech_plus(s) && flag != 'p')
		return fail(error_r, "SCRAM: -PLUS mechanism without channel binding");
	if (!mech_plus(s) && flag == 'p')
		return fail(error_r, "SCRAM: channel binding requested with a non-PLUS mechanism");
	if (flag == 'y' && sasl__has_binding(&s->ctx))
		/* The client supports channel binding and thinks we do not:
		 * someone stripped -PLUS from our list (downgrade). */
		return fail(error_r, "SCRAM: 'y' flag although -PLUS was offered (downgrade?)");

	/* client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions] */
	if (p[0] == 'm' && p[1] == '=')
		return fail(error_r, "SCRAM: mandatory extension not supported");
	if (p[0] != 'n' || p[1] != '=')
		return fail(error_r, "SCRAM: user name missing");
	n = value_len(p + 2);
	char *user = user_from_saslname(p + 2, n);

	if (user == NULL)
		return fail(error_r, "SCRAM: bad user name encoding");
	p += 2 + n;
	if (p[0] != ',' || p[1] != 'r' || p[2] != '=') {
		free(user);
		return fail(error_r, "SCRAM: nonce missing");
	}
	p += 3;
	n = value_len(p);
	if (!nonce_ok(p, n) || !extensions_ok(p + n, p + strlen(p))) {
		free(user);
		return fail(error_r, "SCRAM: bad nonce or extension");
	}
	if (authzid != NULL) {
		char *az = user_from_saslname(authzid, az_len);
		bool same = az != NULL && strcmp(az, user) == 0;

		free(az);
		if (!same) {
			free(user);
			return fail(error_r, "SCRAM: authorization identity differs from the user");
		}
	}

	sc = xcalloc(1, sizeof(*sc));
	s->data = sc;
	s->user = user;
	if (flag == 'p') {
		char type[32];

		snprintf(type, sizeof(type), "%.*s", (int)cb_len, cb_name);
		if (cb_len >= sizeof(type) || s->ctx.channel_binding == NULL ||
		    s->ctx.channel_binding(s->ctx.cb_ctx, type, sc->cbind, sizeof(sc->cbind),
					   &sc->cbind_len) < 0)
			return fail(error_r, "SCRAM: unsupported channel binding type");
	}
	sc->gs2_header = xstrndup(msg, (size_t)(bare - msg));
	sc->client_first_bare = xstrdup(bare);
	sc->nonce = xstrndup(p, n);
	s->state = S_SECRET;
	return SASL_NEED_SECRET;
}

static void scram_set_secret(struct sasl *s, int found, const char *stored)
{
	struct scram *sc = s->data;
	enum scram_hash hash = mech_hash(s);
	unsigned char fake[32], snonce[SCRAM_SERVER_NONCE];
	const char *text, *plain;
	char *prepared = NULL, *b64;
	bool usable = false;

	if (found < 0) {
		sc->tempfail = true;
		return;
	}
	/* The stable salt of users without stored keys (see the top). */
	sasl__fake_secret("scram-salt", s->user, fake);
	if (found == 1 && password_scram_keys(stored, hash, &text) &&
	    scram_keys_parse(hash, text, &sc->keys) == 0) {
		/* One PBKDF2 per exchange whoever asks: without it, stored-key
		 * users would answer faster than unknown ones, and tell. */
		struct scram_keys dummy = { .hash = hash, .iterations = SCRAM_DEFAULT_ITERATIONS,
					    .salt_len = 16 };

		memcpy(dummy.salt, fake, 16);
		(void)scram_derive(&dummy, "duomail: no such password");
		usable = true;
	} else {
		memset(&sc->keys, 0, sizeof(sc->keys));
		sc->keys.hash = hash;
		sc->keys.iterations = SCRAM_DEFAULT_ITERATIONS;
		sc->keys.salt_len = 16;
		memcpy(sc->keys.salt, fake, 16);
		/* Unknown users pay the derivation too (see above). */
		if (found == 1 && password_is_plaintext(stored, &plain) &&
		    saslprep(plain, false, &prepared) == 0)
			usable = scram_derive(&sc->keys, prepared) == 0;
		else
			(void)scram_derive(&sc->keys, "duomail: no such password");
	}
	/* Keys nobody can match: the proof check fails as it does for a
	 * wrong password. */
	if (!usable && gnutls_rnd(GNUTLS_RND_NONCE, sc->keys.stored_key,
				  sizeof(sc->keys.stored_key)) < 0)
		fatal("gnutls_rnd failed");
	if (prepared != NULL) {
		explicit_bzero(prepared, strlen(prepared));
		free(prepared);
	}
	explicit_bzero(fake, sizeof(fake));
	if (gnutls_rnd(GNUTLS_RND_NONCE, snonce, sizeof(snonce)) < 0)
		fatal("gnutls_rnd failed");
	b64 = sasl__test_server_nonce != NULL ? xstrdup(sasl__test_server_nonce) :
		sasl_b64_encode(snonce, sizeof(snonce));
	char *salt = sasl_b64_encode(sc->keys.salt, sc->keys.salt_len);
	char *nonce = xasprintf("%s%s", sc->nonce, b64);

	free(sc->nonce);
	sc->nonce = nonce;
	sc->server_first = xasprintf("r=%s,s=%s,i=%u", sc->nonce, salt, sc->keys.iterations);
	free(salt);
	free(b64);
}

static enum sasl_status scram_resume(struct sasl *s, const char **error_r)
{
	struct scram *sc = s->data;

	if (sc->tempfail)
		return SASL_TEMPFAIL;
	s->state = S_FINAL;
	sasl__challenge(s, sc->server_first);
	return SASL_CONTINUE;
}

/*
 * A failed client-final-message.  RFC 5802 §7 names the server-error
 * values (e=...), but RFC 4422 §3.6 lets a failure outcome carry no data,
 * and sent as a challenge instead they leave real clients (Cyrus SASL in
 * mbsync) waiting for a verifier forever.  So the exchange fails at once
 * with the protocol's failure, the same for a wrong password, an unknown
 * user or a bad binding, and the e= value goes to the log.
 */
static enum sasl_status server_error(const char **error_r, const char *why)
{
	*error_r = why;
	return SASL_FAIL;
}

/* client-final-message = channel-binding "," nonce ["," extensions] "," proof */
static enum sasl_status client_final(struct sasl *s, const char *msg, const char **error_r)
{
	struct scram *sc = s->data;
	enum scram_hash hash = mech_hash(s);
	size_t hl = scram_hash_len(hash), n, cblen, prooflen;
	const char *p = msg, *proof_at;
	unsigned char *cb = NULL, *proof = NULL;
	unsigned char sig[SCRAM_MAX_HASH], client_key[SCRAM_MAX_HASH], check[SCRAM_MAX_HASH];
	char *auth_message, *without_proof;
	bool cb_ok, proof_ok;

	/* The proof is the last attribute (§7). */
	proof_at = strstr(msg, ",p=");
	while (proof_at != NULL && strstr(proof_at + 1, ",p=") != NULL)
		proof_at = strstr(proof_at + 1, ",p=");
	if (p[0] != 'c' || p[1] != '=' || proof_at == NULL || strchr(proof_at + 3, ',') != NULL)
		return server_error(error_r,
				    "SCRAM: malformed client-final-message (e=invalid-encoding)");
	n = value_len(p + 2);
	if (sasl_b64_decode(p + 2, n, &cb, &cblen) < 0)
		return server_error(error_r,
				    "SCRAM: bad channel binding base64 (e=invalid-encoding)");
	p += 2 + n;
	/* c= carries the gs2 header and, with p=, the binding data (§6). */
	size_t hlen = strlen(sc->gs2_header);

	cb_ok = cblen == hlen + sc->cbind_len && memcmp(cb, sc->gs2_header, hlen) == 0 &&
		(sc->cbind_len == 0 || gnutls_memcmp(cb + hlen, sc->cbind, sc->cbind_len) == 0);
	free(cb);
	if (!cb_ok)
		return server_error(error_r,
				    "SCRAM: channel binding does not match "
				    "(e=channel-bindings-dont-match)");
	if (p[0] != ',' || p[1] != 'r' || p[2] != '=')
		return server_error(error_r,
				    "SCRAM: nonce missing (e=invalid-encoding)");
	p += 3;
	n = value_len(p);
	if (n != strlen(sc->nonce) || memcmp(p, sc->nonce, n) != 0)
		return server_error(error_r,
				    "SCRAM: nonce does not match (e=other-error)");
	if (!extensions_ok(p + n, proof_at))
		return server_error(error_r,
				    "SCRAM: bad extension (e=invalid-encoding)");
	if (sasl_b64_decode(proof_at + 3, strlen(proof_at + 3), &proof, &prooflen) < 0 ||
	    prooflen != hl) {
		free(proof);
		return server_error(error_r,
				    "SCRAM: wrong password (proof) (e=invalid-proof)");
	}

	/* AuthMessage = client-first-message-bare "," server-first-message ","
	 *               client-final-message-without-proof */
	without_proof = xstrndup(msg, (size_t)(proof_at - msg));
	auth_message = xasprintf("%s,%s,%s", sc->client_first_bare, sc->server_first,
				 without_proof);
	free(without_proof);
	scram_hmac(hash, sc->keys.stored_key, hl, auth_message, strlen(auth_message), sig);
	for (size_t i = 0; i < hl; i++)
		client_key[i] = proof[i] ^ sig[i];
	scram_digest(hash, client_key, hl, check);
	proof_ok = gnutls_memcmp(check, sc->keys.stored_key, hl) == 0;
	free(proof);
	explicit_bzero(client_key, sizeof(client_key));
	if (!proof_ok) {
		free(auth_message);
		return server_error(error_r,
				    "SCRAM: wrong password (proof) (e=invalid-proof)");
	}
	scram_hmac(hash, sc->keys.server_key, hl, auth_message, strlen(auth_message), sig);
	free(auth_message);
	char *v = sasl_b64_encode(sig, hl);

	free(sc->server_final);
	sc->server_final = xasprintf("v=%s", v);
	free(v);
	s->state = S_ACK;
	sasl__challenge(s, sc->server_final);
	return SASL_CONTINUE;
}

static enum sasl_status scram_step(struct sasl *s, bool has_data, const unsigned char *data,
				   size_t len, const char **error_r)
{
	enum sasl_status st;
	char *msg;

	if (!has_data) {
		/* No initial response: an empty challenge asks for client-first. */
		sasl__challenge(s, "");
		return SASL_CONTINUE;
	}
	switch (s->state) {
	case S_ACK:
		/* RFC 5802 §5: after v= the client sends an empty response. */
		if (len != 0)
			return fail(error_r, "SCRAM: data after server-final-message");
		return SASL_AUTHENTICATED;
	case S_SECRET:
		return fail(error_r, "SCRAM: response while the secret is looked up");
	default:
		break;
	}
	if (memchr(data, '\0', len) != NULL)
		return fail(error_r, "SCRAM: NUL in message");
	msg = xstrndup((const char *)data, len);
	st = s->state == S_FIRST ? client_first(s, msg, error_r) : client_final(s, msg, error_r);
	free(msg);
	return st;
}

static bool offered_sha1(const struct sasl_context *ctx) { return ctx->scram_sha1; }
static bool offered_sha256(const struct sasl_context *ctx) { return ctx->scram_sha256; }
static bool offered_sha1_plus(const struct sasl_context *ctx)
{
	return ctx->scram_sha1 && sasl__has_binding(ctx);
}
static bool offered_sha256_plus(const struct sasl_context *ctx)
{
	return ctx->scram_sha256 && sasl__has_binding(ctx);
}

#define SCRAM_MECH(mname, off, var) { .name = mname, .offered = off, .step = scram_step, \
	.set_secret = scram_set_secret, .resume = scram_resume, .free_data = scram_free, \
	.variant = var }

const struct sasl_mech sasl_mech_scram_sha1 = SCRAM_MECH("SCRAM-SHA-1", offered_sha1, SCRAM_SHA1);
const struct sasl_mech sasl_mech_scram_sha1_plus =
	SCRAM_MECH("SCRAM-SHA-1-PLUS", offered_sha1_plus, SCRAM_SHA1 | 2);
const struct sasl_mech sasl_mech_scram_sha256 =
	SCRAM_MECH("SCRAM-SHA-256", offered_sha256, SCRAM_SHA256);
const struct sasl_mech sasl_mech_scram_sha256_plus =
	SCRAM_MECH("SCRAM-SHA-256-PLUS", offered_sha256_plus, SCRAM_SHA256 | 2);
