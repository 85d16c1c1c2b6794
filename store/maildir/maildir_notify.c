/*
 * Knowing without a look at the disk that a view is current.
 *
 * A session re-syncs its view when the folder may have changed, and
 * directory times (maildir_stamp.c) can say "unchanged" only a second after
 * the last change: a folder whose sessions keep changing it was re-read at
 * nearly every command, the session's own changes included (9 full syncs
 * per session of the IMAP mixed benchmark, 1,000 messages a folder).
 *
 * Here the process watches each open folder once with inotify (cur/, new/
 * and the folder directory itself) and keeps a short record of what
 * changed: which directory, what happened, a hash of the name.  The kernel
 * queues an event within the system call that made the change, so a read
 * of the queue (without waiting) knows of every change that was made
 * before, by anyone: a foreign MUA, another worker, `duomail deliver`.  A
 * view keeps its place in the record and a list of the events its own
 * changes cause (its flag renames; the moves and index writes of its
 * syncs); it is current while everything after its place is its own, or
 * another program's rename of a message in cur/ (a flag change), which it
 * applies to itself from the record: the new name says the new flags.
 * Anything else, a lost record (the queue or the ring overflowed, a watch
 * went away) or no watch at all (inotify's limits), and the caller falls
 * back to the stamps and a sync.
 *
 * inotify sees the changes made through this kernel only: a Maildir that
 * other hosts change too (NFS, CIFS, a cluster file system) would look
 * current when it is not.  So only folders on local file systems are
 * watched (by statfs type); the others re-sync by stamps, as before.
 *
 * In the folder directory only the files that make up the view count (the
 * index, the keyword names, POP3's hide list and kept UIDLs): the lock
 * files, maildirsize, subfolders and temporary files do not.  Those four
 * are only ever replaced under the index lock, so while a sync holds it
 * their events are the sync's own.
 *
 * Threads of the worker's pool sync views at once: one mutex guards the
 * queue and the table; a view's own fields belong to the thread running
 * its job.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#define NOTIFY_RING	MAILDIR_NOTIFY_RING
#define NOTIFY_FOLDERS	256	/* folders watched per process */
#define NOTIFY_EXPECT	512	/* own events a view waits for */

#define DIR_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define SELF_MASK	(IN_DELETE_SELF | IN_MOVE_SELF)

struct nevent {
	uint8_t where;
	uint32_t mask;
	uint32_t cookie;	/* pairs IN_MOVED_FROM with its IN_MOVED_TO */
	uint64_t hash;
	char *name;		/* cur/ only: for renames applied to views */
};

struct maildir_notify_folder {
	uint64_t id;		/* unique in the process's life */
	char *path;
	int wd[MAILDIR_NOTIFY_WHERE];	/* -1: none */
	bool broken;		/* a watch is gone: never current again */
	uint64_t head;		/* events recorded so far */
	unsigned refs;
	uint64_t used;
	struct nevent ring[NOTIFY_RING];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ifd = -1;
static bool ifd_failed, disabled;
static struct maildir_notify_folder *folders[NOTIFY_FOLDERS];
static uint64_t clock_now, last_id;

static uint64_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Does an event on name in the folder directory touch the view? */
static bool dir_name_counts(const char *name)
{
	return strcmp(name, MAILDIR_INDEX) == 0 || strcmp(name, MAILDIR_KEYWORDS) == 0 ||
	       strcmp(name, MAILDIR_POP3_HIDDEN) == 0 || strcmp(name, MAILDIR_POP3_UIDLS) == 0;
}

static void record(struct maildir_notify_folder *f, int where, uint32_t mask, uint32_t cookie,
		   const char *name)
{
	struct nevent *e = &f->ring[f->head % NOTIFY_RING];

	e->where = (uint8_t)where;
	e->mask = mask & DIR_MASK;
	e->cookie = cookie;
	e->hash = name_hash(name);
	free(e->name);
	e->name = where == MAILDIR_NOTIFY_CUR ? xstrdup(name) : NULL;
	f->head++;
}

/* Every folder's views lose their place (the queue overflowed). */
static void lose_all(void)
{
	for (int i = 0; i < NOTIFY_FOLDERS; i++)
		if (folders[i] != NULL)
			folders[i]->head += NOTIFY_RING + 1;
}

static void on_event(const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		lose_all();
		return;
	}
	for (int i = 0; i < NOTIFY_FOLDERS; i++) {
		struct maildir_notify_folder *f = folders[i];

		if (f == NULL)
			continue;
		for (int w = 0; w < MAILDIR_NOTIFY_WHERE; w++) {
			if (f->wd[w] != ev->wd)
				continue;
			if (ev->mask & (IN_IGNORED | SELF_MASK | IN_UNMOUNT)) {
				/* A moved directory keeps its watch; a deleted
				 * one loses it (IN_IGNORED follows). */
				if (ev->mask & IN_MOVE_SELF)
					inotify_rm_watch(ifd, ev->wd);
				f->broken = true;
				f->wd[w] = -1;
				return;
			}
			if (ev->len == 0 || !(ev->mask & DIR_MASK))
				return;
			if (w == MAILDIR_NOTIFY_DIR && !dir_name_counts(ev->name))
				return;
			record(f, w, ev->mask, ev->cookie, ev->name);
			return;
		}
	}
}

