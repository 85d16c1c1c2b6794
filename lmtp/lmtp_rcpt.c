/*
 * Which account a recipient address names.  The domain plays no part: an
 * LMTP server is the last hop for the domains the MTA routes to it
 * (Postfix virtual_transport, Exim's lmtp transport), and they decided
 * that already; a bare <user> works the same.  See lmtp.h.
 */
#include "lmtp/lmtp.h"
#include "core/log.h"

#include <ctype.h>
#include <string.h>

/* 1 found, 0 not, -1 error; tries name as given, then in lower case
 * (MTAs keep the case the sender typed; account names are usually lower). */
static int try_name(struct auth_db *db, const char *name, size_t len, char **user_r)
{
	char *cand;
	int ret;

	if (len == 0)
		return 0;
	cand = xstrndup(name, len);
	ret = auth_db_user_exists(db, cand);
	if (ret == 0) {
		bool changed = false;

		for (char *p = cand; *p != '\0'; p++) {
			if (isupper((unsigned char)*p)) {
				*p = (char)tolower((unsigned char)*p);
				changed = true;
			}
		}
		if (changed)
			ret = auth_db_user_exists(db, cand);
	}
	if (ret > 0)
		*user_r = cand;
	else
		free(cand);
	return ret;
}

int lmtp_rcpt_lookup(struct auth_db *db, const char *delimiters, const char *local,
		     char **user_r)
{
	size_t len = strlen(local), base;
	int ret;

	*user_r = NULL;
	/* The whole local part first: an account may have a '+' in its name. */
	ret = try_name(db, local, len, user_r);
	if (ret != 0 || delimiters[0] == '\0')
		return ret;
	/* user+detail (Postfix recipient_delimiter): the detail is dropped. */
	base = strcspn(local, delimiters);
	if (base == len)
		return 0;
	return try_name(db, local, base, user_r);
}
