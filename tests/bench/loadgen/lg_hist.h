#ifndef LG_HIST_H
#define LG_HIST_H
/*
 * A latency histogram in microseconds with log-linear buckets: exact below
 * 64 us, then 32 buckets per power of two (about 3 % resolution) up to
 * 2^40 us.  Fixed size, no allocation; adding is O(1), so a run of millions
 * of operations costs nothing to record.
 */
#include <stdint.h>

#define LG_HIST_SUB 32
#define LG_HIST_BUCKETS (LG_HIST_SUB * 38)

struct lg_hist {
	uint64_t count;
	uint64_t max_us;
	uint64_t sum_us;
	uint64_t bucket[LG_HIST_BUCKETS];
};

void lg_hist_add(struct lg_hist *h, uint64_t us);
/* The value at quantile q (0..1): the upper edge of the bucket holding it,
 * so a percentile is never reported lower than it was.  0 when empty. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

#endif
