/* IMAP sequence sets.  See imap_seqset.h. */
#include "imap/imap_seqset.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* seq-number at *p: "*" (returned as 0) or nz-number = digit-nz *DIGIT,
 * 1..4294967295 (RFC 3501 §9), so "0" and "01" are both syntax errors. */
static int parse_number(const char **p, const char *end, uint32_t *n_r, const char **error_r)
{
	uint64_t n = 0;
	const char *s = *p;

	if (s < end && *s == '*') {
		*p = s + 1;
		*n_r = 0;
		return 0;
	}
	if (s == end || *s < '1' || *s > '9') {
		*error_r = s < end && *s == '0' ? "Invalid sequence number 0" :
			   "Invalid sequence set";
		return -1;
	}
	while (s < end && *s >= '0' && *s <= '9') {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX) {
			*error_r = "Sequence number out of range";
			return -1;
		}
		s++;
	}
	*p = s;
	*n_r = (uint32_t)n;
	return 0;
}

int imap_seqset_parse(const char *s, size_t len, struct seqset *set_r, const char **error_r)
{
	const char *p = s, *end = s + len;
	size_t alloc = 0;

	memset(set_r, 0, sizeof(*set_r));
	for (;;) {
		struct seq_range r;

		if (parse_number(&p, end, &r.lo, error_r) < 0)
			goto fail;
		r.hi = r.lo;
		if (p < end && *p == ':') {
			p++;
			if (parse_number(&p, end, &r.hi, error_r) < 0)
				goto fail;
		}
		if (set_r->count == alloc) {
			alloc = alloc ? alloc * 2 : 4;
			set_r->ranges = xrealloc(set_r->ranges, alloc * sizeof(*set_r->ranges));
		}
		set_r->ranges[set_r->count++] = r;
		if (p == end)
			return 0;
		if (*p != ',') {
			/* "1:*:3", "1;2", "1 2" ... */
			*error_r = "Invalid sequence set";
			goto fail;
		}
		p++;
	}
fail:
	imap_seqset_free(set_r);
	return -1;
}

static int cmp_range(const void *a, const void *b)
{
	const struct seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void imap_seqset_resolve(struct seqset *set, uint32_t star)
{
	size_t out = 0;

	for (size_t i = 0; i < set->count; i++) {
		struct seq_range *r = &set->ranges[i];

		if (r->lo == 0)
			r->lo = star;
		if (r->hi == 0)
			r->hi = star;
		if (r->lo > r->hi) {
			uint32_t t = r->lo;

			r->lo = r->hi;
			r->hi = t;
		}
	}
	if (set->count > 1)
		qsort(set->ranges, set->count, sizeof(*set->ranges), cmp_range);
	for (size_t i = 0; i < set->count; i++) {
		struct seq_range r = set->ranges[i];

		if (out > 0 && (uint64_t)set->ranges[out - 1].hi + 1 >= r.lo) {
			if (r.hi > set->ranges[out - 1].hi)
				set->ranges[out - 1].hi = r.hi;
			continue;
		}
		set->ranges[out++] = r;
	}
	set->count = out;
}

bool imap_seqset_contains(const struct seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void imap_seqset_free(struct seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = 0;
}

char *imap_seqset_format(const uint32_t *nums, size_t count)
{
	struct buf b;
	char *out;

	buf_init(&b, (size_t)-1);
	for (size_t i = 0; i < count;) {
		size_t j = i;

		while (j + 1 < count && nums[j + 1] == nums[j] + 1)
			j++;
		if (j > i)
			buf_printf(&b, "%s%u:%u", b.len ? "," : "", nums[i], nums[j]);
		else
			buf_printf(&b, "%s%u", b.len ? "," : "", nums[i]);
		i = j + 1;
	}
	out = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}
