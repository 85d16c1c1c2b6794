/*
 * The per-user fields that decide where and how a user may come in: the
 * protocols they may log in with and the Maildir their mail lives in.
 * Pure parsers (see policy.h), shared by the passwd-file's extra field and
 * the SQL user database's columns.
 */
#include "core/policy.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int policy_parse_protocols(const char *value, unsigned *protocols_r, char *err, size_t errlen)
{
	unsigned protocols = 0;
	const char *p = value;
	bool none = false;

	while (*p != '\0') {
		size_t len = strcspn(p, ", \t");

		if (len == 4 && strncasecmp(p, "imap", 4) == 0) {
			protocols |= POLICY_PROTO_IMAP;
		} else if (len == 4 && strncasecmp(p, "pop3", 4) == 0) {
			protocols |= POLICY_PROTO_POP3;
		} else if (len == 4 && strncasecmp(p, "none", 4) == 0) {
			none = true;
		} else if (len > 0) {
			snprintf(err, errlen, "'%.*s' is not imap, pop3 or none", (int)len, p);
			return -1;
		}
		p += len;
		p += strspn(p, ", \t");
	}
	if (none && protocols != 0) {
		snprintf(err, errlen, "'none' together with a protocol");
		return -1;
	}
	if (!none && protocols == 0) {
		/* An empty value is a typo more likely than "nothing". */
		snprintf(err, errlen, "empty (write 'none' for no login)");
		return -1;
	}
	*protocols_r = protocols;
	return 0;
}

const char *policy_protocol_name(unsigned protocol)
{
	return protocol == POLICY_PROTO_IMAP ? "imap" : protocol == POLICY_PROTO_POP3 ? "pop3" : "?";
}

int policy_parse_maildir(const char *value, char **dir_r, char *err, size_t errlen)
{
	const char *p;
	size_t len;

	if (strncmp(value, "maildir:", 8) == 0)
		value += 8;
	if (value[0] != '/') {
		/* Dovecot's "~/Maildir" needs a home directory duomail does not
		 * keep; a relative path would depend on the process's cwd. */
		snprintf(err, errlen, "'%s' is not an absolute path", value);
		return -1;
	}
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "control character in the path");
			return -1;
		}
	}
	/* "." and ".." components would make the root check below lie. */
	for (p = value; *p != '\0'; p += len) {
		p += strspn(p, "/");
		len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen, "'%s' has a '.' or '..' component", value);
			return -1;
		}
	}
	len = strlen(value);
	while (len > 1 && value[len - 1] == '/')
		len--;
	if (len >= 4096) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	*dir_r = xstrndup(value, len);
	return 0;
}

bool policy_path_inside(const char *root, const char *dir)
{
	size_t rlen = strlen(root);

	while (rlen > 1 && root[rlen - 1] == '/')
		rlen--;
	if (rlen == 1 && root[0] == '/')
		return dir[0] == '/' && dir[1] != '\0';
	return strncmp(dir, root, rlen) == 0 && dir[rlen] == '/' && dir[rlen + 1] != '\0';
}
