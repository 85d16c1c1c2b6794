/*
 * The challenge-response SASL mechanisms without a network: SCRAM-SHA-1 and
 * SCRAM-SHA-256 against the example exchanges of RFC 5802 §5 and RFC 7677
 * §3 (stored keys computed with Python's hashlib, an independent
 * implementation), -PLUS channel binding, malformed client messages, the
 * behaviour for unknown users; CRAM-MD5 against the RFC 2195 example;
 * SASLprep against the RFC 4013 §3 table; which mechanisms are offered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sasl.h"
#include "core/sasl_private.h"
#include "core/saslprep.h"
#include "core/scram.h"

/* Computed with hashlib.pbkdf2_hmac/hmac for "pencil" and the RFC salts. */
#define RFC5802_KEYS "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=," \
		     "D+CSWLOshSulAsxiupA+qs2/fTE="
#define RFC7677_KEYS "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==," \
		     "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=," \
		     "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static unsigned char fake_cb[32];
static bool fake_exporter = true, fake_endpoint = true;

/* Stands in for the TLS session (core/conn.c conn_channel_binding). */
static int fake_binding(void *ctx, const char *type, unsigned char *buf, size_t size,
			size_t *len_r)
{
	(void)ctx;
	if ((strcmp(type, "tls-exporter") == 0 && fake_exporter) ||
	    (strcmp(type, "tls-server-end-point") == 0 && fake_endpoint)) {
		memset(fake_cb, type[4] == 'e' ? 0xab : 0xcd, sizeof(fake_cb));
		memcpy(buf, fake_cb, sizeof(fake_cb));
		*len_r = sizeof(fake_cb);
		return size >= sizeof(fake_cb) ? 0 : -1;
	}
	return -1;
}

static const struct sasl_context plain_conn = {	/* no TLS */
	.plaintext_allowed = true, .scram_sha1 = true, .scram_sha256 = true, .cram_md5 = true,
	.hostname = "test.example",
};
static const struct sasl_context tls_conn = {
	.plaintext_allowed = true, .scram_sha1 = true, .scram_sha256 = true,
	.hostname = "test.example", .channel_binding = fake_binding,
};

static enum sasl_status step(struct sasl *s, const char *msg, char *challenge_r, size_t size)
{
	const unsigned char *ch;
	size_t chlen = 0;
	const char *err;
	enum sasl_status st = sasl_step(s, true, (const unsigned char *)msg, strlen(msg), &ch,
					&chlen, &err);

	assert_non_null(err);
	if (st == SASL_CONTINUE && challenge_r != NULL) {
		assert_true(chlen < size);
		memcpy(challenge_r, ch, chlen);
		challenge_r[chlen] = '\0';
	}
	return st;
}

static enum sasl_status resume(struct sasl *s, char *challenge_r, size_t size)
{
	const unsigned char *ch;
	size_t chlen = 0;
	const char *err;
	enum sasl_status st = sasl_resume(s, &ch, &chlen, &err);

	if (st == SASL_CONTINUE) {
		assert_true(chlen < size);
		memcpy(challenge_r, ch, chlen);
		challenge_r[chlen] = '\0';
	}
	return st;
}

/* One whole RFC example: every server message must be the RFC's byte for byte. */
static void rfc_exchange(const char *mech, const char *stored, const char *snonce,
			 const char *c1, const char *s1, const char *c2, const char *s2)
{
	char ch[512];
	struct sasl *s = sasl_begin(mech, &plain_conn);

	assert_non_null(s);
	sasl__test_server_nonce = snonce;
	assert_int_equal(step(s, c1, ch, sizeof(ch)), SASL_NEED_SECRET);
	assert_string_equal(sasl_user(s), "user");
	sasl_set_secret(s, 1, stored);
	assert_int_equal(resume(s, ch, sizeof(ch)), SASL_CONTINUE);
	assert_string_equal(ch, s1);
	assert_int_equal(step(s, c2, ch, sizeof(ch)), SASL_CONTINUE);
	assert_string_equal(ch, s2);
	assert_int_equal(step(s, "", ch, sizeof(ch)), SASL_AUTHENTICATED);
	sasl_free(&s);
	sasl__test_server_nonce = NULL;
}

