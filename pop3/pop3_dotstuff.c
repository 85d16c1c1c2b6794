/* RETR/TOP byte-stuffing and line-ending repair.  See pop3_dotstuff.h. */
#include "pop3/pop3_dotstuff.h"

#include <string.h>

void dotstuff_init(struct dotstuff *ds, long body_lines)
{
	ds->line_start = true;
	ds->cr = false;
	ds->line_empty = true;
	ds->in_body = false;
	ds->body_lines = body_lines;
	ds->finished = false;
}

/* A line just ended: track the header/body boundary and the TOP count. */
static void line_ended(struct dotstuff *ds)
{
	if (!ds->in_body) {
		if (ds->line_empty) {
			ds->in_body = true;
			if (ds->body_lines == 0)
				ds->finished = true;
		}
	} else if (ds->body_lines > 0 && --ds->body_lines == 0) {
		ds->finished = true;
	}
	ds->line_start = true;
	ds->line_empty = true;
	ds->cr = false;
}

size_t dotstuff_feed(struct dotstuff *ds, const char *in, size_t len, char *out)
{
	size_t o = 0, i = 0;

	/* A line at a time: memchr and memcpy instead of a test per byte
	 * (the byte loop was a tenth of a pipelined download's CPU). */
	while (i < len && !ds->finished) {
		const char *nl;
		size_t end;

		if (ds->line_start && in[i] == '.')
			out[o++] = '.';
		nl = memchr(in + i, '\n', len - i);
		end = nl != NULL ? (size_t)(nl - in) : len;
		if (end > i) {
			memcpy(out + o, in + i, end - i);
			o += end - i;
			for (size_t k = i; ds->line_empty && k < end; k++)
				ds->line_empty = in[k] == '\r';
			ds->cr = in[end - 1] == '\r';
			ds->line_start = false;
			i = end;
		}
		if (nl != NULL) {
			if (!ds->cr)
				out[o++] = '\r';
			out[o++] = '\n';
			line_ended(ds);
			i++;
		}
	}
	return o;
}

size_t dotstuff_end(struct dotstuff *ds, char *out)
{
	size_t o = 0;

	if (!ds->line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}
