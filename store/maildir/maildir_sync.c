/*
 * Synchronising a Maildir folder: take in what others dropped into new/,
 * match the files of cur/ to the index by base name, give UIDs to files the
 * index does not know (in (mtime, name) order), forget files that are gone,
 * re-read flags from the names, and rebuild the index when it is missing or
 * damaged.  Callers hold the folder's index lock, so UIDs are handed out by
 * one process at a time; renames in cur/ (flag changes) are not under that
 * lock and may happen while we read the directory.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t scans, listed_scans;	/* syncs; of them, without readdir */

struct disk_file {
	char *fname;
	char *base;
	time_t mtime;
	uint64_t size;
};

struct scan {
	struct disk_file *files;
	size_t count, alloc;
};

/*
 * Name lookups of a sync (the view's names, the index's bases, the scan's
 * duplicates) by hash rather than by sort and binary search: a busy
 * folder's sessions re-sync at every command, and the sorts' string
 * compares were 18 % of a worker's time at 1,000 messages a folder.
 * A table of slots holds positions (+ 1, 0 is empty) in the caller's array;
 * the caller compares the names, so the table needs no copy of them.
 */
struct slots {
	size_t mask;
	size_t *v;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void slots_init(struct slots *t, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	t->mask = size - 1;
	t->v = xcalloc(size, sizeof(*t->v));
}

/* The slot for name: the one holding it (*t->v != 0), or the empty one
 * where it would go.  name_at(i) names position i of the caller's array. */
static size_t *slots_find(const struct slots *t, const char *name,
			  const char *(*name_at)(const void *arr, size_t i), const void *arr)
{
	size_t i = (size_t)name_hash(name) & t->mask;

	while (t->v[i] != 0 && strcmp(name_at(arr, t->v[i] - 1), name) != 0)
		i = (i + 1) & t->mask;
	return &t->v[i];
}

/* One message of the view being built. */
struct item {
	struct store_msg m;
	struct maildir_msg_extra x;
};

struct items {
	struct item *v;
	size_t count, alloc;
};

/* What a sync works on, so the steps below can be small functions. */
struct sync_ctx {
	struct maildir_box *box;
	int curfd;
	struct maildir_index idx;
	bool *found;		/* per index entry: its file was seen */
	size_t missing;		/* index entries not seen yet */
	struct items items;
	bool changed;		/* the index must be rewritten */
	struct slots by_base;	/* idx's entries by base name */
};

/* Decides which files a scan should stat and keep. */
typedef bool scan_filter_fn(const char *base, void *ctx);

static void disk_file_free(struct disk_file *f)
{
	free(f->fname);
	free(f->base);
	f->fname = f->base = NULL;
}

static void scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->count; i++)
		disk_file_free(&sc->files[i]);
	free(sc->files);
	memset(sc, 0, sizeof(*sc));
}

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->count; i++)
		maildir_extra_free(&it->v[i].m, &it->v[i].x);
	free(it->v);
	memset(it, 0, sizeof(*it));
}

static bool name_usable(const char *dir, const char *name)
{
	/* Dot files are not mail (nor "." and ".."), silently: editors and
	 * file browsers leave them.  A line break would break the index's one
	 * line per message: that one is worth a word, once. */
	if (name[0] == '.')
		return false;
	if (strpbrk(name, "\r\n") == NULL)
		return true;
	if (maildir_once(dir, name, "line break"))
		log_warn("maildir %s: ignoring a file with a line break in its name", dir);
	return false;
}

/* A directory entry in cur/ that is not a regular file (a directory, a
 * symbolic link, a FIFO): never a message, never followed; said once. */
static void not_a_message(const char *path, const char *name, mode_t mode)
{
	if (maildir_once(path, name, "not a file"))
		log_warn("maildir %s/cur: ignoring %s: %s", path, name,
			 S_ISLNK(mode) ? "a symbolic link (never followed)" :
			 S_ISDIR(mode) ? "a directory" : "not a plain file");
}