static void test_scram_sha1_rfc5802(void **state)
{
	(void)state;
	rfc_exchange("SCRAM-SHA-1", RFC5802_KEYS, "3rfcNHYJY1ZVvWVs7j",
		     "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		     "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		     "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
		     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		     "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

static void test_scram_sha256_rfc7677(void **state)
{
	(void)state;
	rfc_exchange("scram-sha-256", RFC7677_KEYS, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		     "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		     "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		     "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		     "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		     "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

/* The RFC 7677 client-final for a server that did not send the RFC's nonce
 * or keys: the proof is wrong, and so is the nonce unless it matches. */
static void rfc7677_until_final(struct sasl **s_r, int found, const char *stored)
{
	char ch[512];

	*s_r = sasl_begin("SCRAM-SHA-256", &plain_conn);
	sasl__test_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	assert_int_equal(step(*s_r, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", ch, sizeof(ch)),
			 SASL_NEED_SECRET);
	sasl_set_secret(*s_r, found, stored);
	sasl__test_server_nonce = NULL;
	assert_int_equal(resume(*s_r, ch, sizeof(ch)), SASL_CONTINUE);
}

#define RFC7677_FINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
		      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="

/* The exchange fails at once (no e= challenge, see sasl_scram.c), and the
 * log reason names the RFC 5802 §7 server-error-value. */
static void expect_server_error(struct sasl *s, const char *final, const char *e)
{
	const unsigned char *ch;
	size_t chlen;
	const char *err;

	assert_int_equal(sasl_step(s, true, (const unsigned char *)final, strlen(final), &ch,
				   &chlen, &err), SASL_FAIL);
	assert_non_null(strstr(err, e));
	sasl_free(&s);
}

static void test_scram_client_final_errors(void **state)
{
	struct sasl *s;

	(void)state;
	/* wrong password: a different proof */
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVM=", "e=invalid-proof");
	/* wrong nonce */
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
			    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "e=other-error");
	/* the gs2 header in c= is not the one sent ("y,," instead of "n,,") */
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			    "e=channel-bindings-dont-match");
	/* missing proof, missing channel binding, proof not last, bad base64 */
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			    "e=invalid-encoding");
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "e=invalid-encoding");
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, RFC7677_FINAL ",x=1", "e=invalid-encoding");
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "c=bi!s,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "e=invalid-encoding");
	/* An extension before the proof is allowed (§7) but changes AuthMessage. */
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	expect_server_error(s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			    "x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "e=invalid-proof");
	/* Data instead of the empty response after v=. */
	rfc7677_until_final(&s, 1, RFC7677_KEYS);
	{
		char ch[512];

		assert_int_equal(step(s, RFC7677_FINAL, ch, sizeof(ch)), SASL_CONTINUE);
		assert_int_equal(step(s, "more", ch, sizeof(ch)), SASL_FAIL);
		sasl_free(&s);
	}
}

/* Unknown users and users whose scheme cannot do SCRAM run the same
 * exchange and fail at the proof, as a wrong password does. */
static void test_scram_unknown_user(void **state)
{
	static const char *const others[] = {
		"{SHA512-CRYPT}$6$0gxurAd2UhLDpSuZ$m/lHA4sYREKjYHbNpdgzU2dGIf/VI9cgvc1c38GkYpegnnX."
		"mwb5Q6ENvm82BcmF3H/GxX./hQOxb4O77.W5o1",
		RFC5802_KEYS,	/* SHA-1 keys under SCRAM-SHA-256 */
		"{SCRAM-SHA-256}4096,bad",
	};
	struct sasl *s;

	(void)state;
	rfc7677_until_final(&s, 0, NULL);
	expect_server_error(s, RFC7677_FINAL, "e=invalid-proof");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		rfc7677_until_final(&s, 1, others[i]);
		expect_server_error(s, RFC7677_FINAL, "e=invalid-proof");
	}
	/* A database failure is a temporary failure, not a wrong password. */
	s = sasl_begin("SCRAM-SHA-256", &plain_conn);
	assert_int_equal(step(s, "n,,n=user,r=abc", NULL, 0), SASL_NEED_SECRET);
	sasl_set_secret(s, -1, NULL);
	{
		char ch[64];

		assert_int_equal(resume(s, ch, sizeof(ch)), SASL_TEMPFAIL);
	}
	sasl_free(&s);
}

