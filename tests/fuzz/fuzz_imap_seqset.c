/*
 * IMAP sequence sets (imap/imap_seqset.c).  The first four bytes are the
 * number "*" stands for, the rest the set.  Checked: a resolved set is
 * ascending, disjoint and not adjacent (merged); every number the text
 * named is in it; contains() agrees with a linear scan; and the compact
 * form imap_seqset_format() writes parses back to the same set.
 */
#include "fuzz_common.h"
#include "imap/imap_seqset.h"

#define MAX_LISTED	4096	/* numbers handed to imap_seqset_format() */

static bool linear_contains(const struct seqset *set, uint32_t n)
{
	for (size_t i = 0; i < set->count; i++)
		if (n >= set->ranges[i].lo && n <= set->ranges[i].hi)
			return true;
	return false;
}

static void check_resolved(const struct seqset *set)
{
	for (size_t i = 0; i < set->count; i++) {
		FUZZ_CHECK(set->ranges[i].lo <= set->ranges[i].hi);
		if (i > 0)
			FUZZ_CHECK((uint64_t)set->ranges[i - 1].hi + 1 < set->ranges[i].lo);
	}
}

static void check_contains(const struct seqset *set, uint32_t n)
{
	FUZZ_CHECK(imap_seqset_contains(set, n) == linear_contains(set, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seqset set, orig, again;
	const char *err = NULL;
	uint32_t star = 0, *nums;
	size_t nnums = 0;
	char *text;

	if (size < 4)
		return 0;
	memcpy(&star, data, 4);
	if (imap_seqset_parse((const char *)data + 4, size - 4, &set, &err) < 0) {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		FUZZ_CHECK(set.ranges == NULL && set.count == 0);
		return 0;
	}
	FUZZ_CHECK(set.count > 0);
	orig.count = set.count;
	orig.ranges = malloc(set.count * sizeof(*set.ranges));
	memcpy(orig.ranges, set.ranges, set.count * sizeof(*set.ranges));

	imap_seqset_resolve(&set, star);
	check_resolved(&set);
	for (size_t i = 0; i < orig.count; i++) {
		uint32_t lo = orig.ranges[i].lo ? orig.ranges[i].lo : star;
		uint32_t hi = orig.ranges[i].hi ? orig.ranges[i].hi : star;

		FUZZ_CHECK(imap_seqset_contains(&set, lo));
		FUZZ_CHECK(imap_seqset_contains(&set, hi));
	}
	for (size_t i = 0; i < set.count; i++) {
		const struct seq_range *r = &set.ranges[i];

		check_contains(&set, r->lo);
		check_contains(&set, r->hi);
		check_contains(&set, r->lo - 1);
		check_contains(&set, r->hi + 1);
	}

	/* The compact form of (the start of) the set parses back to it. */
	nums = malloc(MAX_LISTED * sizeof(*nums));
	for (size_t i = 0; i < set.count && nnums < MAX_LISTED; i++)
		for (uint64_t n = set.ranges[i].lo; n <= set.ranges[i].hi && nnums < MAX_LISTED; n++)
			nums[nnums++] = (uint32_t)n;
	text = imap_seqset_format(nums, nnums);
	if (nnums == 0) {
		FUZZ_CHECK(text[0] == '\0');
	} else if (nums[0] != 0) {
		/* 0 ("*" of an empty mailbox) is no seq-number to write */
		FUZZ_CHECK(imap_seqset_parse(text, strlen(text), &again, &err) == 0);
		imap_seqset_resolve(&again, 1);
		check_resolved(&again);
		for (size_t i = 0; i < nnums; i++)
			FUZZ_CHECK(imap_seqset_contains(&again, nums[i]));
		if (nnums < MAX_LISTED) {
			FUZZ_CHECK(again.count == set.count);
			FUZZ_CHECK(memcmp(again.ranges, set.ranges,
					  set.count * sizeof(*set.ranges)) == 0);
		}
		imap_seqset_free(&again);
	}
	free(text);
	free(nums);
	imap_seqset_free(&orig);
	imap_seqset_free(&set);
	return 0;
}
