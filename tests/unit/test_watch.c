/*
 * Shared directory watches (core/watch.c): a change in a watched directory
 * reaches every subscriber; a directory whose last subscriber went stays
 * watched (idle) without keeping the loop running, and its next subscriber
 * reuses the watch; a directory deleted and made again under the same name
 * is watched afresh, so its new subscribers hear of its changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/watch.h"

static uv_loop_t loop;
static char dir[64];

static void count_cb(void *ctx)
{
	(*(int *)ctx)++;
}

/* Runs the loop until *heard changes, for at most a second. */
static void wait_heard(const int *heard, int was)
{
	for (int i = 0; i < 200 && *heard == was; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
}

static void never_cb(uv_timer_t *t)
{
	(void)t;
}
#define NULL_TIMER never_cb

static void touch(const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/duomail-watch-XXXXXX");
	assert_non_null(mkdtemp(dir));
	uv_loop_init(&loop);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	watch_close_idle(&loop);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(watch_dir_count(), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_change_reaches_every_subscriber(void **state)
{
	char *dirs[] = { dir };
	int a = 0, b = 0;
	struct watch_sub *sa = watch_add(&loop, dirs, 1, count_cb, &a);
	struct watch_sub *sb = watch_add(&loop, dirs, 1, count_cb, &b);

	(void)state;
	assert_non_null(sa);
	assert_non_null(sb);
	assert_int_equal(watch_dir_count(), 1);	/* one watch for both */
	touch("one");
	wait_heard(&b, 0);
	assert_int_equal(a, 1);			/* a burst is heard once */
	assert_int_equal(b, 1);
	watch_remove(&sa);
	watch_remove(&sb);
	assert_null(sa);
}

static void test_idle_watch_is_kept_and_reused(void **state)
{
	char *dirs[] = { dir };
	int heard = 0;
	struct watch_sub *s = watch_add(&loop, dirs, 1, count_cb, &heard);

	(void)state;
	watch_remove(&s);
	assert_int_equal(watch_dir_count(), 1);
	assert_int_equal(watch_idle_count(), 1);
	/* Nothing but the idle watch: the loop has nothing to run. */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	s = watch_add(&loop, dirs, 1, count_cb, &heard);
	assert_int_equal(watch_dir_count(), 1);
	assert_int_equal(watch_idle_count(), 0);
	touch("two");
	wait_heard(&heard, 0);
	assert_int_equal(heard, 1);
	watch_remove(&s);
}

static void test_replaced_directory_is_watched_afresh(void **state)
{
	char *dirs[] = { dir };
	char path[192];
	int heard = 0;
	struct watch_sub *s = watch_add(&loop, dirs, 1, count_cb, &heard);

	(void)state;
	watch_remove(&s);
	/* A mailbox deleted and created again under its name. */
	snprintf(path, sizeof(path), "rm -rf %s && mkdir %s", dir, dir);
	assert_int_equal(system(path), 0);
	{
		/* The old watch's last events: a loop with only idle watches
		 * does not poll, so something else keeps it going meanwhile
		 * (in a worker, the listener does). */
		uv_timer_t keep;

		uv_timer_init(&loop, &keep);
		uv_timer_start(&keep, NULL_TIMER, 60000, 0);
		for (int i = 0; i < 20; i++) {
			uv_run(&loop, UV_RUN_NOWAIT);
			usleep(WATCH_DELAY_MS * 1000 / 4);
		}
		uv_close((uv_handle_t *)&keep, NULL);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	heard = 0;
	s = watch_add(&loop, dirs, 1, count_cb, &heard);
	assert_non_null(s);
	touch("three");
	wait_heard(&heard, 0);
	assert_int_equal(heard, 1);
	watch_remove(&s);
	/* A directory that is gone cannot be watched: the caller polls. */
	assert_int_equal(rmdir(dir), -1);	/* not empty */
	snprintf(path, sizeof(path), "%s/none", dir);
	dirs[0] = path;
	assert_null(watch_add(&loop, dirs, 1, count_cb, &heard));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_change_reaches_every_subscriber, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_watch_is_kept_and_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replaced_directory_is_watched_afresh, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