/* The salt offered to an unknown user is stable (per process) and is the
 * one a {PLAIN} user of that name gets: a second try reveals nothing. */
static void test_scram_fake_salt(void **state)
{
	char first[512], again[512], plain[512], other[512];
	const struct { int found; const char *stored; const char *user; char *out; } runs[] = {
		{ 0, NULL, "nobody", first }, { 0, NULL, "nobody", again },
		{ 1, "{PLAIN}secret", "nobody", plain }, { 0, NULL, "someone", other },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char msg[64];
		struct sasl *s = sasl_begin("SCRAM-SHA-1", &plain_conn);

		snprintf(msg, sizeof(msg), "n,,n=%s,r=abc", runs[i].user);
		assert_int_equal(step(s, msg, NULL, 0), SASL_NEED_SECRET);
		sasl_set_secret(s, runs[i].found, runs[i].stored);
		assert_int_equal(resume(s, runs[i].out, 512), SASL_CONTINUE);
		/* r=abc<24 random>,s=...,i=4096: compare from ",s=" on */
		assert_non_null(strstr(runs[i].out, ",s="));
		assert_non_null(strstr(runs[i].out, ",i=4096"));
		assert_int_equal(strlen(runs[i].out), strlen("r=abc") + 24 + strlen(",s=") + 24 +
				 strlen(",i=4096"));
		sasl_free(&s);
	}
	assert_string_equal(strstr(first, ",s="), strstr(again, ",s="));
	assert_string_equal(strstr(first, ",s="), strstr(plain, ",s="));
	assert_string_not_equal(strstr(first, ",s="), strstr(other, ",s="));
	assert_string_not_equal(first, again);	/* the server nonce is fresh */
}

static void test_scram_client_first_errors(void **state)
{
	static const char *const bad[] = {
		"",				/* nothing */
		"x,,n=user,r=abc",		/* unknown gs2 flag */
		"n,n=user,r=abc",		/* gs2 header without its second comma */
		"n,,r=abc",			/* no user name */
		"n,,n=user",			/* no nonce */
		"n,,n=user,r=",			/* empty nonce */
		"n,,n=us=er,r=abc",		/* '=' not followed by 2C or 3D */
		"n,,n=,r=abc",			/* empty user name */
		"n,,m=ext,n=user,r=abc",	/* mandatory extension (RFC 5802 §7) */
		"n,,n=user,r=abc,1",		/* not an extension */
		"n,,n=user,r=a\tc",		/* control character in the nonce */
		"n,a=other,n=user,r=abc",	/* authzid is another user */
		"p=tls-exporter,,n=user,r=abc",	/* channel binding with a non-PLUS mechanism */
		"n,,n=user\x07,r=abc",		/* SASLprep: prohibited character */
		"n,,n=\xff,r=abc",		/* not UTF-8 */
	};
	char ch[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sasl *s = sasl_begin("SCRAM-SHA-256", &plain_conn);

		assert_int_equal(step(s, bad[i], ch, sizeof(ch)), SASL_FAIL);
		sasl_free(&s);
	}
	/* NUL inside the message */
	{
		struct sasl *s = sasl_begin("SCRAM-SHA-256", &plain_conn);
		const unsigned char *c;
		size_t cl;
		const char *err;

		assert_int_equal(sasl_step(s, true, (const unsigned char *)"n,,n=u\0x,r=abc", 14, &c,
					   &cl, &err), SASL_FAIL);
		sasl_free(&s);
	}
	/* Good ones: an authzid naming the user, escapes, extensions, and no
	 * initial response (an empty challenge asks for client-first). */
	{
		static const struct { const char *msg, *user; } good[] = {
			{ "n,a=user,n=user,r=abc", "user" },
			{ "n,,n=u=2Cs=3Der,r=abc", "u,s=er" },
			{ "n,,n=user,r=abc,x=ext", "user" },
			{ "y,,n=user,r=abc", "user" },	/* y without TLS: fine (§6) */
			{ "n,,n=I\xc2\xad" "X,r=abc", "IX" },	/* SASLprep'd */
		};

		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			struct sasl *s = sasl_begin("SCRAM-SHA-1", &plain_conn);

			assert_int_equal(step(s, good[i].msg, ch, sizeof(ch)), SASL_NEED_SECRET);
			assert_string_equal(sasl_user(s), good[i].user);
			sasl_free(&s);
		}
	}
	{
		struct sasl *s = sasl_begin("SCRAM-SHA-1", &plain_conn);
		const unsigned char *c;
		size_t cl;
		const char *err;

		assert_int_equal(sasl_step(s, false, NULL, 0, &c, &cl, &err), SASL_CONTINUE);
		assert_int_equal(cl, 0);
		assert_int_equal(step(s, "n,,n=user,r=abc", ch, sizeof(ch)), SASL_NEED_SECRET);
		sasl_free(&s);
	}
}

