/*
 * An account built from another server's mail (store/store_import.h).
 *
 * The new account grows in ROOT/.duomail-import.USER.PID beside the account
 * directory ROOT/USER (or the user's own maildir; user names never start
 * with '.', so it cannot be an account, and it is on the same file
 * system).  Each folder gets its messages in cur/ under their
 * final names, then at commit its duomail-index with the given UIDVALIDITY,
 * UIDNEXT and UIDs, its dovecot-keywords and its duomail-pop3-uidls; then
 * the whole directory replaces ROOT/USER in one renameat2(RENAME_EXCHANGE)
 * (or rename, for a new account).  Until that rename nothing of the import
 * is visible, so a failure or a crash leaves the target as it was (a crash
 * leaves the staging directory, which the next import of that user
 * removes).
 */
#include "store/maildir/maildir.h"
#include "store/store_import.h"
#include "core/buf.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBSCRIPTIONS "subscriptions"

struct imp_msg {
	uint32_t uid;
	uint64_t vsize, psize;
	char *base;
	char *uidl;		/* NULL: the one made from base */
};

struct imp_folder {
	char *name;
	char *path;
	uint32_t uidvalidity, uidnext;
	char *keywords[STORE_MAX_KEYWORDS];
	unsigned nkeywords;
	struct imp_msg *msgs;
	size_t count, alloc;
};

