/* RETR/TOP byte-stuffing and line-ending repair.  See pop3_dotstuff.h. */
#include "pop3/pop3_dotstuff.h"

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
	size_t o = 0;

	for (size_t i = 0; i < len && !ds->finished; i++) {
		char b = in[i];

		if (b == '\n') {
			if (!ds->cr)
				out[o++] = '\r';
			out[o++] = '\n';
			line_ended(ds);
			continue;
		}
		if (ds->line_start && b == '.')
			out[o++] = '.';
		out[o++] = b;
		ds->line_start = false;
		ds->cr = b == '\r';
		if (b != '\r')
			ds->line_empty = false;
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
