/* Credentials check plus account open, shared by POP3 and IMAP.  See login.h. */
#include "core/login.h"
#include "core/account.h"
#include "core/log.h"

enum login_status login_check(const struct login_request *req, struct store **store_r)
{
	enum auth_result ar;

	*store_r = NULL;
	if (req->authenticated)
		ar = AUTH_OK;
	else if (req->password != NULL)
		ar = auth_verify_plain(req->db, req->user, req->password);
	else
		ar = auth_verify_apop(req->db, req->user, req->apop_timestamp, req->apop_digest);
	if (ar != AUTH_OK)
		return ar == AUTH_TEMPFAIL ? LOGIN_TEMPFAIL : LOGIN_FAILED;
	/* The password was right, so a user who vanished meanwhile (a
	 * reload) or whose settings are broken gets "try later", never a
	 * hint about which it was. */
	switch (account_open(req->cfg, req->db, req->user, store_r, req->policy_r)) {
	case ACCOUNT_OK:
		return LOGIN_OK;
	case ACCOUNT_NOUSER:
	case ACCOUNT_TEMPFAIL:
		break;
	}
	return LOGIN_TEMPFAIL;
}
