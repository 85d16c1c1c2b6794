/* The result: one JSON line (for scripts) and one line for people. */
#include "lg.h"

#include <stdio.h>

static double per_s(uint64_t n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

void lg_report(const struct lg_run *run)
{
	const struct lg_options *o = run->opt;
	double secs = (double)(run->t_end_ns - run->t0_ns) / 1e9;
	printf("{\"label\":\"%s\",\"protocol\":\"%s\",\"workload\":\"%s\",\"clients\":%u,"
	       "\"tls\":%s,\"elapsed_s\":%.3f,\"sessions\":%llu,\"ops\":%llu,\"ops_per_s\":%.1f,"
	       "\"sessions_per_s\":%.2f,\"msgs\":%llu,\"msgs_per_s\":%.1f,\"bytes_in\":%llu,"
	       "\"mib_per_s\":%.2f,\"errors\":%llu,\"lat_p50_us\":%llu,\"lat_p99_us\":%llu,"
	       "\"lat_max_us\":%llu",
	       o->label, o->protocol, o->workload, o->clients, o->tls ? "true" : "false", secs,
	       (unsigned long long)run->sessions, (unsigned long long)run->ops,
	       per_s(run->ops, secs), per_s(run->sessions, secs),
	       (unsigned long long)run->msgs, per_s(run->msgs, secs),
	       (unsigned long long)run->bytes_in, per_s(run->bytes_in, secs) / 1048576.0,
	       (unsigned long long)run->errors,
	       (unsigned long long)lg_hist_quantile(&run->lat, 0.50),
	       (unsigned long long)lg_hist_quantile(&run->lat, 0.99),
	       (unsigned long long)run->lat.max_us);
	if (run->have_proc) {
		double cpu = run->after.cpu_s - run->before.cpu_s;
		printf(",\"server_cpu_s\":%.3f,\"server_cpu_us_per_op\":%.1f,"
		       "\"server_peak_pss_kib\":%llu,\"server_pss_before_kib\":%llu,"
		       "\"server_pss_after_kib\":%llu,\"server_max_hwm_kib\":%llu,"
		       "\"server_procs\":%u",
		       cpu, run->ops ? cpu * 1e6 / (double)run->ops : 0,
		       (unsigned long long)run->peak_pss_kib,
		       (unsigned long long)run->before.pss_kib,
		       (unsigned long long)run->after.pss_kib,
		       (unsigned long long)run->after.max_hwm_kib, run->after.nprocs);
	}
	if (run->have_push)
		printf(",\"push_received\":%llu,\"push_p50_us\":%llu,\"push_p99_us\":%llu,"
		       "\"push_max_us\":%llu",
		       (unsigned long long)run->push.count,
		       (unsigned long long)lg_hist_quantile(&run->push, 0.50),
		       (unsigned long long)lg_hist_quantile(&run->push, 0.99),
		       (unsigned long long)run->push.max_us);
	for (unsigned i = 0; i < run->nextra; i++)
		printf(",\"%s\":%.3f", run->extra[i].key, run->extra[i].val);
	printf("}\n");

	printf("%s %s/%s: %u clients%s, %.1f s: %llu sessions, %llu ops (%.1f/s), "
	       "%llu msgs (%.1f/s, %.1f MiB/s), %llu errors; latency p50 %.2f ms p99 %.2f ms",
	       o->label, o->protocol, o->workload, o->clients, o->tls ? " (TLS)" : "", secs,
	       (unsigned long long)run->sessions, (unsigned long long)run->ops,
	       per_s(run->ops, secs), (unsigned long long)run->msgs, per_s(run->msgs, secs),
	       per_s(run->bytes_in, secs) / 1048576.0, (unsigned long long)run->errors,
	       (double)lg_hist_quantile(&run->lat, 0.50) / 1000.0,
	       (double)lg_hist_quantile(&run->lat, 0.99) / 1000.0);
	if (run->have_proc)
		printf("; server CPU %.2f s, peak PSS %.1f MiB (%u processes)",
		       run->after.cpu_s - run->before.cpu_s,
		       (double)run->peak_pss_kib / 1024.0, run->after.nprocs);
	if (run->have_push)
		printf("; push to %llu sessions p50 %.1f ms p99 %.1f ms",
		       (unsigned long long)run->push.count,
		       (double)lg_hist_quantile(&run->push, 0.50) / 1000.0,
		       (double)lg_hist_quantile(&run->push, 0.99) / 1000.0);
	for (unsigned i = 0; i < run->nextra; i++)
		printf("; %s %.1f", run->extra[i].key, run->extra[i].val);
	printf("\n");
	fflush(stdout);
}
