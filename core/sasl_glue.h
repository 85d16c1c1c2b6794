#ifndef DUOMAIL_SASL_GLUE_H
#define DUOMAIL_SASL_GLUE_H
/*
 * Between a connection, the user database and core/sasl.h, for POP3 AUTH
 * and IMAP AUTHENTICATE alike: what SASL may use on this connection, and
 * the one place a mechanism's stored secret is looked up.
 */
#include "core/sasl.h"

struct conn;
struct sasl;

/* The SASL context of connection c (loop thread): plaintext only when
 * conn_is_secure(); CRAM-MD5 when the user database holds plaintext
 * passwords; SCRAM-SHA-1/-256 when it holds plaintext passwords or stored
 * keys of that hash; -PLUS when the TLS session gives a channel binding. */
void sasl_context_for_conn(struct conn *c, struct sasl_context *ctx_r);

/*
 * After SASL_NEED_SECRET, on the thread pool: looks up sasl_user(s) in
 * conn's user database and hands the stored secret to the mechanism
 * (sasl_set_secret).  The only user lookup SASL makes: a different user
 * database is plugged in here.  db is struct auth_db * (core/auth.h).
 */
struct auth_db;
void sasl_fetch_secret(struct auth_db *db, struct sasl *s);

#endif
