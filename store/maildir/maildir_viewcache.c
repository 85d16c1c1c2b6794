/*
 * A process-wide copy of the last synced view of each big folder, so that
 * opening it again (every IMAP SELECT, every POP3 login) need not read and
 * stat every file of cur/ when nothing changed: 100,000 messages take some
 * 300 ms to sync and a few milliseconds to copy.
 *
 * A copy is used only when the folder's stamp (maildir_stamp.c: cur/, new/
 * and the index) still matches and was settled when taken, the same test
 * that lets md_mailbox_sync skip a sync of an open view; and when the
 * POP3 hide list, which changes without touching those, is the same file
 * (so the copy's pop3_hidden marks are current).  Copies are made under
 * the index lock right after a plain sync, without \Recent marks: a fresh
 * open has none until it claims them.  Small folders
 * are not kept (their sync is cheap), nor more than a bounded number of
 * messages in all.  Threads of the worker's pool open folders at once, so
 * one mutex guards the table.
 */
#include "store/maildir/maildir.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

#define VIEWCACHE_MIN_MSGS	1000
#define VIEWCACHE_MAX_MSGS	1000000	/* over all entries */
#define VIEWCACHE_ENTRIES	16

struct file_id {
	bool exists;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct cached_view {
	char *path;
	uint64_t used;		/* LRU clock */
	struct maildir_stamp stamp;
	struct file_id hidden;
	uint32_t uidvalidity, uidnext, first_recent_uid;
	unsigned count;
	struct store_msg *msgs;
	struct maildir_msg_extra *extra;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_view cache[VIEWCACHE_ENTRIES];
static uint64_t clock_now;

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

/* Deep copies of count messages and their names. */
static void copy_msgs(const struct store_msg *from, const struct maildir_msg_extra *xfrom,
		      unsigned count, struct store_msg **to_r, struct maildir_msg_extra **xto_r)
{
	struct store_msg *to = xmalloc((count ? count : 1) * sizeof(*to));
	struct maildir_msg_extra *xto = xmalloc((count ? count : 1) * sizeof(*xto));

	memcpy(to, from, count * sizeof(*to));
	for (unsigned i = 0; i < count; i++) {
		to[i].uidl = xstrdup(from[i].uidl);
		xto[i].base = xstrdup(xfrom[i].base);
		xto[i].fname = xstrdup(xfrom[i].fname);
	}
	*to_r = to;
	*xto_r = xto;
}

static void entry_free(struct cached_view *e)
{
	for (unsigned i = 0; i < e->count; i++) {
		free((char *)e->msgs[i].uidl);
		free(e->extra[i].base);
		free(e->extra[i].fname);
	}
	free(e->msgs);
	free(e->extra);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

static struct cached_view *find(const char *path)
{
	for (unsigned i = 0; i < VIEWCACHE_ENTRIES; i++)
		if (cache[i].path != NULL && strcmp(cache[i].path, path) == 0)
			return &cache[i];
	return NULL;
}

bool maildir_viewcache_get(struct maildir_box *box)
{
	struct maildir_stamp now;
	struct file_id hidden;
	struct cached_view *e;
	bool hit = false;

	if (maildir_stamp_take(box->path, true, &now) < 0)
		return false;
	hidden_id(box->path, &hidden);
	pthread_mutex_lock(&lock);
	e = find(box->path);
	if (e != NULL && maildir_stamp_unchanged(&e->stamp, &now) && same_id(&e->hidden, &hidden)) {
		struct mailbox *b = &box->base;

		maildir_view_free(box);
		copy_msgs(e->msgs, e->extra, e->count, &b->msgs, &box->extra);
		b->count = e->count;
		b->uidvalidity = e->uidvalidity;
		b->uidnext = e->uidnext;
		b->first_recent_uid = e->first_recent_uid;
		box->stamp = e->stamp;
		e->used = ++clock_now;
		hit = true;
	}
	pthread_mutex_unlock(&lock);
	/* Keyword names are a small file; reading it keeps them exact. */
	if (hit)
		maildir_keywords_load(box);
	return hit;
}

void maildir_viewcache_put(const struct maildir_box *box)
{
	const struct mailbox *b = &box->base;
	struct cached_view *e, fresh = { 0 };
	unsigned long long total = b->count;

	/* An unsettled stamp would never match: not worth the copy. */
	if (b->count < VIEWCACHE_MIN_MSGS || b->count > VIEWCACHE_MAX_MSGS ||
	    !maildir_stamp_unchanged(&box->stamp, &box->stamp))
		return;
	fresh.path = xstrdup(box->path);
	fresh.stamp = box->stamp;
	hidden_id(box->path, &fresh.hidden);
	fresh.uidvalidity = b->uidvalidity;
	fresh.uidnext = b->uidnext;
	fresh.first_recent_uid = b->first_recent_uid;
	fresh.count = b->count;
	copy_msgs(b->msgs, box->extra, b->count, &fresh.msgs, &fresh.extra);
	/* \Recent belongs to the session that claimed it (RFC 3501 §2.3.2). */
	for (unsigned i = 0; i < fresh.count; i++)
		fresh.msgs[i].flags &= ~(unsigned)MSG_FLAG_RECENT;

	pthread_mutex_lock(&lock);
	e = find(box->path);
	if (e != NULL)
		entry_free(e);
	/* Room: drop least recently used entries until the total fits. */
	for (;;) {
		struct cached_view *oldest = NULL, *empty = NULL;

		total = b->count;
		for (unsigned i = 0; i < VIEWCACHE_ENTRIES; i++) {
			if (cache[i].path == NULL) {
				empty = empty ? empty : &cache[i];
				continue;
			}
			total += cache[i].count;
			if (oldest == NULL || cache[i].used < oldest->used)
				oldest = &cache[i];
		}
		if (empty != NULL && total <= VIEWCACHE_MAX_MSGS) {
			fresh.used = ++clock_now;
			*empty = fresh;
			break;
		}
		entry_free(oldest);
	}
	pthread_mutex_unlock(&lock);
}
