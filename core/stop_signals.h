/* The stop signals of a process that serves on a libuv loop. */
#ifndef DUOMAIL_STOP_SIGNALS_H
#define DUOMAIL_STOP_SIGNALS_H

#include <uv.h>

/* Closes the loop's handles for SIGTERM, SIGINT and SIGHUP (those in h,
 * n of them) and leaves the three ignored.  Closing a libuv signal
 * handle puts back the default action at once, and a stop often brings a
 * second SIGTERM (from the master and from a kill of the whole process
 * group): it must not kill the process mid-stop.  So: block, close,
 * ignore, unblock. */
void stop_signals_retire(uv_signal_t *const *h, int n);

#endif
