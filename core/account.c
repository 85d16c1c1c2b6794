/* An account opened with its policy: see account.h. */
#include "core/account.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>

enum account_status account_open(const struct config *cfg, const char *user,
				 const struct user_settings *us, struct store **store_r,
				 struct account_policy *policy_r)
{
	struct account_policy policy;
	enum store_error err;
	int ret;

	*store_r = NULL;
	if (us->maildir != NULL && !cfg->allow_maildir_outside_root &&
	    !policy_path_inside(cfg->store_root, us->maildir)) {
		/* A user database row must not point a login at /etc or at
		 * someone else's tree unless the admin said it may. */
		log_error("refusing %s: maildir %s is outside [store] root %s "
			  "(set [store] allow_maildir_outside_root = yes to allow it)", user,
			  us->maildir, cfg->store_root);
		return ACCOUNT_TEMPFAIL;
	}
	account_policy_resolve(cfg, us, &policy);
	if (us->maildir != NULL)
		ret = store_open_dir(us->maildir, store_r, &err);
	else
		ret = store_open(cfg->store_root, user, store_r, &err);
	if (ret < 0) {
		log_error("cannot open the store of %s: %s", user, store_strerror(err));
		account_policy_free(&policy);
		/* A name the store refuses can never have a mailbox. */
		return err == STORE_ERR_INVALID ? ACCOUNT_NOUSER : ACCOUNT_TEMPFAIL;
	}
	store_set_quota(*store_r, policy.quota_storage, policy.quota_messages);
	if (policy_r != NULL)
		*policy_r = policy;
	else
		account_policy_free(&policy);
	return ACCOUNT_OK;
}
