#ifndef DUOMAIL_TLS_H
#define DUOMAIL_TLS_H
/*
 * TLS credentials for the server side (GnuTLS): one or more certificate
 * chain + key pairs and a priority string.  A worker holds one tls_ctx;
 * SIGHUP reloads it, and connections already running keep the credentials
 * they started with (each generation is reference counted).
 *
 * Several pairs: the client's server name (SNI, RFC 6066 section 3) picks
 * the first pair whose certificate names it (its subjectAltNames, or its
 * CN when it has none; wildcards as RFC 6125 allows); a client without SNI
 * or with a name no certificate has gets the first pair, the default.
 */
#include <stddef.h>

#define TLS_MAX_PAIRS 32

/* Mostly for the config check: the longest PEM file read (a chain). */
#define TLS_FILE_MAX (1024 * 1024)

struct tls_ctx;
struct tls_creds;	/* one loaded generation, reference counted */

/* Checks that priority compiles.  0, or -1 with GnuTLS's reason and the
 * part of the string it stopped at in err. */
int tls_priority_check(const char *priority, char *err, size_t errlen);

/* Loads the npairs cert+key files (PEM) and compiles priority.  0, or -1
 * with a one-line error naming the file. */
int tls_ctx_create(const char *const *certs, const char *const *keys, unsigned npairs,
		   const char *priority, struct tls_ctx **ctx_r, char *err, size_t errlen);
/* Re-reads the files by their paths; on failure the old credentials stay. */
int tls_ctx_reload(struct tls_ctx *ctx, char *err, size_t errlen);
/* The same from files someone else opened (the master, which may read what
 * this process may not): fds[2*i] the cert and fds[2*i+1] the key of pair i,
 * read from offset 0.  The fds stay the caller's. */
int tls_ctx_reload_fds(struct tls_ctx *ctx, const int *fds, unsigned nfds, char *err,
		       size_t errlen);
unsigned tls_ctx_pairs(const struct tls_ctx *ctx);
/* The paths of pair i, for the master to open. */
const char *tls_ctx_cert_path(const struct tls_ctx *ctx, unsigned i);
const char *tls_ctx_key_path(const struct tls_ctx *ctx, unsigned i);
void tls_ctx_free(struct tls_ctx **ctx);

/* The current generation, with a reference the caller must drop. */
struct tls_creds *tls_creds_get(struct tls_ctx *ctx);
void tls_creds_unref(struct tls_creds **creds);

/* Sets up a gnutls server session (gnutls_session_t, passed as void * so
 * this header needs no GnuTLS include) with these credentials; they must
 * outlive the session (the caller holds a reference). */
int tls_session_init(struct tls_creds *creds, void **session_r);

#endif
