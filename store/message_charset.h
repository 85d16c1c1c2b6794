#ifndef DUOMAIL_MESSAGE_CHARSET_H
#define DUOMAIL_MESSAGE_CHARSET_H
/*
 * Text in a MIME charset (RFC 2045 §5.1 charset parameter, RFC 2047 encoded
 * words) to UTF-8, with glibc's iconv.  Protocol-neutral.
 *
 * Liberal, as reading mail needs: UTF-8, US-ASCII, no charset and a charset
 * iconv does not know all pass the bytes through unchanged (so raw 8-bit
 * UTF-8 in "us-ascii" text still reads right); a byte sequence invalid in
 * its charset becomes U+FFFD and conversion goes on.  A few labels mail
 * uses that iconv lacks or reads too strictly are mapped (ks_c_5601-1987 to
 * CP949, gb2312 to its superset GB18030, iso-8859-8-i to ISO-8859-8, and
 * iso-8859-1 to windows-1252, whose extra characters in 0x80..0x9F are what
 * such mail means: C1 control characters are never intended in text).
 */
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct charset_conv;

typedef void charset_emit_fn(void *ctx, const char *data, size_t len);

/* A converter for charset (NULL: none given).  Never fails: see above. */
struct charset_conv *charset_conv_new(const char *charset);
void charset_conv_free(struct charset_conv **cv);
/* True if bytes pass through unconverted. */
bool charset_conv_passthrough(const struct charset_conv *cv);

/* Converts in[0..len) and hands the UTF-8 to emit, in pieces.  A multibyte
 * character cut at the end of in waits for the next call. */
void charset_conv_feed(struct charset_conv *cv, const char *in, size_t len,
		       charset_emit_fn *emit, void *ctx);
/* Ends the text: a cut-off character becomes U+FFFD, shift states reset.
 * The converter can then start on a new text. */
void charset_conv_finish(struct charset_conv *cv, charset_emit_fn *emit, void *ctx);

/* One-shot: appends in[0..len) converted to out (cut at out's maximum). */
void charset_to_utf8(const char *charset, const char *in, size_t len, struct buf *out);

#endif
