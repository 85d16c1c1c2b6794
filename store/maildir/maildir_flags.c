/*
 * What a Maildir file name says: the flags in its ":2," info, its base name,
 * the POP3 UIDL derived from that, and the sizes Dovecot-style names carry
 * (",S=psize,W=vsize").
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The letters we map to IMAP flags.  'P' (passed) has no IMAP flag and is
 * kept like the keywords a-z. */
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

#define NLETTERS (sizeof(letters) / sizeof(letters[0]))

/* The letters after ":2,", or NULL if the name has no such info. */
static const char *info_of(const char *fname)
{
	const char *colon = strchr(fname, ':');

	return colon != NULL && colon[1] == '2' && colon[2] == ',' ? colon + 3 : NULL;
}

unsigned maildir_flags_from_name(const char *fname)
{
	const char *info = info_of(fname);
	unsigned flags = 0;

	for (; info != NULL && *info != '\0'; info++) {
		for (size_t i = 0; i < NLETTERS; i++)
			if (*info == letters[i].letter)
				flags |= letters[i].flag;
	}
	return flags;
}

uint32_t maildir_keywords_from_name(const char *fname)
{
	const char *info = info_of(fname);
	uint32_t kw = 0;

	/* Dovecot's convention: keyword i is the letter 'a' + i. */
	for (; info != NULL && *info != '\0'; info++)
		if (*info >= 'a' && *info <= 'z')
			kw |= 1u << (*info - 'a');
	return kw;
}

char *maildir_name_with_flags(const char *base, const char *old_fname, unsigned flags)
{
	return maildir_name_with_flags_kw(base, old_fname, flags,
					  old_fname != NULL ? maildir_keywords_from_name(old_fname) : 0);
}

char *maildir_name_with_flags_kw(const char *base, const char *old_fname, unsigned flags,
				 uint32_t keywords)
{
	const char *info = old_fname != NULL ? info_of(old_fname) : NULL;
	bool set[128] = { false };
	char out[128];
	size_t o = 0;

	/* Keywords and letters we do not know stay as they were; the result
	 * lists each letter once, in ASCII order, as the Maildir spec wants. */
	for (; info != NULL && *info != '\0'; info++) {
		unsigned char c = (unsigned char)*info;

		if (c > 0x20 && c < 0x7f && c != ',' && c != ':' && c != '/')
			set[c] = true;
	}
	for (size_t i = 0; i < NLETTERS; i++)
		set[(unsigned char)letters[i].letter] = (flags & letters[i].flag) != 0;
	for (int k = 0; k < 26; k++)
		set['a' + k] = (keywords & (1u << k)) != 0;
	for (int c = 0x21; c < 0x7f; c++)
		if (set[c])
			out[o++] = (char)c;
	out[o] = '\0';
	return xasprintf("%s:2,%s", base, out);
}

char *maildir_base_of(const char *fname)
{
	const char *colon = strchr(fname, ':');

	return colon != NULL ? xstrndup(fname, colon - fname) : xstrdup(fname);
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
	/* RFC 1939 §7 allows 1..70 chars in 0x21..0x7E.  Other names get a
	 * digest: a pure function of the name, so it survives index loss too. */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, base, len, digest) < 0)
		fatal("gnutls_hash_fast(SHA1) failed");
	hex = xmalloc(41);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return hex;
}

/* ",W=123" in the base part of fname (Dovecot's virtual size). */
static bool name_vsize(const char *fname, uint64_t *vsize_r)
{
	const char *end = strchr(fname, ':');
	size_t len = end != NULL ? (size_t)(end - fname) : strlen(fname);

	for (const char *p = fname; (p = memmem(p, len - (p - fname), ",W=", 3)) != NULL; p++) {
		char *num_end;
		unsigned long long v;

		if (p[3] < '0' || p[3] > '9')
			continue;
		errno = 0;
		v = strtoull(p + 3, &num_end, 10);
		if (errno == 0 && (*num_end == '\0' || *num_end == ',' || *num_end == ':')) {
			*vsize_r = v;
			return true;
		}
	}
	return false;
}

uint64_t maildir_count_bare_lf(const void *data, size_t len, bool *prev_cr)
{
	const unsigned char *p = data;
	uint64_t lf = 0;
	bool cr = *prev_cr;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && !cr)
			lf++;
		cr = p[i] == '\r';
	}
	*prev_cr = cr;
	return lf;
}

int maildir_vsize(int dirfd, const char *fname, uint64_t *vsize_r)
{
	char buf[65536];
	uint64_t lf = 0, total = 0;
	bool prev_cr = false;
	struct stat sb;
	ssize_t n;
	int fd;

	if (name_vsize(fname, vsize_r))
		return 0;
	/* Not a link, and nothing that could block the open (a FIFO put in
	 * the file's place since the directory was read). */
	fd = openat(dirfd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	/* Every bare LF goes out as CRLF (RFC 1939 §11, RFC 3501 §2.3.4). */
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			close(fd);
			errno = err;
			return -1;
		}
		lf += maildir_count_bare_lf(buf, (size_t)n, &prev_cr);
		total += (uint64_t)n;
	}
	close(fd);
	*vsize_r = total + lf;
	return 0;
}
