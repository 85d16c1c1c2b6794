/* Server TLS credentials with GnuTLS.  See tls.h. */
#include "core/tls.h"
#include "core/log.h"

#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

struct tls_creds {
	int refcount;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t priority;
};

struct tls_ctx {
	char *cert, *key, *priority;
	struct tls_creds *current;
};

static int creds_load(const struct tls_ctx *ctx, struct tls_creds **creds_r, char *err,
		      size_t errlen)
{
	struct tls_creds *creds = xcalloc(1, sizeof(*creds));
	const char *errpos = NULL;
	int ret;

	creds->refcount = 1;
	ret = gnutls_certificate_allocate_credentials(&creds->cred);
	if (ret < 0)
		goto fail_gnutls;
	ret = gnutls_certificate_set_x509_key_file2(creds->cred, ctx->cert, ctx->key,
						    GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		snprintf(err, errlen, "[tls] cert/key %s, %s: %s", ctx->cert, ctx->key,
			 gnutls_strerror(ret));
		goto fail;
	}
	ret = gnutls_priority_init(&creds->priority, ctx->priority, &errpos);
	if (ret < 0) {
		snprintf(err, errlen, "[tls] priority: %s near '%s'", gnutls_strerror(ret),
			 errpos ? errpos : "");
		goto fail;
	}
	*creds_r = creds;
	return 0;
fail_gnutls:
	snprintf(err, errlen, "TLS: %s", gnutls_strerror(ret));
fail:
	tls_creds_unref(&creds);
	return -1;
}

int tls_ctx_create(const char *cert, const char *key, const char *priority,
		   struct tls_ctx **ctx_r, char *err, size_t errlen)
{
	struct tls_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->cert = xstrdup(cert);
	ctx->key = xstrdup(key);
	ctx->priority = xstrdup(priority);
	if (creds_load(ctx, &ctx->current, err, errlen) < 0) {
		tls_ctx_free(&ctx);
		return -1;
	}
	*ctx_r = ctx;
	return 0;
}

int tls_ctx_reload(struct tls_ctx *ctx, char *err, size_t errlen)
{
	struct tls_creds *creds;

	if (creds_load(ctx, &creds, err, errlen) < 0)
		return -1;
	tls_creds_unref(&ctx->current);
	ctx->current = creds;
	return 0;
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	tls_creds_unref(&ctx->current);
	free(ctx->cert);
	free(ctx->key);
	free(ctx->priority);
	free(ctx);
	*ctxp = NULL;
}

struct tls_creds *tls_creds_get(struct tls_ctx *ctx)
{
	ctx->current->refcount++;
	return ctx->current;
}

void tls_creds_unref(struct tls_creds **credsp)
{
	struct tls_creds *creds = *credsp;

	if (creds == NULL)
		return;
	*credsp = NULL;
	if (--creds->refcount > 0)
		return;
	if (creds->priority)
		gnutls_priority_deinit(creds->priority);
	if (creds->cred)
		gnutls_certificate_free_credentials(creds->cred);
	free(creds);
}

int tls_session_init(struct tls_creds *creds, void **session_r)
{
	gnutls_session_t session;

	if (gnutls_init(&session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0)
		return -1;
	if (gnutls_priority_set(session, creds->priority) < 0 ||
	    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, creds->cred) < 0) {
		gnutls_deinit(session);
		return -1;
	}
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
	/* A stalled handshake is bounded by the connection's own timer. */
	gnutls_handshake_set_timeout(session, 0);
	*session_r = session;
	return 0;
}
