/* An account opened with its policy: see account.h. */
#include "core/account.h"
#include "core/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>

enum account_status account_open(const struct config *cfg, struct auth_db *db,
				 const char *user, struct store **store_r,
				 struct account_policy *policy_r)
{
	struct user_settings us;
	struct account_policy policy;
	enum store_error err;
	int found;

	*store_r = NULL;
	found = auth_db_user_settings(db, user, &us);
	if (found <= 0)
		return found == 0 ? ACCOUNT_NOUSER : ACCOUNT_TEMPFAIL;
	account_policy_resolve(cfg, &us, &policy);
	user_settings_free(&us);
	if (store_open(cfg->store_root, user, store_r, &err) < 0) {
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