/* new/X -> cur/X:2, (the usual Maildir hand-over from MTA to reader). */
static void move_new_to_cur(struct maildir_box *box, int curfd)
{
	const char *path = box->path;
	char *dir = xasprintf("%s/new", path);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL) {
		if (errno != ENOENT)
			log_warn("maildir %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *to;

		if (!name_usable(dir, de->d_name) || de->d_type == DT_DIR)
			continue;
		to = strchr(de->d_name, ':') != NULL ? xstrdup(de->d_name) :
						       xasprintf("%s:2,", de->d_name);
		/* Never replace a file in cur/: that would lose a message. */
		int moved = renameat2(dirfd(d), de->d_name, curfd, to, RENAME_NOREPLACE);

		if (moved < 0 && errno == EINVAL)	/* a file system without NOREPLACE */
			moved = renameat(dirfd(d), de->d_name, curfd, to);
		else if (moved < 0 && errno != ENOENT)	/* ENOENT: another process took it */
			log_warn("maildir %s: cannot move %s to cur/: %s", dir, de->d_name,
				 strerror(errno));
		if (moved == 0) {
			maildir_notify_expect(box, MAILDIR_NOTIFY_NEW, IN_MOVED_FROM, de->d_name);
			maildir_notify_expect(box, MAILDIR_NOTIFY_CUR, IN_MOVED_TO, to);
		}
		free(to);
	}
	closedir(d);
	free(dir);
	/* No fsync: after a crash the file is in new/ or in cur/, and either
	 * way it keeps its base name, which is what the index refers to. */
}

/*
 * What the view being replaced measured, by file name: a name that readdir
 * shows again as a regular file is the same file (Maildir files are never
 * rewritten; a flag change is a rename, a new name), so its time and size
 * need no stat.  A sync of a folder whose other sessions keep changing it
 * is mostly stats of unchanged files otherwise (40 % of a busy worker's
 * time at 1,000 messages a folder).  The first sync of a view stats all.
 */
struct known_file {
	const char *fname;
	time_t mtime;
	uint64_t size;
};

struct known {
	struct known_file *v;
	size_t count;
	struct slots by_name;
};

static const char *known_name(const void *arr, size_t i)
{
	return ((const struct known_file *)arr)[i].fname;
}

static void known_add(struct known *k, const struct store_msg *msgs,
		      const struct maildir_msg_extra *extra, unsigned count)
{
	k->count = 0;
	k->v = count ? xmalloc(count * sizeof(*k->v)) : NULL;
	slots_init(&k->by_name, count);
	for (unsigned i = 0; i < count; i++) {
		size_t *slot;

		if (extra[i].fname == NULL)
			continue;
		slot = slots_find(&k->by_name, extra[i].fname, known_name, k->v);
		if (*slot != 0)
			continue;	/* one name, one file */
		k->v[k->count].fname = extra[i].fname;
		k->v[k->count].mtime = msgs[i].received;
		k->v[k->count].size = msgs[i].psize;
		*slot = ++k->count;
	}
}

static void known_free(struct known *k)
{
	free(k->v);
	free(k->by_name.v);
}

/* From box's own last view, or for a view that has none yet (an open, a
 * fresh view for an APPEND's UID) from the process's last copy of the
 * folder (maildir_viewcache.c), which *lent keeps alive meanwhile. */
static void known_init(struct known *k, const struct maildir_box *box,
		       const struct maildir_view_copy **lent)
{
	const struct mailbox *b = &box->base;

	*lent = NULL;
	if (b->count == 0 && b->uidvalidity == 0)
		*lent = maildir_viewcache_lend(box->path);
	if (*lent != NULL)
		known_add(k, (*lent)->msgs, (*lent)->extra, (*lent)->count);
	else
		known_add(k, b->msgs, box->extra, b->count);
}

static const struct known_file *known_find(const struct known *k, const char *fname)
{
	size_t *slot;

	if (k == NULL || k->count == 0)
		return NULL;
	slot = slots_find(&k->by_name, fname, known_name, k->v);
	return *slot != 0 ? &k->v[*slot - 1] : NULL;
}

/* Reads cur/ (through a fresh description of curfd, so rescans start at
 * the top).  Files that vanish between readdir and stat are skipped: they
 * were renamed or expunged meanwhile.  known: names whose stat the last
 * view already has (NULL: stat every file). */
