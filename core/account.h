#ifndef DUOMAIL_ACCOUNT_H
#define DUOMAIL_ACCOUNT_H
/*
 * Opening an account for use, after whatever authentication the caller
 * needs (none for deliver and LMTP): the user must exist, its settings must
 * be valid, and its store is opened with the account's quota set on it
 * (store_set_quota()), so every save through it is checked.  POP3, IMAP
 * (via core/login.c), `duomail deliver` and LMTP all come through here, so
 * they all enforce one policy.  Blocking (disk): thread pool.
 */
#include "core/policy.h"

struct auth_db;
struct config;
struct store;

enum account_status {
	ACCOUNT_OK,
	ACCOUNT_NOUSER,		/* no such user (or a name the store refuses) */
	ACCOUNT_TEMPFAIL,	/* user database or store unavailable, or the
				 * user's settings are invalid (logged) */
};

/* On ACCOUNT_OK, *store_r is open (the caller closes it) and, if policy_r
 * is not NULL, *policy_r holds the resolved policy (free it with
 * account_policy_free()).  Failures are logged. */
enum account_status account_open(const struct config *cfg, struct auth_db *db,
				 const char *user, struct store **store_r,
				 struct account_policy *policy_r);

#endif
