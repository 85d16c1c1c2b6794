/*
 * Reading a message as a stream.  Another process may rename the file at
 * any moment (its flags changed), so a missing file is looked up again by
 * its base name before it counts as expunged.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct maildir_stream {
	struct msg_stream base;
	int fd;
};

static int open_in_cur(const char *dir, const char *fname)
{
	char *path = xasprintf("%s/cur/%s", dir, fname);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err = errno;

	free(path);
	errno = err;
	return fd;
}

/* Opens message i's file, following one concurrent rename. */
static int open_msg_file(struct maildir_box *box, unsigned i)
{
	struct maildir_msg_extra *x = &box->extra[i];
	char *now;
	int fd = open_in_cur(box->path, x->fname);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	now = maildir_find_base(box->path, x->base);
	if (now == NULL) {
		errno = ENOENT;
		return -1;
	}
	free(x->fname);
	x->fname = now;
	return open_in_cur(box->path, x->fname);
}

int maildir_msg_open(struct mailbox *mbox, uint32_t uid, struct msg_stream **stream_r)
{
	struct maildir_box *box = maildir_box(mbox);
	struct maildir_stream *s;
	int i = mailbox_find_uid(mbox, uid), fd;

	if (i < 0)
		return store_fail(mbox->st, STORE_ERR_EXPUNGED, "uid %u is not in the view", uid);
	fd = open_msg_file(box, (unsigned)i);
	if (fd < 0) {
		if (errno == ENOENT)
			return store_fail(mbox->st, STORE_ERR_EXPUNGED, "uid %u was expunged", uid);
		return store_fail(mbox->st, STORE_ERR_TEMP, "uid %u: %s", uid, strerror(errno));
	}
	s = xcalloc(1, sizeof(*s));
	s->base.st = mbox->st;
	s->fd = fd;
	*stream_r = &s->base;
	return 0;
}

ssize_t maildir_msg_read(struct msg_stream *stream, void *buf, size_t len)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;
	ssize_t n;

	do {
		n = read(s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		store_fail(stream->st, STORE_ERR_TEMP, "read: %s", strerror(errno));
	return n;
}

int maildir_msg_seek(struct msg_stream *stream, uint64_t offset)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;

	if (offset > INT64_MAX)
		return store_fail(stream->st, STORE_ERR_INVALID, "seek to %llu",
				  (unsigned long long)offset);
	/* Past the end is fine for lseek: read() then returns 0. */
	if (lseek(s->fd, (off_t)offset, SEEK_SET) < 0)
		return store_fail(stream->st, STORE_ERR_TEMP, "lseek: %s", strerror(errno));
	return 0;
}

void maildir_msg_close(struct msg_stream *stream)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;

	close(s->fd);
	free(s);
}
