/*
 * Saving a message the Maildir way: write it under tmp/, fsync it, rename
 * it into new/ (or cur/ when it has flags), fsync the directory.  Only then
 * is it acknowledged, so a crash at any point leaves either no message or a
 * whole one (a stray file in tmp/ at worst).  The final name carries
 * ",S=" (size on disk) and ",W=" (size with CRLF line ends) as Dovecot's do,
 * so nobody has to read the file again to know its sizes.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define CREATE_TRIES 5

struct maildir_save {
	struct store_save base;
	char *folder;
	char *unique;		/* <time>.M<usec>P<pid>Q<counter>.<host> */
	char *tmp_path;
	int fd;
	time_t received;
	unsigned flags;
	uint32_t keywords;	/* in the folder's numbering (dovecot-keywords) */
	uint64_t psize, bare_lf;
	uint64_t room;		/* bytes the quota had left at the last look */
	bool prev_cr;
	bool failed;		/* the temp file is gone already */
};

static enum store_error write_error(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EFBIG ? STORE_ERR_NOSPACE :
								STORE_ERR_TEMP;
}

char *maildir_unique_name(void)
{
	struct timeval tv;
	char host[256];

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' would break the file name, ',' the S=/W= fields; other
	 * odd bytes would only cost us readable UIDLs. */
	for (char *p = host; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || *p == ',' || (unsigned char)*p <= 0x20 ||
		    (unsigned char)*p >= 0x7f)
			*p = '_';
	return xasprintf("%lld.M%06ldP%dQ%u.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
			 (int)getpid(), maildir_next_counter(), host);
}

static void save_free(struct maildir_save *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->tmp_path);
	free(s->unique);
	free(s->folder);
	free(s);
}

/* A look at the quota without keeping its lock: does a message of bytes
 * still fit?  Sets s->room.  0 yes, -1 no (or the quota cannot be read). */
static int quota_peek(struct store *st, uint64_t bytes, uint64_t *room_r)
{
	struct maildir_quota q;
	int ret;

	*room_r = UINT64_MAX;
	if (st->quota_storage == 0 && st->quota_messages == 0)
		return 0;
	if (maildir_quota_begin(st, &q) < 0)
		return -1;
	ret = maildir_quota_fits(st, &q, bytes, 1);
	*room_r = maildir_quota_room(st, &q);
	maildir_quota_end(&q);
	return ret;
}

int maildir_save_begin(struct store *st, const char *mailbox, time_t received, unsigned flags,
		       struct store_save **save_r)
{
	struct maildir_save *s;
	char *folder = maildir_folder_path(maildir_store(st), mailbox);
	uint64_t room;
	int err = 0;

	if (folder == NULL)
		return store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	if (!maildir_is_mailbox(folder, strcasecmp(mailbox, "INBOX") == 0)) {
		free(folder);
		return store_fail(st, STORE_ERR_NOTFOUND, "no mailbox %s", mailbox);
	}
	/* A full account says so before the message is sent: LMTP and APPEND
	 * can refuse it without reading it. */
	if (quota_peek(st, 1, &room) < 0) {
		free(folder);
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	s->room = room;
	s->base.st = st;
	s->folder = folder;
	s->received = received;
	s->flags = flags & ~MSG_FLAG_RECENT;
	s->fd = -1;
	for (int i = 0; i < CREATE_TRIES && s->fd < 0; i++) {
		free(s->unique);
		free(s->tmp_path);
		s->unique = maildir_unique_name();
		s->tmp_path = xasprintf("%s/tmp/%s", folder, s->unique);
		s->fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		err = errno;
		if (s->fd < 0 && err != EEXIST)
			break;
	}
	if (s->fd < 0) {
		store_fail(st, write_error(err), "%s: %s", s->tmp_path, strerror(err));
		save_free(s);
		return -1;
	}
	*save_r = &s->base;
	return 0;
}

/* Drops the temp file at once: on a full disk its space matters. */
static void drop_temp(struct maildir_save *s)
{
	s->failed = true;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	unlink(s->tmp_path);
}

static int save_failed(struct maildir_save *s, int err)
{
	drop_temp(s);
	return store_fail(s->base.st, write_error(err), "%s: %s", s->tmp_path, strerror(err));
}


int maildir_save_write(struct store_save *save, const void *data, size_t len)
{
	struct maildir_save *s = (struct maildir_save *)save;
	const char *p = data;

	if (s->failed)
		return -1;
	s->bare_lf += maildir_count_bare_lf(data, len, &s->prev_cr);
	while (len > 0) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return save_failed(s, errno);
		p += n;
		len -= (size_t)n;
		s->psize += (uint64_t)n;
	}
	/* Past the room seen last time: look again (others may have made
	 * room), and stop a message that cannot fit before it fills the disk. */
	if (s->psize > s->room && quota_peek(save->st, s->psize, &s->room) < 0) {
		drop_temp(s);
		return -1;
	}
	return 0;
}

