/*
 * A process-wide copy of the last synced view of each big folder, for two
 * uses:
 *
 * - Opening it again (every IMAP SELECT, every POP3 login) without a sync
 *   when nothing changed: 100,000 messages take some 300 ms to sync and a
 *   few milliseconds to copy.  A copy is used so only when the folder's
 *   stamp (maildir_stamp.c: cur/, new/ and the index) still matches and was
 *   settled when taken, the same test that lets md_mailbox_sync skip a sync
 *   of an open view; and when the POP3 hide list, which changes without
 *   touching those, is the same file (so the copy's pop3_hidden marks are
 *   current).
 * - Sparing a sync of a view that has none yet (an open, an APPEND's or a
 *   POP3 QUIT's fresh view of the folder) the stat of every file: a name
 *   that readdir shows again is the same file (Maildir files are never
 *   rewritten), so its time and size are the copy's, however old the copy.
 *   Under a busy folder that is most of a session's system calls (a stat
 *   of each of 1,000 files per SELECT and per APPEND before).
 *
 * - Re-syncing, or opening, a view of a folder that another view of this
 *   process has just synced: when the folder's change record
 *   (maildir_notify.c) shows nothing since that view's sync ended, its copy
 *   is exactly what a sync would find.  A change by one of ten sessions of
 *   a folder otherwise had the other nine each read the whole folder.
 *
 * Copies are made under the index lock right after a plain sync, without
 * \Recent marks: a fresh open has none until it claims them.  Small
 * folders are not kept (their sync is cheap), nor more than a bounded
 * number of messages in all; a copy without a stamp is renewed at most
 * every VIEWCACHE_RENEW_MS, since slightly old names spare nearly as many
 * stats.  Threads of the worker's pool open folders at once, so one mutex
 * guards the table; a copy lent out (maildir_viewcache_lend) lives on
 * until it is given back, even if replaced meanwhile.
 *
 * A copy's names are in one block, and a view made from a copy borrows
 * them (maildir_view.c) rather than copying three strings a message.
 */
#include "store/maildir/maildir.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"

#define VIEWCACHE_MIN_MSGS	256
#define VIEWCACHE_MAX_MSGS	250000	/* over all entries: some 50 MiB */
#define VIEWCACHE_ENTRIES	16
#define VIEWCACHE_RENEW_MS	100

