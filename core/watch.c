/*
 * Shared directory watches (see watch.h): a hash of watched directories,
 * each with a uv_fs_event handle, a coalescing timer and a list of
 * subscribers.  A subscription of n directories owns n links, one in each
 * directory's list.
 *
 * A directory nobody subscribes to any more stays watched for a while, on
 * an idle list: adding an inotify watch to a directory walks all its
 * entries in the kernel (fsnotify marks every child dentry), about 10 ms
 * for a cur/ of 100,000 messages, and that was a fifth of the CPU of a
 * SELECT there when each session's SELECT added the watch again.  A
 * directory is watched by identity (inode and birth time): one that was
 * deleted or replaced since (a mailbox deleted and created again under its
 * name), or whose watch said it went, is retired and watched afresh, so
 * its new sessions hear of its changes.
 */
#include "core/watch.h"
#include "core/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <uv.h>

#define WATCH_BUCKETS 1024
#define WATCH_IDLE_MAX 256	/* directories kept watched without subscribers */
#define WATCH_IDLE_MS (5 * 60 * 1000)

struct watch_dir;

/* Which directory a path is: inode numbers are reused at once (a mailbox
 * deleted and made again often gets its old one), birth times are not. */
struct dir_id {
	uint64_t dev, ino;
	bool has_btime;
	struct statx_timestamp btime;
};

struct watch_link {
	struct watch_sub *sub;
	struct watch_dir *dir;
	struct watch_link *prev, *next;
};

struct watch_sub {
	void (*cb)(void *ctx);
	void *ctx;
	size_t n;
	struct watch_link links[];
};

struct watch_dir {
	char *path;
	void *loop;
	uv_fs_event_t ev;
	uv_timer_t timer;
	unsigned open_handles;		/* freed when both are closed */
	struct dir_id id;		/* the directory watched */
	bool gone;			/* an event said it was deleted or moved */
	bool hashed;			/* false: retired, closed with its last subscriber */
	bool closing;			/* dir_close() was called */
	struct watch_link *subs;
	struct watch_dir *hash_next;
	uint64_t idle_since;		/* uv_now() of the last unsubscribe */
	struct watch_dir *idle_prev, *idle_next;	/* on the idle list: no subs */
};

static struct watch_dir *buckets[WATCH_BUCKETS];
static size_t ndirs, nidle;
static struct watch_dir *idle_head, *idle_tail;	/* oldest first */

static unsigned hash_path(const void *loop, const char *path)
{
	uint32_t h = 2166136261u ^ (uint32_t)(uintptr_t)loop;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % WATCH_BUCKETS;
}

static void timer_cb(uv_timer_t *t)
{
	struct watch_dir *d = t->data;

	/* Subscribers only note the change here (they must not add or
	 * remove watches from the callback), so the list stays intact. */
	for (struct watch_link *l = d->subs; l != NULL; l = l->next)
		l->sub->cb(l->sub->ctx);
}

static int dir_id_of(const char *path, struct dir_id *id)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_BTIME, &stx) < 0)
		return -1;
	id->dev = ((uint64_t)stx.stx_dev_major << 32) | stx.stx_dev_minor;
	id->ino = stx.stx_ino;
	id->has_btime = (stx.stx_mask & STATX_BTIME) != 0;
	id->btime = stx.stx_btime;
	return 0;
}

static bool same_dir(const struct dir_id *a, const struct dir_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->has_btime == b->has_btime &&
	       (!a->has_btime ||
		(a->btime.tv_sec == b->btime.tv_sec && a->btime.tv_nsec == b->btime.tv_nsec));
}

static void event_cb(uv_fs_event_t *ev, const char *filename, int events, int status)
{
	struct watch_dir *d = ev->data;
	const char *slash = strrchr(d->path, '/');

	(void)events;
	/* libuv names the directory itself when it was deleted or moved
	 * (Maildir files are never called "cur" or "new"). */
	if (filename != NULL && strcmp(filename, slash != NULL ? slash + 1 : d->path) == 0)
		d->gone = true;
	if (status < 0)
		log_warn("watch %s: %s", d->path, uv_strerror(status));
	if (!uv_is_active((uv_handle_t *)&d->timer))
		uv_timer_start(&d->timer, timer_cb, WATCH_DELAY_MS, 0);
}

static void idle_unlink(struct watch_dir *d);
static void unhash(struct watch_dir *d);

static void handle_closed(uv_handle_t *h)
{
	struct watch_dir *d = h->data;

	if (--d->open_handles > 0)
		return;
	if (!d->closing) {
		/* Closed by the loop's owner (uv_walk at exit): an idle one. */
		idle_unlink(d);
		unhash(d);
		ndirs--;
	}
	free(d->path);
	free(d);
}

static void idle_unlink(struct watch_dir *d)
{
	if (d->idle_prev != NULL)
		d->idle_prev->idle_next = d->idle_next;
	else if (idle_head == d)
		idle_head = d->idle_next;
	else
		return;		/* not on the list */
	if (d->idle_next != NULL)
		d->idle_next->idle_prev = d->idle_prev;
	else
		idle_tail = d->idle_prev;
	d->idle_prev = d->idle_next = NULL;
	nidle--;
}