/* Adds cur/name to the scan if it is a message file: from known (the view's
 * last look at it) when trusted, else by a stat. */
static void scan_one(struct scan *sc, const char *path, int dfd, const char *name,
		     bool trust_known, scan_filter_fn *filter, void *ctx, const struct known *known)
{
	const struct known_file *k;
	struct disk_file f;
	struct stat sb;

	if (!name_usable(path, name))
		return;
	f.base = maildir_base_of(name);
	if (filter != NULL && !filter(f.base, ctx)) {
		free(f.base);
		return;
	}
	k = trust_known ? known_find(known, name) : NULL;
	if (k != NULL) {
		f.mtime = k->mtime;
		f.size = k->size;
	} else if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		/* No symlinks: a message is a file in this Maildir, nothing else. */
		free(f.base);
		return;
	} else if (!S_ISREG(sb.st_mode)) {
		not_a_message(path, name, sb.st_mode);
		free(f.base);
		return;
	} else {
		f.mtime = sb.st_mtime;
		f.size = (uint64_t)sb.st_size;
	}
	f.fname = xstrdup(name);
	if (sc->count == sc->alloc) {
		sc->alloc = sc->alloc ? sc->alloc * 2 : 64;
		sc->files = xrealloc(sc->files, sc->alloc * sizeof(*sc->files));
	}
	sc->files[sc->count++] = f;
}

static int scan_cur(const char *path, int curfd, struct scan *sc, scan_filter_fn *filter,
		    void *ctx, const struct known *known)
{
	struct dirent *de;
	int fd = openat(curfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	memset(sc, 0, sizeof(*sc));
	if (d == NULL) {
		err = errno;
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		scan_one(sc, path, dirfd(d), de->d_name, de->d_type == DT_REG, filter, ctx,
			 known);
	}
	err = errno;
	closedir(d);
	if (err != 0) {
		scan_free(sc);
		errno = err;
		return -1;
	}
	return 0;
}

/* The names in cur/ the change record touched since the view last listed
 * it (maildir_notify_replay), each with whether its last event left it
 * there.  At most one a recorded event. */
struct touched_name {
	char *name;
	bool there;
};

struct touched {
	struct touched_name v[MAILDIR_NOTIFY_RING];
	size_t count;
	struct slots by_name;
};

static const char *touched_name_at(const void *arr, size_t i)
{
	return ((const struct touched_name *)arr)[i].name;
}

static void on_replayed(void *ctx, const char *name, bool added)
{
	struct touched *t = ctx;
	size_t *slot = slots_find(&t->by_name, name, touched_name_at, t->v);

	if (*slot != 0) {
		t->v[*slot - 1].there = added;
	} else if (t->count < MAILDIR_NOTIFY_RING) {
		t->v[t->count] = (struct touched_name){ xstrdup(name), added };
		*slot = ++t->count;
	}
}

/* Scans cur/ from the view and the record instead of readdir, if the record
 * goes back to where the view last listed the folder: the view's names no
 * event touched (their times and sizes from known), then the touched ones
 * that are there (a stat each).  1 if it did, 0 if not (read instead). */
static int scan_listed(struct maildir_box *box, int curfd, struct scan *sc,
		       const struct known *known, uint64_t from)
{
	const struct mailbox *b = &box->base;
	struct touched *t = xcalloc(1, sizeof(*t));
	bool ok;

	memset(sc, 0, sizeof(*sc));
	slots_init(&t->by_name, MAILDIR_NOTIFY_RING);
	ok = maildir_notify_replay(box, from, on_replayed, t);
	for (unsigned i = 0; ok && i < b->count; i++) {
		const char *name = box->extra[i].fname;

		if (name != NULL && *slots_find(&t->by_name, name, touched_name_at, t->v) == 0)
			scan_one(sc, box->path, curfd, name, true, NULL, NULL, known);
	}
	for (size_t i = 0; i < t->count; i++) {
		if (ok && t->v[i].there)
			scan_one(sc, box->path, curfd, t->v[i].name, false, NULL, NULL, known);
		free(t->v[i].name);
	}
	free(t->by_name.v);
	free(t);
	if (!ok)
		scan_free(sc);
	else
		listed_scans++;
	return ok ? 1 : 0;
}

static int cmp_file_age(const void *a, const void *b)
{
	const struct disk_file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->fname, y->fname);
}

