/* duomail-loadgen: options, the message, the run.  See lg.h and --help. */
#include "lg.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct lg_workload *const workloads[] = {
	&lg_imap_mixed, &lg_imap_select_fetch, &lg_imap_idle,
	&lg_pop3_retr_all, &lg_pop3_retr_pipelined, &lg_pop3_mixed, &lg_lmtp_deliver,
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: duomail-loadgen --port PORT --protocol imap|pop3|lmtp --workload NAME\n"
		"         [--host 127.0.0.1] [--clients 10] [--duration 10 | --count N]\n"
		"         (--user NAME:PASSWORD ... | --users-file FILE) [--tls]\n"
		"         [--msg-size 4096] [--pid PID ...] [--label TEXT]\n"
		"         [--lmtp HOST:PORT] [--ramp 200] [--settle 2]\n"
		"Drives --clients concurrent sessions against a server and prints one JSON\n"
		"line of figures, then one line for people.  --pid: the server's master\n"
		"(repeatable); its whole process tree is measured (CPU, PSS from /proc).\n"
		"--count: sessions in all (LMTP: deliveries) instead of --duration seconds.\n"
		"--users-file: one NAME:PASSWORD a line; client i uses user i mod count.\n"
		"--tls: implicit TLS (the IMAPS/POP3S port); certificates are not checked.\n"
		"Workloads:\n");
	for (size_t i = 0; i < NWORKLOADS; i++)
		fprintf(out, "  %-5s %-13s %s\n", workloads[i]->protocol, workloads[i]->name,
			workloads[i]->about);
	fprintf(out, "Exit: 0 ran (errors are in the figures), 2 bad usage, 1 could not run.\n");
}

static void die_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "duomail-loadgen: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(2);
}

static void add_user(struct lg_options *o, const char *spec)
{
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec)
		die_usage("a user is NAME:PASSWORD", spec);
	o->users = realloc(o->users, (o->nusers + 1) * sizeof(*o->users));
	if (!o->users)
		die_usage("out of memory", NULL);
	o->users[o->nusers].name = strndup(spec, (size_t)(colon - spec));
	o->users[o->nusers].pass = strdup(colon + 1);
	o->nusers++;
}

static void read_users(struct lg_options *o, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die_usage("cannot read the users file", path);
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] && line[0] != '#')
			add_user(o, line);
	}
	fclose(f);
}

static unsigned long long number(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-')
		die_usage(what, s);
	return v;
}

static void resolve(const char *host, int port, struct sockaddr_storage *out)
{
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) != 0)
		die_usage("not an IP address", host);
}

static void host_port(const char *spec, struct sockaddr_storage *out)
{
	const char *colon = strrchr(spec, ':');
	if (!colon)
		die_usage("HOST:PORT expected", spec);
	char host[128];
	size_t hl = (size_t)(colon - spec);
	if (hl >= sizeof(host))
		die_usage("host too long", spec);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	resolve(host, (int)number(colon + 1, "bad port"), out);
}

/* A plain RFC 5322 message of about size bytes, CRLF line ends, no line
 * starting with "." (so LMTP needs no dot-stuffing). */
static char *make_message(size_t size, size_t *len_r)
{
	static const char head[] =
		"From: Load Generator <loadgen@bench.test>\r\n"
		"To: bench@bench.test\r\n"
		"Subject: duomail-loadgen message\r\n"
		"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
		"Message-ID: <loadgen@bench.test>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n";
	static const char line[] =
		"The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
	size_t cap = sizeof(head) + size + sizeof(line);
	char *m = malloc(cap);
	if (!m)
		die_usage("out of memory", NULL);
	size_t n = sizeof(head) - 1;
	memcpy(m, head, n);
	do {
		memcpy(m + n, line, sizeof(line) - 1);
		n += sizeof(line) - 1;
	} while (n < size);
	*len_r = n;
	return m;
}

static void deadline_cb(uv_timer_t *t)
{
	struct lg_run *run = t->data;
	run->stop = true;
}

static void sampler_cb(uv_timer_t *t)
{
	struct lg_run *run = t->data;
	struct lg_proc_sample s;
	if (lg_proc_sample(run->opt->pids, run->opt->npids, &s) == 0 &&
	    s.pss_kib > run->peak_pss_kib)
		run->peak_pss_kib = s.pss_kib;
}

