/* See sasl_glue.h. */
#include "core/sasl_glue.h"
#include "core/auth.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/server.h"
#include "core/userdb.h"

#include <string.h>

static int binding_cb(void *ctx, const char *type, unsigned char *buf, size_t size,
		      size_t *len_r)
{
	return conn_channel_binding(ctx, type, buf, size, len_r);
}

void sasl_context_for_conn(struct conn *c, struct sasl_context *ctx_r)
{
	struct server *srv = conn_server(c);
	struct auth_db *passwd = userdb_passwd(srv->userdb);
	unsigned mechs;

	/* [auth] mechanisms = auto offers a challenge-response mechanism only
	 * when every user can use it: a client that sees it offered uses it
	 * and does not fall back to PLAIN.  A database's contents are not
	 * known in advance, so with pgsql auto offers none; the admin lists
	 * the ones the stored passwords allow. */
	if (srv->cfg->mechanisms_auto)
		mechs = passwd != NULL ? auth_db_common_mechs(passwd) : 0;
	else
		mechs = srv->cfg->mechanisms;
	memset(ctx_r, 0, sizeof(*ctx_r));
	ctx_r->plaintext_allowed = conn_is_secure(c);
	ctx_r->cram_md5 = (mechs & AUTH_MECH_CRAM_MD5) != 0;
	ctx_r->scram_sha1 = (mechs & AUTH_MECH_SCRAM_SHA1) != 0;
	ctx_r->scram_sha256 = (mechs & AUTH_MECH_SCRAM_SHA256) != 0;
	ctx_r->hostname = srv->cfg->hostname;
	ctx_r->channel_binding = binding_cb;
	ctx_r->cb_ctx = c;
}

struct secret_lookup {
	sasl_secret_cb *cb;
	void *arg;
};

static void lookup_cb(int result, struct userdb_record *rec, void *ctx)
{
	struct secret_lookup *l = ctx;

	/* A record without a password exists but cannot log in: "" serves
	 * no mechanism, so it fails like a wrong password. */
	l->cb(result, result > 0 ? (rec->password ? rec->password : "") : NULL, l->arg);
	free(l);
}

void sasl_lookup_secret(struct userdb *db, void *loop, const char *user, sasl_secret_cb *cb,
			void *arg)
{
	struct secret_lookup *l = xcalloc(1, sizeof(*l));

	l->cb = cb;
	l->arg = arg;
	userdb_lookup_async(db, loop, USERDB_LOGIN, user, lookup_cb, l);
}
