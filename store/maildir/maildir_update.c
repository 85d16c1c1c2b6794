/*
 * Changing messages: flags (a rename within cur/), expunge (an unlink),
 * POP3 retrieval times (the index).  Flag renames take no lock: rename is
 * atomic, and a rename that finds its file gone looks the message up again
 * by base name, since another process may have renamed it first.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries of a rename or unlink that keeps losing to concurrent renames. */
#define RENAME_TRIES 8

/* Follows a concurrent rename of message i: true if it still exists. */
static bool refind(struct maildir_box *box, unsigned i)
{
	char *now = maildir_find_base(box->path, box->extra[i].base);

	if (now == NULL)
		return false;
	maildir_extra_set_fname(&box->extra[i], now);
	return true;
}

/* Is cur/fname still there under that name?  (Unless we cannot tell.) */
static bool name_current(struct maildir_box *box, const char *fname)
{
	char *path = xasprintf("%s/cur/%s", box->path, fname);
	struct stat sb;
	int ret = lstat(path, &sb), err = errno;

	free(path);
	return ret == 0 || err != ENOENT;
}

/* view_current: the change record says the view's names are the files'
 * (maildir_notify.c), so a change that renames nothing needs no look. */
static int update_one(struct mailbox *mbox, uint32_t uid, unsigned add, unsigned remove,
		      uint32_t kw_add, uint32_t kw_remove, bool view_current)
{
	struct maildir_box *box = maildir_box(mbox);
	int found = mailbox_find_uid(mbox, uid);
	unsigned i;

	if (found < 0)
		return 0;	/* not in this view: already gone */
	i = (unsigned)found;
	/* \Recent belongs to the view, never to the file (RFC 3501 §2.3.2). */
	add &= ~MSG_FLAG_RECENT;
	remove &= ~MSG_FLAG_RECENT;
	for (int attempt = 0; attempt < RENAME_TRIES; attempt++) {
		struct maildir_msg_extra *x = &box->extra[i];
		unsigned recent = mbox->msgs[i].flags & MSG_FLAG_RECENT;
		/* From the current name, so others' changes are kept. */
		unsigned flags = (maildir_flags_from_name(x->fname) | add) & ~remove;
		uint32_t kw = (maildir_keywords_from_name(x->fname) | kw_add) & ~kw_remove;
		char *newname = maildir_name_with_flags_kw(x->base, x->fname, flags, kw);
		char *from, *to;
		int ret, err;

		if (strcmp(newname, x->fname) == 0) {
			/* Nothing to rename, if our name is still the file's: another
			 * process may have renamed it since (its flags changed), and
			 * then "no change" computed from our stale name would drop
			 * this change while answering that it was made. */
			if (!view_current && !name_current(box, x->fname)) {
				free(newname);
				if (!refind(box, i))
					return 0;	/* expunged meanwhile */
				continue;
			}
			free(newname);
			mbox->msgs[i].flags = flags | recent;
			mbox->msgs[i].keywords = kw;
			return 0;
		}
		from = xasprintf("%s/cur/%s", box->path, x->fname);
		to = xasprintf("%s/cur/%s", box->path, newname);
		ret = rename(from, to);
		err = errno;
		free(from);
		free(to);
		if (ret == 0) {
			maildir_notify_rename(box, x->fname, newname);
			maildir_extra_set_fname(x, newname);
			mbox->msgs[i].flags = flags | recent;
			mbox->msgs[i].keywords = kw;
			return 0;
		}
		free(newname);
		if (err != ENOENT)
			return store_fail(mbox->st, maildir_errno(err) == STORE_ERR_NOSPACE ?
					  STORE_ERR_NOSPACE : STORE_ERR_TEMP,
					  "rename %s: %s", x->fname, strerror(err));
		if (!refind(box, i))
			return 0;	/* expunged meanwhile */
	}
	return store_fail(mbox->st, STORE_ERR_TEMP, "uid %u keeps being renamed", uid);
}

/* Unlinks message i's file; true if it is gone (by us, then *ours_r is
 * set, or by someone else). */
static bool unlink_msg(struct maildir_box *box, unsigned i, bool *ours_r, int *err_r)
{
	*ours_r = false;
	for (int attempt = 0; attempt < RENAME_TRIES; attempt++) {
		char *path = xasprintf("%s/cur/%s", box->path, box->extra[i].fname);
		int ret = unlink(path);

		*err_r = errno;
		free(path);
		if (ret == 0) {
			*ours_r = true;
			return true;
		}
		if (*err_r != ENOENT)
			return false;
		/* Renamed since we looked (flags): unlink it under its new name. */
		if (!refind(box, i))
			return true;
	}
	*err_r = EAGAIN;
	return false;
}

/* The end of a change under the index lock: the record's sync window
 * closes, a current view is kept for the worker's other views, the lock
 * goes.  Returns ret. */
static int end_locked(struct maildir_box *box, int *lockfd, int ret)
{
	maildir_notify_sync_end(box);
	if (ret == 0)
		maildir_viewcache_put_current(box);
	maildir_unlock(lockfd);
	box->lockfd = -1;
	return ret;
}