/* A client computing its side from the password (RFC 5802 §3), for the
 * -PLUS exchanges: the salt and nonce come from the server-first message. */
static void client_final(enum scram_hash hash, const char *password, const char *client_first_bare,
			 const char *server_first, const char *cbind_b64, char *out, size_t size)
{
	char salt_b64[128], nonce[256], *without, *am, *proof_b64;
	unsigned char *salt, salted[32], ck[32], sk[32], sig[32], proof[32];
	size_t salt_len, hl = scram_hash_len(hash);
	unsigned iter;
	gnutls_datum_t pw = { (unsigned char *)password, (unsigned)strlen(password) }, sd;

	assert_int_equal(sscanf(server_first, "r=%255[^,],s=%127[^,],i=%u", nonce, salt_b64, &iter),
			 3);
	assert_int_equal(sasl_b64_decode(salt_b64, strlen(salt_b64), &salt, &salt_len), 0);
	sd.data = salt;
	sd.size = (unsigned)salt_len;
	assert_int_equal(gnutls_pbkdf2(hash == SCRAM_SHA1 ? GNUTLS_MAC_SHA1 : GNUTLS_MAC_SHA256,
				       &pw, &sd, iter, salted, hl), 0);
	free(salt);
	scram_hmac(hash, salted, hl, "Client Key", 10, ck);
	scram_digest(hash, ck, hl, sk);
	assert_int_equal(asprintf(&without, "c=%s,r=%s", cbind_b64, nonce) > 0, 1);
	assert_int_equal(asprintf(&am, "%s,%s,%s", client_first_bare, server_first, without) > 0, 1);
	scram_hmac(hash, sk, hl, am, strlen(am), sig);
	for (size_t i = 0; i < hl; i++)
		proof[i] = ck[i] ^ sig[i];
	proof_b64 = sasl_b64_encode(proof, hl);
	snprintf(out, size, "%s,p=%s", without, proof_b64);
	free(proof_b64);
	free(without);
	free(am);
}

static void plus_exchange(const char *mech, const char *cb_type, bool right_binding,
			  const char *want_final_prefix)
{
	char first[128], ch[512], final[512], *cbind_b64;
	unsigned char cbind[128];
	struct sasl *s = sasl_begin(mech, &tls_conn);
	size_t hl;

	assert_non_null(s);
	snprintf(first, sizeof(first), "p=%s,,n=user,r=clientnonce", cb_type);
	assert_int_equal(step(s, first, ch, sizeof(ch)), SASL_NEED_SECRET);
	sasl_set_secret(s, 1, "{PLAIN}pencil");
	assert_int_equal(resume(s, ch, sizeof(ch)), SASL_CONTINUE);
	/* c= is base64(gs2-header || cbind-data), RFC 5802 §7 */
	hl = strlen(first) - strlen("n=user,r=clientnonce");
	memcpy(cbind, first, hl);
	memset(cbind + hl, strcmp(cb_type, "tls-exporter") == 0 ? 0xab : 0xcd, 32);
	if (!right_binding)
		cbind[hl + 5] ^= 1;
	cbind_b64 = sasl_b64_encode(cbind, hl + 32);
	client_final(strstr(mech, "256") ? SCRAM_SHA256 : SCRAM_SHA1, "pencil",
		     "n=user,r=clientnonce", ch, cbind_b64, final, sizeof(final));
	free(cbind_b64);
	if (right_binding) {
		assert_int_equal(step(s, final, ch, sizeof(ch)), SASL_CONTINUE);
		assert_true(strncmp(ch, want_final_prefix, strlen(want_final_prefix)) == 0);
		assert_int_equal(step(s, "", ch, sizeof(ch)), SASL_AUTHENTICATED);
		sasl_free(&s);
	} else {
		expect_server_error(s, final, want_final_prefix);
	}
}

