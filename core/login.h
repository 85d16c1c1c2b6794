#ifndef DUOMAIL_LOGIN_H
#define DUOMAIL_LOGIN_H
/*
 * A login, as both protocols need it: check the credentials, then open the
 * user's account (core/account.h: its settings, its store with its quota).
 * Blocking (password hashing, disk): run it on the thread pool
 * (core/async.h).  The protocol adds its own steps after it (POP3's
 * maildrop lock, IMAP's mailbox list).
 */
#include "core/auth.h"
#include "core/policy.h"
#include "store/store.h"

struct config;

enum login_status {
	LOGIN_OK,
	LOGIN_FAILED,		/* wrong user or password: the same for both */
	LOGIN_TEMPFAIL,		/* user database or store unavailable, or the
				 * user's settings are invalid (logged) */
};

struct login_request {
	struct auth_db *db;
	const struct config *cfg;	/* store root, policy defaults */
	const char *user;
	const char *password;		/* plaintext, or NULL for APOP */
	const char *apop_timestamp;	/* APOP (RFC 1939 §7) */
	const char *apop_digest;
	/* A SASL mechanism (SCRAM, CRAM-MD5) already verified the user against
	 * the stored secret: no password check, just open the account. */
	bool authenticated;
	/* If not NULL, filled on LOGIN_OK with the account's policy (free it
	 * with account_policy_free()). */
	struct account_policy *policy_r;
};

/* On LOGIN_OK, *store_r is the user's open store (the caller closes it). */
enum login_status login_check(const struct login_request *req, struct store **store_r);

#endif
