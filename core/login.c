/* Credentials check plus store open, shared by POP3 and IMAP.  See login.h. */
#include "core/login.h"
#include "core/log.h"

enum login_status login_check(const struct login_request *req, struct store **store_r)
{
	enum auth_result ar;
	enum store_error err;

	*store_r = NULL;
	if (req->password != NULL)
		ar = auth_verify_plain(req->db, req->user, req->password);
	else
		ar = auth_verify_apop(req->db, req->user, req->apop_timestamp, req->apop_digest);
	if (ar != AUTH_OK)
		return ar == AUTH_TEMPFAIL ? LOGIN_TEMPFAIL : LOGIN_FAILED;
	if (store_open(req->store_root, req->user, store_r, &err) < 0) {
		log_error("login: cannot open the store of %s: %s", req->user, store_strerror(err));
		return LOGIN_TEMPFAIL;
	}
	return LOGIN_OK;
}
