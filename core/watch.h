#ifndef DUOMAIL_WATCH_H
#define DUOMAIL_WATCH_H
/*
 * Directory change notification for one worker's loop.  Each directory is
 * watched once (one inotify watch through libuv), however many sessions
 * care, and its events are fanned out to all of them: the kernel limits
 * inotify instances and watches per user, so a watch per session would stop
 * working after a few hundred sessions (DESIGN.md, "Change notification
 * scales").  Bursts (a delivery is a create and a rename) are coalesced:
 * subscribers hear once, WATCH_DELAY_MS after the first event.  A
 * directory stays watched for a few minutes after its last subscriber goes
 * (the next SELECT of a big folder then costs no inotify_add_watch); such
 * a watch does not keep the loop running.
 *
 * Loop thread only.
 */
#include <stddef.h>

#define WATCH_DELAY_MS 20

struct watch_sub;

/* Calls cb(ctx) whenever something changes in any of dirs.  Returns NULL
 * if a directory cannot be watched (the caller then has to poll). */
struct watch_sub *watch_add(void *loop, char *const *dirs, size_t ndirs,
			    void (*cb)(void *ctx), void *ctx);
void watch_remove(struct watch_sub **sub);

/* Directories being watched right now, and of those the ones nobody
 * subscribes to any more (for tests). */
size_t watch_dir_count(void);
size_t watch_idle_count(void);

/* Stops watching the loop's idle directories, so the loop can close (a
 * worker's uv_walk at exit closes them too). */
void watch_close_idle(void *loop);

#endif
