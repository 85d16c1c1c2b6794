/* Thread-pool jobs on libuv.  See async.h. */
#include "core/async.h"
#include "core/log.h"

#include <uv.h>

struct async_job {
	uv_work_t req;		/* first: the uv request casts back to the job */
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static void job_work(uv_work_t *req)
{
	struct async_job *job = (struct async_job *)req;

	job->work(job->arg);
}

static void job_done(uv_work_t *req, int status)
{
	struct async_job *job = (struct async_job *)req;

	/* status is UV_ECANCELED only for uv_cancel(), which we never call. */
	(void)status;
	job->done(job->arg);
	free(job);
}

void async_run(void *loop, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	struct async_job *job = xcalloc(1, sizeof(*job));
	int ret;

	job->work = work;
	job->done = done;
	job->arg = arg;
	ret = uv_queue_work(loop, &job->req, job_work, job_done);
	if (ret < 0)
		fatal("uv_queue_work: %s", uv_strerror(ret));
}

struct async_delay {
	uv_timer_t timer;	/* first: the handle casts back */
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static void delay_closed_cb(uv_handle_t *h)
{
	free(h);
}

static void delay_timer_cb(uv_timer_t *t)
{
	struct async_delay *d = (struct async_delay *)t;

	async_run(t->loop, d->work, d->done, d->arg);
	uv_close((uv_handle_t *)t, delay_closed_cb);
}

void async_run_after(void *loop, unsigned delay_ms, void (*work)(void *arg),
		     void (*done)(void *arg), void *arg)
{
	struct async_delay *d;

	if (delay_ms == 0) {
		async_run(loop, work, done, arg);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->work = work;
	d->done = done;
	d->arg = arg;
	uv_timer_init(loop, &d->timer);
	uv_timer_start(&d->timer, delay_timer_cb, delay_ms, 0);
}
