/* LIST pattern matching.  See imap_match.h. */
#include "imap/imap_match.h"

#include <string.h>
#include <strings.h>

/* INBOX is case-insensitive, and so is its first level in a pattern. */
static bool inbox_prefix(const char *s)
{
	return strncasecmp(s, "INBOX", 5) == 0 && (s[5] == '\0' || s[5] == '/');
}

/* prefix_ok: name is only the start of a longer name ("name/..."). */
static bool match_here(const char *p, const char *n, bool prefix_ok)
{
	while (*p != '\0') {
		if (*p == '*') {
			/* "*" can always match more, so a prefix may continue. */
			for (const char *k = n;; k++) {
				if (match_here(p + 1, k, prefix_ok))
					return true;
				if (*k == '\0')
					return prefix_ok;
			}
		}
		if (*p == '%') {
			for (const char *k = n;; k++) {
				if (match_here(p + 1, k, prefix_ok))
					return true;
				/* "%" never crosses "/", so not into a child */
				if (*k == '\0' || *k == '/')
					return false;
			}
		}
		if (*n == '\0')
			return prefix_ok && *p == '/';
		if (*p != *n)
			return false;
		p++;
		n++;
	}
	/* In prefix mode the name goes on with "/child", which an exhausted
	 * pattern cannot match. */
	return *n == '\0' && !prefix_ok;
}

static bool match(const char *pattern, const char *name, bool prefix)
{
	char p[1024], n[1024];

	if (strlen(pattern) >= sizeof(p) || strlen(name) >= sizeof(n))
		return false;
	strcpy(p, pattern);
	strcpy(n, name);
	if (inbox_prefix(p))
		memcpy(p, "INBOX", 5);
	if (inbox_prefix(n))
		memcpy(n, "INBOX", 5);
	return match_here(p, n, prefix);
}

bool imap_match(const char *pattern, const char *name)
{
	return match(pattern, name, false);
}

bool imap_match_prefix(const char *pattern, const char *name)
{
	return match(pattern, name, true);
}
