/* Account policy values: parsing, copying, merging.  See policy.h. */
#include "core/policy.h"
#include "core/config.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const delete_names[] = {
	[POP3_DELETE_EXPUNGE] = "expunge",
	[POP3_DELETE_HIDE] = "hide",
	[POP3_DELETE_TRASH] = "trash",
};

int policy_parse_delete(const char *value, enum pop3_delete_mode *mode_r)
{
	for (size_t i = 0; i < sizeof(delete_names) / sizeof(delete_names[0]); i++) {
		if (strcmp(value, delete_names[i]) == 0) {
			*mode_r = (enum pop3_delete_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *policy_delete_name(enum pop3_delete_mode mode)
{
	return mode <= POP3_DELETE_TRASH ? delete_names[mode] : "?";
}

int policy_parse_bool(const char *value, bool *b_r)
{
	if (strcmp(value, "yes") == 0)
		*b_r = true;
	else if (strcmp(value, "no") == 0)
		*b_r = false;
	else
		return -1;
	return 0;
}

/* Digits only, no sign, no overflow. */
static int parse_digits(const char *p, size_t len, uint64_t *n_r)
{
	uint64_t n = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || n > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	*n_r = n;
	return 0;
}

int policy_parse_size(const char *value, uint64_t unit, uint64_t *bytes_r, char *err,
		      size_t errlen)
{
	size_t len = strlen(value);
	uint64_t n, mult = unit;

	if (len > 0) {
		switch (value[len - 1]) {
		case 'b': case 'B': mult = 1; break;
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		case 't': case 'T': mult = 1ull << 40; break;
		default: len++; break;	/* no suffix: nothing to drop below */
		}
		len--;
	}
	if (parse_digits(value, len, &n) < 0) {
		snprintf(err, errlen, "'%s' is not a size (bytes, or a number with K, M, G or T)",
			 value);
		return -1;
	}
	if (n > UINT64_MAX / mult) {
		snprintf(err, errlen, "'%s' is too large", value);
		return -1;
	}
	*bytes_r = n * mult;
	return 0;
}

int policy_parse_count(const char *value, uint64_t *n_r, char *err, size_t errlen)
{
	if (parse_digits(value, strlen(value), n_r) < 0) {
		snprintf(err, errlen, "'%s' is not a number of messages", value);
		return -1;
	}
	return 0;
}

static bool folder_name_ok(const char *name, size_t len)
{
	if (len == 0 || name[0] == '/' || name[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c > 0x7e || c == '*' || c == '%' ||
		    (c == '/' && name[i + 1] == '/'))
			return false;
	}
	return true;
}

int policy_folders_parse(const char *value, struct policy_folders *f_r, char *err,
			 size_t errlen)
{
	struct policy_folders f = { 0 };
	const char *p = value;

	for (;;) {
		const char *end = strchr(p, ','), *stop;
		size_t len;
		char *name;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (stop = end; stop > p && (stop[-1] == ' ' || stop[-1] == '\t'); stop--)
			;
		len = (size_t)(stop - p);
		if (!folder_name_ok(p, len)) {
			if (len == 0)
				snprintf(err, errlen, "an empty folder name in '%s'", value);
			else
				snprintf(err, errlen, "'%.*s' is not a folder name (the IMAP name, "
					 "printable ASCII)", (int)len, p);
			policy_folders_free(&f);
			return -1;
		}
		/* INBOX is case-insensitive (RFC 3501 §5.1) and always first. */
		name = len == 5 && strncasecmp(p, "INBOX", 5) == 0 ? xstrdup("INBOX") :
								     xstrndup(p, len);
		for (size_t i = 0; i < f.count; i++) {
			if (strcmp(f.names[i], name) == 0) {
				snprintf(err, errlen, "folder '%s' is listed twice", name);
				free(name);
				policy_folders_free(&f);
				return -1;
			}
		}
		f.names = xrealloc(f.names, (f.count + 1) * sizeof(*f.names));
		if (strcmp(name, "INBOX") == 0) {
			memmove(f.names + 1, f.names, f.count * sizeof(*f.names));
			f.names[0] = name;
		} else {
			f.names[f.count] = name;
		}
		f.count++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*f_r = f;
	return 0;
}

void policy_folders_copy(struct policy_folders *dst, const struct policy_folders *src)
{
	dst->count = src->count;
	dst->names = xcalloc(src->count ? src->count : 1, sizeof(*dst->names));
	for (size_t i = 0; i < src->count; i++)
		dst->names[i] = xstrdup(src->names[i]);
}

void policy_folders_free(struct policy_folders *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->names[i]);
	free(f->names);
	f->names = NULL;
	f->count = 0;
}

void user_settings_free(struct user_settings *us)
{
	policy_folders_free(&us->pop3_folders);
	free(us->maildir);
	memset(us, 0, sizeof(*us));
}

void user_settings_copy(struct user_settings *dst, const struct user_settings *src)
{
	*dst = *src;
	policy_folders_copy(&dst->pop3_folders, &src->pop3_folders);
	dst->maildir = src->maildir != NULL ? xstrdup(src->maildir) : NULL;
}

void account_policy_resolve(const struct config *cfg, const struct user_settings *us,
			    struct account_policy *p)
{
	static const struct user_settings none;
	static char inbox[] = "INBOX";
	static char *inbox_only[] = { inbox };
	static const struct policy_folders default_folders = { inbox_only, 1 };
	const struct policy_folders *folders;

	if (us == NULL)
		us = &none;
	p->pop3_delete = us->set & USER_SET_POP3_DELETE ? us->pop3_delete : cfg->pop3_delete;
	p->pop3_retr_seen = us->set & USER_SET_POP3_RETR_SEEN ? us->pop3_retr_seen :
								 cfg->pop3_retr_seen;
	p->quota_storage = us->set & USER_SET_QUOTA_STORAGE ? us->quota_storage :
							       cfg->quota_storage;
	p->quota_messages = us->set & USER_SET_QUOTA_MESSAGES ? us->quota_messages :
								 cfg->quota_messages;
	folders = us->set & USER_SET_POP3_FOLDERS ? &us->pop3_folders : &cfg->pop3_folders;
	/* A config made without config_load() (tests) lists none: INBOX. */
	if (folders->count == 0)
		folders = &default_folders;
	policy_folders_copy(&p->pop3_folders, folders);
}

void account_policy_copy(struct account_policy *dst, const struct account_policy *src)
{
	*dst = *src;
	policy_folders_copy(&dst->pop3_folders, &src->pop3_folders);
}

void account_policy_free(struct account_policy *p)
{
	policy_folders_free(&p->pop3_folders);
}
