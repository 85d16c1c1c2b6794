#ifndef DUOMAIL_SASL_H
#define DUOMAIL_SASL_H
/*
 * Server side of SASL (RFC 4422), shared by POP3 AUTH (RFC 5034) and IMAP
 * AUTHENTICATE (RFC 3501 §6.2.2).  The protocol front end handles the
 * framing (base64 lines, "*" cancel, "=" empty initial response); this module
 * sees decoded bytes only and drives the mechanism's exchange.  The password
 * check itself is left to the caller (it must run off the event loop).
 */
#include <stdbool.h>
#include <stddef.h>

enum sasl_status {
	SASL_CONTINUE,	/* send *challenge_r to the client, wait for a response */
	SASL_DONE,	/* credentials complete: verify sasl_user/sasl_password */
	SASL_FAIL,	/* malformed exchange: reply with the protocol's error */
	SASL_CANCELLED,	/* sasl_step_text(): the client sent "*" */
	SASL_BAD_BASE64,	/* sasl_step_text(): not base64 */
};

struct sasl;

/* Space-separated mechanism names offered on this connection. */
const char *sasl_mechanisms(bool plaintext_allowed);

/* Starts mech (case-insensitive).  Returns NULL if unknown. */
struct sasl *sasl_begin(const char *mech);
void sasl_free(struct sasl **s);

/* Does this mechanism send the password in the clear (PLAIN, LOGIN)? */
bool sasl_is_plaintext(const struct sasl *s);

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

/* After SASL_DONE: the authentication identity and password.  authzid, if
 * given, must equal the user (no proxy authorization): sasl_step fails otherwise. */
const char *sasl_user(const struct sasl *s);
const char *sasl_password(const struct sasl *s);

/* base64 helpers (RFC 4648) on top of GnuTLS.  decode returns 0 or -1 on
 * invalid input; out is malloc'd and NUL-terminated (not counted). */
int sasl_b64_decode(const char *in, size_t inlen, unsigned char **out_r, size_t *outlen_r);
char *sasl_b64_encode(const unsigned char *in, size_t inlen);

#endif
