/*
 * The passwd-file extra field (core/user_extra.c): a user's own POP3 and
 * quota settings, in duomail's and Dovecot's spellings.  The input is the
 * field.  Checked: a refusal says why; an accepted field sets only what it
 * names, with folder names that are non-empty and INBOX (if listed) first;
 * every key handed to the unknown-key callback is text of the
 * input; the settings copy and free cleanly.
 */
#include "fuzz_common.h"
#include "core/policy.h"

struct seen {
	const char *start, *end;
};

static void unknown(const char *key, size_t len, void *ctx)
{
	const struct seen *s = ctx;

	/* the text before "=" ("=x" gives an empty one) */
	FUZZ_CHECK(strlen(key) == len);
	FUZZ_CHECK(memmem(s->start, (size_t)(s->end - s->start), key, len) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *extra = fuzz_cstring(data, size), err[256];
	struct user_settings us, copy;
	struct seen seen = { extra, extra + strlen(extra) };

	memset(&us, 0, sizeof(us));
	memset(err, 'x', sizeof(err));
	if (user_extra_parse(extra, &us, unknown, &seen, err, sizeof(err)) < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		user_settings_free(&us);
		free(extra);
		return 0;
	}
	FUZZ_CHECK((us.set & ~0x7fu) == 0);
	FUZZ_CHECK((us.protocols & ~(unsigned)POLICY_PROTO_ALL) == 0);
	/* a maildir that got through is absolute, without "." or ".." */
	FUZZ_CHECK(((us.set & USER_SET_MAILDIR) != 0) == (us.maildir != NULL));
	if (us.maildir != NULL) {
		size_t n = strlen(us.maildir);

		FUZZ_CHECK(us.maildir[0] == '/' && strstr(us.maildir, "/../") == NULL &&
			   strstr(us.maildir, "/./") == NULL);
		FUZZ_CHECK(!(n >= 3 && strcmp(us.maildir + n - 3, "/..") == 0));
		FUZZ_CHECK(!(n >= 2 && strcmp(us.maildir + n - 2, "/.") == 0));
	}
	if (us.set & USER_SET_POP3_FOLDERS) {
		FUZZ_CHECK(us.pop3_folders.count > 0);
		for (size_t i = 0; i < us.pop3_folders.count; i++) {
			FUZZ_CHECK(us.pop3_folders.names[i][0] != '\0');
			if (i > 0)
				FUZZ_CHECK(strcmp(us.pop3_folders.names[i], "INBOX") != 0);
		}
	}
	if (us.set & USER_SET_POP3_DELETE)
		FUZZ_CHECK(us.pop3_delete <= POP3_DELETE_TRASH);
	memset(&copy, 0, sizeof(copy));
	user_settings_copy(&copy, &us);
	FUZZ_CHECK(copy.set == us.set && copy.pop3_folders.count == us.pop3_folders.count);
	FUZZ_CHECK((copy.maildir == NULL) == (us.maildir == NULL));
	FUZZ_CHECK(us.maildir == NULL || strcmp(copy.maildir, us.maildir) == 0);
	user_settings_free(&copy);
	user_settings_free(&us);
	free(extra);
	return 0;
}
