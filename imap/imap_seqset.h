#ifndef DUOMAIL_IMAP_SEQSET_H
#define DUOMAIL_IMAP_SEQSET_H
/*
 * IMAP sequence sets (RFC 3501 §9: sequence-set, seq-range, seq-number) for
 * message sequence numbers and UIDs.  Pure functions, no session state.
 *
 *   sequence-set = (seq-number / seq-range) *("," sequence-set)
 *   seq-range    = seq-number ":" seq-number     ; "5:2" is the same as "2:5"
 *   seq-number   = nz-number / "*"               ; nz-number is 1..4294967295
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seq_range {
	uint32_t lo, hi;	/* lo <= hi once resolved; 0 stands for "*" before */
};

struct seqset {
	struct seq_range *ranges;
	size_t count;
};

/* Parses s[0..len).  Returns 0, or -1 with a short reason in *error_r
 * (a static string, fit for a tagged BAD).  "*" is kept as 0 until
 * imap_seqset_resolve(). */
int imap_seqset_parse(const char *s, size_t len, struct seqset *set_r, const char **error_r);

/* Puts the largest number in use for "*", orders every range and merges
 * overlapping ones, so ranges are ascending and disjoint.  (RFC 3501 §6.4.8:
 * "*" in a UID set means the highest UID, even when that is below the
 * other end of the range.) */
void imap_seqset_resolve(struct seqset *set, uint32_t star);

/* After resolve: is n in the set? */
bool imap_seqset_contains(const struct seqset *set, uint32_t n);

void imap_seqset_free(struct seqset *set);

/* Writes ascending, distinct numbers in the compact form "1:3,5,7:8" (for
 * COPYUID/APPENDUID, RFC 4315).  Returns a new string; "" for none. */
char *imap_seqset_format(const uint32_t *nums, size_t count);

#endif
