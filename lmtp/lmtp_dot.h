#ifndef DUOMAIL_LMTP_DOT_H
#define DUOMAIL_LMTP_DOT_H
/*
 * The DATA text of LMTP/SMTP (RFC 5321 §4.1.1.4, §4.5.2): lines up to a
 * line holding only ".", with a leading "." removed from every other line
 * (dot-unstuffing).  Incremental over any split of the input, pure, unit
 * tested byte by byte (tests/unit/test_lmtp_dot.c).
 *
 * Line ends: a line ends at LF, with or without a CR before it, exactly
 * as command lines do (core/conn.c).  So the end of the data is ".\r\n" or
 * ".\n" at the start of a line, and nothing else: a CR alone is data, and
 * "\r.\r" never ends anything.  Having one rule for commands and data is
 * what keeps a message from smuggling commands ("SMTP smuggling", 2023):
 * where this server sees the end, it also sees the next command begin.
 *
 * The message bytes come out as sent, minus the stuffing dots and minus
 * the terminating line; the line end before the terminator belongs to the
 * message (its last line's end).  NUL and 8-bit bytes are data.
 */
#include <stdbool.h>
#include <stddef.h>

#define LMTP_DOT_SLACK 1

struct lmtp_dot {
	int state;		/* private */
	bool done;		/* the terminating line was read */
};

/* At the start of the data, just after the 354 reply. */
void lmtp_dot_init(struct lmtp_dot *d);

/*
 * Decodes in (len bytes).  Message bytes are written to out, which has
 * room for len + 1 bytes: a CR held back at the end of the previous call
 * may come out now (LMTP_DOT_SLACK).  out may be NULL to drop them: an oversized message
 * is read to its end and thrown away); *out_len_r says how many.  Returns
 * the number of input bytes consumed: all of them, or fewer when the
 * terminating line ended inside in (d->done is then set, and the rest is
 * the next command).  Once done, consumes nothing.
 */
size_t lmtp_dot_decode(struct lmtp_dot *d, const char *in, size_t len, char *out,
		       size_t *out_len_r);

#endif