static int cmp_item_uid(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->m.uid < y->m.uid ? -1 : x->m.uid > y->m.uid;
}

static const char *file_base(const void *arr, size_t i)
{
	return ((const struct disk_file *)arr)[i].base;
}

/* One file per base name: a file renamed during readdir can show up under
 * its old and its new name, and only one of them is current (the first
 * seen is kept; a later sync sees where it went). */
static void scan_dedup(struct scan *sc)
{
	struct slots seen;
	size_t o = 0;

	slots_init(&seen, sc->count);
	for (size_t i = 0; i < sc->count; i++) {
		size_t *slot = slots_find(&seen, sc->files[i].base, file_base, sc->files);

		if (*slot != 0) {
			disk_file_free(&sc->files[i]);
			continue;
		}
		sc->files[o] = sc->files[i];
		*slot = ++o;
	}
	free(seen.v);
	sc->count = o;
}

static const char *entry_base(const void *arr, size_t i)
{
	return ((const struct maildir_index_entry *)arr)[i].base;
}

static void index_slots_init(struct sync_ctx *c)
{
	slots_init(&c->by_base, c->idx.count);
	for (size_t i = 0; i < c->idx.count; i++) {
		size_t *slot = slots_find(&c->by_base, c->idx.entries[i].base, entry_base,
					  c->idx.entries);

		/* maildir_index_read drops entries that share a base */
		if (*slot == 0)
			*slot = i + 1;
	}
}

static struct maildir_index_entry *index_find(const struct sync_ctx *c, const char *base)
{
	size_t *slot;

	if (c->idx.count == 0)
		return NULL;
	slot = slots_find(&c->by_base, base, entry_base, c->idx.entries);
	return *slot != 0 ? &c->idx.entries[*slot - 1] : NULL;
}

/* Adds f to the view being built; the item takes f's strings. */
static void items_add(struct items *it, struct disk_file *f, uint32_t uid, uint64_t vsize,
		      time_t retrieved)
{
	struct item *i;

	if (it->count == it->alloc) {
		it->alloc = it->alloc ? it->alloc * 2 : 64;
		it->v = xrealloc(it->v, it->alloc * sizeof(*it->v));
	}
	i = &it->v[it->count++];
	memset(i, 0, sizeof(*i));
	i->m.uid = uid;
	i->m.vsize = vsize;
	i->m.psize = f->size;
	i->m.received = f->mtime;
	i->m.pop3_retrieved = retrieved;
	i->m.flags = maildir_flags_from_name(f->fname);
	i->m.keywords = maildir_keywords_from_name(f->fname);
	maildir_extra_init(&i->m, &i->x, f->base, f->fname, maildir_uidl(f->base));
	f->base = f->fname = NULL;
}

/* An indexed message whose file we have: keep its UID and cached data. */
static void take_known(struct sync_ctx *c, struct maildir_index_entry *e, struct disk_file *f)
{
	uint64_t vsize = e->vsize;

	c->found[e - c->idx.entries] = true;
	c->missing--;
	if (f->size != e->psize) {
		/* Not the file we measured (Maildir files never change, but
		 * people do edit them): measure again. */
		if (maildir_vsize(c->curfd, f->fname, &vsize) < 0)
			vsize = f->size;
		c->changed = true;
	}
	items_add(&c->items, f, e->uid, vsize, e->retrieved);
}

static bool is_missing(const char *base, void *ctx)
{
	struct sync_ctx *c = ctx;
	struct maildir_index_entry *e = index_find(c, base);

	return e != NULL && !c->found[e - c->idx.entries];
}

/* cur/'s modification time, or a zero time if it cannot be read. */
static struct timespec cur_mtime(int curfd)
{
	struct stat sb;
	struct timespec zero = { 0, 0 };

