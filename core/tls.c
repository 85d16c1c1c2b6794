/* Server TLS credentials with GnuTLS.  See tls.h. */
#include "core/tls.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One cert+key pair: its own credentials, so the SNI choice below is ours
 * and the default is always the first pair, and its leaf certificate for
 * matching the client's server name. */
struct tls_pair {
	gnutls_certificate_credentials_t cred;
	gnutls_x509_crt_t leaf;
};

struct tls_creds {
	int refcount;
	unsigned npairs;
	struct tls_pair pairs[TLS_MAX_PAIRS];
	gnutls_priority_t priority;
};

struct tls_ctx {
	char *certs[TLS_MAX_PAIRS], *keys[TLS_MAX_PAIRS];
	unsigned npairs;
	char *priority;
	struct tls_creds *current;
};

/* A file's bytes from offset 0 into data (gnutls_free()d by the caller). */
static int read_fd(int fd, const char *path, gnutls_datum_t *data, char *err, size_t errlen)
{
	size_t cap = 16384, len = 0;
	unsigned char *buf = gnutls_malloc(cap);

	if (buf == NULL)
		fatal("out of memory");
	for (;;) {
		ssize_t n;

		if (len == cap) {
			unsigned char *bigger;

			if (cap >= TLS_FILE_MAX) {
				snprintf(err, errlen, "%s: larger than %d bytes", path, TLS_FILE_MAX);
				goto fail;
			}
			bigger = gnutls_malloc(cap * 2);
			if (bigger == NULL)
				fatal("out of memory");
			memcpy(bigger, buf, len);
			explicit_bzero(buf, len);
			gnutls_free(buf);
			buf = bigger;
			cap *= 2;
		}
		/* pread: the master may hand the same open file to us only, but
		 * whatever read it before leaves the offset anywhere. */
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data->data = buf;
	data->size = (unsigned)len;
	return 0;
fail:
	explicit_bzero(buf, len);
	gnutls_free(buf);
	return -1;
}

static int read_path(const char *path, gnutls_datum_t *data, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int ret;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = read_fd(fd, path, data, err, errlen);
	close(fd);
	return ret;
}

static void datum_wipe(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		explicit_bzero(d->data, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* Parses the chain and the key ourselves before GnuTLS gets them: besides
 * the clearer errors, GnuTLS 3.7's set_x509_key_mem2() leaks when handed a
 * damaged certificate, and a reload must not leak each time it is refused. */
static int pair_load(struct tls_pair *pair, const char *cert_path, const char *key_path,
		     const gnutls_datum_t *cert, const gnutls_datum_t *key, char *err,
		     size_t errlen)
{
	gnutls_x509_crt_t *chain = NULL;
	gnutls_x509_privkey_t pkey = NULL;
	unsigned n = 0;
	int ret;

	ret = gnutls_x509_crt_list_import2(&chain, &n, cert, GNUTLS_X509_FMT_PEM,
					   GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (ret < 0) {
		snprintf(err, errlen, "[tls] cert %s: %s", cert_path, gnutls_strerror(ret));
		return -1;
	}
	ret = gnutls_x509_privkey_init(&pkey);
	if (ret == 0)
		ret = gnutls_x509_privkey_import2(pkey, key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		snprintf(err, errlen, "[tls] key %s: %s", key_path, gnutls_strerror(ret));
		goto out;
	}
	ret = gnutls_certificate_allocate_credentials(&pair->cred);
	if (ret == 0)
		ret = gnutls_certificate_set_x509_key(pair->cred, chain, n, pkey);
	if (ret < 0) {
		snprintf(err, errlen, "[tls] cert/key %s, %s: %s", cert_path, key_path,
			 gnutls_strerror(ret));
		goto out;
	}
	/* The leaf, kept for the SNI match; the rest GnuTLS copied. */
	pair->leaf = chain[0];
	chain[0] = NULL;
out:
	for (unsigned i = 0; i < n; i++)
		if (chain[i] != NULL)
			gnutls_x509_crt_deinit(chain[i]);
	gnutls_free(chain);
	if (pkey != NULL)
		gnutls_x509_privkey_deinit(pkey);
	return ret < 0 ? -1 : 0;
}

/* A new generation from the files' contents (2 per pair: cert, key). */
static int creds_load(const struct tls_ctx *ctx, const gnutls_datum_t *files,
		      struct tls_creds **creds_r, char *err, size_t errlen)
{
	struct tls_creds *creds = xcalloc(1, sizeof(*creds));
	const char *errpos = NULL;
	int ret;

	creds->refcount = 1;
	for (unsigned i = 0; i < ctx->npairs; i++) {
		creds->npairs++;
		if (pair_load(&creds->pairs[i], ctx->certs[i], ctx->keys[i], &files[2 * i],
			      &files[2 * i + 1], err, errlen) < 0)
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
fail:
	tls_creds_unref(&creds);
	return -1;
}

int tls_priority_check(const char *priority, char *err, size_t errlen)
{
	gnutls_priority_t prio;
	const char *errpos = NULL;
	int ret = gnutls_priority_init(&prio, priority, &errpos);

	if (ret < 0) {
		snprintf(err, errlen, "%s near '%s'", gnutls_strerror(ret), errpos ? errpos : "");
		return -1;
	}
	gnutls_priority_deinit(prio);
	return 0;
}

/* Reads every file (by path when fds is NULL) and makes a generation. */
static int load_files(const struct tls_ctx *ctx, const int *fds, struct tls_creds **creds_r,
		      char *err, size_t errlen)
{
	gnutls_datum_t files[2 * TLS_MAX_PAIRS] = { { 0 } };
	int ret = 0;

	for (unsigned i = 0; i < 2 * ctx->npairs && ret == 0; i++) {
		const char *path = i % 2 == 0 ? ctx->certs[i / 2] : ctx->keys[i / 2];

		if (fds != NULL)
			ret = read_fd(fds[i], path, &files[i], err, errlen);
		else
			ret = read_path(path, &files[i], err, errlen);
	}
	if (ret == 0)
		ret = creds_load(ctx, files, creds_r, err, errlen);
	/* The keys were in these buffers: wipe, not just free. */
	for (unsigned i = 0; i < 2 * ctx->npairs; i++)
		datum_wipe(&files[i]);
	return ret;
}

int tls_ctx_create(const char *const *certs, const char *const *keys, unsigned npairs,
		   const char *priority, struct tls_ctx **ctx_r, char *err, size_t errlen)
{
	struct tls_ctx *ctx;

	if (npairs == 0 || npairs > TLS_MAX_PAIRS) {
		snprintf(err, errlen, "[tls] cert: 1 to %d pairs", TLS_MAX_PAIRS);
		return -1;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	for (unsigned i = 0; i < npairs; i++) {
		ctx->certs[i] = xstrdup(certs[i]);
		ctx->keys[i] = xstrdup(keys[i]);
	}
	ctx->npairs = npairs;
	ctx->priority = xstrdup(priority);
	if (load_files(ctx, NULL, &ctx->current, err, errlen) < 0) {
		tls_ctx_free(&ctx);
		return -1;
	}
	*ctx_r = ctx;
	return 0;
}

static void install(struct tls_ctx *ctx, struct tls_creds *creds)
{
	tls_creds_unref(&ctx->current);
	ctx->current = creds;
}

int tls_ctx_reload(struct tls_ctx *ctx, char *err, size_t errlen)
{
	struct tls_creds *creds;

	if (load_files(ctx, NULL, &creds, err, errlen) < 0)
		return -1;
	install(ctx, creds);
	return 0;
}

int tls_ctx_reload_fds(struct tls_ctx *ctx, const int *fds, unsigned nfds, char *err,
		       size_t errlen)
{
	struct tls_creds *creds;

	if (nfds != 2 * ctx->npairs) {
		snprintf(err, errlen, "TLS reload: %u files for %u cert/key pairs", nfds,
			 ctx->npairs);
		return -1;
	}
	if (load_files(ctx, fds, &creds, err, errlen) < 0)
		return -1;
	install(ctx, creds);
	return 0;
}

unsigned tls_ctx_pairs(const struct tls_ctx *ctx) { return ctx->npairs; }
const char *tls_ctx_cert_path(const struct tls_ctx *ctx, unsigned i) { return ctx->certs[i]; }
const char *tls_ctx_key_path(const struct tls_ctx *ctx, unsigned i) { return ctx->keys[i]; }

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	tls_creds_unref(&ctx->current);
	for (unsigned i = 0; i < ctx->npairs; i++) {
		free(ctx->certs[i]);
		free(ctx->keys[i]);
	}
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
	for (unsigned i = 0; i < creds->npairs; i++) {
		if (creds->pairs[i].leaf)
			gnutls_x509_crt_deinit(creds->pairs[i].leaf);
		if (creds->pairs[i].cred)
			gnutls_certificate_free_credentials(creds->pairs[i].cred);
	}
	free(creds);
}

/* Called by GnuTLS once the ClientHello is parsed, before it picks a cipher
 * suite and a certificate: sets the pair the client's server name asks for. */
static int choose_pair(gnutls_session_t session)
{
	struct tls_creds *creds = gnutls_session_get_ptr(session);
	char name[256];
	size_t len = sizeof(name);
	unsigned type, pick = 0;

	if (creds->npairs > 1 &&
	    gnutls_server_name_get(session, name, &len, &type, 0) == GNUTLS_E_SUCCESS &&
	    type == GNUTLS_NAME_DNS) {
		for (unsigned i = 0; i < creds->npairs; i++) {
			if (gnutls_x509_crt_check_hostname2(creds->pairs[i].leaf, name, 0)) {
				pick = i;
				break;
			}
		}
	}
	return gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, creds->pairs[pick].cred);
}

int tls_session_init(struct tls_creds *creds, void **session_r)
{
	gnutls_session_t session;

	if (gnutls_init(&session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0)
		return -1;
	/* The default pair until the ClientHello says otherwise. */
	if (gnutls_priority_set(session, creds->priority) < 0 ||
	    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, creds->pairs[0].cred) < 0) {
		gnutls_deinit(session);
		return -1;
	}
	gnutls_session_set_ptr(session, creds);
	if (creds->npairs > 1)
		gnutls_handshake_set_post_client_hello_function(session, choose_pair);
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
	/* A stalled handshake is bounded by the connection's own timer. */
	gnutls_handshake_set_timeout(session, 0);
	*session_r = session;
	return 0;
}
