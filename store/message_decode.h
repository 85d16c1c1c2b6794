#ifndef DUOMAIL_MESSAGE_DECODE_H
#define DUOMAIL_MESSAGE_DECODE_H
/*
 * Decoders for what MIME puts between a message and its text, all
 * protocol-neutral and liberal the way mail readers are (broken input is
 * decoded as far as it goes, never rejected):
 *
 *   - base64 content (RFC 2045 §6.8), streaming;
 *   - quoted-printable content (RFC 2045 §6.7), streaming;
 *   - encoded words in header fields (RFC 2047), to UTF-8.
 *
 * The streaming decoders take their input in chunks of any size; state
 * carries over between calls, so a chunk may end anywhere.
 */
#include <stddef.h>
#include <stdint.h>

struct buf;

/* ---- base64 ---- */

struct base64_decoder {
	uint32_t bits;
	unsigned nbits;
};

void base64_decoder_init(struct base64_decoder *d);
/* Decodes in[0..len) into out (room for len bytes); returns the bytes
 * written.  Characters outside the alphabet (line breaks, junk) are
 * ignored (§6.8); "=" ends a quantum, so concatenated encodings decode as
 * a whole.  Bits of an incomplete quantum at the very end are dropped. */
size_t base64_decode(struct base64_decoder *d, const char *in, size_t len, char *out);

/* ---- quoted-printable ---- */

#define QP_WS_MAX	256	/* white space held back to see if it ends a line */

struct qp_decoder {
	int state;
	char first;		/* the first character after "=" */
	size_t nws;
	char ws[QP_WS_MAX];
};

/* Most bytes qp_decode()/qp_decode_finish() write for len bytes of input. */
#define QP_DECODE_OUT_MAX(len)	(2 * (len) + QP_WS_MAX + 4)

void qp_decoder_init(struct qp_decoder *d);
/* Decodes in[0..len) into out (room for QP_DECODE_OUT_MAX(len) bytes) and
 * returns the bytes written.  "=XX" becomes its octet (lower-case hex too);
 * "=" at the end of a line (after optional white space) is a soft line
 * break; white space at the end of a line is dropped, as transport may have
 * added it (rule 3); line breaks come out as CRLF; a malformed "=" stays as
 * it is (§6.7 note (2)). */
size_t qp_decode(struct qp_decoder *d, const char *in, size_t len, char *out);
/* Ends the input: writes what an unfinished "=" held (room for
 * QP_DECODE_OUT_MAX(0) bytes).  The decoder is ready for a new text. */
size_t qp_decode_finish(struct qp_decoder *d, char *out);

/* ---- header fields ---- */

/*
 * Appends the unfolded field body value[0..len) to out as UTF-8 text: each
 * encoded word "=?charset?B|Q?text?=" (RFC 2047 §2, with an RFC 2231 §5
 * "*language" suffix allowed on the charset) is decoded and converted from
 * its charset (message_charset.h: an unknown charset gives the raw bytes);
 * white space between two adjacent encoded words is dropped (§6.2), and
 * adjacent words in one charset are converted together, so a character
 * split between them (a common encoder bug) survives.  Encoded words are
 * recognised wherever they stand, not only between white space, as mail
 * readers do.  Other text is copied as it is (raw 8-bit is UTF-8 by
 * RFC 6532).  Output beyond out's maximum is cut off.
 */
void message_decode_header(const char *value, size_t len, struct buf *out);

#endif
