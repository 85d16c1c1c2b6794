/*
 * Maildir++ backend: opening a user's store, folder paths, the locks, and
 * the mailbox views' open/sync/close.  Locks are fcntl OFD locks: they
 * conflict between two open files even in one process (two sessions of one
 * worker, each on a thread of the pool), and they vanish with the process,
 * so a kill -9 never leaves a stale lock behind.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_uint unique_counter;

unsigned maildir_next_counter(void)
{
	return atomic_fetch_add(&unique_counter, 1) + 1;
}

struct maildir_store *maildir_store(struct store *st)
{
	return (struct maildir_store *)st;
}

struct maildir_box *maildir_box(struct mailbox *box)
{
	return (struct maildir_box *)box;
}

/* mkdir, or something already there; unless follow, a symbolic link
 * there is refused (ELOOP): a folder is never made through a link.  (Other
 * things in the way are found when the folder is used.) */
static int mkdir_if_missing(const char *path, bool follow)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (!follow && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	return 0;
}

int maildir_make(const char *path, bool top_may_link)
{
	static const char *const subs[] = { "cur", "new", "tmp" };

	if (mkdir_if_missing(path, top_may_link) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *sub = xasprintf("%s/%s", path, subs[i]);
		int ret = mkdir_if_missing(sub, false), err = errno;

		free(sub);
		if (ret < 0) {
			errno = err;
			return -1;
		}
	}
	return 0;
}

enum store_error maildir_errno(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return STORE_ERR_NOSPACE;
	case EACCES:
	case EPERM:
	case EROFS:
		return STORE_ERR_PERM;
	case ENOENT:
		return STORE_ERR_NOTFOUND;
	default:
		return STORE_ERR_TEMP;
	}
}

int maildir_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

bool maildir_is_mailbox(const char *path, bool inbox)
{
	static const char *const subs[] = { "", "cur", "new", "tmp" };
	struct stat sb;

	for (unsigned i = inbox ? 1 : 0; i < 4; i++) {
		char *p = i == 0 ? xstrdup(path) : xasprintf("%s/%s", path, subs[i]);
		int ret = lstat(p, &sb);

		if (ret == 0 && S_ISLNK(sb.st_mode) && maildir_once(path, subs[i], "link"))
			log_warn("maildir: ignoring %s: a symbolic link (never followed)", p);
		free(p);
		if (ret < 0 || !S_ISDIR(sb.st_mode))
			return false;
	}
	return true;
}

bool maildir_lock_is_current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Opens (creating) path and takes an OFD write lock on it, polling for up
 * to MAILDIR_LOCK_WAIT_MS if wait is set.  0 with *fd_r, or -errno. */
static int lock_file(const char *path, bool wait, int *fd_r)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	for (int waited = 0;; waited += 10) {
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			if (maildir_lock_is_current(fd, path)) {
				*fd_r = fd;
				return 0;
			}
			/* The file was deleted (or replaced) while we waited for
			 * it: others now lock the file at path, and a lock on
			 * the old one would exclude nobody.  Start over there. */
			close(fd);
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd < 0)
				return -errno;
			continue;
		}
		if ((errno != EAGAIN && errno != EACCES && errno != EINTR) || !wait ||
		    waited >= MAILDIR_LOCK_WAIT_MS) {
			int err = errno;

			close(fd);
			return -err;
		}
		/* F_OFD_SETLKW could hang forever behind a stuck process; the
		 * holders keep this lock for milliseconds, so poll, and give up
		 * with a temporary error. */
		usleep(10000);
	}
}

int maildir_lock_file(struct store *st, const char *lock)
{
	int fd = -1, ret = lock_file(lock, true, &fd);

	if (ret < 0) {
		bool busy = ret == -EAGAIN || ret == -EACCES;

		store_fail(st, busy ? STORE_ERR_TEMP : maildir_errno(-ret), "lock %s: %s",
			   lock, busy ? "timed out" : strerror(-ret));
		fd = -1;
	}
	return fd;
}

