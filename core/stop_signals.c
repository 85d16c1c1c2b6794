#include "core/stop_signals.h"

#include <signal.h>

void stop_signals_retire(uv_signal_t *const *h, int n)
{
	sigset_t stop_signals, old;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_signals, &old);
	for (int i = 0; i < n; i++)
		if (!uv_is_closing((uv_handle_t *)h[i]))
			uv_close((uv_handle_t *)h[i], NULL);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old, NULL);
}
