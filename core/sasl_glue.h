#ifndef DUOMAIL_SASL_GLUE_H
#define DUOMAIL_SASL_GLUE_H
/*
 * Between a connection, the user database and core/sasl.h, for POP3 AUTH
 * and IMAP AUTHENTICATE alike: what SASL may use on this connection, and
 * the one place a mechanism's stored secret is looked up.
 */
#include "core/sasl.h"

struct conn;
struct userdb;

/* The SASL context of connection c (loop thread): plaintext only when
 * conn_is_secure(); CRAM-MD5 when the passwd-file holds plaintext
 * passwords; SCRAM-SHA-1/-256 when it holds plaintext passwords or stored
 * keys of that hash (with another user database, whose contents are not
 * known in advance: both SCRAMs, no CRAM-MD5); -PLUS when the TLS session
 * gives a channel binding. */
void sasl_context_for_conn(struct conn *c, struct sasl_context *ctx_r);

/*
 * After SASL_NEED_SECRET, on the loop: looks user up in db (purpose
 * USERDB_LOGIN, without blocking loop) and calls cb(found, stored, arg) on
 * the loop, exactly once: found 1 with stored the user's "{SCHEME}..."
 * (possibly ""), 0 no such user (stored NULL), -1 the database failed.
 * stored is the callee's: valid during cb only.  The caller then hands it
 * to sasl_set_secret() on the thread pool.  The only user lookup SASL
 * makes.
 */
typedef void sasl_secret_cb(int found, const char *stored, void *arg);
void sasl_lookup_secret(struct userdb *db, void *loop, const char *user, sasl_secret_cb *cb,
			void *arg);

#endif
