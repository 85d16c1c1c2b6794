#ifndef DUOMAIL_BUF_H
#define DUOMAIL_BUF_H
/*
 * A growable byte buffer with a hard maximum.  Every growable buffer in the
 * server says how big it may get; appending past the maximum fails instead
 * of growing without bound.  Data is always NUL-terminated (not counted in
 * len) so a line can be handed out as a C string.
 */
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>

struct buf {
	char *data;	/* NULL until first append */
	size_t len;	/* bytes used, from data[start] */
	size_t start;	/* consumed prefix, compacted lazily */
	size_t cap;
	size_t max;	/* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer may be reused afterwards. */
void buf_free(struct buf *b);

/* Returns 0, or -1 when len would pass max (buffer unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
/* Hot paths (a FETCH of 100,000 lines) without printf's parsing. */
int buf_append_str(struct buf *b, const char *s);
int buf_append_uint(struct buf *b, uint64_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The format attribute lets the compiler check buf_printf-style wrappers
 * and keeps -Wformat-nonliteral meaningful for the vprintf call inside. */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static inline char *buf_ptr(const struct buf *b) { return b->data ? b->data + b->start : (char *)""; }
static inline size_t buf_len(const struct buf *b) { return b->len; }
static inline size_t buf_room(const struct buf *b) { return b->max - b->len; }

/* Drops n bytes from the front. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);

/* Makes room for at least want bytes (want <= buf_room) and returns a pointer
 * to the free space; call buf_commit() with the number of bytes written. */
char *buf_reserve(struct buf *b, size_t want);
void buf_commit(struct buf *b, size_t n);

#endif