int maildir_save_keywords(struct store_save *save, const char *const *names, size_t count)
{
	struct maildir_save *s = (struct maildir_save *)save;
	struct maildir_box *box = maildir_box_new(save->st, xstrdup(s->folder));
	int lockfd = maildir_lock(save->st, s->folder), ret = 0;

	if (lockfd < 0) {
		maildir_box_free(&box);
		return -1;
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		unsigned idx;

		if (maildir_keyword_add_locked(box, names[i], &idx) == 0)
			s->keywords |= 1u << idx;
		else if (store_last_error(save->st, NULL) == STORE_ERR_NOSPACE)
			log_warn("maildir %s: no room for keyword %s; saved without it", s->folder,
				 names[i]);
		else
			ret = -1;
	}
	maildir_unlock(&lockfd);
	maildir_box_free(&box);
	return ret;
}

void maildir_save_abort(struct store_save *save)
{
	struct maildir_save *s = (struct maildir_save *)save;

	if (!s->failed)
		unlink(s->tmp_path);
	save_free(s);
}

/* The view's own APPEND without a sync (maildir_view_add_locked): the
 * saved file (in_dir/name, just renamed there) is moved on into cur/ as a
 * sync would, and added.  Returns its UID, or 0 to sync instead. */
static uint32_t add_to_view(struct maildir_box *box, int lockfd, const struct maildir_save *s,
			    const char *name, bool in_new)
{
	char *from, *to, *fname;
	struct stat sb;
	uint32_t uid = 0;

	maildir_notify_expect(box, in_new ? MAILDIR_NOTIFY_NEW : MAILDIR_NOTIFY_CUR, IN_MOVED_TO,
			      name);
	if (!maildir_notify_current(box))
		return 0;
	fname = in_new ? xasprintf("%s:2,", name) : xstrdup(name);
	from = xasprintf("%s/%s/%s", s->folder, in_new ? "new" : "cur", name);
	to = xasprintf("%s/cur/%s", s->folder, fname);
	if (in_new && renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
		goto out;	/* the sync deals with it */
	if (in_new) {
		maildir_notify_expect(box, MAILDIR_NOTIFY_NEW, IN_MOVED_FROM, name);
		maildir_notify_expect(box, MAILDIR_NOTIFY_CUR, IN_MOVED_TO, fname);
	}
	/* INTERNALDATE is the file's time, as a sync reads it. */
	if (lstat(to, &sb) < 0)
		goto out;
	uid = maildir_view_add_locked(box, lockfd, fname, s->psize, s->psize + s->bare_lf,
				      sb.st_mtime);
out:
	free(from);
	free(to);
	free(fname);
	return uid;
}

/* Gives the new message its UID now (APPENDUID): a sync under the lock, of
 * view if the message is to be \Recent there (store_save_claim_recent),
 * else of a view of its own.  The message is name in the folder's new/
 * (in_new) or cur/. */
static uint32_t assign_uid(struct store *st, const struct maildir_save *s, const char *base,
			   const char *name, bool in_new, uint32_t *uidvalidity_r, int lockfd)
{
	const char *folder = s->folder;
	struct mailbox *recent_view = s->base.recent_view;
	struct maildir_box *view = recent_view != NULL ? maildir_box(recent_view) : NULL;
	struct maildir_box *box = view != NULL && strcmp(view->path, folder) == 0 ? view :
				  maildir_box_new(st, xstrdup(folder));
	uint32_t uid = 0;

	box->stamp.valid = false;	/* the view moves past it */
	box->claim_in_sync = box == view;	/* one index write for UID and claim */
	if (lockfd >= 0 && box == view && (uid = add_to_view(box, lockfd, s, name, in_new)) != 0) {
		if (uidvalidity_r != NULL)
			*uidvalidity_r = box->base.uidvalidity;
	} else if (lockfd >= 0 && maildir_sync_locked(box, lockfd) == 0) {
		for (unsigned i = 0; i < box->base.count && uid == 0; i++)
			if (strcmp(box->extra[i].base, base) == 0)
				uid = box->base.msgs[i].uid;
		if (uid != 0 && uidvalidity_r != NULL)
			*uidvalidity_r = box->base.uidvalidity;
	}
	box->claim_in_sync = false;
	if (box == view) {
		maildir_notify_sync_end(box);
		if (uid != 0)
			maildir_viewcache_put_current(box);
		box->lockfd = -1;
	}
	if (uid == 0) {
		const char *text;

		store_last_error(st, &text);
		log_warn("maildir %s: saved %s but could not give it a UID yet: %s", folder,
			 base, text);
	}
	if (box != view)
		maildir_box_free(&box);
	return uid;
}

int maildir_save_commit(struct store_save *save, uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	struct maildir_save *s = (struct maildir_save *)save;
	struct store *st = save->st;
	const struct timespec times[2] = { { s->received, 0 }, { s->received, 0 } };
	char *base = NULL, *name, *dir, *dest;
	struct maildir_quota quota = { .lockfd = -1 };
	int lockfd = -1, ret = -1;

	if (s->failed)
		goto out;
	/* INTERNALDATE is the file's mtime; set it before the fsync so the
	 * date is as durable as the text. */
	if (s->received != 0 && futimens(s->fd, times) < 0)
		log_warn("maildir %s: cannot set the received time: %s", s->tmp_path,
			 strerror(errno));
	if (fsync(s->fd) < 0) {
		save_failed(s, errno);
		goto out;
	}
	if (close(s->fd) < 0) {
		int err = errno;

		s->fd = -1;
		save_failed(s, err);
		goto out;
	}
	s->fd = -1;
	/* A UID wanted (APPEND): the index lock from before the message shows,
	 * so that no other session's sync gives it its UID, and takes its
	 * \Recent, between the rename and ours (RFC 3501 §6.3.11).  Index
	 * lock before quota lock, as everywhere.  If the lock cannot be had,
	 * the message is saved all the same, without a UID yet. */
	if (uid_r != NULL)
		lockfd = maildir_lock(st, s->folder);
	/* Another view of this process changed the folder last: its copy,
	 * taken before our file shows, lets the UID be given from the view
	 * (add_to_view) instead of a re-read. */
	if (lockfd >= 0 && s->base.recent_view != NULL &&
	    strcmp(maildir_box(s->base.recent_view)->path, s->folder) == 0 &&
	    !maildir_notify_current(maildir_box(s->base.recent_view)))
		(void)maildir_viewcache_adopt(maildir_box(s->base.recent_view));
	/* The check and the rename under one quota lock: two saves cannot
	 * both take the last room. */
	if (maildir_quota_begin(st, &quota) < 0 ||
	    maildir_quota_fits(st, &quota, s->psize, 1) < 0) {
		drop_temp(s);
		goto out;
	}
	base = xasprintf("%s,S=%" PRIu64 ",W=%" PRIu64, s->unique, s->psize,
			 s->psize + s->bare_lf);
	bool in_new = s->flags == 0 && s->keywords == 0;

	if (!in_new) {
		name = maildir_name_with_flags_kw(base, NULL, s->flags, s->keywords);
		dir = xasprintf("%s/cur", s->folder);
	} else {
		name = xstrdup(base);
		dir = xasprintf("%s/new", s->folder);
	}
	dest = xasprintf("%s/%s", dir, name);
	if (rename(s->tmp_path, dest) < 0) {
		save_failed(s, errno);
	} else {
		/* In place: it counts, acknowledged or not. */
		maildir_quota_record(st, &quota, (int64_t)s->psize, 1);
		if (maildir_fsync_dir(dir) < 0)
			/* Not known to be durable: the caller must not acknowledge
			 * it (it shows up anyway, so a retry may double it). */
			store_fail(st, write_error(errno), "fsync %s: %s", dir, strerror(errno));
		else
			ret = 0;
	}
	maildir_quota_end(&quota);
	free(dest);
	free(dir);
	if (ret == 0 && uid_r != NULL)
		*uid_r = assign_uid(st, s, base, name, in_new, uidvalidity_r, lockfd);
	free(name);
out:
	maildir_unlock(&lockfd);
	maildir_quota_end(&quota);
	free(base);
	save_free(s);
	return ret;
}