int maildir_lock(struct store *st, const char *path)
{
	char *lock = xasprintf("%s/%s", path, MAILDIR_INDEX_LOCK);
	int fd = maildir_lock_file(st, lock);

	free(lock);
	return fd;
}

void maildir_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool user_name_ok(const char *user)
{
	/* One directory level under root, nothing hidden, nothing odd. */
	if (user[0] == '\0' || user[0] == '.' || strlen(user) > 255)
		return false;
	for (const char *c = user; *c != '\0'; c++)
		if (*c == '/' || (unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static int md_open_dir(const char *dir, struct store **st_r, enum store_error *err_r)
{
	struct maildir_store *ms;
	bool fresh;

	ms = xcalloc(1, sizeof(*ms));
	ms->base.ops = &maildir_store_ops;
	ms->pop3_lock_fd = -1;
	ms->dir = xstrdup(dir);
	/* root itself is not made: if it is missing, the mail file system is
	 * probably not mounted, and mail must not go to the wrong disk. */
	fresh = mkdir(ms->dir, 0700) == 0;
	if (maildir_make(ms->dir, true) < 0) {
		*err_r = maildir_errno(errno);
		log_error("maildir %s: %s", ms->dir, strerror(errno));
		free(ms->dir);
		free(ms);
		return -1;
	}
	/* Only the process whose mkdir made the account sets it up, so two
	 * first logins at once do it once, and a folder deleted later is not
	 * made again.  (A crash in between leaves some of them out for good:
	 * an account without them still works.) */
	if (fresh)
		maildir_create_special(&ms->base);
	*st_r = &ms->base;
	return 0;
}

static int md_open(const char *root, const char *user, struct store **st_r,
		   enum store_error *err_r)
{
	char *dir;
	int ret;

	if (!user_name_ok(user)) {
		*err_r = STORE_ERR_INVALID;
		return -1;
	}
	dir = xasprintf("%s/%s", root, user);
	ret = md_open_dir(dir, st_r, err_r);
	free(dir);
	return ret;
}

static void md_pop3_unlock(struct store *st)
{
	maildir_unlock(&maildir_store(st)->pop3_lock_fd);
}

static void md_close(struct store *st)
{
	struct maildir_store *ms = maildir_store(st);

	md_pop3_unlock(st);
	free(ms->dir);
	free(ms);
}

static int md_pop3_lock(struct store *st)
{
	struct maildir_store *ms = maildir_store(st);
	char *path;
	int ret;

	if (ms->pop3_lock_fd >= 0)
		return 0;
	/* RFC 1939 §8: one session per maildrop; never wait for it. */
	path = xasprintf("%s/%s", ms->dir, MAILDIR_POP3_LOCK);
	ret = lock_file(path, false, &ms->pop3_lock_fd);
	if (ret == -EAGAIN || ret == -EACCES)
		store_fail(st, STORE_ERR_INUSE, "POP3 maildrop lock is held");
	else if (ret < 0)
		store_fail(st, maildir_errno(-ret), "%s: %s", path, strerror(-ret));
	free(path);
	return ret < 0 ? -1 : 0;
}

static int md_pop3_login_stamp(struct store *st, time_t now, time_t *prev_r)
{
	struct maildir_store *ms = maildir_store(st);
	char *path = xasprintf("%s/%s", ms->dir, MAILDIR_POP3_LOGIN);
	char *tmp = xasprintf("%s.%d.%u.tmp", path, (int)getpid(), maildir_next_counter());
	const struct timespec times[2] = { { now, 0 }, { now, 0 } };
	char text[32];
	long long prev = 0;
	int fd, len, ret = -1;
	FILE *f = fopen(path, "re");

	if (f != NULL) {
		if (fscanf(f, "%lld", &prev) != 1 || prev < 0)
			prev = 0;
		fclose(f);
	}
	*prev_r = (time_t)prev;
	/* A rename, so a reader never sees a half-written stamp.  No fsync:
	 * losing the last stamp in a crash only relaxes LOGIN-DELAY once. */
	len = snprintf(text, sizeof(text), "%lld\n", (long long)now);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)len) != len || futimens(fd, times) < 0) {
		store_fail(st, maildir_errno(errno), "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	free(path);
	return ret;
}

char *maildir_folder_path(struct maildir_store *ms, const char *name)
{
	size_t len = strlen(name);
	char *path, *p;

	if (strcasecmp(name, "INBOX") == 0)
		return xstrdup(ms->dir);
	/* "a/b" is ".a.b": no empty levels, no '.' (Maildir++'s separator,
	 * which also rules out "." and ".."), no control characters. */
	if (len == 0 || len > MAILDIR_NAME_MAX || name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return NULL;
	for (const char *c = name; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == '.' || *c == 0x7f)
			return NULL;
	}
	path = xasprintf("%s/.%s", ms->dir, name);
	for (p = path + strlen(ms->dir) + 2; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	return path;
}

struct maildir_box *maildir_box_new(struct store *st, char *path)
{
	struct maildir_box *box = xcalloc(1, sizeof(*box));

	box->base.st = st;
	box->path = path;
	box->lockfd = -1;
	box->curfd = -1;
	return box;
}

void maildir_box_free(struct maildir_box **boxp)
{
	struct maildir_box *box = *boxp;

	if (box == NULL)
		return;
	bool big = box->base.count >= 50000;

	maildir_notify_detach(box);
	maildir_view_free(box);
	if (box->curfd >= 0)
		close(box->curfd);
	/* A big view's memory goes back to the system, not only to malloc. */
	if (big)
		malloc_trim(0);
	maildir_keywords_free(box);
	free(box->path);
	free(box);
	*boxp = NULL;
}

/* Takes the lock, syncs, and (if fn is set) lets fn change the view under
 * the same lock. */
static int with_lock(struct maildir_box *box, int (*fn)(struct maildir_box *box))
{
	int lockfd = maildir_lock(box->base.st, box->path);
	struct maildir_stamp before;
	int ret;

	if (lockfd < 0)
		return -1;
	/* The directories' times from before the scan: a change during it
	 * makes the next sync look again.  The index's from after: it is
	 * ours to write while we hold the lock. */
	before.valid = maildir_stamp_take(box->path, true, &before) == 0;
	if (maildir_notify_current(box) ||
	    (before.valid && maildir_stamp_unchanged(&box->stamp, &before)) ||
	    maildir_viewcache_adopt(box)) {
		/* Nothing moved since this view's sync (the same test as
		 * md_mailbox_sync's), and nothing can while we hold the lock:
		 * fn works on a current view.  Spares SELECT's \Recent claim
		 * a second read of a big cur/ right after the open's. */
		box->lockfd = lockfd;
		maildir_notify_sync_begin(box, true);
		ret = 0;
	} else {
		box->stamp.valid = false;
		ret = maildir_sync_locked(box, lockfd);
	}
	box->stamp.valid = false;
	if (ret == 0 && fn != NULL)
		ret = fn(box);
	if (ret == 0 && before.valid) {
		struct maildir_stamp after = before;

		if (maildir_stamp_take(box->path, false, &after) == 0) {
			after.taken = before.taken;
			box->stamp = after;
			/* A plain sync only: fn may have marked this
			 * session's \Recent messages in the view. */
			if (fn == NULL)
				maildir_viewcache_put(box, true);
		}
	}
	maildir_notify_sync_end(box);
	if (ret == 0)
		maildir_viewcache_put_current(box);
	maildir_unlock(&lockfd);
	box->lockfd = -1;
	return ret;
}

static int md_mailbox_open(struct store *st, const char *name, struct mailbox **box_r)
{
	struct maildir_box *box;
	char *path = maildir_folder_path(maildir_store(st), name);

	if (path == NULL)
		return store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	if (!maildir_is_mailbox(path, strcasecmp(name, "INBOX") == 0)) {
		free(path);
		return store_fail(st, STORE_ERR_NOTFOUND, "no mailbox %s", name);
	}
	/* At open, not at every sync: a readdir of a (nearly always empty)
	 * tmp/ per POP3 login or IMAP SELECT. */
	maildir_tmp_clean(path, time(NULL) - MAILDIR_TMP_STALE);
	box = maildir_box_new(st, path);
	maildir_notify_attach(box);
	if (maildir_viewcache_adopt(box) || maildir_viewcache_get(box)) {
		*box_r = &box->base;
		return 0;
	}
	/* An older copy still spares the open its readdir. */
	(void)maildir_viewcache_adopt_listed(box);
	if (with_lock(box, NULL) < 0) {
		maildir_box_free(&box);
		return -1;
	}
	*box_r = &box->base;
	return 0;
}

static void md_mailbox_close(struct mailbox *mbox)
{
	struct maildir_box *box = maildir_box(mbox);

	maildir_box_free(&box);
}

static int md_mailbox_sync(struct mailbox *mbox)
{
	struct maildir_box *box = maildir_box(mbox);
	struct maildir_stamp now;

	if (maildir_notify_current(box) || maildir_viewcache_adopt(box))
		return 0;
	if (maildir_stamp_take(box->path, true, &now) == 0 &&
	    maildir_stamp_unchanged(&box->stamp, &now))
		return 0;
	return with_lock(box, NULL);
}

static int claim(struct maildir_box *box)
{
	struct mailbox *b = &box->base;

	/* Under the lock, so two SELECTs cannot both claim a message. */
	maildir_view_mark_recent(box, b->first_recent_uid, true);
	if (b->first_recent_uid == b->uidnext)
		return 0;
	b->first_recent_uid = b->uidnext;
	return maildir_box_write_index(box);
}

static int md_claim_recent(struct mailbox *mbox)
{
	return with_lock(maildir_box(mbox), claim);
}

/* Deliveries land in new/, flag changes and our own moves rename in cur/;
 * the index beside them changes only with what those show. */
static int md_watch_dirs(const struct mailbox *mbox, char ***dirs_r, size_t *count_r)
{
	const struct maildir_box *box = (const struct maildir_box *)mbox;
	char **dirs = xcalloc(2, sizeof(*dirs));

	dirs[0] = xasprintf("%s/new", box->path);
	dirs[1] = xasprintf("%s/cur", box->path);
	*dirs_r = dirs;
	*count_r = 2;
	return 0;
}

const struct store_ops maildir_store_ops = {
	.name = "maildir",
	.open = md_open,
	.open_dir = md_open_dir,
	.close = md_close,
	.pop3_lock = md_pop3_lock,
	.pop3_unlock = md_pop3_unlock,
	.pop3_login_stamp = md_pop3_login_stamp,
	.mailbox_list = maildir_mailbox_list,
	.mailbox_create = maildir_mailbox_create,
	.mailbox_delete = maildir_mailbox_delete,
	.mailbox_rename = maildir_mailbox_rename,
	.subscription_set = maildir_subscription_set,
	.subscriptions = maildir_subscriptions,
	.mailbox_open = md_mailbox_open,
	.mailbox_close = md_mailbox_close,
	.mailbox_sync = md_mailbox_sync,
	.watch_dirs = md_watch_dirs,
	.claim_recent = md_claim_recent,
	.msg_open = maildir_msg_open,
	.msg_read = maildir_msg_read,
	.msg_seek = maildir_msg_seek,
	.msg_close = maildir_msg_close,
	.update_flags = maildir_update_flags,
	.update_flags_many = maildir_update_flags_many,
	.keyword_add = maildir_keyword_add,
	.expunge = maildir_expunge,
	.set_pop3_retrieved = maildir_set_pop3_retrieved,
	.copy = maildir_copy,
	.set_pop3_hidden = maildir_set_pop3_hidden,
	.quota_get = maildir_quota_get,
	.quota_check = maildir_quota_check,
	.save_begin = maildir_save_begin,
	.save_write = maildir_save_write,
	.save_keywords = maildir_save_keywords,
	.save_commit = maildir_save_commit,
	.save_abort = maildir_save_abort,
};