	return fstat(curfd, &sb) == 0 ? sb.st_mtim : zero;
}

/* readdir() may skip a file that is renamed while it runs (a flag change
 * by another process), and forgetting it would give it a new UID later.
 * So an indexed message counts as gone only after it was missing from
 * MAILDIR_RESCANS more reads of the directory. */
static int rescan_missing(struct sync_ctx *c)
{
	/* While cur/ keeps changing under us (another process renaming as
	 * fast as it can), a missing entry is more likely moving than gone:
	 * read again, up to MAILDIR_RESCANS_BUSY times in all.  A quiet
	 * directory ends the loop after MAILDIR_RESCANS. */
	for (int pass = 0; pass < MAILDIR_RESCANS_BUSY && c->missing > 0; pass++) {
		struct timespec before = cur_mtime(c->curfd), after;
		struct scan again;

		if (scan_cur(c->box->path, c->curfd, &again, is_missing, c, NULL) < 0)
			return -1;
		scan_dedup(&again);
		for (size_t i = 0; i < again.count; i++) {
			struct maildir_index_entry *e = index_find(c, again.files[i].base);

			if (e != NULL && !c->found[e - c->idx.entries])
				take_known(c, e, &again.files[i]);
		}
		scan_free(&again);
		after = cur_mtime(c->curfd);
		if (pass + 1 >= MAILDIR_RESCANS && before.tv_sec == after.tv_sec &&
		    before.tv_nsec == after.tv_nsec)
			break;	/* nothing moved during that read: they are gone */
	}
	if (c->missing > 0)
		c->changed = true;	/* expunged: drop them from the index */
	return 0;
}

/* Files the index does not know get the next UIDs, oldest first. */
static void take_fresh(struct sync_ctx *c, struct disk_file *fresh, size_t nfresh)
{
	if (nfresh > 1)
		qsort(fresh, nfresh, sizeof(*fresh), cmp_file_age);
	for (size_t i = 0; i < nfresh; i++) {
		uint64_t vsize;

		if (c->idx.uidnext == UINT32_MAX) {
			log_error("maildir %s: out of UIDs; delete %s to renumber",
				  c->box->path, MAILDIR_INDEX);
			break;
		}
		if (maildir_vsize(c->curfd, fresh[i].fname, &vsize) < 0) {
			/* ENOENT: vanished meanwhile, the next sync sees where it
			 * went.  Else a file we cannot read to measure (mode 000):
			 * it joins once it can be read; said once, not at every
			 * sync. */
			if (errno != ENOENT)
				/* The view leaves a message out until a change we
				 * may not hear of (a chmod): directory times decide
				 * when to look again, not maildir_notify.c. */
				maildir_notify_sync_failed(c->box);
			if (errno != ENOENT &&
			    maildir_once(c->box->path, fresh[i].base, "unmeasured"))
				log_error("maildir %s/cur/%s: cannot read it, so it is left out "
					  "until it can be: %s", c->box->path, fresh[i].fname,
					  strerror(errno));
			continue;
		}
		items_add(&c->items, &fresh[i], c->idx.uidnext++, vsize, 0);
		c->changed = true;
	}
}

static int write_items(struct maildir_box *box, const struct maildir_index *hdr,
		       const struct item *v, size_t count)
{
	struct maildir_index idx = *hdr;
	int ret;

	idx.count = count;
	idx.entries = xcalloc(count ? count : 1, sizeof(*idx.entries));
	for (size_t i = 0; i < count; i++) {
		idx.entries[i].uid = v[i].m.uid;
		idx.entries[i].vsize = v[i].m.vsize;
		idx.entries[i].psize = v[i].m.psize;
		idx.entries[i].retrieved = v[i].m.pop3_retrieved;
		idx.entries[i].base = v[i].x.base;	/* borrowed */
	}
	ret = maildir_index_write(box->base.st, box->path, &idx, box->lockfd);
	free(idx.entries);
	return ret;
}

