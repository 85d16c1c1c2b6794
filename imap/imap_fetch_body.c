/*
 * Body sections (RFC 3501 §6.4.5): where a section is in the stored
 * message, and the byte transform from stored to sent.  See imap_fetch.h.
 */
#include "imap/imap_fetch.h"
#include "store/message.h"

#include <string.h>
#include <strings.h>

static bool is_multipart(const struct message_part *p)
{
	/* A multipart without parts (no boundary) is one body, as
	 * BODYSTRUCTURE shows it (imap_format.c). */
	return strcmp(p->type, "multipart") == 0 && p->children != NULL;
}

static bool is_rfc822(const struct message_part *p)
{
	return strcmp(p->type, "message") == 0 && strcmp(p->subtype, "rfc822") == 0 &&
	       p->children != NULL;
}

/*
 * Part numbers (§6.4.5): the parts of a message are its multipart's parts,
 * or, for a message that is not multipart, the one part 1: its body.  A
 * number after a MESSAGE/RFC822 part counts the parts of the message inside.
 * A part that is neither multipart nor a message has no parts.
 */
static const struct message_part *resolve(const struct message_part *root, const uint32_t *path,
					  unsigned depth)
{
	const struct message_part *part = root;
	bool message = true;	/* part is a message: its body counts as part 1 */

	for (unsigned k = 0; k < depth; k++) {
		if (is_multipart(part)) {
			const struct message_part *c = part->children;

			for (uint32_t i = 1; c != NULL && i < path[k]; i++)
				c = c->next;
			if (c == NULL)
				return NULL;
			part = c;
		} else if (!message || path[k] != 1) {
			return NULL;
		}
		message = false;
		if (k + 1 < depth && is_rfc822(part)) {
			part = part->children;
			message = true;
		}
	}
	return part;
}

static void header_of(const struct message_part *p, struct fetch_range *r)
{
	r->start = p->header_offset;
	r->end = p->body_offset;
	r->vsize = p->header_vsize;
}

static void body_of(const struct message_part *p, struct fetch_range *r)
{
	r->start = p->body_offset;
	r->end = p->end_offset;
	r->vsize = p->body_vsize;
}

void imap_fetch_locate(const struct message_part *root, const struct fetch_section *sec,
		       uint64_t psize, uint64_t vsize, struct fetch_range *r)
{
	const struct message_part *part;

	memset(r, 0, sizeof(*r));
	if (sec->depth == 0 && sec->text == FETCH_TEXT_NONE) {
		/* BODY[]: the sizes the store keeps, so the literal matches
		 * RFC822.SIZE exactly. */
		r->exists = true;
		r->end = psize;
		r->vsize = vsize;
		return;
	}
	if (root == NULL)
		return;
	part = resolve(root, sec->path, sec->depth);
	if (part == NULL)
		return;
	/* HEADER, HEADER.FIELDS and TEXT after part numbers name the message
	 * inside a MESSAGE/RFC822 part; otherwise there is no such section. */
	if (sec->depth > 0 && sec->text != FETCH_TEXT_NONE && sec->text != FETCH_TEXT_MIME) {
		if (!is_rfc822(part))
			return;
		part = part->children;
	}
	r->exists = true;
	switch (sec->text) {
	case FETCH_TEXT_NONE:
		body_of(part, r);
		break;
	case FETCH_TEXT_MIME:
	case FETCH_TEXT_HEADER:
		header_of(part, r);
		break;
	case FETCH_TEXT_FIELDS:
	case FETCH_TEXT_FIELDS_NOT:
		header_of(part, r);
		r->filtered = true;
		break;
	case FETCH_TEXT_TEXT:
		body_of(part, r);
		break;
	}
}

/* ---- the end of the top-level header ---- */

void imap_fetch_header_scan_init(struct fetch_header_scan *h)
{
	memset(h, 0, sizeof(*h));
}

bool imap_fetch_header_scan(struct fetch_header_scan *h, const char *data, size_t len)
{
	for (size_t i = 0; i < len && !h->done; i++) {
		char c = data[i];

		h->raw++;
		h->vsize += c == '\n' && !h->prev_cr ? 2 : 1;
		if (c == '\n') {
			/* "\n" or "\r\n" alone is the blank line: a CR right
			 * before the LF is no content (as store/message.c counts) */
			h->done = h->line_len == 0 || (h->line_len == 1 && h->prev_cr);
			h->line_len = 0;
		} else if (h->line_len < 2) {
			h->line_len++;
		}
		h->prev_cr = c == '\r';
	}
	return h->done;
}

