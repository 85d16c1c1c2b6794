/*
 * Shared directory watches (see watch.h): a hash of watched directories,
 * each with a uv_fs_event handle, a coalescing timer and a list of
 * subscribers.  A subscription of n directories owns n links, one in each
 * directory's list.
 */
#include "core/watch.h"
#include "core/log.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define WATCH_BUCKETS 1024

struct watch_dir;

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
	struct watch_link *subs;
	struct watch_dir *hash_next;
};

static struct watch_dir *buckets[WATCH_BUCKETS];
static size_t ndirs;

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

static void event_cb(uv_fs_event_t *ev, const char *filename, int events, int status)
{
	struct watch_dir *d = ev->data;

	(void)filename;
	(void)events;
	if (status < 0)
		log_warn("watch %s: %s", d->path, uv_strerror(status));
	if (!uv_is_active((uv_handle_t *)&d->timer))
		uv_timer_start(&d->timer, timer_cb, WATCH_DELAY_MS, 0);
}

static void handle_closed(uv_handle_t *h)
{
	struct watch_dir *d = h->data;

	if (--d->open_handles == 0) {
		free(d->path);
		free(d);
	}
}

static struct watch_dir *dir_get(void *loop, const char *path)
{
	unsigned h = hash_path(loop, path);
	struct watch_dir *d;
	int ret;

	for (d = buckets[h]; d != NULL; d = d->hash_next)
		if (d->loop == loop && strcmp(d->path, path) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->path = xstrdup(path);
	d->loop = loop;
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
	ndirs++;
	return d;
}

static void dir_release(struct watch_dir *d)
{
	struct watch_dir **pp;

	if (d->subs != NULL)
		return;
	for (pp = &buckets[hash_path(d->loop, d->path)]; *pp != d; pp = &(*pp)->hash_next)
		;
	*pp = d->hash_next;
	ndirs--;
	uv_fs_event_stop(&d->ev);
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->ev, handle_closed);
	uv_close((uv_handle_t *)&d->timer, handle_closed);
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
