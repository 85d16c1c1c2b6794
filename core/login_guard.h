#ifndef DUOMAIL_LOGIN_GUARD_H
#define DUOMAIL_LOGIN_GUARD_H
/*
 * The failure penalty around a login, the same for every way of logging in
 * (POP3 USER/PASS, APOP, AUTH; IMAP LOGIN, AUTHENTICATE): the loop-side
 * steps before and after login_check() (core/login.h).
 *
 * A login from an address with failed logins on record waits before it is
 * even checked ([auth] penalty_initial doubling per failure up to
 * penalty_max, core/abuse_table.h), so its answer, right or wrong, comes
 * equally late and its timing tells nothing.  The wait is a loop timer
 * (async_run_after), so no other session is slowed.  Loopback addresses
 * are exempt only with [auth] penalty_exempt_loopback = yes.
 *
 * Everything here logs the session's conn_id (protocol, remote address and
 * port) and the user name; never a password.  Runs on the loop thread.
 */
#include <stdbool.h>

#include "core/abuse_table.h"

struct conn;

/* What a login job keeps of its connection for the penalty: the result
 * counts even when the client left before its answer. */
struct login_guard {
	struct abuse_table *table;	/* the server's; NULL in unit tests */
	bool penalised;			/* the penalty applies to this address */
	struct abuse_key key;		/* the address's */
	char who[96];			/* conn_id(), for the log */
	char ip[46];
};

/* Fills g for a login of user from c about to be checked, and returns how
 * long (ms) it must wait first; logged and counted when it waits at all. */
unsigned login_guard_begin(struct login_guard *g, struct conn *c, const char *user);

/* The password was wrong (or the user unknown): one more failure on record
 * for the client's address (logged, with the count). */
void login_guard_failed(struct login_guard *g, const char *user);

/* The password was right: the address's failures are forgotten. */
void login_guard_succeeded(struct login_guard *g);

/* The verdict of a SCRAM/CRAM-MD5 exchange (its credentials were checked
 * against the stored secret: right or wrong), counted once: only if *armed
 * (login_guard_begin() ran for this exchange), which is then cleared. */
void login_guard_verdict(struct login_guard *g, bool *armed, bool ok, const char *user);

#endif