int maildir_box_write_index(struct maildir_box *box)
{
	struct maildir_index hdr = {
		.uidvalidity = box->base.uidvalidity,
		.uidnext = box->base.uidnext,
		.first_recent = box->base.first_recent_uid,
	};
	struct item *v = xcalloc(box->base.count ? box->base.count : 1, sizeof(*v));
	int ret;

	for (unsigned i = 0; i < box->base.count; i++) {
		v[i].m = box->base.msgs[i];
		v[i].x = box->extra[i];
	}
	ret = write_items(box, &hdr, v, box->base.count);
	free(v);
	return ret;
}

void maildir_view_keep_recent(struct store_msg *msgs, unsigned n, uint32_t validity,
			      const struct store_msg *old, unsigned n_old, uint32_t old_validity)
{
	if (validity != old_validity)
		return;	/* other numbering: the UIDs name other messages */
	for (unsigned i = 0, k = 0; i < n && k < n_old;) {
		if (msgs[i].uid == old[k].uid) {
			msgs[i].flags |= old[k].flags & MSG_FLAG_RECENT;
			i++;
			k++;
		} else if (msgs[i].uid < old[k].uid) {
			i++;
		} else {
			k++;
		}
	}
}

void maildir_view_mark_recent(struct maildir_box *box, uint32_t from, bool on)
{
	struct mailbox *b = &box->base;

	for (unsigned i = 0; i < b->count; i++) {
		if (b->msgs[i].uid < from)
			continue;
		if (on)
			b->msgs[i].flags |= MSG_FLAG_RECENT;
		else
			b->msgs[i].flags &= ~(unsigned)MSG_FLAG_RECENT;
	}
}

/* Replaces box's view with the items (sorted by UID). */
static void install_view(struct maildir_box *box, struct sync_ctx *c)
{
	struct mailbox *b = &box->base;
	size_t n = c->items.count;
	struct store_msg *msgs = xcalloc(n ? n : 1, sizeof(*msgs));
	struct maildir_msg_extra *extra = xcalloc(n ? n : 1, sizeof(*extra));

	for (size_t i = 0; i < n; i++) {
		msgs[i] = c->items.v[i].m;
		extra[i] = c->items.v[i].x;
	}
	maildir_view_keep_recent(msgs, (unsigned)n, c->idx.uidvalidity, b->msgs, b->count,
				 b->uidvalidity);
	maildir_view_free(box);
	b->msgs = msgs;
	box->extra = extra;
	b->count = (unsigned)n;
	b->uidvalidity = c->idx.uidvalidity;
	b->uidnext = c->idx.uidnext;
	b->first_recent_uid = c->idx.first_recent;
	free(c->items.v);
	memset(&c->items, 0, sizeof(c->items));
}

/* Reads the index, or starts a new UID epoch if it is missing or damaged. */
static int load_index(struct sync_ctx *c, int lockfd)
{
	struct maildir_box *box = c->box;
	enum maildir_index_state state = maildir_index_read(box->path, &c->idx);
	uint32_t known;

	if (state == MAILDIR_INDEX_OK)
		return 0;
	if (state == MAILDIR_INDEX_PARTIAL) {
		/* Rewritten at once, so this is said once. */
		log_warn("maildir %s: %s had %zu damaged entries: their messages get new UIDs, "
			 "the others keep theirs and UIDVALIDITY %u stays", box->path,
			 MAILDIR_INDEX, c->idx.lost, c->idx.uidvalidity);
		c->changed = true;
		return 0;
	}
	if (state == MAILDIR_INDEX_IOERR)
		return store_fail(box->base.st, STORE_ERR_TEMP, "%s/%s: %s", box->path,
				  MAILDIR_INDEX, strerror(errno));
	if (state == MAILDIR_INDEX_DAMAGED)
		log_warn("maildir %s: %s is damaged; rebuilding it with a new UIDVALIDITY",
			 box->path, MAILDIR_INDEX);
	else if (box->base.uidvalidity != 0)
		log_warn("maildir %s: %s vanished; rebuilding it with a new UIDVALIDITY",
			 box->path, MAILDIR_INDEX);
	known = c->idx.uidvalidity > box->base.uidvalidity ? c->idx.uidvalidity :
							     box->base.uidvalidity;
	/* A rebuilt index numbers the messages anew, so it must not reuse a
	 * UIDVALIDITY (RFC 3501 §2.3.1.1). */
	c->idx.uidvalidity = maildir_index_new_uidvalidity(lockfd, known);
	c->idx.uidnext = 1;
	c->idx.first_recent = 1;	/* a new epoch: everything is new to everyone */
	c->changed = true;
	return 0;
}

