/* The user database lookup, credentials check and account open shared by
 * POP3 and IMAP.  See login.h. */
#include "core/login.h"
#include "core/account.h"
#include "core/log.h"

#include <string.h>

struct lookup_wait {
	struct login_request *req;
	void (*done)(void *arg);
	void *arg;
};

static void lookup_cb(int result, struct userdb_record *rec, void *ctx)
{
	struct lookup_wait *w = ctx;

	w->req->lookup_result = result;
	if (result > 0) {
		/* Moved out: the callee frees what is left. */
		w->req->rec = *rec;
		memset(rec, 0, sizeof(*rec));
	}
	w->done(w->arg);
	free(w);
}

void login_lookup(struct userdb *db, void *loop, struct login_request *req,
		  void (*done)(void *arg), void *arg)
{
	struct lookup_wait *w;

	if (userdb_passwd(db) != NULL) {
		req->deferred = db;
		done(arg);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->req = req;
	w->done = done;
	w->arg = arg;
	userdb_lookup_async(db, loop, USERDB_LOGIN, req->user, lookup_cb, w);
}

void login_request_clear(struct login_request *req)
{
	userdb_record_free(&req->rec);
}

enum login_status login_check(struct login_request *req, struct store **store_r)
{
	const struct userdb_record *rec;
	const char *stored;
	enum auth_result ar;

	*store_r = NULL;
	if (req->deferred != NULL) {
		req->lookup_result = userdb_lookup(req->deferred, USERDB_LOGIN, req->user, &req->rec);
		req->deferred = NULL;
	}
	rec = req->lookup_result > 0 ? &req->rec : NULL;
	stored = rec != NULL ? rec->password : NULL;
	/* A database that failed still costs a verification: the answer
	 * time must not tell a slow database from a wrong password either. */
	if (req->authenticated)
		ar = rec != NULL ? AUTH_OK : AUTH_FAILED;	/* vanished meanwhile */
	else if (req->password != NULL)
		ar = auth_verify_stored(stored, req->password);
	else
		ar = auth_verify_apop_stored(stored, req->apop_timestamp, req->apop_digest);
	if (req->lookup_result < 0)
		return LOGIN_TEMPFAIL;
	if (ar != AUTH_OK)
		return LOGIN_FAILED;
	if ((rec->settings.set & USER_SET_PROTOCOLS) &&
	    !(rec->settings.protocols & req->protocol)) {
		log_info("login of %s refused: protocol %s is not allowed for this user "
			 "(its protocols field)", req->user, policy_protocol_name(req->protocol));
		return LOGIN_FAILED;
	}
	/* The password was right, so a user whose settings or store are
	 * broken gets "try later", never a hint about which it was. */
	if (rec->invalid)
		return LOGIN_TEMPFAIL;
	switch (account_open(req->cfg, req->user, &rec->settings, store_r, req->policy_r)) {
	case ACCOUNT_OK:
		return LOGIN_OK;
	case ACCOUNT_NOUSER:
	case ACCOUNT_TEMPFAIL:
		break;
	}
	return LOGIN_TEMPFAIL;
}
