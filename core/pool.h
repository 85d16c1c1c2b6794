#ifndef DUOMAIL_POOL_H
#define DUOMAIL_POOL_H
/*
 * An arena: many small allocations freed together.  One per IMAP command
 * (its parsed arguments), cleared when the command is done.  Allocation
 * cannot fail (aborts on out of memory, like xmalloc).
 */
#include <stddef.h>

struct pool;

struct pool *pool_new(size_t block_size);
void pool_free(struct pool **pool);
/* Frees everything allocated so far; keeps the first block for reuse. */
void pool_clear(struct pool *pool);

/* size bytes, aligned for any type, zeroed. */
void *pool_alloc(struct pool *pool, size_t size);
/* A NUL-terminated copy of data[0..len). */
char *pool_strndup(struct pool *pool, const char *data, size_t len);

#endif
