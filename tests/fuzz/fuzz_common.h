#ifndef DUOMAIL_FUZZ_COMMON_H
#define DUOMAIL_FUZZ_COMMON_H
/*
 * Helpers the libFuzzer targets share: a byte stream read as a connection
 * reads it (lines, then raw literal octets), a deterministic PRNG seeded
 * from the input (chunk sizes that change with the input without eating
 * any of its bytes), and a check macro that aborts, so a broken invariant
 * is a crash libFuzzer saves like any other.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An invariant the code under test promises.  abort() rather than
 * assert(): the fuzz build may define NDEBUG (RelWithDebInfo). */
#define FUZZ_CHECK(cond)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,  \
				__LINE__, #cond);                               \
			abort();                                                \
		}                                                               \
	} while (0)

/* ---- the input as a connection sees it ---- */

struct fuzz_stream {
	const char *data;
	size_t len, pos;
};

static inline void fuzz_stream_init(struct fuzz_stream *st, const uint8_t *data, size_t len)
{
	st->data = (const char *)data;
	st->len = len;
	st->pos = 0;
}

/*
 * The next line as core/conn.c's conn_getline() hands it out: up to LF,
 * one CR before the LF dropped, a line longer than max_line skipped whole
 * (returns -1 once for it).  A last line without LF is taken as a line: a
 * client could have ended it, and the parser gets more to chew on.
 * Returns 1 with the line, 0 at the end of the input.
 */
static inline int fuzz_stream_line(struct fuzz_stream *st, size_t max_line, const char **line_r,
				   size_t *len_r)
{
	const char *p = st->data + st->pos, *lf;
	size_t n = st->len - st->pos, len, used;

	if (n == 0)
		return 0;
	lf = memchr(p, '\n', n);
	len = lf != NULL ? (size_t)(lf - p) : n;
	used = lf != NULL ? len + 1 : n;
	if (lf != NULL && len > 0 && p[len - 1] == '\r')
		len--;
	st->pos += used;
	if (len > max_line)
		return -1;
	*line_r = p;
	*len_r = len;
	return 1;
}

/* Up to n raw octets (a literal); returns how many there are. */
static inline size_t fuzz_stream_bytes(struct fuzz_stream *st, size_t n, const char **data_r)
{
	size_t have = st->len - st->pos;

	if (n > have)
		n = have;
	*data_r = st->data + st->pos;
	st->pos += n;
	return n;
}

/* ---- input-seeded randomness ---- */

struct fuzz_rng {
	uint64_t state;
};

/* FNV-1a over the input: the same input always gets the same sequence. */
static inline void fuzz_rng_init(struct fuzz_rng *r, const uint8_t *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	r->state = h;
}

/* splitmix64 */
static inline uint64_t fuzz_rng_next(struct fuzz_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A chunk size in 1..max, mostly small (where boundaries between calls
 * hide bugs), sometimes large. */
static inline size_t fuzz_rng_chunk(struct fuzz_rng *r, size_t max)
{
	uint64_t v = fuzz_rng_next(r);
	size_t n = (v & 3) != 0 ? (size_t)((v >> 8) % 8) + 1 : (size_t)((v >> 8) % 4096) + 1;

	return n < max ? n : max;
}

/* A NUL-terminated copy of the input (cut at its first NUL): for the
 * functions that take C strings, as they get them from a header field. */
static inline char *fuzz_cstring(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif
