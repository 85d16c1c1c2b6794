#ifndef DUOMAIL_SASL_PRIVATE_H
#define DUOMAIL_SASL_PRIVATE_H
/* Between core/sasl.c (framework, PLAIN, LOGIN) and the mechanisms in
 * core/sasl_scram.c and core/sasl_cram.c. */
#include "core/sasl.h"

struct sasl_mech {
	const char *name;
	bool plaintext;
	/* Is the mechanism offered with this context? NULL: always. */
	bool (*offered)(const struct sasl_context *ctx);
	enum sasl_status (*step)(struct sasl *s, bool has_data, const unsigned char *data,
				 size_t len, const char **error_r);
	/* For SASL_NEED_SECRET mechanisms: */
	void (*set_secret)(struct sasl *s, int found, const char *stored);
	enum sasl_status (*resume)(struct sasl *s, const char **error_r);
	void (*free_data)(struct sasl *s);
	int variant;		/* mechanism's own parameter (SCRAM hash, PLUS) */
};

struct sasl {
	const struct sasl_mech *mech;
	struct sasl_context ctx;
	int state;
	char *user;
	char *password;
	/* The next challenge: a string literal or mech-owned bytes. */
	const unsigned char *challenge;
	size_t challenge_len;
	void *data;		/* the mechanism's state */
};

/* Sets the challenge to a NUL-terminated string owned by the mechanism. */
void sasl__challenge(struct sasl *s, const char *text);

/* Is any channel binding type available with ctx? */
bool sasl__has_binding(const struct sasl_context *ctx);

/* HMAC-SHA-256 of the per-process secret and label+user: a stable fake
 * value for users that do not exist (32 bytes into out). */
void sasl__fake_secret(const char *label, const char *user, unsigned char out[32]);

/* Unit tests only (the RFC example exchanges): the SCRAM server nonce to
 * use instead of a random one.  NULL, its value in the server. */
extern const char *sasl__test_server_nonce;
/* Likewise the CRAM-MD5 challenge. */
extern const char *sasl__test_cram_challenge;

extern const struct sasl_mech sasl_mech_scram_sha1, sasl_mech_scram_sha1_plus,
	sasl_mech_scram_sha256, sasl_mech_scram_sha256_plus, sasl_mech_cram_md5;

#endif
