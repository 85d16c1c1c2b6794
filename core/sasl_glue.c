/* See sasl_glue.h. */
#include "core/sasl_glue.h"
#include "core/auth.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/server.h"

#include <string.h>

static int binding_cb(void *ctx, const char *type, unsigned char *buf, size_t size,
		      size_t *len_r)
{
	return conn_channel_binding(ctx, type, buf, size, len_r);
}

void sasl_context_for_conn(struct conn *c, struct sasl_context *ctx_r)
{
	struct server *srv = conn_server(c);
	unsigned kinds = auth_db_secret_kinds(srv->auth);

	memset(ctx_r, 0, sizeof(*ctx_r));
	ctx_r->plaintext_allowed = conn_is_secure(c);
	ctx_r->cram_md5 = (kinds & AUTH_SECRET_PLAINTEXT) != 0;
	ctx_r->scram_sha1 = (kinds & (AUTH_SECRET_PLAINTEXT | AUTH_SECRET_SCRAM_SHA1)) != 0;
	ctx_r->scram_sha256 = (kinds & (AUTH_SECRET_PLAINTEXT | AUTH_SECRET_SCRAM_SHA256)) != 0;
	ctx_r->hostname = srv->cfg->hostname;
	ctx_r->channel_binding = binding_cb;
	ctx_r->cb_ctx = c;
}

void sasl_fetch_secret(struct auth_db *db, struct sasl *s)
{
	char *stored = NULL;
	int found = auth_lookup_stored(db, sasl_user(s), &stored);

	sasl_set_secret(s, found, stored);
	if (stored != NULL) {
		explicit_bzero(stored, strlen(stored));
		free(stored);
	}
}