/* ---- stored bytes to sent bytes ---- */

void imap_fetch_xform_init(struct fetch_xform *x, const struct fetch_section *filter)
{
	memset(x, 0, sizeof(*x));
	if (filter != NULL &&
	    (filter->text == FETCH_TEXT_FIELDS || filter->text == FETCH_TEXT_FIELDS_NOT))
		x->sec = filter;
	x->at_line_start = true;
	/* Continuation lines before any field belong to no name: they go
	 * with everything a HEADER.FIELDS.NOT keeps. */
	x->keep = x->sec != NULL && x->sec->text == FETCH_TEXT_FIELDS_NOT;
}

/* Copies one byte the way IMAP sends it; returns the bytes written. */
static size_t put(struct fetch_xform *x, char c, char *out)
{
	size_t n = 0;

	if (c == '\n' && !x->prev_cr)
		out[n++] = '\r';
	out[n++] = c == '\0' ? (char)0x80 : c;
	x->prev_cr = c == '\r';
	return n;
}

static bool wanted(const struct fetch_xform *x, const char *name, size_t len)
{
	bool listed = false;

	/* RFC 5322 §3.6.8 obs: white space may come before the colon */
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (unsigned i = 0; i < x->sec->nfields && !listed; i++)
		listed = strlen(x->sec->fields[i]) == len &&
			 strncasecmp(x->sec->fields[i], name, len) == 0;
	return x->sec->text == FETCH_TEXT_FIELDS ? listed : !listed;
}

/* The start of a field's first line is decided: its name ended (colon),
 * the line ended without a colon, or it is longer than any name we look
 * for.  The held-back bytes go out if the field is wanted. */
static size_t decide(struct fetch_xform *x, bool colon, char *out)
{
	bool fields_not = x->sec->text == FETCH_TEXT_FIELDS_NOT;
	size_t len = x->name_len, n = 0;

	if (x->name_over) {
		x->keep = fields_not;
	} else if (colon) {
		x->keep = wanted(x, x->name, len);
	} else {
		/* The empty line is the blank line ending the header, which
		 * every header fetch includes (§6.4.5); any other line without
		 * a colon is no field of any name. */
		if (len > 0 && x->name[len - 1] == '\r')
			len--;
		x->keep = len == 0 || fields_not;
	}
	if (x->keep)
		for (size_t i = 0; i < x->name_len; i++)
			n += put(x, x->name[i], out + n);
	x->in_field = false;
	x->name_len = 0;
	x->name_over = false;
	return n;
}

static size_t filter_byte(struct fetch_xform *x, char c, char *out)
{
	size_t n;

	if (x->at_line_start) {
		x->at_line_start = false;
		/* Folded lines go with their field (RFC 5322 §2.2.3). */
		if (c != ' ' && c != '\t')
			x->in_field = true;
	}
	if (c == '\n')
		x->at_line_start = true;
	if (!x->in_field)
		return x->keep ? put(x, c, out) : 0;
	if (c != ':' && c != '\n') {
		if (x->name_len < FETCH_MAX_FIELD_NAME) {
			x->name[x->name_len++] = c;
			return 0;
		}
		x->name_over = true;
	}
	n = decide(x, c == ':', out);
	return n + (x->keep ? put(x, c, out + n) : 0);
}

size_t imap_fetch_xform_feed(struct fetch_xform *x, const char *in, size_t len, char *out)
{
	size_t n = 0;

	if (x->sec == NULL) {
		for (size_t i = 0; i < len; i++)
			n += put(x, in[i], out + n);
		return n;
	}
	for (size_t i = 0; i < len; i++)
		n += filter_byte(x, in[i], out + n);
	return n;
}

size_t imap_fetch_xform_end(struct fetch_xform *x, char *out)
{
	if (x->sec == NULL || !x->in_field)
		return 0;
	/* A last line without line end whose name was still open. */
	return decide(x, false, out);
}
