#ifndef DUOMAIL_LMTP_SPOOL_H
#define DUOMAIL_LMTP_SPOOL_H
/*
 * One LMTP message while its DATA arrives and until every recipient has
 * its copy.  It is read once and saved once per recipient, so it cannot
 * stream straight into one store; nor into all of them at once (a
 * thousand recipients would be a thousand open files).
 *
 * Up to LMTP_SPOOL_CHUNK it stays in memory; past that the chunk is
 * written out to a file in [lmtp] spool_dir that has no name (O_TMPFILE,
 * or unlinked at once where that is missing), so a client that leaves, a
 * crash or a kill -9 leaves nothing behind.
 *
 * lmtp_spool_reserve()/lmtp_spool_commit() run on the loop (memory only);
 * lmtp_spool_flush() and lmtp_spool_replay() do disk I/O: thread pool.
 */
#include <stddef.h>
#include <stdint.h>

#define LMTP_SPOOL_CHUNK (256u << 10)

struct lmtp_spool;

struct lmtp_spool *lmtp_spool_new(const char *dir);
/* Closes the file, which then disappears.  NULL is fine. */
void lmtp_spool_free(struct lmtp_spool **sp);

/*
 * Where the next bytes go: *room_r of them (plus slack extra bytes the
 * caller may overshoot by, see lmtp_dot_decode()).  *room_r is 0 when the
 * chunk is full: lmtp_spool_flush() first.
 */
char *lmtp_spool_reserve(struct lmtp_spool *sp, size_t slack, size_t *room_r);
void lmtp_spool_commit(struct lmtp_spool *sp, size_t n);

/* Writes the chunk to the file (made at the first call).  0, or -1 with
 * errno; the error sticks (lmtp_spool_error()). */
int lmtp_spool_flush(struct lmtp_spool *sp);
/* errno of the first failure, 0 if none. */
int lmtp_spool_error(const struct lmtp_spool *sp);

/* The whole message so far, in pieces, in order, to fn; stops at fn's
 * first nonzero return and returns it.  -1 with errno on a read error. */
int lmtp_spool_replay(struct lmtp_spool *sp, int (*fn)(void *ctx, const char *p, size_t n),
		      void *ctx);

uint64_t lmtp_spool_size(const struct lmtp_spool *sp);

#endif
