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
#include <sys/stat.h>
#include <unistd.h>

/* Reads stop at the size the file had when opened: Maildir files are never
 * rewritten, and so the end costs no read() that returns 0 (a tenth of the
 * system calls of a POP3 download), and a seek no lseek(). */
struct maildir_stream {
	struct msg_stream base;
	int fd;
	uint64_t size, pos;
};

/* The view's handle on cur/, opened at its first use; -1 if it cannot be. */
static int cur_handle(struct maildir_box *box)
{
	if (box->curfd < 0) {
		char *cur = xasprintf("%s/cur", box->path);

		box->curfd = open(cur, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		free(cur);
	}
	return box->curfd;
}

/* Opens cur/fname if it is a regular file.  A symbolic link fails with
 * ELOOP (never followed: a message is a file of this Maildir, not whatever
 * a link points at), and so does anything else that took the file's place
 * (a FIFO would block the open without O_NONBLOCK).  Relative to the view's
 * handle on cur/, kept from its first read: the path walk of every open
 * was a tenth of a POP3 download's system time. */
static int open_in_cur(struct maildir_box *box, const char *fname, uint64_t *size_r)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, fd, err;
	bool kept = box->curfd >= 0;
	struct stat sb;

	fd = cur_handle(box) >= 0 ? openat(box->curfd, fname, flags) : -1;
	if (fd < 0 && kept && errno == ENOENT) {
		/* Our cur/ may be a folder deleted (or renamed away) since,
		 * with a new one at its path: look once more there. */
		close(box->curfd);
		box->curfd = -1;
		fd = cur_handle(box) >= 0 ? openat(box->curfd, fname, flags) : -1;
	}
	if (fd < 0 && box->curfd < 0) {
		char *path = xasprintf("%s/cur/%s", box->path, fname);

		fd = open(path, flags);
		free(path);
	}
	err = errno;
	if (fd >= 0 && (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		close(fd);
		fd = -1;
		err = ELOOP;
	}
	if (fd >= 0)
		*size_r = (uint64_t)sb.st_size;
	errno = err;
	return fd;
}

/* Opens message i's file, following one concurrent rename. */
static int open_msg_file(struct maildir_box *box, unsigned i, uint64_t *size_r)
{
	struct maildir_msg_extra *x = &box->extra[i];
	char *now;
	int fd = open_in_cur(box, x->fname, size_r);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	now = maildir_find_base(box->path, x->base);
	if (now == NULL) {
		errno = ENOENT;
		return -1;
	}
	maildir_extra_set_fname(x, now);
	return open_in_cur(box, x->fname, size_r);
}

/* Why message i cannot be read, for the caller and (once per message and
 * process, maildir_once.c) for the log: every RETR, FETCH and SEARCH of it
 * meets the same problem, and the log should say it once. */
static int open_failed(struct maildir_box *box, unsigned i, int err)
{
	struct store *st = box->base.st;
	const char *fname = box->extra[i].fname;
	uint32_t uid = box->base.msgs[i].uid;

	switch (err) {
	case ENOENT:
		/* Expunged by another session, or removed behind our back:
		 * the next sync tells this view's clients. */
		if (maildir_once(box->path, box->extra[i].base, "gone"))
			log_info("maildir %s: uid %u (%s) is gone from disk", box->path, uid,
				 fname);
		return store_fail(st, STORE_ERR_EXPUNGED, "uid %u was expunged", uid);
	case ELOOP:
		if (maildir_once(box->path, box->extra[i].base, "not a file"))
			log_warn("maildir %s/cur: %s (uid %u) is no longer a plain file; not "
				 "followed, it counts as gone", box->path, fname, uid);
		return store_fail(st, STORE_ERR_EXPUNGED, "uid %u is no longer a file", uid);
	case EACCES:
	case EPERM:
		/* Not temporary: someone must fix the file's mode. */
		if (maildir_once(box->path, box->extra[i].base, "unreadable"))
			log_error("maildir %s/cur/%s: cannot read message uid %u: %s", box->path,
				  fname, uid, strerror(err));
		return store_fail(st, STORE_ERR_PERM, "message uid %u cannot be read", uid);
	default:
		return store_fail(st, STORE_ERR_TEMP, "uid %u: %s", uid, strerror(err));
	}
}

int maildir_msg_open(struct mailbox *mbox, uint32_t uid, struct msg_stream **stream_r)
{
	struct maildir_box *box = maildir_box(mbox);
	struct maildir_stream *s;
	/* Downloads go in order: the message after the last one opened. */
	int i = mailbox_find_uid_at(mbox, uid, box->last_open + 1), fd;
	uint64_t size = 0;

	if (i < 0)
		return store_fail(mbox->st, STORE_ERR_EXPUNGED, "uid %u is not in the view", uid);
	box->last_open = (unsigned)i;
	fd = open_msg_file(box, (unsigned)i, &size);
	if (fd < 0)
		return open_failed(box, (unsigned)i, errno);
	s = xcalloc(1, sizeof(*s));
	s->base.st = mbox->st;
	s->fd = fd;
	s->size = size;
	*stream_r = &s->base;
	return 0;
}

ssize_t maildir_msg_read(struct msg_stream *stream, void *buf, size_t len)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;
	ssize_t n;

	if (s->pos >= s->size)
		return 0;
	if (len > s->size - s->pos)
		len = (size_t)(s->size - s->pos);
	do {
		n = pread(s->fd, buf, len, (off_t)s->pos);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		store_fail(stream->st, STORE_ERR_TEMP, "read: %s", strerror(errno));
	else if (n == 0)
		s->size = s->pos;	/* shorter than it was: its end */
	else
		s->pos += (uint64_t)n;
	return n;
}

int maildir_msg_seek(struct msg_stream *stream, uint64_t offset)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;

	if (offset > INT64_MAX)
		return store_fail(stream->st, STORE_ERR_INVALID, "seek to %llu",
				  (unsigned long long)offset);
	s->pos = offset;	/* past the end: reads return 0 */
	return 0;
}

void maildir_msg_close(struct msg_stream *stream)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;

	close(s->fd);
	free(s);
}
