#ifndef DUOMAIL_SASL_H
#define DUOMAIL_SASL_H
/*
 * Server side of SASL (RFC 4422), shared by POP3 AUTH (RFC 5034) and IMAP
 * AUTHENTICATE (RFC 3501 §6.2.2).  The protocol front end handles the
 * framing (base64 lines, "*" cancel, "=" empty initial response); this module
 * sees decoded bytes only and drives the mechanism's exchange.
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-1,
 * SCRAM-SHA-256 and their -PLUS variants (RFC 5802, RFC 7677).
 *
 * Two kinds of ending:
 * - PLAIN/LOGIN end in SASL_DONE: the caller verifies sasl_user() and
 *   sasl_password() against the user database (off the event loop).
 * - CRAM-MD5 and SCRAM need the user's stored secret during the exchange:
 *   sasl_step() returns SASL_NEED_SECRET, the caller looks the secret up
 *   and hands it over with sasl_set_secret() (on the thread pool: SCRAM may
 *   run PBKDF2), then continues with sasl_resume_text() on the loop.  They
 *   end in SASL_AUTHENTICATED: the mechanism itself verified the user.
 *
 * This module sees no connection: what it needs of one (may plaintext
 * passwords be sent, channel bindings of the TLS session) comes in
 * struct sasl_context.  All calls but sasl_set_secret() run on the loop.
 */
#include <stdbool.h>
#include <stddef.h>

enum sasl_status {
	SASL_CONTINUE,	/* send *challenge_r to the client, wait for a response */
	SASL_DONE,	/* credentials complete: verify sasl_user/sasl_password */
	SASL_NEED_SECRET,	/* look up sasl_user()'s stored secret, sasl_set_secret() */
	SASL_AUTHENTICATED,	/* the mechanism verified sasl_user(): log in */
	SASL_FAIL,	/* malformed exchange or wrong credentials: the protocol's
			 * authentication failure, the same for both */
	SASL_TEMPFAIL,	/* the user database failed during the exchange */
	SASL_CANCELLED,	/* sasl_step_text(): the client sent "*" */
	SASL_BAD_BASE64,	/* sasl_step_text(): not base64 */
};

/* What the mechanisms may use on this connection. */
struct sasl_context {
	bool plaintext_allowed;	/* PLAIN, LOGIN (CONTRACT.md, Security defaults) */
	bool cram_md5;		/* offer CRAM-MD5 (some users' passwords are plaintext) */
	bool scram_sha1;	/* offer SCRAM-SHA-1 (plaintext or SCRAM-SHA-1 keys exist) */
	bool scram_sha256;	/* offer SCRAM-SHA-256 */
	const char *hostname;	/* in the CRAM-MD5 challenge; must outlive the exchange */
	/*
	 * Channel binding data of type ("tls-exporter", "tls-server-end-point")
	 * for this connection, into buf: 0 with *len_r set, or -1 when there is
	 * none (no TLS, or a type the TLS session cannot give).  NULL: none at
	 * all.  -PLUS is offered only when some type works.
	 */
	int (*channel_binding)(void *cb_ctx, const char *type, unsigned char *buf, size_t size,
			       size_t *len_r);
	void *cb_ctx;
};

struct sasl;

/* Space-separated mechanism names offered with ctx, strongest first.  A
 * static buffer: valid until the next call (loop thread only). */
const char *sasl_mechanisms(const struct sasl_context *ctx);

/* Starts mech (case-insensitive) with a copy of ctx.  Returns NULL if the
 * mechanism is unknown or not offered with ctx (PLAIN and LOGIN start
 * whatever ctx says: the caller refuses them with its own response code
 * when sasl_is_plaintext() and plaintext is not allowed). */
struct sasl *sasl_begin(const char *mech, const struct sasl_context *ctx);
void sasl_free(struct sasl **s);

/* Does this mechanism send the password in the clear (PLAIN, LOGIN)? */
bool sasl_is_plaintext(const struct sasl *s);
/* Its name as registered ("SCRAM-SHA-256-PLUS"). */
const char *sasl_name(const struct sasl *s);

/*
 * Feeds one decoded client response (initial response or a continuation).
 * has_data=false means "no initial response was given" (not an empty one).
 * On SASL_CONTINUE, *challenge_r and *challenge_len_r point to the raw challenge
 * (owned by s, valid until the next call).  On SASL_FAIL, *error_r is a short
 * reason for the log.
 */
enum sasl_status sasl_step(struct sasl *s, bool has_data, const unsigned char *data, size_t len,
			   const unsigned char **challenge_r, size_t *challenge_len_r,
			   const char **error_r);

/*
 * One step in the line framing POP3 AUTH (RFC 5034 §4) and IMAP
 * AUTHENTICATE (RFC 3501 §6.2.2, RFC 4959) share: text is a client line or
 * an initial response in base64 ("*" cancels; as an initial response "="
 * is empty), or NULL when no initial response was given.  On SASL_CONTINUE,
 * *line_r is the "+ <base64>\r\n" line to send (the caller frees it).  The
 * decoded secret is wiped before return; text itself is left to the caller.
 */
enum sasl_status sasl_step_text(struct sasl *s, const char *text, size_t len, bool initial,
				char **line_r, const char **error_r);

/*
 * After SASL_NEED_SECRET, on the thread pool: found is 1 with stored the
 * user's "{SCHEME}..." (any scheme), 0 for an unknown user (stored NULL),
 * -1 if the lookup failed.  An unknown user, or one whose scheme cannot
 * serve this mechanism, goes on with a made-up secret and fails exactly
 * where a wrong password fails.  Touches only s.
 */
void sasl_set_secret(struct sasl *s, int found, const char *stored);

/* Then on the loop: the exchange's next step, with the outputs of
 * sasl_step() / sasl_step_text(). */
enum sasl_status sasl_resume(struct sasl *s, const unsigned char **challenge_r,
			     size_t *challenge_len_r, const char **error_r);
enum sasl_status sasl_resume_text(struct sasl *s, char **line_r, const char **error_r);

/* After SASL_DONE, SASL_NEED_SECRET or SASL_AUTHENTICATED: the
 * authentication identity (SASLprep'd for SCRAM); after SASL_DONE also the
 * password.  An authzid, if given, must equal the user (no proxy
 * authorization): sasl_step fails otherwise. */
const char *sasl_user(const struct sasl *s);
const char *sasl_password(const struct sasl *s);

/* The per-process secret that makes the fake SCRAM salts of unknown users
 * (stable, so a second try does not reveal them).  Call once before the
 * workers fork, so all of them answer alike; made on first use otherwise. */
void sasl_init(void);

/* base64 helpers (RFC 4648) on top of GnuTLS.  decode returns 0 or -1 on
 * invalid input; out is malloc'd and NUL-terminated (not counted). */
int sasl_b64_decode(const char *in, size_t inlen, unsigned char **out_r, size_t *outlen_r);
char *sasl_b64_encode(const unsigned char *in, size_t inlen);

#endif