uint64_t maildir_sync_scans(void)
{
	return scans;
}

uint64_t maildir_sync_listed_scans(void)
{
	return listed_scans;
}

int maildir_sync_locked(struct maildir_box *box, int lockfd)
{
	struct store *st = box->base.st;
	struct sync_ctx c = { .box = box, .curfd = -1 };
	struct disk_file *fresh = NULL;
	struct scan sc = { 0 };
	struct known known;
	const struct maildir_view_copy *lent;
	size_t nfresh = 0;
	char *cur = xasprintf("%s/cur", box->path);
	uint64_t listed_from;
	bool listed = maildir_notify_listed_at(box, &listed_from);
	int ret = -1;

	box->lockfd = lockfd;	/* for the index writes under this lock */
	maildir_notify_sync_begin(box, false);
	scans++;
	if (load_index(&c, lockfd) < 0)
		goto out;
	c.curfd = open(cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (c.curfd < 0) {
		store_fail(st, errno == ENOENT ? STORE_ERR_NOTFOUND : STORE_ERR_TEMP, "%s: %s",
			   cur, strerror(errno));
		goto out;
	}
	move_new_to_cur(box, c.curfd);
	known_init(&known, box, &lent);
	/* After the moves from new/, which the record shows too. */
	if (listed && scan_listed(box, c.curfd, &sc, &known, listed_from) == 1)
		ret = 0;
	else
		ret = scan_cur(box->path, c.curfd, &sc, NULL, NULL, &known);
	known_free(&known);
	maildir_viewcache_return(&lent);
	if (ret < 0) {
		ret = -1;
		store_fail(st, STORE_ERR_TEMP, "%s: %s", cur, strerror(errno));
		goto out;
	}
	ret = -1;
	scan_dedup(&sc);
	index_slots_init(&c);
	c.found = xcalloc(c.idx.count ? c.idx.count : 1, sizeof(*c.found));
	c.missing = c.idx.count;
	fresh = xcalloc(sc.count ? sc.count : 1, sizeof(*fresh));
	for (size_t i = 0; i < sc.count; i++) {
		struct maildir_index_entry *e = index_find(&c, sc.files[i].base);

		if (e != NULL)
			take_known(&c, e, &sc.files[i]);
		else
			fresh[nfresh++] = sc.files[i];
	}
	sc.count = 0;	/* its files now belong to items or to fresh */
	if (rescan_missing(&c) < 0) {
		store_fail(st, STORE_ERR_TEMP, "%s: %s", cur, strerror(errno));
		goto out;
	}
	take_fresh(&c, fresh, nfresh);
	if (c.items.count > 1)
		qsort(c.items.v, c.items.count, sizeof(*c.items.v), cmp_item_uid);
	/* A claim of \Recent that comes with the sync (an APPEND to the
	 * selected mailbox) goes into the same index write. */
	uint32_t claim_from = c.idx.first_recent;

	if (box->claim_in_sync && c.idx.first_recent != c.idx.uidnext) {
		c.idx.first_recent = c.idx.uidnext;
		c.changed = true;
	}
	/* The index first: UIDs handed out must be durable before anyone
	 * sees them.  On failure the old view stays as it was. */
	if (c.changed && write_items(box, &c.idx, c.items.v, c.items.count) < 0)
		goto out;
	install_view(box, &c);
	if (box->claim_in_sync)
		maildir_view_mark_recent(box, claim_from, true);
	/* Names first used by another session come with its renames. */
	maildir_keywords_load(box);
	/* POP3's hide marks are kept apart from the index (maildir_hidden.c). */
	maildir_hidden_apply(box);
	/* ... and so are UIDLs kept from another server (maildir_uidls.c). */
	maildir_uidls_apply(box);
	/* For the stats of the next fresh view's sync, in this process. */
	maildir_viewcache_put(box, false);
	ret = 0;
out:
	if (ret < 0)
		maildir_notify_sync_failed(box);
	/* Fresh files that got no UID (items_add took the others). */
	for (size_t i = 0; i < nfresh; i++)
		disk_file_free(&fresh[i]);
	free(fresh);
	scan_free(&sc);
	items_free(&c.items);
	free(c.found);
	free(c.by_base.v);
	maildir_index_free(&c.idx);
	if (c.curfd >= 0)
		close(c.curfd);
	free(cur);
	return ret;
}

/*
 * A view's own change applied without a read of the folder: when the
 * change record (maildir_notify.c) shows that nothing but the view's own
 * doings happened since its last sync, the folder is exactly the view plus
 * the change, so the index is written from the view.  A busy folder's
 * every APPEND and EXPUNGE otherwise re-read all of cur/ and the index
 * under the lock.  The caller holds the index lock.
 */
int maildir_view_write_locked(struct maildir_box *box, int lockfd)
{
	box->lockfd = lockfd;
	maildir_notify_sync_begin(box, true);	/* the index write is ours */
	return maildir_box_write_index(box);
}

int maildir_view_drop_locked(struct maildir_box *box, int lockfd, const bool *gone)
{
	struct mailbox *b = &box->base;
	bool hidden = false;
	unsigned o = 0;
	int ret;

	for (unsigned i = 0; i < b->count; i++) {
		if (gone[i]) {
			hidden = hidden || b->msgs[i].pop3_hidden;
			maildir_extra_free(&b->msgs[i], &box->extra[i]);
			continue;
		}
		b->msgs[o] = b->msgs[i];
		box->extra[o++] = box->extra[i];
	}
	b->count = o;
	ret = maildir_view_write_locked(box, lockfd);
	/* Their POP3 hide marks go too, as after a sync. */
	if (ret == 0 && hidden)
		maildir_hidden_apply(box);
	return ret;
}

uint32_t maildir_view_add_locked(struct maildir_box *box, int lockfd, const char *fname,
				 uint64_t psize, uint64_t vsize, time_t received)
{
	struct mailbox *b = &box->base;
	uint32_t uid = b->uidnext, first_recent = b->first_recent_uid;
	struct store_msg *m;

	if (uid == UINT32_MAX)
		return 0;	/* the full sync says why */
	b->msgs = xrealloc(b->msgs, (b->count + 1) * sizeof(*b->msgs));
	box->extra = xrealloc(box->extra, (b->count + 1) * sizeof(*box->extra));
	m = &b->msgs[b->count];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->vsize = vsize;
	m->psize = psize;
	m->received = received;
	m->flags = maildir_flags_from_name(fname);
	m->keywords = maildir_keywords_from_name(fname);
	{
		char *base = maildir_base_of(fname);

		maildir_extra_init(m, &box->extra[b->count], base, xstrdup(fname),
				   maildir_uidl(base));
	}
	b->count++;
	b->uidnext = uid + 1;
	if (box->claim_in_sync) {
		maildir_view_mark_recent(box, first_recent, true);
		b->first_recent_uid = b->uidnext;
	}
	if (maildir_view_write_locked(box, lockfd) == 0)
		return uid;
	/* Not durable, so not handed out: the view as it was. */
	b->count--;
	maildir_extra_free(&b->msgs[b->count], &box->extra[b->count]);
	b->uidnext = uid;
	b->first_recent_uid = first_recent;
	if (box->claim_in_sync)
		maildir_view_mark_recent(box, first_recent, false);
	maildir_notify_sync_failed(box);
	return 0;
}

char *maildir_find_base(const char *dir, const char *base)
{
	char *cur = xasprintf("%s/cur", dir);
	size_t blen = strlen(base);
	struct dirent *de;
	char *found = NULL;
	DIR *d = opendir(cur);

	free(cur);
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) == 0 &&
		    (de->d_name[blen] == ':' || de->d_name[blen] == '\0')) {
			found = xstrdup(de->d_name);
			break;
		}
	}
	closedir(d);
	return found;
}
