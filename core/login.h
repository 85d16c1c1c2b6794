#ifndef DUOMAIL_LOGIN_H
#define DUOMAIL_LOGIN_H
/*
 * A login, as both protocols need it, in two steps:
 *
 *   1. login_lookup(): the user's record from the user database, on the
 *      event loop without blocking it (core/userdb.h).  A passwd-file
 *      lookup is a search in memory: it is left to step 2, saving a
 *      second trip through the thread pool;
 *   2. login_check(): on the thread pool (password hashing and disk are
 *      slow), verify the password against that record, check that the
 *      user may use this protocol, and open the account (core/account.h:
 *      its settings, its store with its quota).
 *
 * An unknown user, a wrong password and a protocol the user may not use
 * all cost one hash verification and give the same LOGIN_FAILED (the log
 * says which).  The protocol adds its own steps after it (POP3's maildrop
 * lock, IMAP's mailbox list).
 */
#include "core/auth.h"
#include "core/policy.h"
#include "core/userdb.h"
#include "store/store.h"

struct config;

enum login_status {
	LOGIN_OK,
	LOGIN_FAILED,		/* wrong user or password: the same for both */
	LOGIN_TEMPFAIL,		/* user database or store unavailable, or the
				 * user's settings are invalid (logged) */
};

struct login_request {
	const struct config *cfg;	/* store root, policy defaults */
	const char *user;
	unsigned protocol;		/* POLICY_PROTO_IMAP or _POP3 */
	const char *password;		/* plaintext, or NULL for APOP */
	const char *apop_timestamp;	/* APOP (RFC 1939 §7) */
	const char *apop_digest;
	/* A SASL mechanism (SCRAM, CRAM-MD5) already verified the user against
	 * the stored secret: no password check, just open the account. */
	bool authenticated;
	/* The lookup's answer (login_lookup()): 1 found (rec filled), 0 no
	 * such user, -1 the database failed. */
	int lookup_result;
	struct userdb_record rec;
	struct userdb *deferred;	/* set: step 2 looks up in this passwd-file */
	/* If not NULL, filled on LOGIN_OK with the account's policy (free it
	 * with account_policy_free()). */
	struct account_policy *policy_r;
};

/* Step 1: looks req->user up (purpose USERDB_LOGIN) and fills
 * req->lookup_result and req->rec, then calls done(arg) on the loop. */
void login_lookup(struct userdb *db, void *loop, struct login_request *req,
		  void (*done)(void *arg), void *arg);

/* Step 2 (thread pool).  On LOGIN_OK, *store_r is the user's open store
 * (the caller closes it). */
enum login_status login_check(struct login_request *req, struct store **store_r);

/* Frees what the lookup left in req (the record). */
void login_request_clear(struct login_request *req);

#endif
