/*
 * Maildir++ backend: opening a user's store, folder names, and the locks.
 * Locks are fcntl OFD locks: they conflict between two open files even in
 * one process (two sessions of one worker), and vanish with the process.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct maildir_store *maildir_store(struct store *st)
{
	return (struct maildir_store *)st;
}

static int mkdir_if_missing(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* cur, new and tmp under path. */
int maildir_make(const char *path)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char sub[4096];

	if (mkdir_if_missing(path) < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
		if (mkdir_if_missing(sub) < 0)
			return -1;
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
		return STORE_ERR_PERM;
	case ENOENT:
		return STORE_ERR_NOTFOUND;
	default:
		return STORE_ERR_TEMP;
	}
}

static int md_open(const char *root, const char *user, struct store **st_r,
		   enum store_error *err_r)
{
	struct maildir_store *ms;

	if (user[0] == '\0' || user[0] == '.' || strchr(user, '/') != NULL) {
		*err_r = STORE_ERR_INVALID;
		return -1;
	}
	ms = xcalloc(1, sizeof(*ms));
	ms->base.ops = &maildir_store_ops;
	ms->pop3_lock_fd = -1;
	ms->dir = xasprintf("%s/%s", root, user);
	if (maildir_make(ms->dir) < 0) {
		*err_r = maildir_errno(errno);
		log_error("maildir %s: %s", ms->dir, strerror(errno));
		free(ms->dir);
		free(ms);
		return -1;
	}
	*st_r = &ms->base;
	return 0;
}

static void md_pop3_unlock(struct store *st)
{
	struct maildir_store *ms = maildir_store(st);

	if (ms->pop3_lock_fd >= 0) {
		close(ms->pop3_lock_fd);
		ms->pop3_lock_fd = -1;
	}
}

static void md_close(struct store *st)
{
	struct maildir_store *ms = maildir_store(st);

	md_pop3_unlock(st);
	free(ms->dir);
	free(ms);
}

static int lock_file(const char *path, bool wait, int *fd_r)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	for (int waited = 0;; waited += 10) {
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			*fd_r = fd;
			return 0;
		}
		if ((errno != EAGAIN && errno != EACCES) || !wait ||
		    waited >= MAILDIR_LOCK_WAIT_MS) {
			int err = errno;

			close(fd);
			return -err;
		}
		/* Holders keep the lock for milliseconds: poll briefly. */
		usleep(10000);
	}
}

int maildir_lock(struct store *st, const char *path)
{
	char lock[4096];
	int fd, ret;

	snprintf(lock, sizeof(lock), "%s/%s", path, MAILDIR_INDEX_LOCK);
	ret = lock_file(lock, true, &fd);
	if (ret < 0) {
		store_fail(st, ret == -EAGAIN || ret == -EACCES ? STORE_ERR_TEMP :
			   maildir_errno(-ret), "index lock %s: %s", lock, strerror(-ret));
		return -1;
	}
	return fd;
}

void maildir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int maildir_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

static int md_pop3_lock(struct store *st)
{
	struct maildir_store *ms = maildir_store(st);
	char path[4096];
	int ret;

	if (ms->pop3_lock_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", ms->dir, MAILDIR_POP3_LOCK);
	ret = lock_file(path, false, &ms->pop3_lock_fd);
	if (ret == -EAGAIN || ret == -EACCES)
		return store_fail(st, STORE_ERR_INUSE, "POP3 maildrop lock is held");
	if (ret < 0)
		return store_fail(st, maildir_errno(-ret), "%s: %s", path, strerror(-ret));
	return 0;
}

static int md_pop3_login_stamp(struct store *st, time_t now, time_t *prev_r)
{
	struct maildir_store *ms = maildir_store(st);
	char path[4096], tmp[4200], text[32];
	FILE *f;
	long long prev = 0;

	snprintf(path, sizeof(path), "%s/%s", ms->dir, MAILDIR_POP3_LOGIN);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fscanf(f, "%lld", &prev) != 1)
			prev = 0;
		fclose(f);
	}
	*prev_r = (time_t)prev;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		return store_fail(st, maildir_errno(errno), "%s: %s", tmp, strerror(errno));
	snprintf(text, sizeof(text), "%lld\n", (long long)now);
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
	}
	return 0;
}

char *maildir_folder_path(struct maildir_store *ms, const char *name)
{
	char *path, *p;

	if (strcasecmp(name, "INBOX") == 0)
		return xstrdup(ms->dir);
	/* "a/b" is .a.b; every component must be a plain, non-empty name. */
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "//") != NULL ||
	    name[strlen(name) - 1] == '/')
		return NULL;
	for (const char *c = name; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == '.' || *c == 0x7f)
			return NULL;
	}
	path = xasprintf("%s/.%s", ms->dir, name);
	for (p = path + strlen(ms->dir) + 2; *p; p++)
		if (*p == '/')
			*p = '.';
	return path;
}

static int md_mailbox_open(struct store *st, const char *name, struct mailbox **box_r)
{
	struct maildir_box *box;
	struct stat sb;
	char *path = maildir_folder_path(maildir_store(st), name);
	int lockfd;

	if (path == NULL)
		return store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		free(path);
		return store_fail(st, STORE_ERR_NOTFOUND, "no mailbox %s", name);
	}
	box = xcalloc(1, sizeof(*box));
	box->base.st = st;
	box->path = path;
	lockfd = maildir_lock(st, path);
	if (lockfd < 0 || maildir_sync_locked(box) < 0) {
		maildir_unlock(lockfd);
		maildir_view_free(box);
		free(box->path);
		free(box);
		return -1;
	}
	maildir_unlock(lockfd);
	*box_r = &box->base;
	return 0;
}

static void md_mailbox_close(struct mailbox *mbox)
{
	struct maildir_box *box = (struct maildir_box *)mbox;

	maildir_view_free(box);
	free(box->path);
	free(box);
}

static int md_claim_recent(struct mailbox *mbox)
{
	struct maildir_box *box = (struct maildir_box *)mbox;
	int lockfd = maildir_lock(mbox->st, box->path);
	int ret;

	if (lockfd < 0)
		return -1;
	/* Under the lock, so two SELECTs cannot both claim a message. */
	ret = maildir_sync_locked(box);
	if (ret == 0) {
		for (unsigned i = 0; i < mbox->count; i++)
			if (mbox->msgs[i].uid >= mbox->first_recent_uid)
				mbox->msgs[i].flags |= MSG_FLAG_RECENT;
		mbox->first_recent_uid = mbox->uidnext;
		ret = maildir_index_write(box);
	}
	maildir_unlock(lockfd);
	return ret;
}

static int md_mailbox_sync(struct mailbox *mbox)
{
	struct maildir_box *box = (struct maildir_box *)mbox;
	int lockfd = maildir_lock(mbox->st, box->path);
	int ret;

	if (lockfd < 0)
		return -1;
	ret = maildir_sync_locked(box);
	maildir_unlock(lockfd);
	return ret;
}

const struct store_ops maildir_store_ops = {
	.name = "maildir",
	.open = md_open,
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
	.claim_recent = md_claim_recent,
	.msg_open = maildir_msg_open,
	.msg_read = maildir_msg_read,
	.msg_close = maildir_msg_close,
	.update_flags = maildir_update_flags,
	.expunge = maildir_expunge,
	.set_pop3_retrieved = maildir_set_pop3_retrieved,
	.save_begin = maildir_save_begin,
	.save_write = maildir_save_write,
	.save_commit = maildir_save_commit,
	.save_abort = maildir_save_abort,
};
