#ifndef DUOMAIL_WORKER_CTL_H
#define DUOMAIL_WORKER_CTL_H
/*
 * The master's messages to a worker: one SOCK_SEQPACKET socketpair per
 * worker, one way (a worker never sends, so nothing a worker does can make
 * the root master parse anything).  A message says what to reload and
 * carries open files (SCM_RIGHTS) that the master opened as root: the
 * worker reads the root-only key and passwd-file through them without the
 * right to open them itself.
 */
#include <stdbool.h>
#include <stdint.h>

enum worker_ctl_kind {
	WORKER_CTL_USERS = 1,	/* fds[0]: the passwd-file */
	WORKER_CTL_TLS = 2,	/* fds[2i], fds[2i+1]: cert and key of pair i */
	WORKER_CTL_USERDB = 3,	/* no fds: SIGHUP for a database that is no file
				 * (userdb_reload: the SQL pool reconnects) */
};

#define WORKER_CTL_MAX_FDS 64

struct worker_ctl_msg {
	uint32_t kind;		/* enum worker_ctl_kind */
	uint32_t force;		/* USERS: read it even if it looks unchanged (SIGHUP) */
};

/* Sends without blocking (a worker that does not read loses the message,
 * which the caller logs).  The fds stay the caller's.  0, or -1 (errno). */
int worker_ctl_send(int sock, const struct worker_ctl_msg *msg, const int *fds, unsigned nfds);

/* Receives one message if there is one: 1 with *msg and the fds (the
 * caller closes them), 0 none waiting, -1 the master is gone or a broken
 * message (errno). */
int worker_ctl_recv(int sock, struct worker_ctl_msg *msg, int fds[WORKER_CTL_MAX_FDS],
		    unsigned *nfds_r);

#endif
