/* The LMTP message spool.  See lmtp_spool.h. */
#include "lmtp/lmtp_spool.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_FIRST	(16u << 10)	/* most mail is smaller than this */
#define REPLAY_CHUNK	(64u << 10)

struct lmtp_spool {
	char *dir;
	char *buf;
	size_t cap;		/* allocated: grows up to LMTP_SPOOL_CHUNK + slack */
	size_t len;		/* bytes in buf, after file_len bytes in the file */
	int fd;			/* -1 while everything is in buf */
	uint64_t file_len;
	int error;
};

struct lmtp_spool *lmtp_spool_new(const char *dir)
{
	struct lmtp_spool *sp = xcalloc(1, sizeof(*sp));

	sp->dir = xstrdup(dir);
	sp->fd = -1;
	return sp;
}

void lmtp_spool_free(struct lmtp_spool **spp)
{
	struct lmtp_spool *sp = *spp;

	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->buf);
	free(sp->dir);
	free(sp);
	*spp = NULL;
}

char *lmtp_spool_reserve(struct lmtp_spool *sp, size_t slack, size_t *room_r)
{
	size_t want;

	if (sp->len >= LMTP_SPOOL_CHUNK) {
		*room_r = 0;
		return NULL;
	}
	/* Doubling up to a chunk: a small message costs a small buffer. */
	want = sp->cap == 0 ? SPOOL_FIRST : sp->cap;
	while (want < sp->len + slack + 1 + SPOOL_FIRST / 4 && want < LMTP_SPOOL_CHUNK + slack)
		want *= 2;
	if (want > LMTP_SPOOL_CHUNK + slack)
		want = LMTP_SPOOL_CHUNK + slack;
	if (want > sp->cap) {
		sp->buf = xrealloc(sp->buf, want);
		sp->cap = want;
	}
	*room_r = sp->cap - slack - sp->len;
	if (*room_r > LMTP_SPOOL_CHUNK - sp->len)
		*room_r = LMTP_SPOOL_CHUNK - sp->len;
	return sp->buf + sp->len;
}

void lmtp_spool_commit(struct lmtp_spool *sp, size_t n)
{
	sp->len += n;
}

/* A file nobody can open by name: it goes away with its last descriptor. */
static int open_anonymous(const char *dir)
{
	char *path;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* File systems without O_TMPFILE: a name for an instant. */
	path = xasprintf("%s/duomail-lmtp-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

static int spool_fail(struct lmtp_spool *sp, int err)
{
	if (sp->error == 0)
		sp->error = err;
	errno = err;
	return -1;
}

int lmtp_spool_flush(struct lmtp_spool *sp)
{
	const char *p = sp->buf;
	size_t left = sp->len;

	if (sp->error != 0)
		return spool_fail(sp, sp->error);
	if (sp->fd < 0) {
		sp->fd = open_anonymous(sp->dir);
		if (sp->fd < 0)
			return spool_fail(sp, errno);
	}
	while (left > 0) {
		ssize_t n = pwrite(sp->fd, p, left, (off_t)sp->file_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return spool_fail(sp, errno);
		p += n;
		left -= (size_t)n;
		sp->file_len += (uint64_t)n;
	}
	sp->len = 0;
	return 0;
}

int lmtp_spool_error(const struct lmtp_spool *sp)
{
	return sp->error;
}

int lmtp_spool_replay(struct lmtp_spool *sp, int (*fn)(void *ctx, const char *p, size_t n),
		      void *ctx)
{
	uint64_t off = 0;
	char *chunk;
	int ret = 0;

	if (sp->fd >= 0) {
		chunk = xmalloc(REPLAY_CHUNK);
		while (off < sp->file_len && ret == 0) {
			uint64_t want = sp->file_len - off;
			ssize_t n = pread(sp->fd, chunk, want < REPLAY_CHUNK ? want : REPLAY_CHUNK,
					  (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Short: someone truncated a file that has no name? */
				ret = spool_fail(sp, n < 0 ? errno : EIO);
				break;
			}
			off += (uint64_t)n;
			ret = fn(ctx, chunk, (size_t)n);
		}
		free(chunk);
	}
	if (ret == 0 && sp->len > 0)
		ret = fn(ctx, sp->buf, sp->len);
	return ret;
}

uint64_t lmtp_spool_size(const struct lmtp_spool *sp)
{
	return sp->file_len + sp->len;
}
