#ifndef LG_PROC_H
#define LG_PROC_H
/*
 * The server's resource use, read from /proc for a process tree: the pids
 * given (duomail's master; Dovecot's master) and all their descendants
 * (workers; imap, imap-login, auth, ...), found anew at every sample since
 * Dovecot starts a process per session.
 *
 * CPU: utime+stime+cutime+cstime summed over the tree.  A child that exits
 * is reaped by its parent, whose cutime/cstime then hold its time, so the
 * sum stays right across short-lived processes.
 * Memory: PSS (proportional set size, /proc/PID/smaps_rollup) summed over
 * the tree, so pages shared between many Dovecot processes are counted
 * once; RSS where smaps_rollup cannot be read.  Also the largest VmHWM of
 * one process.
 */
#include <stdint.h>

#define LG_PROC_MAX_ROOTS 16

struct lg_proc_sample {
	double cpu_s;
	uint64_t pss_kib;	/* sum over the tree */
	uint64_t rss_kib;	/* sum over the tree (shared pages counted per process) */
	uint64_t max_hwm_kib;	/* largest VmHWM of any one process */
	unsigned nprocs;
};

/* Returns 0, or -1 when no root pid exists any more. */
int lg_proc_sample(const int *roots, unsigned nroots, struct lg_proc_sample *out);

#endif
