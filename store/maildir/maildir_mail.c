/*
 * Reading messages and changing them: flags (a rename), expunge (an
 * unlink), POP3 retrieval times (the index).  Another process may rename a
 * file at any moment (its flags changed), so a missing file is looked up
 * again by its base name before it counts as expunged.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct maildir_stream {
	struct msg_stream base;
	int fd;
};

static int find(struct mailbox *mbox, uint32_t uid)
{
	int i = mailbox_find_uid(mbox, uid);

	if (i < 0)
		store_fail(mbox->st, STORE_ERR_EXPUNGED, "uid %u is not in the view", uid);
	return i;
}

/* Opens cur/fname of message i, following a concurrent rename once. */
static int open_msg_file(struct maildir_box *box, int i)
{
	char path[4600];
	char *now;
	int fd;

	snprintf(path, sizeof(path), "%s/cur/%s", box->path, box->extra[i].fname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	now = maildir_find_base(box->path, box->extra[i].base);
	if (now == NULL)
		return -1;
	free(box->extra[i].fname);
	box->extra[i].fname = now;
	snprintf(path, sizeof(path), "%s/cur/%s", box->path, now);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int maildir_msg_open(struct mailbox *mbox, uint32_t uid, struct msg_stream **stream_r)
{
	struct maildir_box *box = (struct maildir_box *)mbox;
	struct maildir_stream *s;
	int i = find(mbox, uid), fd;

	if (i < 0)
		return -1;
	fd = open_msg_file(box, i);
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

void maildir_msg_close(struct msg_stream *stream)
{
	struct maildir_stream *s = (struct maildir_stream *)stream;

	close(s->fd);
	free(s);
}

int maildir_update_flags(struct mailbox *mbox, uint32_t uid, unsigned add, unsigned remove)
{
	struct maildir_box *box = (struct maildir_box *)mbox;
	int i = mailbox_find_uid(mbox, uid);

	if (i < 0)
		return 0;	/* not ours to change: already gone */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct maildir_msg_extra *x = &box->extra[i];
		/* RECENT is this view's, not the file's: it stays as it is. */
		unsigned recent = mbox->msgs[i].flags & MSG_FLAG_RECENT;
		unsigned flags = (maildir_flags_from_name(x->fname) | (add & ~MSG_FLAG_RECENT)) &
				 ~remove;
		char *newname = maildir_name_with_flags(x->base, x->fname, flags);
		char from[4600], to[4600];

		if (strcmp(newname, x->fname) == 0) {
			free(newname);
			mbox->msgs[i].flags = flags | recent;
			return 0;
		}
		snprintf(from, sizeof(from), "%s/cur/%s", box->path, x->fname);
		snprintf(to, sizeof(to), "%s/cur/%s", box->path, newname);
		if (rename(from, to) == 0) {
			free(x->fname);
			x->fname = newname;
			mbox->msgs[i].flags = flags | recent;
			return 0;
		}
		free(newname);
		if (errno != ENOENT)
			return store_fail(mbox->st, STORE_ERR_TEMP, "rename %s: %s", from,
					  strerror(errno));
		/* Renamed by someone else meanwhile: find it and try again. */
		char *now = maildir_find_base(box->path, x->base);
		if (now == NULL)
			return 0;	/* expunged meanwhile */
		free(x->fname);
		x->fname = now;
	}
	return store_fail(mbox->st, STORE_ERR_TEMP, "uid %u keeps being renamed", uid);
}

int maildir_expunge(struct mailbox *mbox, const uint32_t *uids, size_t count)
{
	struct maildir_box *box = (struct maildir_box *)mbox;
	char cur[4096];
	int lockfd, ret = 0;

	lockfd = maildir_lock(mbox->st, box->path);
	if (lockfd < 0)
		return -1;
	for (size_t k = 0; k < count; k++) {
		int i = mailbox_find_uid(mbox, uids[k]);
		char path[4600];

		if (i < 0)
			continue;
		snprintf(path, sizeof(path), "%s/cur/%s", box->path, box->extra[i].fname);
		if (unlink(path) == 0)
			continue;
		if (errno == ENOENT) {
			char *now = maildir_find_base(box->path, box->extra[i].base);

			if (now == NULL)
				continue;	/* someone else expunged it */
			snprintf(path, sizeof(path), "%s/cur/%s", box->path, now);
			free(now);
			if (unlink(path) == 0 || errno == ENOENT)
				continue;
		}
		ret = store_fail(mbox->st, STORE_ERR_TEMP, "unlink %s: %s", path, strerror(errno));
	}
	/* The unlinks are durable before we say so. */
	snprintf(cur, sizeof(cur), "%s/cur", box->path);
	if (maildir_fsync_dir(cur) < 0 && ret == 0)
		ret = store_fail(mbox->st, STORE_ERR_TEMP, "fsync %s: %s", cur, strerror(errno));
	if (maildir_sync_locked(box) < 0)
		ret = -1;
	maildir_unlock(lockfd);
	return ret;
}

int maildir_set_pop3_retrieved(struct mailbox *mbox, const uint32_t *uids, size_t count,
			       time_t when)
{
	struct maildir_box *box = (struct maildir_box *)mbox;
	int lockfd, ret;

	lockfd = maildir_lock(mbox->st, box->path);
	if (lockfd < 0)
		return -1;
	/* Re-read first: the index on disk may have moved on since our view. */
	ret = maildir_sync_locked(box);
	if (ret == 0) {
		for (size_t k = 0; k < count; k++) {
			int i = mailbox_find_uid(mbox, uids[k]);

			if (i >= 0)
				mbox->msgs[i].pop3_retrieved = when;
		}
		ret = maildir_index_write(box);
	}
	maildir_unlock(lockfd);
	return ret;
}
