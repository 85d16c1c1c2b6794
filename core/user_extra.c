/*
 * The extra field of a passwd-file line (its eighth field and the rest of
 * the line, so values may hold ':'), read into user settings.  The keys are
 * listed in policy.h.  Values duomail cannot honour are errors, never
 * guessed at: a wrong quota or a wrong POP3 delete mode would silently do
 * something the admin did not ask for.
 */
#include "core/policy.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dovecot's limits seen so far; duomail's own keys win over them. */
struct dovecot_quota {
	bool storage_set, messages_set;
	uint64_t storage, messages;
};

/* Dovecot's quota_rule (doc.dovecot.org, Quota Configuration):
 * "MAILBOX:limit=value:..." where only the rule for every mailbox ("*")
 * sets the account's limits.  storage= counts KiB when it has no unit,
 * bytes= counts bytes.  Relative (+/-) and percentage values describe
 * extra room per mailbox, which duomail does not have: refused. */
static int parse_quota_rule(const char *value, struct dovecot_quota *dq, char *err,
			    size_t errlen)
{
	char *copy, *save = NULL, *item;
	char why[160];
	int ret = 0;

	if (strncmp(value, "*:", 2) != 0 && strcmp(value, "*") != 0) {
		snprintf(err, errlen, "quota_rule: only a rule for all mailboxes ('*:...') "
			 "is supported, not '%s'", value);
		return -1;
	}
	copy = xstrdup(value + 1);
	for (item = strtok_r(copy, ":", &save); item != NULL && ret == 0;
	     item = strtok_r(NULL, ":", &save)) {
		char *eq = strchr(item, '=');
		const char *v = eq != NULL ? eq + 1 : "";

		if (eq != NULL)
			*eq = '\0';
		if (eq != NULL && strcmp(item, "storage") == 0) {
			ret = policy_parse_size(v, 1024, &dq->storage, why, sizeof(why));
			dq->storage_set = true;
		} else if (eq != NULL && strcmp(item, "bytes") == 0) {
			ret = policy_parse_size(v, 1, &dq->storage, why, sizeof(why));
			dq->storage_set = true;
		} else if (eq != NULL && strcmp(item, "messages") == 0) {
			ret = policy_parse_count(v, &dq->messages, why, sizeof(why));
			dq->messages_set = true;
		} else {
			snprintf(why, sizeof(why), "'%s' is not supported", item);
			ret = -1;
		}
		if (ret < 0)
			snprintf(err, errlen, "quota_rule: %s", why);
	}
	free(copy);
	return ret;
}

/* One key=value of ours: 1 taken, 0 not ours, -1 bad value. */
static int parse_pair(const char *key, const char *value, struct user_settings *us,
		      struct dovecot_quota *dq, char *err, size_t errlen)
{
	char why[160];
	int ret = 0;