static void raise_nofile(unsigned clients)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)clients + 64)
		fprintf(stderr, "duomail-loadgen: warning: only %llu file descriptors for %u clients\n",
			(unsigned long long)rl.rlim_cur, clients);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"protocol", required_argument, NULL, 'P'},
		{"workload", required_argument, NULL, 'w'},
		{"clients", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"count", required_argument, NULL, 'n'},
		{"user", required_argument, NULL, 'u'},
		{"users-file", required_argument, NULL, 'U'},
		{"tls", no_argument, NULL, 't'},
		{"msg-size", required_argument, NULL, 's'},
		{"pid", required_argument, NULL, 'i'},
		{"label", required_argument, NULL, 'l'},
		{"lmtp", required_argument, NULL, 'L'},
		{"ramp", required_argument, NULL, 'r'},
		{"settle", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct lg_options o = {
		.host = "127.0.0.1", .clients = 10, .duration_s = 10, .msg_size = 4096,
		.ramp = 200, .settle_s = 2, .label = "loadgen",
	};
	const char *lmtp_spec = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = (int)number(optarg, "bad --port"); break;
		case 'P': o.protocol = optarg; break;
		case 'w': o.workload = optarg; break;
		case 'c': o.clients = (unsigned)number(optarg, "bad --clients"); break;
		case 'd': o.duration_s = strtod(optarg, NULL); break;
		case 'n': o.count = number(optarg, "bad --count"); break;
		case 'u': add_user(&o, optarg); break;
		case 'U': read_users(&o, optarg); break;
		case 't': o.tls = true; break;
		case 's': o.msg_size = (size_t)number(optarg, "bad --msg-size"); break;
		case 'i':
			if (o.npids == LG_PROC_MAX_ROOTS)
				die_usage("too many --pid", optarg);
			o.pids[o.npids++] = (int)number(optarg, "bad --pid");
			break;
		case 'l': o.label = optarg; break;
		case 'L': lmtp_spec = optarg; break;
		case 'r': o.ramp = (unsigned)number(optarg, "bad --ramp"); break;
		case 'S': o.settle_s = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument", argv[optind]);
	if (!o.port || !o.protocol || !o.workload)
		die_usage("--port, --protocol and --workload are needed (see --help)", NULL);
	if (o.nusers == 0)
		die_usage("no users: give --user NAME:PASSWORD or --users-file", NULL);
	if (o.clients == 0 || o.ramp == 0)
		die_usage("--clients and --ramp must be at least 1", NULL);
	if (o.duration_s <= 0 && o.count == 0)
		die_usage("--duration must be positive", NULL);
	for (const char *p = o.label; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < ' ')
			die_usage("--label may not hold quotes, backslashes or controls", o.label);
	const struct lg_workload *w = NULL;
	for (size_t i = 0; i < NWORKLOADS; i++)
		if (strcmp(workloads[i]->protocol, o.protocol) == 0 &&
		    strcmp(workloads[i]->name, o.workload) == 0)
			w = workloads[i];
	if (!w)
		die_usage("no such protocol/workload (see --help)", o.workload);
	resolve(o.host, o.port, &o.addr);
	if (lmtp_spec) {
		host_port(lmtp_spec, &o.lmtp_addr);
		o.have_lmtp = true;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(o.clients);

	struct lg_run run = {.loop = uv_default_loop(), .opt = &o};
	run.message = make_message(o.msg_size, &run.message_len);
	if (o.tls) {
		if (gnutls_certificate_allocate_credentials(&run.cred) < 0)
			die_usage("GnuTLS credentials", NULL);
	}
	if (o.npids) {
		if (lg_proc_sample(o.pids, o.npids, &run.before) < 0) {
			fprintf(stderr, "duomail-loadgen: no process %d\n", o.pids[0]);
			return 1;
		}
		run.have_proc = true;
		run.peak_pss_kib = run.before.pss_kib;
		uv_timer_init(run.loop, &run.sampler);
		run.sampler.data = &run;
		uv_timer_start(&run.sampler, sampler_cb, 1000, 1000);
		uv_unref((uv_handle_t *)&run.sampler);
	}
	uv_timer_init(run.loop, &run.deadline);
	run.deadline.data = &run;
	if (o.count == 0) {
		uv_timer_start(&run.deadline, deadline_cb, (uint64_t)(o.duration_s * 1000), 0);
		uv_unref((uv_handle_t *)&run.deadline);
	}
	run.t0_ns = lg_now_ns();
	w->start(&run);
	uv_run(run.loop, UV_RUN_DEFAULT);
	/* Only the report mattered; free what is ours so leak checkers
	 * (the ASan smoke run) see a clean exit. */
	free(run.clients);
	free(run.message);
	if (run.cred)
		gnutls_certificate_free_credentials(run.cred);
	for (unsigned i = 0; i < o.nusers; i++) {
		free(o.users[i].name);
		free(o.users[i].pass);
	}
	free(o.users);
	return run.t_end_ns ? 0 : 1;
}