static void test_scram_plus(void **state)
{
	static const char *const refused[] = {
		"n,,n=user,r=abc",		/* -PLUS without binding */
		"y,,n=user,r=abc",
		"p=tls-unique,,n=user,r=abc",	/* a type we do not offer */
		"p=tls exporter,,n=user,r=abc",	/* not a cb-name */
	};
	char ch[256];

	(void)state;
	plus_exchange("SCRAM-SHA-256-PLUS", "tls-exporter", true, "v=");
	plus_exchange("SCRAM-SHA-1-PLUS", "tls-server-end-point", true, "v=");
	plus_exchange("SCRAM-SHA-256-PLUS", "tls-server-end-point", false,
		      "e=channel-bindings-dont-match");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct sasl *s = sasl_begin("SCRAM-SHA-256-PLUS", &tls_conn);

		assert_int_equal(step(s, refused[i], ch, sizeof(ch)), SASL_FAIL);
		sasl_free(&s);
	}
	/* RFC 5802 §6: "y" means the client could bind but thinks we cannot:
	 * with -PLUS offered on this connection, that is a downgrade. */
	{
		struct sasl *s = sasl_begin("SCRAM-SHA-256", &tls_conn);

		assert_int_equal(step(s, "y,,n=user,r=abc", ch, sizeof(ch)), SASL_FAIL);
		sasl_free(&s);
	}
	/* A binding type the TLS session cannot give (tls-exporter without
	 * TLS 1.3 or EMS) is refused; the other one still works. */
	fake_exporter = false;
	{
		struct sasl *s = sasl_begin("SCRAM-SHA-256-PLUS", &tls_conn);

		assert_int_equal(step(s, "p=tls-exporter,,n=user,r=abc", ch, sizeof(ch)), SASL_FAIL);
		sasl_free(&s);
	}
	plus_exchange("SCRAM-SHA-256-PLUS", "tls-server-end-point", true, "v=");
	fake_exporter = true;
	/* No TLS: -PLUS is not offered and cannot be started. */
	assert_null(sasl_begin("SCRAM-SHA-256-PLUS", &plain_conn));
	assert_null(sasl_begin("SCRAM-SHA-1-PLUS", &plain_conn));
}

static void test_mechanisms_offered(void **state)
{
	struct sasl_context none = { .plaintext_allowed = false };
	struct sasl_context sha256_only = { .scram_sha256 = true };

	(void)state;
	assert_string_equal(sasl_mechanisms(&plain_conn),
			    "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN");
	assert_string_equal(sasl_mechanisms(&tls_conn),
			    "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN");
	assert_string_equal(sasl_mechanisms(&none), "");
	assert_string_equal(sasl_mechanisms(&sha256_only), "SCRAM-SHA-256");
	assert_null(sasl_begin("CRAM-MD5", &tls_conn));	/* no plaintext users */
	assert_null(sasl_begin("SCRAM-SHA-1", &sha256_only));
	/* PLAIN starts anyway: the front end refuses it with its own code. */
	{
		struct sasl *s = sasl_begin("PLAIN", &none);

		assert_non_null(s);
		assert_true(sasl_is_plaintext(s));
		sasl_free(&s);
	}
}

