/* /proc readings for a process tree; see lg_proc.h. */
#include "lg_proc.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proc_ent {
	int pid;
	int ppid;
	double cpu_s;
};

/* Fields after the "(comm)" of /proc/PID/stat: state ppid ... utime(14)
 * stime(15) cutime(16) cstime(17), numbered as in proc(5). */
static int read_stat(int pid, struct proc_ent *e)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *p = strrchr(text, ')');	/* comm may hold spaces and ')' */
	if (!p)
		return -1;
	p++;
	unsigned long long v[16] = {0};
	char state;
	if (sscanf(p, " %c %llu %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
		   &state, &v[0], &v[1], &v[2], &v[3], &v[4]) != 6)
		return -1;
	static long ticks;
	if (!ticks)
		ticks = sysconf(_SC_CLK_TCK);
	e->pid = pid;
	e->ppid = (int)v[0];
	e->cpu_s = (double)(v[1] + v[2] + v[3] + v[4]) / (double)ticks;
	return 0;
}

static uint64_t kib_field(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return UINT64_MAX;
	char line[256];
	size_t nl = strlen(name);
	uint64_t val = UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
			val = strtoull(line + nl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static int by_pid(const void *a, const void *b)
{
	const struct proc_ent *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* all[] is sorted by pid: walk up the parent chain with binary searches;
 * the depth is bounded by the process count. */
static int in_tree(const struct proc_ent *all, size_t n, int pid, const int *roots,
		   unsigned nroots)
{
	for (size_t depth = 0; depth <= n && pid > 1; depth++) {
		for (unsigned r = 0; r < nroots; r++)
			if (pid == roots[r])
				return 1;
		struct proc_ent key = {.pid = pid};
		const struct proc_ent *e = bsearch(&key, all, n, sizeof(*all), by_pid);
		if (!e)
			return 0;
		pid = e->ppid;
	}
	return 0;
}

int lg_proc_sample(const int *roots, unsigned nroots, struct lg_proc_sample *out)
{
	memset(out, 0, sizeof(*out));
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	size_t n = 0, cap = 1024;
	struct proc_ent *all = malloc(cap * sizeof(*all));
	struct dirent *de;
	while (all && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			struct proc_ent *bigger = realloc(all, 2 * cap * sizeof(*all));
			if (!bigger)
				break;
			all = bigger;
			cap *= 2;
		}
		if (read_stat(atoi(de->d_name), &all[n]) == 0)
			n++;
	}
	closedir(d);
	if (!all)
		return -1;
	qsort(all, n, sizeof(*all), by_pid);
	for (size_t i = 0; i < n; i++) {
		if (!in_tree(all, n, all[i].pid, roots, nroots))
			continue;
		char path[64];
		out->nprocs++;
		out->cpu_s += all[i].cpu_s;
		snprintf(path, sizeof(path), "/proc/%d/status", all[i].pid);
		uint64_t rss = kib_field(path, "VmRSS");
		uint64_t hwm = kib_field(path, "VmHWM");
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", all[i].pid);
		uint64_t pss = kib_field(path, "Pss");
		if (rss != UINT64_MAX)
			out->rss_kib += rss;
		if (hwm != UINT64_MAX && hwm > out->max_hwm_kib)
			out->max_hwm_kib = hwm;
		if (pss != UINT64_MAX)
			out->pss_kib += pss;
		else if (rss != UINT64_MAX)
			out->pss_kib += rss;
	}
	free(all);
	return out->nprocs ? 0 : -1;
}
