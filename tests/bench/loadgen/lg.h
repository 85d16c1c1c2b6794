#ifndef LG_H
#define LG_H
/*
 * duomail-loadgen: drives many concurrent IMAP, POP3 or LMTP sessions from
 * one libuv loop against a server on loopback and reports throughput,
 * latency percentiles, errors, and the server's CPU time and memory (read
 * from /proc for the pids given with --pid).
 *
 * Pieces: lg_conn (TCP/TLS, lines), lg_hist (latency buckets), lg_proc
 * (/proc readings), lg_run (what every workload shares: the clock, counters,
 * session accounting, the end of the run), lg_report (JSON and human line),
 * and one file per protocol's workloads: lg_imap.c (mixed, select-fetch),
 * lg_idle.c (IMAP IDLE fan-out and memory per connection), lg_pop3.c,
 * lg_lmtp.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include <gnutls/gnutls.h>

#include "lg_conn.h"
#include "lg_hist.h"
#include "lg_proc.h"

struct lg_user {
	char *name;
	char *pass;
};

struct lg_options {
	const char *host;
	int port;
	struct sockaddr_storage addr;
	const char *protocol;
	const char *workload;
	unsigned clients;
	double duration_s;		/* used when count is 0 */
	uint64_t count;			/* sessions (IMAP, POP3) or deliveries (LMTP) */
	struct lg_user *users;
	unsigned nusers;
	bool tls;
	size_t msg_size;		/* APPEND and LMTP messages */
	int pids[LG_PROC_MAX_ROOTS];
	unsigned npids;
	bool have_lmtp;			/* idle: where the one delivery goes */
	struct sockaddr_storage lmtp_addr;
	unsigned ramp;			/* idle: connections being set up at once */
	double settle_s;		/* idle: wait before measuring memory */
	const char *label;
};

#define LG_MAX_EXTRA 16

struct lg_run {
	uv_loop_t *loop;
	const struct lg_options *opt;
	gnutls_certificate_credentials_t cred;	/* NULL without --tls */
	char *message;			/* an RFC 5322 message of opt->msg_size, CRLF */
	size_t message_len;
	struct lg_hist lat;		/* per command / delivery */
	uint64_t ops, sessions, errors, msgs, bytes_in;
	uint64_t sessions_started;
	uint64_t t0_ns, t_end_ns;
	bool stop;			/* duration over: no new sessions */
	unsigned active;		/* clients not finished */
	uv_timer_t deadline;
	uv_timer_t sampler;
	struct lg_proc_sample before, after;
	uint64_t peak_pss_kib;
	bool have_proc;
	/* Workload-specific figures for the report, in order. */
	struct {
		const char *key;
		double val;
	} extra[LG_MAX_EXTRA];
	unsigned nextra;
	struct lg_client *clients;	/* lg_clients_new()'s, freed by main */
	struct lg_hist push;		/* idle: delivery to EXISTS per session */
	bool have_push;
};

#define LG_PIPE_WINDOW 16

struct lg_client {
	struct lg_conn conn;
	struct lg_run *run;
	unsigned id;
	const struct lg_user *user;
	uint64_t rng;
	int state;
	unsigned step;
	unsigned tag;
	uint64_t op_t0;
	uint64_t exists;		/* IMAP: from * n EXISTS / EXPUNGE */
	uint64_t safe;			/* IMAP: messages no other client removes */
	uint64_t cursor, nmsgs;		/* POP3: next message, count */
	uint64_t sent;			/* POP3 pipelined: RETRs sent */
	uint64_t pipe_t0[LG_PIPE_WINDOW];	/* ... and when, by RETR number mod window */
	uint64_t append_uid;		/* IMAP: from [APPENDUID] */
	uint64_t done_at_ns;		/* idle: when EXISTS came */
	bool expect_close;		/* the server may close now (after LOGOUT/QUIT) */
	bool in_session;
	bool got_push;
};

struct lg_workload {
	const char *protocol;
	const char *name;
	const char *about;
	void (*start)(struct lg_run *run);
};

extern const struct lg_workload lg_imap_mixed, lg_imap_select_fetch, lg_imap_idle,
	lg_pop3_retr_all, lg_pop3_retr_pipelined, lg_pop3_mixed, lg_lmtp_deliver;

/* ---- lg_run.c ---- */
uint64_t lg_now_ns(void);
uint64_t lg_rand(struct lg_client *cl, uint64_t n);	/* 0 .. n-1 */
/* Allocates n clients with ids, users (round robin) and seeds. */
struct lg_client *lg_clients_new(struct lg_run *run, unsigned n);
/* May this client start another session (count and duration allow)?
 * Counts it as started when so. */
bool lg_session_wanted(struct lg_run *run);
void lg_op_begin(struct lg_client *cl);
void lg_op_end(struct lg_client *cl);
/* Counts a protocol error and prints the first few. */
void lg_error(struct lg_client *cl, const char *what, const char *line, size_t len);
/* A client has nothing more to do; the last one ends the run. */
void lg_client_finished(struct lg_client *cl);
void lg_add_extra(struct lg_run *run, const char *key, double val);
/* Opens cl->conn to opt->addr with the run's TLS setting. */
void lg_client_connect(struct lg_client *cl, lg_conn_cb cb);
/* Does line (len bytes) start with the string s? */
bool lg_starts(const char *line, size_t len, const char *s);

/* ---- lg_report.c ---- */
void lg_report(const struct lg_run *run);

#endif