/* Reads what the kernel has queued, without waiting.  Caller holds the mutex. */
static void drain(void)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (ifd < 0)
		return;
	for (;;) {
		ssize_t n = read(ifd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			on_event(ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void folder_free(struct maildir_notify_folder *f)
{
	for (int w = 0; w < MAILDIR_NOTIFY_WHERE; w++)
		if (f->wd[w] >= 0)
			inotify_rm_watch(ifd, f->wd[w]);
	for (int i = 0; i < NOTIFY_RING; i++)
		free(f->ring[i].name);
	free(f->path);
	free(f);
}

/* Is wd already some other folder's (one directory reached by two paths)? */
static bool wd_taken(int wd)
{
	for (int i = 0; i < NOTIFY_FOLDERS; i++)
		for (int w = 0; folders[i] != NULL && w < MAILDIR_NOTIFY_WHERE; w++)
			if (folders[i]->wd[w] == wd)
				return true;
	return false;
}

static struct maildir_notify_folder *folder_new(const char *path)
{
	static const char *const subs[MAILDIR_NOTIFY_WHERE] = { "", "/cur", "/new" };
	struct maildir_notify_folder *f = xcalloc(1, sizeof(*f));

	f->path = xstrdup(path);
	f->id = ++last_id;
	for (int w = 0; w < MAILDIR_NOTIFY_WHERE; w++)
		f->wd[w] = -1;
	for (int w = 0; w < MAILDIR_NOTIFY_WHERE; w++) {
		char *dir = xasprintf("%s%s", path, subs[w]);
		int wd = inotify_add_watch(ifd, dir, DIR_MASK | SELF_MASK | IN_ONLYDIR |
						     IN_DONT_FOLLOW);

		free(dir);
		if (wd < 0 || wd_taken(wd)) {
			/* ENOSPC: the per-user watch limit.  Stamps then. */
			if (wd < 0 && errno == ENOSPC && maildir_once(path, "", "inotify"))
				log_warn("maildir %s: no inotify watch left "
					 "(fs.inotify.max_user_watches): its views re-sync by "
					 "directory times", path);
			if (wd >= 0 && !wd_taken(wd))
				inotify_rm_watch(ifd, wd);
			folder_free(f);
			return NULL;
		}
		f->wd[w] = wd;
	}
	return f;
}

/* Is path on a file system that only this kernel changes? */
static bool local_fs(const char *path)
{
	/* Not all of these are in every <linux/magic.h>. */
	static const unsigned long local[] = {
		EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC, TMPFS_MAGIC,
		OVERLAYFS_SUPER_MAGIC,
		0xf2f52010 /* f2fs */, 0x2fc12fc1 /* zfs */, 0xca451a4e /* bcachefs */,
		0x3153464a /* jfs */, REISERFS_SUPER_MAGIC,
	};
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return false;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if ((unsigned long)sf.f_type == local[i])
			return true;
	if (maildir_once(path, "", "not local"))
		log_info("maildir %s: file system type 0x%lx is not known to be local: its "
			 "views re-sync by directory times", path, (unsigned long)sf.f_type);
	return false;
}

void maildir_notify_enable(bool on)
{
	pthread_mutex_lock(&lock);
	disabled = !on;
	pthread_mutex_unlock(&lock);
}

/* A slot for a new folder: an empty one, or the least used unreferenced. */
static int free_slot(void)
{
	int empty = -1, oldest = -1;

	for (int i = 0; i < NOTIFY_FOLDERS; i++) {
		if (folders[i] == NULL) {
			if (empty < 0)
				empty = i;
		} else if (folders[i]->refs == 0 &&
			   (oldest < 0 || folders[i]->used < folders[oldest]->used)) {
			oldest = i;
		}
	}
	if (empty >= 0)
		return empty;
	if (oldest >= 0) {
		folder_free(folders[oldest]);
		folders[oldest] = NULL;
	}
	return oldest;
}

void maildir_notify_attach(struct maildir_box *box)
{
	struct maildir_notify_folder *f = NULL;
	int slot;

	pthread_mutex_lock(&lock);
	if (disabled)
		goto out;
	if (ifd < 0 && !ifd_failed) {
		ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ifd < 0) {
			ifd_failed = true;
			log_warn("maildir: no inotify instance (%s): views re-sync by directory "
				 "times", strerror(errno));
		}
	}
	if (ifd < 0)
		goto out;
	drain();
	for (int i = 0; i < NOTIFY_FOLDERS && f == NULL; i++)
		if (folders[i] != NULL && !folders[i]->broken &&
		    strcmp(folders[i]->path, box->path) == 0)
			f = folders[i];
	if (f == NULL) {
		if (!local_fs(box->path))
			goto out;
		slot = free_slot();
		if (slot < 0)
			goto out;	/* NOTIFY_FOLDERS open at once: stamps */
		f = folder_new(box->path);
		if (f == NULL)
			goto out;
		folders[slot] = f;
	}
	f->refs++;
	f->used = ++clock_now;
	box->nf = f;
	box->nf_valid = false;	/* until a sync under the lock places it */
	box->nf_listed = false;
out:
	pthread_mutex_unlock(&lock);
}

void maildir_notify_detach(struct maildir_box *box)
{
	if (box->nf == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (--box->nf->refs == 0 && box->nf->broken) {
		for (int i = 0; i < NOTIFY_FOLDERS; i++)
			if (folders[i] == box->nf)
				folders[i] = NULL;
		folder_free(box->nf);
	}
	pthread_mutex_unlock(&lock);
	box->nf = NULL;
	box->nf_listed = false;
	free(box->expect);
	box->expect = NULL;
	box->nexpect = box->expect_alloc = 0;
	box->nf_valid = false;
}

void maildir_notify_expect(struct maildir_box *box, int where, uint32_t mask, const char *name)
{
	if (box->nf == NULL || !box->nf_valid)
		return;
	if (box->nexpect == NOTIFY_EXPECT) {
		box->nf_valid = false;	/* too much to follow: sync */
		return;
	}
	if (box->nexpect == box->expect_alloc) {
		box->expect_alloc = box->expect_alloc ? box->expect_alloc * 2 : 8;
		box->expect = xrealloc(box->expect, box->expect_alloc * sizeof(*box->expect));
	}
	box->expect[box->nexpect++] = (struct maildir_notify_expect){
		.where = (uint8_t)where, .mask = mask, .hash = name_hash(name),
	};
}

void maildir_notify_rename(struct maildir_box *box, const char *from, const char *to)
{
	maildir_notify_expect(box, MAILDIR_NOTIFY_CUR, IN_MOVED_FROM, from);
	maildir_notify_expect(box, MAILDIR_NOTIFY_CUR, IN_MOVED_TO, to);
}

/* Takes the expected event e out of box's list; false if it is not there. */
static bool consume(struct maildir_box *box, const struct nevent *e, bool dir_is_ours)
{
	if (dir_is_ours && e->where == MAILDIR_NOTIFY_DIR)
		return true;
	for (size_t i = 0; i < box->nexpect; i++) {
		struct maildir_notify_expect *x = &box->expect[i];

		if (x->where == e->where && x->mask == e->mask && x->hash == e->hash) {
			*x = box->expect[--box->nexpect];
			return true;
		}
	}
	return false;
}

/* A rename in cur/ by someone else, to apply to a view. */
struct rename {
	const char *from, *to;
};

/* Is name's base (up to ':') base? */
static bool same_base(const char *a, const char *b)
{
	size_t la = strcspn(a, ":"), lb = strcspn(b, ":");

	return la == lb && memcmp(a, b, la) == 0;
}

/* Applies the renames to box's view; false if one does not fit it (a name
 * the view does not have: then it must sync). */
static bool apply_renames(struct maildir_box *box, const struct rename *r, size_t n)
{
	struct mailbox *b = &box->base;

	for (size_t k = 0; k < n; k++) {
		unsigned i;

		for (i = 0; i < b->count; i++)
			if (box->extra[i].fname != NULL && strcmp(box->extra[i].fname, r[k].from) == 0)
				break;
		if (i == b->count)
			return false;
		maildir_extra_set_fname(&box->extra[i], xstrdup(r[k].to));
		/* \Recent is the view's, never in a name (RFC 3501 §2.3.2). */
		b->msgs[i].flags = maildir_flags_from_name(r[k].to) |
				   (b->msgs[i].flags & MSG_FLAG_RECENT);
		b->msgs[i].keywords = maildir_keywords_from_name(r[k].to);
	}
	return true;
}

/* Are all events after from box's own, or (apply) renames in cur/ that
 * box takes over?  Caller holds the mutex and has drained.  Advances box
 * to the head if so. */
static bool only_own_since(struct maildir_box *box, uint64_t from, bool dir_is_ours, bool apply)
{
	struct maildir_notify_folder *f = box->nf;
	struct rename *renames = NULL;
	size_t nrenames = 0;
	bool ok = true;

	if (f->broken || f->head - from > NOTIFY_RING)
		return false;
	for (uint64_t s = from; s < f->head && ok; s++) {
		const struct nevent *e = &f->ring[s % NOTIFY_RING], *next;

		if (consume(box, e, dir_is_ours))
			continue;
		next = s + 1 < f->head ? &f->ring[(s + 1) % NOTIFY_RING] : NULL;
		ok = apply && e->where == MAILDIR_NOTIFY_CUR && e->mask == IN_MOVED_FROM &&
		     next != NULL && next->where == MAILDIR_NOTIFY_CUR &&
		     next->mask == IN_MOVED_TO && next->cookie == e->cookie &&
		     e->name != NULL && next->name != NULL && same_base(e->name, next->name);
		if (!ok)
			break;
		renames = xrealloc(renames, (nrenames + 1) * sizeof(*renames));
		renames[nrenames++] = (struct rename){ e->name, next->name };
		s++;
	}
	/* Under the mutex: the names are the ring's. */
	if (ok && nrenames > 0)
		ok = apply_renames(box, renames, nrenames);
	free(renames);
	if (ok)
		box->nf_seq = f->head;
	return ok;
}

bool maildir_notify_current(struct maildir_box *box)
{
	bool current;

	if (box->nf == NULL || !box->nf_valid || box->nf_in_sync)
		return false;
	pthread_mutex_lock(&lock);
	drain();
	current = only_own_since(box, box->nf_seq, false, true);
	pthread_mutex_unlock(&lock);
	if (!current)
		box->nf_valid = false;
	return current;
}

void maildir_notify_sync_begin(struct maildir_box *box, bool view_current)
{
	if (box->nf == NULL)
		return;
	box->nf_in_sync = true;
	if (view_current) {
		/* No scan: the view stays valid from where it was (if it
		 * was known to be), with what it still expects. */
		box->nf_sync_from = box->nf_seq;
		return;
	}
	pthread_mutex_lock(&lock);
	drain();
	box->nf_sync_from = box->nf->head;
	pthread_mutex_unlock(&lock);
	/* What was expected before is either in the record already (and
	 * the scan reads the result) or will never come. */
	box->nexpect = 0;
	box->nf_valid = true;	/* so the sync's own moves are expected */
	box->nf_listed = false;	/* until the sync ends in place */
}

void maildir_notify_sync_end(struct maildir_box *box)
{
	if (box->nf == NULL || !box->nf_in_sync)
		return;
	box->nf_in_sync = false;
	pthread_mutex_lock(&lock);
	drain();
	/* Still under the index lock: the view's files in the folder
	 * directory changed only by our hand since the sync began. */
	box->nf_valid = box->nf_valid && only_own_since(box, box->nf_sync_from, true, true);
	pthread_mutex_unlock(&lock);
	/* Current at nf_seq: the view lists cur/ as of then.  (A view that
	 * was current before and did not scan stays listed where it was.) */
	if (box->nf_valid)
		box->nf_listed = true;
	if (!box->nf_valid)
		box->nexpect = 0;
}

bool maildir_notify_position(const struct maildir_box *box, uint64_t *id_r, uint64_t *seq_r)
{
	bool ok;

	if (box->nf == NULL)
		return false;
	pthread_mutex_lock(&lock);
	drain();
	ok = !box->nf->broken;
	*id_r = box->nf->id;
	*seq_r = box->nf->head;
	pthread_mutex_unlock(&lock);
	return ok;
}

void maildir_notify_adopted(struct maildir_box *box, uint64_t seq)
{
	box->nf_seq = seq;
	box->nf_valid = true;
	box->nf_listed = true;
	box->nexpect = 0;
}

void maildir_notify_sync_failed(struct maildir_box *box)
{
	box->nf_in_sync = false;
	box->nf_valid = false;
	box->nf_listed = false;
	box->nexpect = 0;
}

/*
 * A re-sync's listing of cur/ without a readdir: the view's names, and on
 * them every creation and removal in cur/ the record holds since the view
 * last listed the folder, in order.  A name's last event decides whether
 * it is there; a name no event touched is as the view says, since it was
 * so then and nothing changed it.  So the listing is readdir's (the sync
 * filters it as it filters readdir's), while the record reaches back.
 * With a folder's sessions spread over two workers, half the changes are
 * the other process's: each made every view of the folder re-read it.
 */
bool maildir_notify_listed_at(const struct maildir_box *box, uint64_t *from_r)
{
	if (box->nf == NULL || !box->nf_listed)
		return false;
	*from_r = box->nf_seq;
	return true;
}

void maildir_notify_listed(struct maildir_box *box, uint64_t seq)
{
	box->nf_seq = seq;
	box->nf_valid = false;
	box->nf_listed = true;
	box->nexpect = 0;
}

bool maildir_notify_replay(struct maildir_box *box, uint64_t from,
			   void (*fn)(void *ctx, const char *name, bool added), void *ctx)
{
	struct maildir_notify_folder *f = box->nf;
	bool ok;

	if (f == NULL)
		return false;
	pthread_mutex_lock(&lock);
	drain();
	ok = !f->broken && f->head >= from && f->head - from <= NOTIFY_RING;
	for (uint64_t s = from; ok && s < f->head; s++) {
		const struct nevent *e = &f->ring[s % NOTIFY_RING];

		if (e->where != MAILDIR_NOTIFY_CUR)
			continue;
		if (e->name == NULL) {
			ok = false;	/* cannot be: cur/ events keep names */
			break;
		}
		fn(ctx, e->name, (e->mask & (IN_CREATE | IN_MOVED_TO)) != 0);
	}
	pthread_mutex_unlock(&lock);
	return ok;
}