int maildir_expunge(struct mailbox *mbox, const uint32_t *uids, size_t count)
{
	struct maildir_box *box = maildir_box(mbox);
	char *cur = xasprintf("%s/cur", box->path);
	struct maildir_quota quota;
	int64_t freed = 0, removed = 0;
	int lockfd, ret = 0, err;
	bool *gone, all_ours = true;

	/* Under the index lock, so the sync below is the one that forgets them. */
	lockfd = maildir_lock(mbox->st, box->path);
	if (lockfd < 0) {
		free(cur);
		return -1;
	}
	/* Another view of this process changed the folder last: take its
	 * copy now, so that the index can be written from this view after
	 * the unlinks instead of re-reading the folder. */
	if (!maildir_notify_current(box))
		(void)maildir_viewcache_adopt(box);
	gone = xcalloc(mbox->count ? mbox->count : 1, sizeof(*gone));
	/* And under the quota lock, so no recount runs between the unlinks
	 * and their line.  Without it the unlinks still happen (making room
	 * never waits for the bookkeeping); a recount repairs the record. */
	if (maildir_quota_begin(mbox->st, &quota) < 0)
		log_warn("maildir %s: expunging without updating the quota usage", box->path);
	for (size_t k = 0; k < count; k++) {
		int i = mailbox_find_uid(mbox, uids[k]);
		bool ours;

		if (i < 0)
			continue;
		if (!unlink_msg(box, (unsigned)i, &ours, &err)) {
			ret = store_fail(mbox->st, STORE_ERR_TEMP, "expunge uid %u: %s", uids[k],
					 strerror(err));
		} else if (!ours) {
			all_ours = false;	/* someone else was first: sync */
		} else {
			maildir_notify_expect(box, MAILDIR_NOTIFY_CUR, IN_DELETE, box->extra[i].fname);
			gone[i] = true;
			/* Only what we removed: whoever removed the rest counts it. */
			freed += (int64_t)maildir_quota_size(box->extra[i].fname,
							     mbox->msgs[i].psize);
			removed++;
		}
	}
	/* The unlinks are durable before we say so. */
	if (maildir_fsync_dir(cur) < 0 && ret == 0)
		ret = store_fail(mbox->st, STORE_ERR_TEMP, "fsync %s: %s", cur, strerror(errno));
	maildir_quota_record(mbox->st, &quota, -freed, -removed);
	maildir_quota_end(&quota);
	/* Only our unlinks since the view's sync: the index is the view
	 * without them (maildir_sync.c); else the sync forgets them. */
	if (!(ret == 0 && all_ours && maildir_notify_current(box) &&
	      maildir_view_drop_locked(box, lockfd, gone) == 0) &&
	    maildir_sync_locked(box, lockfd) < 0)
		ret = -1;
	free(gone);
	free(cur);
	return end_locked(box, &lockfd, ret);
}

int maildir_update_flags(struct mailbox *mbox, uint32_t uid, unsigned add, unsigned remove,
			 uint32_t kw_add, uint32_t kw_remove)
{
	return update_one(mbox, uid, add, remove, kw_add, kw_remove, false);
}

int maildir_update_flags_many(struct mailbox *mbox, const uint32_t *uids, size_t count,
			      unsigned add, unsigned remove)
{
	/* Asked once: the view's own renames keep it current.  A foreign
	 * rename from here on races with these changes as it would with
	 * one call each. */
	bool current = maildir_notify_current(maildir_box(mbox));
	int ret = 0;

	for (size_t k = 0; k < count; k++)
		if (update_one(mbox, uids[k], add, remove, 0, 0, current) < 0)
			ret = -1;
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int maildir_set_pop3_retrieved(struct mailbox *mbox, const uint32_t *uids, size_t count,
			       time_t when)
{
	struct maildir_box *box = maildir_box(mbox);
	struct maildir_box *fresh;
	char **bases = xcalloc(count ? count : 1, sizeof(*bases));
	size_t nbases = 0;
	int lockfd, ret;

	/* The UIDs are the caller's (a POP3 snapshot): what they name is
	 * decided by its view, now.  The index is updated through a view of
	 * its own, so that the caller's keeps its numbering even if the index
	 * was rebuilt with a new UIDVALIDITY meanwhile; otherwise the expunge
	 * that follows at QUIT would take the UIDs in the new numbering, and
	 * remove other messages than the session deleted. */
	for (size_t k = 0; k < count; k++) {
		int i = mailbox_find_uid(mbox, uids[k]);

		if (i < 0)
			continue;
		mbox->msgs[i].pop3_retrieved = when;
		bases[nbases++] = box->extra[i].base;	/* borrowed */
	}
	if (nbases == 0) {
		free(bases);
		return 0;
	}
	lockfd = maildir_lock(mbox->st, box->path);
	if (lockfd < 0) {
		free(bases);
		return -1;
	}
	/* Nothing but our own doings since our view's sync: the index is
	 * our view's, numbering included, so it is written from it (a POP3
	 * QUIT of 5,000 messages spent a quarter of its time re-reading). */
	if (maildir_notify_current(box)) {
		free(bases);
		return end_locked(box, &lockfd, maildir_view_write_locked(box, lockfd));
	}
	qsort(bases, nbases, sizeof(*bases), cmp_str);
	/* Re-read first: others may have changed the index since our view. */
	fresh = maildir_box_new(mbox->st, xstrdup(box->path));
	ret = maildir_sync_locked(fresh, lockfd);
	if (ret == 0) {
		for (unsigned i = 0; i < fresh->base.count; i++) {
			const char *base = fresh->extra[i].base;

			if (bsearch(&base, bases, nbases, sizeof(*bases), cmp_str) != NULL)
				fresh->base.msgs[i].pop3_retrieved = when;
		}
		ret = maildir_box_write_index(fresh);
	}
	maildir_unlock(&lockfd);
	maildir_box_free(&fresh);
	free(bases);
	return ret;
}
