#ifndef DUOMAIL_ACCOUNT_H
#define DUOMAIL_ACCOUNT_H
/*
 * Opening an account for use, after whatever authentication the caller
 * needs (none for deliver and LMTP) and after its user database lookup
 * (core/userdb.h) gave the user's settings: its store (at its own
 * maildir= if it has one, which must lie inside [store] root unless
 * allow_maildir_outside_root says otherwise) is opened with the account's
 * quota set on it (store_set_quota()), so every save through it is checked.  POP3, IMAP
 * (via core/login.c), `duomail deliver` and LMTP all come through here, so
 * they all enforce one policy.  Blocking (disk): thread pool.
 */
#include "core/policy.h"

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
enum account_status account_open(const struct config *cfg, const char *user,
				 const struct user_settings *us, struct store **store_r,
				 struct account_policy *policy_r);

#endif