static void unhash(struct watch_dir *d)
{
	struct watch_dir **pp;

	if (!d->hashed)
		return;
	for (pp = &buckets[hash_path(d->loop, d->path)]; *pp != d; pp = &(*pp)->hash_next)
		;
	*pp = d->hash_next;
	d->hashed = false;
}

static void dir_close(struct watch_dir *d)
{
	d->closing = true;
	idle_unlink(d);
	unhash(d);
	ndirs--;
	uv_fs_event_stop(&d->ev);
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->ev, handle_closed);
	uv_close((uv_handle_t *)&d->timer, handle_closed);
}

/* Idle directories of this loop past their time, or beyond the cap. */
static void idle_expire(void *loop)
{
	uint64_t now = uv_now(loop);
	struct watch_dir *d = idle_head, *next;

	for (; d != NULL; d = next) {
		next = d->idle_next;
		if (d->loop == loop &&
		    (nidle > WATCH_IDLE_MAX || now - d->idle_since >= WATCH_IDLE_MS))
			dir_close(d);
	}
}

static struct watch_dir *dir_get(void *loop, const char *path)
{
	unsigned h = hash_path(loop, path);
	struct watch_dir *d;
	struct dir_id id;
	int ret;

	if (dir_id_of(path, &id) < 0) {
		log_warn("cannot watch %s: %s", path, strerror(errno));
		return NULL;
	}
	for (d = buckets[h]; d != NULL; d = d->hash_next)
		if (d->loop == loop && strcmp(d->path, path) == 0)
			break;
	if (d != NULL && (d->gone || !same_dir(&d->id, &id))) {
		/* Replaced since: its watch sees the old directory. */
		if (d->subs == NULL)
			dir_close(d);
		else
			unhash(d);
		d = NULL;
	}
	if (d != NULL) {
		if (d->subs == NULL) {
			idle_unlink(d);
			uv_ref((uv_handle_t *)&d->ev);
			uv_ref((uv_handle_t *)&d->timer);
		}
		return d;
	}
	d = xcalloc(1, sizeof(*d));
	d->path = xstrdup(path);
	d->loop = loop;
	d->id = id;
	uv_fs_event_init(loop, &d->ev);
	uv_timer_init(loop, &d->timer);
	d->ev.data = d;
	d->timer.data = d;
	d->open_handles = 2;
	ret = uv_fs_event_start(&d->ev, event_cb, path, 0);
	if (ret < 0) {
		log_warn("cannot watch %s: %s", path, uv_strerror(ret));
		uv_close((uv_handle_t *)&d->ev, handle_closed);
		uv_close((uv_handle_t *)&d->timer, handle_closed);
		return NULL;
	}
	d->hash_next = buckets[h];
	buckets[h] = d;
	d->hashed = true;
	ndirs++;
	return d;
}

static void dir_release(struct watch_dir *d)
{
	if (d->subs != NULL)
		return;
	if (!d->hashed) {
		dir_close(d);
		return;
	}
	/* An idle watch does not keep the loop running: a stopping worker's
	 * loop ends with its last session, and uv_walk closes these. */
	uv_unref((uv_handle_t *)&d->ev);
	uv_unref((uv_handle_t *)&d->timer);
	d->idle_since = uv_now(d->loop);
	d->idle_prev = idle_tail;
	if (idle_tail != NULL)
		idle_tail->idle_next = d;
	else
		idle_head = d;
	idle_tail = d;
	nidle++;
	idle_expire(d->loop);
}

static void link_remove(struct watch_link *l)
{
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		l->dir->subs = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	dir_release(l->dir);
}

struct watch_sub *watch_add(void *loop, char *const *dirs, size_t n,
			    void (*cb)(void *ctx), void *ctx)
{
	struct watch_sub *sub = xcalloc(1, sizeof(*sub) + n * sizeof(sub->links[0]));

	sub->cb = cb;
	sub->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		struct watch_dir *d = dir_get(loop, dirs[i]);
		struct watch_link *l = &sub->links[i];

		if (d == NULL) {
			watch_remove(&sub);
			return NULL;
		}
		l->sub = sub;
		l->dir = d;
		l->next = d->subs;
		if (d->subs != NULL)
			d->subs->prev = l;
		d->subs = l;
		sub->n = i + 1;
	}
	return sub;
}

void watch_remove(struct watch_sub **subp)
{
	struct watch_sub *sub = *subp;

	if (sub == NULL)
		return;
	for (size_t i = 0; i < sub->n; i++)
		link_remove(&sub->links[i]);
	free(sub);
	*subp = NULL;
}

size_t watch_dir_count(void)
{
	return ndirs;
}

size_t watch_idle_count(void)
{
	return nidle;
}

void watch_close_idle(void *loop)
{
	struct watch_dir *d = idle_head, *next;

	for (; d != NULL; d = next) {
		next = d->idle_next;
		if (d->loop == loop)
			dir_close(d);
	}
}
