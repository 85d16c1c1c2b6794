/* Log-linear latency buckets; see lg_hist.h. */
#include "lg_hist.h"

static unsigned bucket_of(uint64_t us)
{
	if (us < 2 * LG_HIST_SUB)
		return (unsigned)us;
	unsigned msb = 63u - (unsigned)__builtin_clzll(us);
	unsigned shift = msb - 5;	/* us >> shift is in [32, 63] */
	unsigned idx = (shift + 1) * LG_HIST_SUB + (unsigned)((us >> shift) - LG_HIST_SUB);
	return idx < LG_HIST_BUCKETS ? idx : LG_HIST_BUCKETS - 1;
}

static uint64_t bucket_upper(unsigned idx)
{
	if (idx < 2 * LG_HIST_SUB)
		return idx;
	unsigned shift = idx / LG_HIST_SUB - 1;
	uint64_t mant = idx % LG_HIST_SUB + LG_HIST_SUB;
	return ((mant + 1) << shift) - 1;
}

void lg_hist_add(struct lg_hist *h, uint64_t us)
{
	h->bucket[bucket_of(us)]++;
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	/* The rank of the q-th value, 1-based, rounded up: p99 of 100 values
	 * is the 99th, of 10 values the 10th. */
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t up = bucket_upper(i);
			return up < h->max_us ? up : h->max_us;
		}
	}
	return h->max_us;
}