static void test_cram_md5_rfc2195(void **state)
{
	char ch[256];
	const unsigned char *c;
	size_t cl;
	const char *err;
	struct sasl *s;
	static const struct { int found; const char *stored; const char *resp; enum sasl_status want; } runs[] = {
		{ 1, "{PLAIN}tanstaaftanstaaf", "tim b913a602c7eda7a495b4e6e7334d3890", SASL_AUTHENTICATED },
		{ 1, "{CLEAR}tanstaaftanstaaf", "tim B913A602C7EDA7A495B4E6E7334D3890", SASL_AUTHENTICATED },
		{ 1, "{PLAIN}tanstaaftanstaaX", "tim b913a602c7eda7a495b4e6e7334d3890", SASL_FAIL },
		{ 0, NULL, "tim b913a602c7eda7a495b4e6e7334d3890", SASL_FAIL },
		/* a hash cannot serve CRAM-MD5: same failure as a wrong password */
		{ 1, "{SHA512}JAOTenvtyj7RPTbTrd2LZnX+VNDRGmxyTwYva/GqZ07mjpbu9zXSRPFIEV5x8d8wQfEWHfbxjtN5SRFDRtbNfQ==",
		  "tim b913a602c7eda7a495b4e6e7334d3890", SASL_FAIL },
		{ -1, NULL, "tim b913a602c7eda7a495b4e6e7334d3890", SASL_TEMPFAIL },
	};

	(void)state;
	sasl__test_cram_challenge = "<1896.697170952@postoffice.reston.mci.net>";
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		s = sasl_begin("CRAM-MD5", &plain_conn);
		assert_int_equal(sasl_step(s, false, NULL, 0, &c, &cl, &err), SASL_CONTINUE);
		assert_int_equal(cl, strlen(sasl__test_cram_challenge));
		assert_memory_equal(c, sasl__test_cram_challenge, cl);
		assert_int_equal(step(s, runs[i].resp, ch, sizeof(ch)), SASL_NEED_SECRET);
		assert_string_equal(sasl_user(s), "tim");
		sasl_set_secret(s, runs[i].found, runs[i].stored);
		assert_int_equal(resume(s, ch, sizeof(ch)), runs[i].want);
		sasl_free(&s);
	}
	sasl__test_cram_challenge = NULL;
	/* malformed responses, and an initial response (the server speaks first) */
	{
		static const char *const bad[] = { "tim", "tim b913a602c7eda7a495b4e6e7334d389",
						   "tim b913a602c7eda7a495b4e6e7334d389g",
						   " b913a602c7eda7a495b4e6e7334d3890x" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			s = sasl_begin("CRAM-MD5", &plain_conn);
			assert_int_equal(sasl_step(s, false, NULL, 0, &c, &cl, &err), SASL_CONTINUE);
			/* the real challenge: <random.time@hostname> */
			assert_true(cl > 2 && c[0] == '<' && c[cl - 1] == '>');
			assert_non_null(memmem(c, cl, "@test.example>", 14));
			assert_int_equal(step(s, bad[i], ch, sizeof(ch)), SASL_FAIL);
			sasl_free(&s);
		}
		s = sasl_begin("CRAM-MD5", &plain_conn);
		assert_int_equal(step(s, "tim b913a602c7eda7a495b4e6e7334d3890", ch, sizeof(ch)),
				 SASL_FAIL);
		sasl_free(&s);
	}
}

/* RFC 4013 §3, the whole table, plus a mapping to SPACE (C.1.2 → U+0020). */
static void test_saslprep_rfc4013(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "I\xc2\xad" "X", "IX" },		/* 1: SOFT HYPHEN mapped to nothing */
		{ "user", "user" },			/* 2 */
		{ "USER", "USER" },			/* 3: case preserved */
		{ "\xc2\xaa", "a" },			/* 4: U+00AA, NFKC */
		{ "\xe2\x85\xa8", "IX" },		/* 5: U+2168, NFKC */
		{ "a\xc2\xa0" "b", "a b" },		/* non-ASCII space → SPACE */
	};
	static const char *const bad[] = {
		"\x07",				/* 6: prohibited character */
		"\xd8\xa7" "1",			/* 7: bidirectional check */
		"\xc2\xad",			/* nothing left */
		"\xff\xfe", "\xc0\xaf",		/* not UTF-8, overlong */
		"\xed\xa0\x80",			/* a surrogate */
	};
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(saslprep(ok[i].in, false, &out), 0);
		assert_string_equal(out, ok[i].out);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(saslprep(bad[i], false, &out), -1);
		assert_null(out);
	}
	/* U+0221 was unassigned in Unicode 3.2: fine in a query, not stored. */
	assert_int_equal(saslprep("\xc8\xa1", false, &out), 0);
	free(out);
	assert_int_equal(saslprep("\xc8\xa1", true, &out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_sha1_rfc5802),
		cmocka_unit_test(test_scram_sha256_rfc7677),
		cmocka_unit_test(test_scram_client_final_errors),
		cmocka_unit_test(test_scram_unknown_user),
		cmocka_unit_test(test_scram_fake_salt),
		cmocka_unit_test(test_scram_client_first_errors),
		cmocka_unit_test(test_scram_plus),
		cmocka_unit_test(test_mechanisms_offered),
		cmocka_unit_test(test_cram_md5_rfc2195),
		cmocka_unit_test(test_saslprep_rfc4013),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