struct file_id {
	bool exists;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct cached_view {
	struct maildir_view_copy view;	/* first: lend() hands out &view */
	char *names;		/* every name of view, one after another */
	char *path;
	uint64_t used;		/* LRU clock */
	uint64_t made_ms;	/* CLOCK_MONOTONIC */
	unsigned refs;		/* the table's (while in it) and borrowers' */
	struct maildir_stamp stamp;	/* valid: the view is the one of this stamp */
	bool has_seq;		/* the view as of event nf_seq of folder nf_id */
	uint64_t nf_id, nf_seq;
	struct file_id hidden;
	uint32_t uidvalidity, uidnext, first_recent_uid;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_view *cache[VIEWCACHE_ENTRIES];
static uint64_t clock_now;

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void hidden_id(const char *path, struct file_id *id)
{
	char *p = xasprintf("%s/%s", path, MAILDIR_POP3_HIDDEN);
	struct stat sb;

	memset(id, 0, sizeof(*id));
	if (stat(p, &sb) == 0) {
		id->exists = true;
		id->ino = sb.st_ino;
		id->size = sb.st_size;
		id->mtime = sb.st_mtim;
	}
	free(p);
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
	return a->exists == b->exists && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static size_t name_size(const char *name)
{
	return name != NULL ? strlen(name) + 1 : 0;
}

static char *name_put(char **p, const char *name)
{
	char *at = *p;
	size_t n = name_size(name);

	if (name == NULL)
		return NULL;
	memcpy(at, name, n);
	*p += n;
	return at;
}

/* e's copy of count messages, their names in e->names. */
static void copy_in(struct cached_view *e, const struct store_msg *from,
		    const struct maildir_msg_extra *xfrom, unsigned count)
{
	size_t total = 0;
	char *p;

	e->view.count = count;
	e->view.msgs = xmalloc((count ? count : 1) * sizeof(*e->view.msgs));
	e->view.extra = xcalloc(count ? count : 1, sizeof(*e->view.extra));
	memcpy(e->view.msgs, from, count * sizeof(*from));
	for (unsigned i = 0; i < count; i++) {
		total += name_size(xfrom[i].base) + name_size(xfrom[i].fname);
		/* Most UIDLs are the base (maildir_uidl()): one string. */
		if (from[i].uidl == NULL || xfrom[i].base == NULL ||
		    strcmp(from[i].uidl, xfrom[i].base) != 0)
			total += name_size(from[i].uidl);
	}
	p = e->names = xmalloc(total ? total : 1);
	for (unsigned i = 0; i < count; i++) {
		struct maildir_msg_extra *x = &e->view.extra[i];
		struct store_msg *m = &e->view.msgs[i];

		x->base = name_put(&p, xfrom[i].base);
		x->fname = name_put(&p, xfrom[i].fname);
		if (x->base != NULL && m->uidl != NULL && strcmp(m->uidl, x->base) == 0)
			m->uidl = x->base;
		else
			m->uidl = name_put(&p, m->uidl);
	}
}

/* A view's messages from e, borrowing e's names: the caller takes the
 * reference to e this makes, as the view's lender.  Caller holds the mutex. */
static void lend_out(struct cached_view *e, struct store_msg **msgs_r,
		     struct maildir_msg_extra **extra_r)
{
	unsigned count = e->view.count;
	struct store_msg *msgs = xmalloc((count ? count : 1) * sizeof(*msgs));
	struct maildir_msg_extra *extra = xmalloc((count ? count : 1) * sizeof(*extra));

	memcpy(msgs, e->view.msgs, count * sizeof(*msgs));
	memcpy(extra, e->view.extra, count * sizeof(*extra));
	for (unsigned i = 0; i < count; i++)
		extra[i].lent = MAILDIR_LENT_ALL;
	e->refs++;
	e->used = ++clock_now;
	*msgs_r = msgs;
	*extra_r = extra;
}

/* Drops one reference; the last one frees.  Caller holds the mutex. */
static void entry_unref(struct cached_view *e)
{
	if (e == NULL || --e->refs > 0)
		return;
	free(e->names);
	free(e->view.msgs);
	free(e->view.extra);
	free(e->path);
	free(e);
}

static int find(const char *path)
{
	for (int i = 0; i < VIEWCACHE_ENTRIES; i++)
		if (cache[i] != NULL && strcmp(cache[i]->path, path) == 0)
			return i;
	return -1;
}

/* Makes box's view the one lent out of e (lend_out's msgs and extra).
 * Outside the mutex: the old view gives back its own lender.  What is read
 * of e does not change (e is ours till given back). */
static void install_lent(struct maildir_box *box, struct cached_view *e, struct store_msg *msgs,
			 struct maildir_msg_extra *extra)
{
	struct mailbox *b = &box->base;

	maildir_view_free(box);
	b->msgs = msgs;
	box->extra = extra;
	box->lender = &e->view;
	b->count = e->view.count;
	b->uidvalidity = e->uidvalidity;
	b->uidnext = e->uidnext;
	b->first_recent_uid = e->first_recent_uid;
}

/* Lends out the copy of box's folder if fits(copy, ctx) says it will do:
 * the copy, with its messages in *msgs_r and *extra_r, or NULL. */
static struct cached_view *lend_if(const struct maildir_box *box,
				   bool (*fits)(const struct cached_view *e, const void *ctx),
				   const void *ctx, struct store_msg **msgs_r,
				   struct maildir_msg_extra **extra_r)
{
	struct cached_view *e;
	int k;

	pthread_mutex_lock(&lock);
	k = find(box->path);
	e = k >= 0 && fits(cache[k], ctx) ? cache[k] : NULL;
	if (e != NULL)
		lend_out(e, msgs_r, extra_r);
	pthread_mutex_unlock(&lock);
	return e;
}

/* What the disk looks like now, for a copy kept by stamp. */
struct stamp_now {
	struct maildir_stamp stamp;
	struct file_id hidden;
};

static bool stamp_fits(const struct cached_view *e, const void *ctx)
{
	const struct stamp_now *now = ctx;

	return maildir_stamp_unchanged(&e->stamp, &now->stamp) && same_id(&e->hidden, &now->hidden);
}

/* The place in a folder's record a view is at (or its record's head). */
struct record_place {
	uint64_t id, seq;
};

static bool place_fits(const struct cached_view *e, const void *ctx)
{
	const struct record_place *at = ctx;

	return e->has_seq && e->nf_id == at->id && e->nf_seq == at->seq;
}

/* A copy from earlier in the record, which still reaches back to it.
 * (The sync checks that again: the record may move on meanwhile.) */
static bool place_reached(const struct cached_view *e, const void *ctx)
{
	const struct record_place *head = ctx;

	return e->has_seq && e->nf_id == head->id && e->nf_seq <= head->seq &&
	       head->seq - e->nf_seq <= MAILDIR_NOTIFY_RING;
}

bool maildir_viewcache_get(struct maildir_box *box)
{
	struct stamp_now now;
	struct cached_view *e;
	struct store_msg *msgs;
	struct maildir_msg_extra *extra;

	if (maildir_stamp_take(box->path, true, &now.stamp) < 0)
		return false;
	hidden_id(box->path, &now.hidden);
	e = lend_if(box, stamp_fits, &now, &msgs, &extra);
	if (e == NULL)
		return false;
	install_lent(box, e, msgs, extra);
	box->stamp = e->stamp;
	/* Keyword names are a small file; reading it keeps them exact. */
	maildir_keywords_load(box);
	return true;
}

/* Keeps a copy of box's view: usable by stamp (with_stamp), by record
 * position (has_seq: id, seq), or for its names only. */
static void put(const struct maildir_box *box, bool with_stamp, bool has_seq, uint64_t id,
		uint64_t seq)
{
	const struct mailbox *b = &box->base;
	struct cached_view *fresh;
	unsigned long long total;
	uint64_t t = now_ms();
	int k;

	if (b->count < VIEWCACHE_MIN_MSGS || b->count > VIEWCACHE_MAX_MSGS)
		return;
	/* An unsettled stamp would never match: the copy is for names only. */
	with_stamp = with_stamp && maildir_stamp_unchanged(&box->stamp, &box->stamp);
	if (!with_stamp && !has_seq) {
		bool recent;

		pthread_mutex_lock(&lock);
		k = find(box->path);
		/* A copy other views can adopt serves names as well. */
		recent = k >= 0 && (t - cache[k]->made_ms < VIEWCACHE_RENEW_MS || cache[k]->has_seq);
		pthread_mutex_unlock(&lock);
		if (recent)
			return;
	}
	fresh = xcalloc(1, sizeof(*fresh));
	fresh->path = xstrdup(box->path);
	fresh->refs = 1;
	fresh->made_ms = t;
	if (with_stamp) {
		fresh->stamp = box->stamp;
		hidden_id(box->path, &fresh->hidden);
	}
	fresh->has_seq = has_seq;
	fresh->nf_id = id;
	fresh->nf_seq = seq;
	fresh->uidvalidity = b->uidvalidity;
	fresh->uidnext = b->uidnext;
	fresh->first_recent_uid = b->first_recent_uid;
	copy_in(fresh, b->msgs, box->extra, b->count);
	/* \Recent belongs to the session that claimed it (RFC 3501 §2.3.2). */
	for (unsigned i = 0; i < fresh->view.count; i++)
		fresh->view.msgs[i].flags &= ~(unsigned)MSG_FLAG_RECENT;

	pthread_mutex_lock(&lock);
	k = find(box->path);
	if (k >= 0) {
		entry_unref(cache[k]);
		cache[k] = NULL;
	}
	/* Room: drop least recently used entries until the total fits. */
	for (;;) {
		int oldest = -1, empty = -1;

		total = b->count;
		for (int i = 0; i < VIEWCACHE_ENTRIES; i++) {
			if (cache[i] == NULL) {
				empty = empty >= 0 ? empty : i;
				continue;
			}
			total += cache[i]->view.count;
			if (oldest < 0 || cache[i]->used < cache[oldest]->used)
				oldest = i;
		}
		if (empty >= 0 && total <= VIEWCACHE_MAX_MSGS) {
			fresh->used = ++clock_now;
			cache[empty] = fresh;
			break;
		}
		entry_unref(cache[oldest]);
		cache[oldest] = NULL;
	}
	pthread_mutex_unlock(&lock);
}

void maildir_viewcache_put(const struct maildir_box *box, bool with_stamp)
{
	put(box, with_stamp, false, 0, 0);
}

void maildir_viewcache_put_current(const struct maildir_box *box)
{
	uint64_t id, seq;
	bool have;
	int k;

	if (!box->nf_valid || !maildir_notify_position(box, &id, &seq) || seq != box->nf_seq)
		return;
	pthread_mutex_lock(&lock);
	k = find(box->path);
	have = k >= 0 && cache[k]->has_seq && cache[k]->nf_id == id && cache[k]->nf_seq == seq;
	pthread_mutex_unlock(&lock);
	if (!have)	/* else another view's copy is this one already */
		put(box, false, true, id, seq);
}

bool maildir_viewcache_adopt(struct maildir_box *box)
{
	struct mailbox *b = &box->base;
	struct record_place at;
	struct cached_view *e;
	struct store_msg *msgs;
	struct maildir_msg_extra *extra;

	if (!maildir_notify_position(box, &at.id, &at.seq))
		return false;
	e = lend_if(box, place_fits, &at, &msgs, &extra);
	if (e == NULL)
		return false;
	/* This view's \Recent claims stay, as a sync keeps them. */
	maildir_view_keep_recent(msgs, e->view.count, e->uidvalidity, b->msgs, b->count,
				 b->uidvalidity);
	install_lent(box, e, msgs, extra);
	box->stamp.valid = false;
	maildir_notify_adopted(box, at.seq);
	/* Keyword names are a small file; reading it keeps them exact. */
	maildir_keywords_load(box);
	return true;
}

bool maildir_viewcache_adopt_listed(struct maildir_box *box)
{
	struct record_place head;
	struct cached_view *e;
	struct store_msg *msgs;
	struct maildir_msg_extra *extra;

	if (box->base.count != 0 || box->base.uidvalidity != 0 ||
	    !maildir_notify_position(box, &head.id, &head.seq))
		return false;
	e = lend_if(box, place_reached, &head, &msgs, &extra);
	if (e == NULL)
		return false;
	install_lent(box, e, msgs, extra);
	box->stamp.valid = false;
	maildir_notify_listed(box, e->nf_seq);
	return true;
}

const struct maildir_view_copy *maildir_viewcache_lend(const char *path)
{
	struct cached_view *e = NULL;
	int k;

	pthread_mutex_lock(&lock);
	k = find(path);
	if (k >= 0) {
		e = cache[k];
		e->refs++;
		e->used = ++clock_now;
	}
	pthread_mutex_unlock(&lock);
	return e != NULL ? &e->view : NULL;
}

void maildir_viewcache_return(const struct maildir_view_copy **view)
{
	if (*view == NULL)
		return;
	pthread_mutex_lock(&lock);
	/* view is the first member of its entry */
	entry_unref((struct cached_view *)(void *)*view);
	pthread_mutex_unlock(&lock);
	*view = NULL;
}
