#ifndef DUOMAIL_POP3_DOTSTUFF_H
#define DUOMAIL_POP3_DOTSTUFF_H
/*
 * The multi-line response body of RETR and TOP (RFC 1939 §3): every line
 * ends in CRLF (Maildir files usually hold bare LF), a line starting with
 * "." gets one more, and TOP stops after the header, the blank line and n
 * body lines.  Incremental: feed the message in chunks of any size.
 */
#include <stdbool.h>
#include <stddef.h>

struct dotstuff {
	bool line_start;	/* the next byte begins a line */
	bool cr;		/* the last byte was CR */
	bool line_empty;	/* nothing but CR on the current line so far */
	bool in_body;		/* the header's blank line has passed */
	long body_lines;	/* TOP: body lines still to send; -1 = all (RETR) */
	bool finished;		/* TOP limit reached: ignore further input */
};

/* body_lines: -1 for RETR, n for TOP msg n. */
void dotstuff_init(struct dotstuff *ds, long body_lines);

/* Encodes in[0..len) into out, which must hold 2 * len bytes.  Returns the
 * bytes written.  Stops early (ds->finished) when a TOP limit is reached. */
size_t dotstuff_feed(struct dotstuff *ds, const char *in, size_t len, char *out);

/* The end of the response: a CRLF if the message did not end with a line
 * break, then ".\r\n".  out must hold 5 bytes.  Returns the bytes written. */
size_t dotstuff_end(struct dotstuff *ds, char *out);

#endif