struct store_import {
	struct maildir_store ms;	/* ms.dir: the staging directory */
	char *target;			/* ROOT/USER */
	struct imp_folder *folders;
	size_t nfolders;
	char **subs;
	size_t nsubs;
	int msg_fd;
	char *msg_tmp;
	bool in_place;
	bool keep_staging;	/* the old tree stayed at the staging path */
	bool chown;
	uid_t uid;
	gid_t gid;
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int store_import_begin(const char *account, bool in_place, struct store_import **imp_r,
		       char *err, size_t errlen)
{
	struct store_import *imp;
	const char *slash = strrchr(account, '/');
	int has;

	*imp_r = NULL;
	if (slash == NULL || slash[1] == '\0' || slash[1] == '.')
		return fail(err, errlen, "%s: not a usable account directory", account);
	has = in_place ? 0 : store_account_has_mail(account, err, errlen);
	if (has < 0)
		return -1;
	if (has > 0)
		return fail(err, errlen, "%s already has mail; import only into an account "
			    "without messages", account);
	imp = xcalloc(1, sizeof(*imp));
	imp->ms.base.ops = &maildir_store_ops;
	imp->ms.pop3_lock_fd = -1;
	/* Beside the account, so on its file system; a dot name is never an
	 * account (nor, in ROOT, a user). */
	imp->ms.dir = xasprintf("%.*s/.duomail-import.%s.%d", (int)(slash - account), account,
				slash + 1, (int)getpid());
	imp->target = xstrdup(account);
	imp->msg_fd = -1;
	imp->in_place = in_place;
	/* A leftover of a crashed import with our pid is ours to reuse. */
	if (maildir_rm_tree(imp->ms.dir) < 0 || mkdir(imp->ms.dir, 0700) < 0 ||
	    maildir_make(imp->ms.dir, false) < 0) {
		fail(err, errlen, "%s: %s", imp->ms.dir, strerror(errno));
		store_import_abort(&imp);
		return -1;
	}
	*imp_r = imp;
	return 0;
}

static struct imp_folder *current(struct store_import *imp)
{
	return imp->nfolders > 0 ? &imp->folders[imp->nfolders - 1] : NULL;
}

int store_import_folder(struct store_import *imp, const char *name, uint32_t uidvalidity,
			uint32_t uidnext, char *err, size_t errlen)
{
	char *path = maildir_folder_path(&imp->ms, name);
	struct imp_folder *f;

	if (path == NULL)
		return fail(err, errlen, "folder '%s': not a name duomail can keep", name);
	for (size_t i = 0; i < imp->nfolders; i++) {
		if (strcmp(imp->folders[i].path, path) == 0) {
			free(path);
			return fail(err, errlen, "folder '%s' twice", name);
		}
	}
	if (uidnext == 0)
		uidnext = 1;
	if (uidvalidity == 0)
		uidvalidity = (uint32_t)time(NULL);
	if (strcmp(path, imp->ms.dir) != 0 && maildir_make(path, false) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	imp->folders = xrealloc(imp->folders, (imp->nfolders + 1) * sizeof(*imp->folders));
	f = &imp->folders[imp->nfolders++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->path = path;
	f->uidvalidity = uidvalidity;
	f->uidnext = uidnext;
	return 0;
}

int store_import_keyword(struct store_import *imp, const char *name, char *err, size_t errlen)
{
	struct imp_folder *f = current(imp);

	if (f == NULL)
		return fail(err, errlen, "keyword outside a folder");
	for (unsigned i = 0; i < f->nkeywords; i++)
		if (strcasecmp(f->keywords[i], name) == 0)
			return (int)i;
	if (name[0] == '\0' || strlen(name) > 200 || strpbrk(name, " \t\r\n") != NULL)
		return fail(err, errlen, "folder '%s': keyword '%s' is not usable", f->name, name);
	if (f->nkeywords == STORE_MAX_KEYWORDS)
		return fail(err, errlen, "folder '%s': more than %d keywords", f->name,
			    STORE_MAX_KEYWORDS);
	f->keywords[f->nkeywords] = xstrdup(name);
	return (int)f->nkeywords++;
}

int store_import_msg_begin(struct store_import *imp, int *fd_r, char *err, size_t errlen)
{
	struct imp_folder *f = current(imp);
	char *unique;

	if (f == NULL)
		return fail(err, errlen, "message outside a folder");
	unique = maildir_unique_name();
	imp->msg_tmp = xasprintf("%s/tmp/%s", f->path, unique);
	free(unique);
	imp->msg_fd = open(imp->msg_tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (imp->msg_fd < 0) {
		fail(err, errlen, "%s: %s", imp->msg_tmp, strerror(errno));
		xfree(&imp->msg_tmp);
		return -1;
	}
	*fd_r = imp->msg_fd;
	return 0;
}

/* psize and vsize (CRLF line ends) of the file on fd. */
static int measure(int fd, uint64_t *psize_r, uint64_t *vsize_r)
{
	char buf[65536];
	uint64_t total = 0, lf = 0;
	bool prev_cr = false;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += (uint64_t)n;
		lf += maildir_count_bare_lf(buf, (size_t)n, &prev_cr);
	}
	if (n < 0)
		return -1;
	*psize_r = total;
	*vsize_r = total + lf;
	return 0;
}

static bool base_ok(const char *base)
{
	return base[0] != '\0' && base[0] != '.' && strlen(base) < 200 &&
	       strpbrk(base, "/:\r\n") == NULL;
}

int store_import_msg_end(struct store_import *imp, const struct store_import_msg *m, char *err,
			 size_t errlen)
{
	struct imp_folder *f = current(imp);
	struct timespec times[2];
	struct imp_msg *im;
	char *base, *fname, *to;
	uint64_t psize, vsize;
	int fd = imp->msg_fd, ret = -1;

	imp->msg_fd = -1;
	if (m->uid == 0 || m->uid >= f->uidnext ||
	    (f->count > 0 && m->uid <= f->msgs[f->count - 1].uid)) {
		fail(err, errlen, "folder '%s': UID %" PRIu32 " out of order or not below "
		     "UIDNEXT %" PRIu32, f->name, m->uid, f->uidnext);
		goto out;
	}
	if (m->uidl != NULL && !maildir_uidl_ok(m->uidl)) {
		fail(err, errlen, "folder '%s': UID %" PRIu32 ": unusable POP3 UIDL", f->name,
		     m->uid);
		goto out;
	}
	if (measure(fd, &psize, &vsize) < 0 || fsync(fd) < 0) {
		fail(err, errlen, "%s: %s", imp->msg_tmp, strerror(errno));
		goto out;
	}
	/* INTERNALDATE is the file's mtime (maildir_sync.c). */
	times[0].tv_sec = times[1].tv_sec = m->received ? m->received : time(NULL);
	times[0].tv_nsec = times[1].tv_nsec = 0;
	if (futimens(fd, times) < 0) {
		fail(err, errlen, "%s: %s", imp->msg_tmp, strerror(errno));
		goto out;
	}
	if (m->base != NULL) {
		if (!base_ok(m->base)) {
			fail(err, errlen, "folder '%s': UID %" PRIu32 ": unusable file name '%s'",
			     f->name, m->uid, m->base);
			goto out;
		}
		base = xstrdup(m->base);
	} else {
		char *unique = maildir_unique_name();

		base = xasprintf("%s,S=%" PRIu64 ",W=%" PRIu64, unique, psize, vsize);
		free(unique);
	}
	fname = maildir_name_with_flags_kw(base, NULL, m->flags & ~(unsigned)MSG_FLAG_RECENT,
					   m->keywords);
	to = xasprintf("%s/cur/%s", f->path, fname);
	free(fname);
	/* RENAME_NOREPLACE: one base name twice in a folder is an error of the
	 * source, not something to paper over by losing a message. */
	if (renameat2(AT_FDCWD, imp->msg_tmp, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
		fail(err, errlen, "folder '%s': %s: %s", f->name, to,
		     errno == EEXIST ? "a message of that name twice" : strerror(errno));
		free(to);
		free(base);
		goto out;
	}
	free(to);
	if (f->count == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 64;
		f->msgs = xrealloc(f->msgs, f->alloc * sizeof(*f->msgs));
	}
	im = &f->msgs[f->count++];
	im->uid = m->uid;
	im->psize = psize;
	im->vsize = vsize;
	im->base = base;
	im->uidl = m->uidl != NULL ? xstrdup(m->uidl) : NULL;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(imp->msg_tmp);
	xfree(&imp->msg_tmp);
	return ret;
}

int store_import_msg_link(struct store_import *imp, const char *src_path,
			  const struct store_import_msg *m, char *err, size_t errlen)
{
	struct imp_folder *f = current(imp);
	char *unique;

	if (f == NULL)
		return fail(err, errlen, "message outside a folder");
	unique = maildir_unique_name();
	imp->msg_tmp = xasprintf("%s/tmp/%s", f->path, unique);
	free(unique);
	if (link(src_path, imp->msg_tmp) < 0) {
		fail(err, errlen, "link %s: %s", src_path, strerror(errno));
		xfree(&imp->msg_tmp);
		return -1;
	}
	imp->msg_fd = open(imp->msg_tmp, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (imp->msg_fd < 0) {
		fail(err, errlen, "%s: %s", imp->msg_tmp, strerror(errno));
		unlink(imp->msg_tmp);
		xfree(&imp->msg_tmp);
		return -1;
	}
	return store_import_msg_end(imp, m, err, errlen);
}

void store_import_set_owner(struct store_import *imp, uid_t uid, gid_t gid)
{
	imp->chown = true;
	imp->uid = uid;
	imp->gid = gid;
}

void store_import_subscribe(struct store_import *imp, const char *name)
{
	if (name[0] == '\0' || strpbrk(name, "\r\n") != NULL)
		return;
	for (size_t i = 0; i < imp->nsubs; i++)
		if (strcmp(imp->subs[i], name) == 0)
			return;
	imp->subs = xrealloc(imp->subs, (imp->nsubs + 1) * sizeof(*imp->subs));
	imp->subs[imp->nsubs++] = xstrdup(name);
}

static int store_err(struct store_import *imp, char *err, size_t errlen)
{
	const char *text;

	store_last_error(&imp->ms.base, &text);
	return fail(err, errlen, "%s", text);
}

static int write_folder(struct store_import *imp, struct imp_folder *f, char *err, size_t errlen)
{
	struct maildir_index idx = {
		.uidvalidity = f->uidvalidity,
		.uidnext = f->uidnext,
		.first_recent = f->uidnext,	/* nothing is new to the user's clients */
		.count = f->count,
	};
	struct buf b;
	int lockfd, ret = 0;
	bool any_uidl = false;
	char *cur;

	idx.entries = xcalloc(f->count ? f->count : 1, sizeof(*idx.entries));
	for (size_t i = 0; i < f->count; i++) {
		idx.entries[i].uid = f->msgs[i].uid;
		idx.entries[i].vsize = f->msgs[i].vsize;
		idx.entries[i].psize = f->msgs[i].psize;
		idx.entries[i].base = f->msgs[i].base;	/* borrowed */
		any_uidl |= f->msgs[i].uidl != NULL;
	}
	lockfd = maildir_lock(&imp->ms.base, f->path);
	if (lockfd < 0 || maildir_index_write(&imp->ms.base, f->path, &idx, lockfd) < 0)
		ret = store_err(imp, err, errlen);
	maildir_unlock(&lockfd);
	free(idx.entries);
	if (ret == 0 && f->nkeywords > 0) {
		buf_init(&b, (size_t)-1);
		for (unsigned i = 0; i < f->nkeywords; i++)
			buf_printf(&b, "%u %s\n", i, f->keywords[i]);
		if (maildir_replace_file(&imp->ms.base, f->path, MAILDIR_KEYWORDS, buf_ptr(&b),
					 buf_len(&b)) < 0)
			ret = store_err(imp, err, errlen);
		buf_free(&b);
	}
	if (ret == 0 && any_uidl) {
		buf_init(&b, (size_t)-1);
		buf_printf(&b, "%s 1\n", MAILDIR_POP3_UIDLS);
		for (size_t i = 0; i < f->count; i++)
			if (f->msgs[i].uidl != NULL)
				buf_printf(&b, "%s %s\n", f->msgs[i].uidl, f->msgs[i].base);
		if (maildir_replace_file(&imp->ms.base, f->path, MAILDIR_POP3_UIDLS, buf_ptr(&b),
					 buf_len(&b)) < 0)
			ret = store_err(imp, err, errlen);
		buf_free(&b);
	}
	cur = xasprintf("%s/cur", f->path);
	if (ret == 0 && (maildir_fsync_dir(cur) < 0 || maildir_fsync_dir(f->path) < 0))
		ret = fail(err, errlen, "fsync %s: %s", cur, strerror(errno));
	free(cur);
	return ret;
}

/* Mail delivered to the old account while we built the new one: into the
 * same folder of the new one if it has it, else its INBOX (new/, where any
 * Maildir writer puts mail, so the next sync gives it a UID). */
struct late_ctx {
	const char *old_dir, *new_dir;
	unsigned moved, failed;
};

static int move_late_cb(const char *dir, void *ctx)
{
	struct late_ctx *c = ctx;
	const char *rel = dir + strlen(c->old_dir);
	char *dest_folder = xasprintf("%s%s", c->new_dir, rel);
	struct stat sb;
	bool moved = false;

	if (stat(dest_folder, &sb) < 0) {
		free(dest_folder);
		dest_folder = xstrdup(c->new_dir);
	}
	for (int i = 0; i < 2; i++) {
		char *src = xasprintf("%s/%s", dir, i == 0 ? "new" : "cur");
		DIR *d = opendir(src);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			char *from, *to;

			char *base, *known;

			if (de->d_name[0] == '.')
				continue;
			/* In place, the old tree holds every imported message
			 * too (hard links): only what is new moves. */
			base = maildir_base_of(de->d_name);
			known = maildir_find_base(dest_folder, base);
			free(base);
			if (known != NULL) {
				free(known);
				continue;
			}
			from = xasprintf("%s/%s", src, de->d_name);
			to = xasprintf("%s/new/%s", dest_folder, de->d_name);
			if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
				c->moved++;
				moved = true;
			} else {
				log_error("import: cannot move %s to %s: %s", from, to,
					  strerror(errno));
				c->failed++;
			}
			free(from);
			free(to);
		}
		if (d != NULL)
			closedir(d);
		free(src);
	}
	/* Acknowledged mail: its new place is durable before the old tree,
	 * where its deliverer fsync'd it, may go. */
	if (moved) {
		char *new = xasprintf("%s/new", dest_folder);

		if (maildir_fsync_dir(new) < 0) {
			log_error("import: fsync %s: %s", new, strerror(errno));
			c->failed++;
		}
		free(new);
	}
	free(dest_folder);
	return 0;
}

int store_import_commit(struct store_import **impp, char **kept_r, char *err, size_t errlen)
{
	struct store_import *imp = *impp;
	char *root = NULL, *slash;
	struct stat sb;
	int ret = -1;

	*kept_r = NULL;
	if (imp->msg_fd >= 0) {
		fail(err, errlen, "a message was not finished");
		goto out;
	}
	for (size_t i = 0; i < imp->nfolders; i++)
		if (write_folder(imp, &imp->folders[i], err, errlen) < 0)
			goto out;
	if (imp->nsubs > 0) {
		struct buf b;
		int r;

		buf_init(&b, (size_t)-1);
		for (size_t i = 0; i < imp->nsubs; i++)
			buf_printf(&b, "%s\n", imp->subs[i]);
		r = maildir_replace_file(&imp->ms.base, imp->ms.dir, SUBSCRIPTIONS, buf_ptr(&b),
					 buf_len(&b));
		buf_free(&b);
		if (r < 0) {
			store_err(imp, err, errlen);
			goto out;
		}
	}
	if (imp->chown) {
		if (maildir_chown_tree(imp->ms.dir, imp->uid, imp->gid) < 0) {
			fail(err, errlen, "chown %s: %s", imp->ms.dir, strerror(errno));
			goto out;
		}
	}
	if (maildir_fsync_dir(imp->ms.dir) < 0) {
		fail(err, errlen, "fsync %s: %s", imp->ms.dir, strerror(errno));
		goto out;
	}
	root = xstrdup(imp->target);
	slash = strrchr(root, '/');
	*slash = '\0';
	if (lstat(imp->target, &sb) < 0 && errno == ENOENT) {
		if (rename(imp->ms.dir, imp->target) < 0) {
			fail(err, errlen, "rename %s to %s: %s", imp->ms.dir, imp->target,
			     strerror(errno));
			goto out;
		}
	} else {
		struct late_ctx late = { .old_dir = imp->ms.dir, .new_dir = imp->target };
		const char *user = slash + 1;

		/* Mail delivered since store_import_begin() looked is not
		 * checked for again: it is moved over below, so it is not
		 * lost, and an MTA delivering all the time does not stop an
		 * import. */
		if (renameat2(AT_FDCWD, imp->ms.dir, AT_FDCWD, imp->target, RENAME_EXCHANGE) < 0) {
			fail(err, errlen, "exchange %s and %s: %s", imp->ms.dir, imp->target,
			     strerror(errno));
			goto out;
		}
		/* The old, empty account is now at the staging path. */
		maildir_each_folder(imp->ms.dir, move_late_cb, &late);
		if (late.moved > 0)
			log_info("import: %u messages delivered during the import moved into the "
				 "new account", late.moved);
		if (late.failed > 0 && !imp->in_place) {
			/* Never delete mail that could not be moved. */
			char *kept = xasprintf("%s/.duomail-imported.%s.%lld", root, user,
					       (long long)time(NULL));

			if (rename(imp->ms.dir, kept) < 0) {
				free(kept);
				kept = xstrdup(imp->ms.dir);
			}
			imp->keep_staging = true;
			log_error("import: %u messages delivered during the import could not be "
				  "moved into the new account; they are in %s", late.failed, kept);
			*kept_r = kept;
		}
		if (imp->in_place) {
			char *kept = xasprintf("%s/.duomail-imported.%s.%lld", root, user,
					       (long long)time(NULL));

			/* Kept, not deleted: see store_import_begin(). */
			if (rename(imp->ms.dir, kept) < 0) {
				log_error("import: cannot move the old tree %s to %s: %s",
					  imp->ms.dir, kept, strerror(errno));
				free(kept);
				kept = xstrdup(imp->ms.dir);
				imp->keep_staging = true;
			}
			*kept_r = kept;
		}
	}
	if (maildir_fsync_dir(root) < 0) {
		fail(err, errlen, "fsync %s: %s", root, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(root);
	store_import_abort(impp);
	return ret;
}

void store_import_abort(struct store_import **impp)
{
	struct store_import *imp = *impp;

	if (imp == NULL)
		return;
	if (imp->msg_fd >= 0)
		close(imp->msg_fd);
	if (imp->msg_tmp != NULL)
		unlink(imp->msg_tmp);
	free(imp->msg_tmp);
	/* After a commit this is the old account (or nothing). */
	if (!imp->keep_staging && maildir_rm_tree(imp->ms.dir) < 0)
		log_error("import: cannot remove %s: %s", imp->ms.dir, strerror(errno));
	for (size_t i = 0; i < imp->nfolders; i++) {
		struct imp_folder *f = &imp->folders[i];

		for (size_t k = 0; k < f->count; k++) {
			free(f->msgs[k].base);
			free(f->msgs[k].uidl);
		}
		free(f->msgs);
		for (unsigned k = 0; k < f->nkeywords; k++)
			free(f->keywords[k]);
		free(f->name);
		free(f->path);
	}
	free(imp->folders);
	for (size_t i = 0; i < imp->nsubs; i++)
		free(imp->subs[i]);
	free(imp->subs);
	free(imp->ms.dir);
	free(imp->target);
	free(imp);
	*impp = NULL;
}
