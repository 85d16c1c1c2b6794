#ifndef DUOMAIL_TEXT_FIND_H
#define DUOMAIL_TEXT_FIND_H
/*
 * Streaming substring search over case-folded text (text_fold.h): the
 * haystack comes in chunks of any size, is never kept, and a match may
 * span chunks.  Knuth-Morris-Pratt over the folded bytes, so memory is one
 * table the size of the needle and time is linear in the haystack.
 * Protocol-neutral; IMAP SEARCH uses it for every string key.
 */
#include <stdbool.h>
#include <stddef.h>

struct text_find;

/* needle[0..len) is UTF-8 (or raw bytes); it is folded here.  An empty
 * needle is found in every haystack, even an empty one. */
struct text_find *text_find_new(const char *needle, size_t len);
void text_find_free(struct text_find **f);

/* Starts a new haystack: forgets any partial match. */
void text_find_restart(struct text_find *f);
/* Feeds folded haystack bytes.  True if the needle ended inside them (a
 * match that began in earlier chunks of the same haystack counts). */
bool text_find_folded(struct text_find *f, const char *folded, size_t len);

/* The folded needle, and whether it is empty. */
const char *text_find_needle(const struct text_find *f, size_t *len_r);
bool text_find_empty(const struct text_find *f);

#endif
