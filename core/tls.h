#ifndef DUOMAIL_TLS_H
#define DUOMAIL_TLS_H
/*
 * TLS credentials for the server side (GnuTLS): certificate chain, key and
 * priority string.  A worker holds one tls_ctx; SIGHUP reloads it, and
 * connections already running keep the credentials they started with.
 */
#include <stddef.h>

struct tls_ctx;
struct tls_creds;	/* one loaded generation, reference counted */

/* Loads cert+key (PEM) and compiles priority.  0, or -1 with a one-line error. */
int tls_ctx_create(const char *cert, const char *key, const char *priority,
		   struct tls_ctx **ctx_r, char *err, size_t errlen);
/* Re-reads the files; on failure the old credentials stay in use. */
int tls_ctx_reload(struct tls_ctx *ctx, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx **ctx);

/* The current generation, with a reference the caller must drop. */
struct tls_creds *tls_creds_get(struct tls_ctx *ctx);
void tls_creds_unref(struct tls_creds **creds);

/* Sets up a gnutls server session (gnutls_session_t, passed as void * so
 * this header needs no GnuTLS include) with these credentials. */
int tls_session_init(struct tls_creds *creds, void **session_r);

#endif
