/* DATA dot-unstuffing and end detection.  See lmtp_dot.h. */
#include "lmtp/lmtp_dot.h"

enum {
	DOT_LINE_START,		/* at the first byte of a line */
	DOT_IN_LINE,
	DOT_LEADING_DOT,	/* a line began with '.', held back */
	DOT_LEADING_DOT_CR,	/* ".\r" so far, both held back */
};

void lmtp_dot_init(struct lmtp_dot *d)
{
	d->state = DOT_LINE_START;
	d->done = false;
}

size_t lmtp_dot_decode(struct lmtp_dot *d, const char *in, size_t len, char *out,
		       size_t *out_len_r)
{
	size_t i, o = 0;

/* Sending on a NULL out only counts: the caller throws the bytes away. */
#define EMIT(ch) do { if (out != NULL) out[o] = (ch); o++; } while (0)

	for (i = 0; i < len && !d->done; i++) {
		char c = in[i];

		switch (d->state) {
		case DOT_LINE_START:
			if (c == '.') {
				d->state = DOT_LEADING_DOT;
				continue;
			}
			break;
		case DOT_LEADING_DOT:
			if (c == '\n') {
				d->done = true;
				continue;
			}
			if (c == '\r') {
				d->state = DOT_LEADING_DOT_CR;
				continue;
			}
			/* RFC 5321 §4.5.2: the first character of a line that is
			 * a period with more after it is deleted. */
			break;
		case DOT_LEADING_DOT_CR:
			if (c == '\n') {
				d->done = true;
				continue;
			}
			/* ".\r" and more: the dot goes, the CR is data. */
			EMIT('\r');
			break;
		default:
			break;
		}
		EMIT(c);
		d->state = c == '\n' ? DOT_LINE_START : DOT_IN_LINE;
	}
#undef EMIT
	/* Only the CR of a ".\r" held back by the previous call can come
	 * out on top of this call's bytes: o <= len + LMTP_DOT_SLACK. */
	*out_len_r = o;
	return i;
}
