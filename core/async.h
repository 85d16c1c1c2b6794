#ifndef DUOMAIL_ASYNC_H
#define DUOMAIL_ASYNC_H
/*
 * Work off the event loop: password hashing and mailbox scans take long
 * enough to stall every other session on the worker, so they run on libuv's
 * thread pool.  work(arg) runs on a pool thread and must touch nothing the
 * loop owns; done(arg) then runs on the loop thread.
 */
void async_run(void *loop, void (*work)(void *arg), void (*done)(void *arg), void *arg);

/* The same, but the job is queued only after delay_ms (a loop timer; no
 * thread waits meanwhile): a login under a failure penalty. */
void async_run_after(void *loop, unsigned delay_ms, void (*work)(void *arg),
		     void (*done)(void *arg), void *arg);

#endif
