/*
 * `duomail trace USER`: a live feed of USER's commands and status replies,
 * from all of the user's sessions, POP3 and IMAP, until Ctrl-C.  The
 * server redacts before anything leaves the session (core/live.h):
 * passwords, SASL responses and literals never reach this program.
 */
#include "core/admin_cmd.h"
#include "core/commands.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail trace [--config FILE] [--json] USER\n"
		   "Prints USER's commands (C:) and the server's status replies (S:) live, from every\n"
		   "session of both protocols, until Ctrl-C.  Passwords, SASL exchanges and message\n"
		   "data are never shown (<redacted>, or a size).  --json: one JSON object a line.\n"
		   "Exit: 0 on Ctrl-C, 2 bad config, 64 usage, 67 no such user, 69 server not reachable.\n");
}

static void on_signal(int sig)
{
	stop = 1;
}

/* event TS_US SESSION PROTO DIR USER TEXT */
static void print_event(char **f, size_t n, bool json)
{
	long long ts = strtoll(f[1], NULL, 10);
	time_t sec = (time_t)(ts / 1000000);
	char when[40], sid[32];
	struct tm tm;

	admin_format_session(strtoull(f[2], NULL, 10), sid, sizeof(sid));
	if (json) {
		printf("{\"time_us\":%lld,\"session\":", ts);
		json_string(stdout, sid);
		printf(",\"protocol\":");
		json_string(stdout, f[3]);
		printf(",\"direction\":");
		json_string(stdout, f[4]);
		printf(",\"user\":");
		json_string(stdout, f[5]);
		printf(",\"text\":");
		json_string(stdout, f[6]);
		printf("}\n");
		return;
	}
	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (f[4][0] == '*')
		printf("%s.%06lld %-4s %-8s %s\n", when, ts % 1000000, f[3], sid, f[6]);
	else
		printf("%s.%06lld %-4s %-8s %s: %s\n", when, ts % 1000000, f[3], sid, f[4], f[6]);
}

int cmd_trace(int argc, char **argv)
{
	struct admin_opts o;
	struct admin_reader r = { 0 };
	struct sigaction sa;
	struct config *cfg;
	char req[300], err[512], line[4096];
	char *fields[8];
	int ret;

	if (!admin_opts_parse(argc, argv, true, 1, 1, usage, &o, &ret))
		return ret;
	cfg = admin_load_config("trace", &o);
	if (cfg == NULL)
		return EXIT_CONFIG;
	if ((ret = admin_check_user("trace", cfg, o.args[0])) != 0) {
		config_free(&cfg);
		return ret;
	}
	/* No SA_RESTART: Ctrl-C interrupts the wait for the next event. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	snprintf(req, sizeof(req), "trace %.200s", o.args[0]);
	r.fd = admin_client_open(cfg, req, err, sizeof(err));
	if (r.fd < 0) {
		fprintf(stderr, "duomail trace: %s\n", err);
		config_free(&cfg);
		return EXIT_UNAVAIL;
	}
	ret = admin_client_line(&r, line, sizeof(line), 10000, err, sizeof(err));
	if (ret <= 0 || strcmp(line, "ok") != 0) {
		fprintf(stderr, "duomail trace: %s\n",
			ret > 0 && strncmp(line, "error ", 6) == 0 ? line + 6 :
			ret == 0 ? "the server closed the admin connection" : err);
		close(r.fd);
		config_free(&cfg);
		return stop ? 0 : EXIT_PROTOCOL;
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "tracing %s; Ctrl-C stops\n", o.args[0]);
	ret = 0;
	while (!stop) {
		size_t n;
		int got = admin_client_line(&r, line, sizeof(line), -1, err, sizeof(err));

		if (got <= 0) {
			if (!stop) {
				fprintf(stderr, "duomail trace: %s\n",
					got == 0 ? "the server ended the trace (stopping?)" : err);
				ret = EXIT_UNAVAIL;
			}
			break;
		}
		n = admin_fields_split(line, fields, 8);
		if (n == 7 && strcmp(fields[0], "event") == 0)
			print_event(fields, n, o.json);
		else if (n == 2 && strcmp(fields[0], "lost") == 0)
			fprintf(stderr, "duomail trace: %s events lost (too many too fast)\n",
				fields[1]);
	}
	close(r.fd);
	config_free(&cfg);
	return ret;
}
