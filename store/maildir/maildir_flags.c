/* Maildir file-name info (":2,FLAGS"), POP3 UIDLs and CRLF sizes. */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Maildir flag letters, in the ASCII order they must appear in. */
static const struct {
	char letter;
	unsigned flag;
} letters[] = {
	{ 'D', MSG_FLAG_DRAFT },
	{ 'F', MSG_FLAG_FLAGGED },
	{ 'R', MSG_FLAG_ANSWERED },
	{ 'S', MSG_FLAG_SEEN },
	{ 'T', MSG_FLAG_DELETED },
};

static const char *info_of(const char *fname)
{
	const char *p = strstr(fname, ":2,");

	return p ? p + 3 : NULL;
}

unsigned maildir_flags_from_name(const char *fname)
{
	const char *info = info_of(fname);
	unsigned flags = 0;

	if (info == NULL)
		return 0;
	for (; *info; info++) {
		for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
			if (*info == letters[i].letter)
				flags |= letters[i].flag;
	}
	return flags;
}

char *maildir_name_with_flags(const char *base, const char *old_fname, unsigned flags)
{
	const char *info = old_fname ? info_of(old_fname) : NULL;
	char set[128] = { 0 };	/* letters present, by ASCII code */
	char out[64];
	size_t o = 0;

	/* Letters we do not know (keywords a-z, P) are kept as they were. */
	for (; info && *info; info++) {
		if ((unsigned char)*info < 128)
			set[(unsigned char)*info] = 1;
	}
	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
		set[(unsigned char)letters[i].letter] = (flags & letters[i].flag) != 0;
	for (int c = 33; c < 127 && o < sizeof(out) - 1; c++)
		if (set[c])
			out[o++] = (char)c;
	out[o] = '\0';
	return xasprintf("%s:2,%s", base, out);
}

char *maildir_uidl(const char *base)
{
	size_t len = strlen(base);
	bool ok = len >= 1 && len <= 70;
	unsigned char digest[20];
	char *hex;

	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)base[i] >= 0x21 && (unsigned char)base[i] <= 0x7e;
	if (ok)
		return xstrdup(base);
	/* Too long or odd characters: a digest of the name, equally stable. */
	gnutls_hash_fast(GNUTLS_DIG_SHA1, base, len, digest);
	hex = xmalloc(41);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return hex;
}

int maildir_vsize(const char *path, const char *fname, uint64_t psize, uint64_t *vsize_r)
{
	const char *w = strstr(fname, ",W=");
	char buf[65536];
	uint64_t lf = 0;
	bool prev_cr = false;
	ssize_t n;
	int fd;

	if (w != NULL) {
		char *end;
		unsigned long long v = strtoull(w + 3, &end, 10);

		if (end != w + 3 && (*end == '\0' || *end == ',' || *end == ':')) {
			*vsize_r = v;
			return 0;
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Count bare LFs: each becomes CRLF on the wire. */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && !prev_cr)
				lf++;
			prev_cr = buf[i] == '\r';
		}
	}
	close(fd);
	if (n < 0)
		return -1;
	*vsize_r = psize + lf;
	return 0;
}