	if (strcmp(key, "pop3_delete") == 0) {
		if (policy_parse_delete(value, &us->pop3_delete) < 0) {
			snprintf(err, errlen, "pop3_delete: '%s' is not expunge, hide or trash",
				 value);
			return -1;
		}
		us->set |= USER_SET_POP3_DELETE;
	} else if (strcmp(key, "pop3_folders") == 0) {
		policy_folders_free(&us->pop3_folders);
		ret = policy_folders_parse(value, &us->pop3_folders, why, sizeof(why));
		us->set |= USER_SET_POP3_FOLDERS;
	} else if (strcmp(key, "pop3_retr_seen") == 0) {
		if (policy_parse_bool(value, &us->pop3_retr_seen) < 0) {
			snprintf(err, errlen, "pop3_retr_seen: '%s' is not yes or no", value);
			return -1;
		}
		us->set |= USER_SET_POP3_RETR_SEEN;
	} else if (strcmp(key, "quota_storage") == 0) {
		ret = policy_parse_size(value, 1, &us->quota_storage, why, sizeof(why));
		us->set |= USER_SET_QUOTA_STORAGE;
	} else if (strcmp(key, "quota_messages") == 0) {
		ret = policy_parse_count(value, &us->quota_messages, why, sizeof(why));
		us->set |= USER_SET_QUOTA_MESSAGES;
	} else if (strcmp(key, "protocols") == 0) {
		ret = policy_parse_protocols(value, &us->protocols, why, sizeof(why));
		us->set |= USER_SET_PROTOCOLS;
	} else if (strcmp(key, "maildir") == 0) {
		xfree(&us->maildir);
		ret = policy_parse_maildir(value, &us->maildir, why, sizeof(why));
		us->set |= USER_SET_MAILDIR;
	} else if (strcmp(key, "quota_rule") == 0) {
		return parse_quota_rule(value, dq, err, errlen) < 0 ? -1 : 1;
	} else if (strcmp(key, "quota_storage_size") == 0) {
		ret = policy_parse_size(value, 1, &dq->storage, why, sizeof(why));
		dq->storage_set = true;
	} else if (strcmp(key, "quota_message_count") == 0) {
		ret = policy_parse_count(value, &dq->messages, why, sizeof(why));
		dq->messages_set = true;
	} else {
		return 0;
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 1;
}

/* Dovecot's limits count only where duomail's own keys left a gap. */
static void merge_dovecot_quota(struct user_settings *us, const struct dovecot_quota *dq)
{
	if (dq->storage_set && !(us->set & USER_SET_QUOTA_STORAGE)) {
		us->quota_storage = dq->storage;
		us->set |= USER_SET_QUOTA_STORAGE;
	}
	if (dq->messages_set && !(us->set & USER_SET_QUOTA_MESSAGES)) {
		us->quota_messages = dq->messages;
		us->set |= USER_SET_QUOTA_MESSAGES;
	}
}

/* Dovecot marks user database fields "userdb_"; ours are that. */
static const char *our_key(const char *key)
{
	return strncmp(key, "userdb_", 7) == 0 ? key + 7 : key;
}

int user_extra_parse(const char *extra, struct user_settings *us_r,
		     void (*unknown)(const char *key, size_t len, void *ctx), void *ctx,
		     char *err, size_t errlen)
{
	struct user_settings us = { 0 };
	struct dovecot_quota dq = { 0 };
	const char *p = extra;

	while (*p != '\0') {
		size_t len = strcspn(p, " \t");
		char *field = xstrndup(p, len), *value;
		int ret = 0;

		p += len;
		p += strspn(p, " \t");
		if (len == 0) {
			free(field);
			continue;
		}
		value = strchr(field, '=');
		if (value != NULL) {
			*value++ = '\0';
			ret = parse_pair(our_key(field), value, &us, &dq, err, errlen);
		}
		if (ret == 0 && unknown != NULL)
			unknown(field, strlen(field), ctx);
		free(field);
		if (ret < 0) {
			user_settings_free(&us);
			return -1;
		}
	}
	merge_dovecot_quota(&us, &dq);
	*us_r = us;
	return 0;
}

int user_extra_parse_pairs(size_t n, const char *const keys[], const char *const values[],
			   struct user_settings *us_r,
			   void (*unknown)(const char *key, size_t len, void *ctx), void *ctx,
			   char *err, size_t errlen)
{
	struct user_settings us = { 0 };
	struct dovecot_quota dq = { 0 };

	for (size_t i = 0; i < n; i++) {
		int ret;

		if (values[i] == NULL)
			continue;
		ret = parse_pair(our_key(keys[i]), values[i], &us, &dq, err, errlen);
		if (ret == 0 && unknown != NULL)
			unknown(keys[i], strlen(keys[i]), ctx);
		if (ret < 0) {
			user_settings_free(&us);
			return -1;
		}
	}
	merge_dovecot_quota(&us, &dq);
	*us_r = us;
	return 0;
}
