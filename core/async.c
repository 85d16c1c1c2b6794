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
