/*
 * Streaming string search in a message.  See message_search.h.
 *
 * The message goes through byte by byte.  In a header, bytes collect into
 * the current field (unfolded); at each field's end its value is decoded and
 * offered to the strings that want it.  In a body, lines that could be a
 * MIME boundary ("--" lines, while a multipart is open) are held until their
 * end; all other bytes stream on at once through the part's decoders:
 * transfer encoding -> charset -> case folding -> each string's matcher.
 * The line break before a boundary belongs to the boundary (RFC 2046
 * §5.1.1), so a line break is passed on only once the next line is known
 * not to be one.
 */
#include "store/message_search.h"
#include "store/message.h"
#include "store/message_charset.h"
#include "store/message_decode.h"
#include "store/message_lex.h"
#include "store/text_find.h"
#include "store/text_fold.h"
#include "core/buf.h"
#include "core/log.h"

#include <string.h>
#include <strings.h>

#define FIELD_CAP	65536	/* of one unfolded header field; the rest is cut */
#define CTYPE_CAP	8192	/* of Content-Type / Content-Transfer-Encoding */
#define LINE_CAP	1024	/* of a line held as a possible boundary */
#define MAX_DEPTH	64	/* nested multiparts followed, as store/message.c */
#define RAW_CHUNK	8192	/* body bytes collected before decoding */
#define FOLD_CHUNK	4096

struct needle {
	enum message_search_scope scope;
	char *field;
	struct text_find *find;
	bool found;
};

struct frame {
	char *boundary;
	bool closed;		/* its close-delimiter was seen: epilogue */
	bool digest;		/* multipart/digest: parts default to message/rfc822 */
};

enum header_kind {
	HDR_TOP,		/* the message's own header: HEADER and TEXT strings */
	HDR_EMBEDDED,		/* a message/rfc822 inside: body text */
	HDR_MIME,		/* a body part's MIME header: only read for its type */
};

enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP };

struct message_search {
	struct needle *needles;
	unsigned count;
	bool any_body;		/* BODY or TEXT strings: body text is wanted */
	char *keep_name;
	char *kept;

	/* the message being read */
	bool header_done;
	bool in_header;
	enum header_kind hdr;
	bool hdr_bol;		/* at the start of a header line */
	bool hdr_digest;	/* this header is of a part of a multipart/digest */
	struct buf field;	/* the current field, unfolded */
	struct buf ctype, cte;

	struct frame stack[MAX_DEPTH];
	unsigned depth;

	/* the current body */
	bool text;		/* a text part: decode and match; else skip */
	enum cte cte_kind;
	struct base64_decoder b64;
	struct qp_decoder qp;
	struct charset_conv *cv;
	struct text_folder folder;
	bool bol;		/* at the start of a body line */
	bool pending_nl;	/* the line break before this line is still held */
	bool held_cr;		/* a CR was seen; it goes if no LF follows */
	bool cand;		/* this line is held: it may be a boundary */
	char line[LINE_CAP];
	size_t line_len;
	char raw[RAW_CHUNK];
	size_t nraw;
	char decoded[QP_DECODE_OUT_MAX(RAW_CHUNK)];
	char folded[TEXT_FOLD_OUT_MAX(FOLD_CHUNK)];
};

struct message_search *message_search_new(void)
{
	struct message_search *ms = xcalloc(1, sizeof(*ms));

	buf_init(&ms->field, FIELD_CAP);
	buf_init(&ms->ctype, CTYPE_CAP);
	buf_init(&ms->cte, CTYPE_CAP);
	return ms;
}

static void end_frames(struct message_search *ms, unsigned depth)
{
	while (ms->depth > depth)
		free(ms->stack[--ms->depth].boundary);
}

void message_search_free(struct message_search **msp)
{
	struct message_search *ms = *msp;

	if (ms == NULL)
		return;
	for (unsigned i = 0; i < ms->count; i++) {
		free(ms->needles[i].field);
		text_find_free(&ms->needles[i].find);
	}
	free(ms->needles);
	free(ms->keep_name);
	free(ms->kept);
	end_frames(ms, 0);
	charset_conv_free(&ms->cv);
	buf_free(&ms->field);
	buf_free(&ms->ctype);
	buf_free(&ms->cte);
	free(ms);
	*msp = NULL;
}

unsigned message_search_add(struct message_search *ms, enum message_search_scope scope,
			    const char *field, const char *str, size_t len)
{
	struct needle *n;

	ms->needles = xrealloc(ms->needles, (ms->count + 1) * sizeof(*ms->needles));
	n = &ms->needles[ms->count];
	n->scope = scope;
	n->field = scope == MESSAGE_SEARCH_HEADER ? xstrdup(field) : NULL;
	n->find = text_find_new(str, len);
	n->found = false;
	if (scope != MESSAGE_SEARCH_HEADER)
		ms->any_body = true;
	return ms->count++;
}

void message_search_keep_field(struct message_search *ms, const char *field)
{
	free(ms->keep_name);
	ms->keep_name = xstrdup(field);
}

bool message_search_found(const struct message_search *ms, unsigned idx)
{
	return idx < ms->count && ms->needles[idx].found;
}

bool message_search_header_done(const struct message_search *ms)
{
	return ms->header_done;
}

const char *message_search_field(const struct message_search *ms)
{
	return ms->kept;
}

static void start_header(struct message_search *ms, enum header_kind kind, bool digest)
{
	ms->in_header = true;
	ms->hdr = kind;
	ms->hdr_bol = true;
	ms->hdr_digest = digest;
	buf_reset(&ms->field);
	buf_reset(&ms->ctype);
	buf_reset(&ms->cte);
}

void message_search_begin(struct message_search *ms)
{
	for (unsigned i = 0; i < ms->count; i++) {
		struct needle *n = &ms->needles[i];

		text_find_restart(n->find);
		/* "" is in any text; HEADER "" needs the field (RFC 3501 §6.4.4) */
		n->found = n->scope != MESSAGE_SEARCH_HEADER && text_find_empty(n->find);
	}
	xfree(&ms->kept);
	end_frames(ms, 0);
	charset_conv_free(&ms->cv);
	ms->header_done = false;
	ms->text = false;
	ms->nraw = 0;
	ms->cand = false;
	ms->held_cr = false;
	start_header(ms, HDR_TOP, false);
}

/* ---- matching ---- */

/* Offers folded text to the strings of the body (and TEXT). */
static void match_body_folded(struct message_search *ms, const char *folded, size_t len)
{
	for (unsigned i = 0; i < ms->count; i++) {
		struct needle *n = &ms->needles[i];

		if (n->scope != MESSAGE_SEARCH_HEADER && !n->found &&
		    text_find_folded(n->find, folded, len))
			n->found = true;
	}
}

/* UTF-8 body text: fold and match.  (A charset_emit_fn.) */
static void body_utf8(void *ctx, const char *data, size_t len)
{
	struct message_search *ms = ctx;

	for (size_t i = 0; i < len; i += FOLD_CHUNK) {
		size_t chunk = len - i < FOLD_CHUNK ? len - i : FOLD_CHUNK;

		size_t n = text_fold(&ms->folder, data + i, chunk, ms->folded);

		match_body_folded(ms, ms->folded, n);
	}
}

static void restart_body_needles(struct message_search *ms)
{
	for (unsigned i = 0; i < ms->count; i++)
		if (ms->needles[i].scope != MESSAGE_SEARCH_HEADER)
			text_find_restart(ms->needles[i].find);
	text_folder_init(&ms->folder);
}

/* One haystack, folded whole, for the strings that want this field. */
static void match_field(struct message_search *ms, const char *name, const char *text,
			size_t len, bool text_scope)
{
	char *folded = NULL;
	size_t flen = 0;

	for (unsigned i = 0; i < ms->count; i++) {
		struct needle *n = &ms->needles[i];
		bool wants = text_scope ? n->scope == MESSAGE_SEARCH_TEXT :
			     n->scope == MESSAGE_SEARCH_HEADER && strcasecmp(n->field, name) == 0;

		if (!wants || n->found)
			continue;
		if (folded == NULL)
			folded = text_fold_string(text, len, &flen);
		text_find_restart(n->find);
		n->found = text_find_folded(n->find, folded, flen);
	}
	free(folded);
}

/* ---- headers ---- */

static bool wants_field(const struct message_search *ms, const char *name)
{
	for (unsigned i = 0; i < ms->count; i++) {
		const struct needle *n = &ms->needles[i];

		if (n->found)
			continue;
		if (n->scope == MESSAGE_SEARCH_TEXT ||
		    (n->scope == MESSAGE_SEARCH_HEADER && strcasecmp(n->field, name) == 0))
			return true;
	}
	return false;
}

static void end_field(struct message_search *ms)
{
	char *line = buf_ptr(&ms->field), *colon, *value, *name_end;

	if (buf_len(&ms->field) == 0)
		return;
	colon = memchr(line, ':', buf_len(&ms->field));
	if (colon == NULL)
		goto done;
	/* RFC 5322 §3.6.8 (and obsolete §4.5): name, optional WSP, colon */
	name_end = colon;
	while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	*name_end = '\0';
	value = colon + 1;
	size_t vlen = buf_len(&ms->field) - (size_t)(value - line);

	if (strcasecmp(line, "Content-Type") == 0) {
		buf_reset(&ms->ctype);
		buf_append(&ms->ctype, value, vlen);
	} else if (strcasecmp(line, "Content-Transfer-Encoding") == 0) {
		buf_reset(&ms->cte);
		buf_append(&ms->cte, value, vlen);
	}
	if (ms->hdr == HDR_TOP && ms->keep_name != NULL && ms->kept == NULL &&
	    strcasecmp(line, ms->keep_name) == 0) {
		const char *v = value;

		while (*v == ' ' || *v == '\t')
			v++;
		ms->kept = xstrdup(v);
	}
	if (ms->hdr == HDR_MIME || (ms->hdr == HDR_TOP && !wants_field(ms, line)) ||
	    (ms->hdr == HDR_EMBEDDED && !ms->any_body))
		goto done;

	/* "what comes after the colon" (RFC 3501 §6.4.4 HEADER): the value,
	 * without the white space that only separates it from the colon */
	while (vlen > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		vlen--;
	}
	struct buf text;

	buf_init(&text, FIELD_CAP * 2);
	buf_printf(&text, "%s: ", line);
	size_t name_len = buf_len(&text);

	message_decode_header(value, vlen, &text);
	if (ms->hdr == HDR_TOP) {
		match_field(ms, line, buf_ptr(&text) + name_len, buf_len(&text) - name_len, false);
		match_field(ms, line, buf_ptr(&text), buf_len(&text), true);
	} else {
		buf_append(&text, "\n", 1);
		body_utf8(ms, buf_ptr(&text), buf_len(&text));
	}
	buf_free(&text);
done:
	buf_reset(&ms->field);
}

/* What the part whose header just ended is, by the project's MIME parser
 * (so SEARCH and BODYSTRUCTURE agree): fed only the two fields it needs. */
static struct message_part *part_type(struct message_search *ms)
{
	struct message_parser *p = message_parser_new();

	if (buf_len(&ms->ctype) > 0) {
		message_parser_feed(p, "Content-Type:", 13);
		message_parser_feed(p, buf_ptr(&ms->ctype), buf_len(&ms->ctype));
		message_parser_feed(p, "\n", 1);
	} else if (ms->hdr_digest) {
		/* RFC 2046 §5.1.5 */
		message_parser_feed(p, "Content-Type: message/rfc822\n", 29);
	}
	if (buf_len(&ms->cte) > 0) {
		message_parser_feed(p, "Content-Transfer-Encoding:", 26);
		message_parser_feed(p, buf_ptr(&ms->cte), buf_len(&ms->cte));
		message_parser_feed(p, "\n", 1);
	}
	message_parser_feed(p, "\n", 1);
	return message_parser_finish(&p);
}

static void start_body(struct message_search *ms, bool text, enum cte kind, const char *charset)
{
	ms->text = text && ms->any_body;
	ms->cte_kind = kind;
	ms->nraw = 0;
	base64_decoder_init(&ms->b64);
	qp_decoder_init(&ms->qp);
	charset_conv_free(&ms->cv);
	if (ms->text) {
		ms->cv = charset_conv_new(charset);
		restart_body_needles(ms);
	}
}

static void end_header(struct message_search *ms)
{
	struct message_part *part;
	const char *enc;
	enum cte kind = CTE_IDENTITY;
	bool known = true;

	end_field(ms);
	ms->in_header = false;
	ms->bol = true;
	ms->pending_nl = false;
	ms->held_cr = false;
	ms->cand = false;
	if (ms->hdr == HDR_TOP)
		ms->header_done = true;
	part = part_type(ms);
	enc = part->encoding;
	if (enc == NULL || strcasecmp(enc, "7bit") == 0 || strcasecmp(enc, "8bit") == 0 ||
	    strcasecmp(enc, "binary") == 0)
		kind = CTE_IDENTITY;
	else if (strcasecmp(enc, "base64") == 0)
		kind = CTE_BASE64;
	else if (strcasecmp(enc, "quoted-printable") == 0)
		kind = CTE_QP;
	else
		known = false;

	if (strcmp(part->type, "multipart") == 0) {
		const char *b = message_param(part->params, part->nparams, "boundary");

		if (b != NULL && *b != '\0' && strlen(b) <= 200 && ms->depth < MAX_DEPTH) {
			struct frame *f = &ms->stack[ms->depth++];

			f->boundary = xstrdup(b);
			f->closed = false;
			f->digest = strcmp(part->subtype, "digest") == 0;
			start_body(ms, false, CTE_IDENTITY, NULL);	/* the preamble */
		} else {
			/* no boundary: one body, as store/message.c reads it */
			start_body(ms, known && ms->depth < MAX_DEPTH, kind,
				   message_param(part->params, part->nparams, "charset"));
		}
	} else if (strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0) {
		start_body(ms, false, CTE_IDENTITY, NULL);
		start_header(ms, HDR_EMBEDDED, false);
	} else {
		bool text = strcmp(part->type, "text") == 0 || strcmp(part->type, "message") == 0;

		start_body(ms, text && known, kind,
			   message_param(part->params, part->nparams, "charset"));
	}
	message_part_free(&part);
}

static void header_byte(struct message_search *ms, char c)
{
	if (c == '\r')
		return;		/* line ends are LF or CRLF; a stray CR is noise */
	if (ms->hdr_bol) {
		ms->hdr_bol = false;
		if (c == '\n') {
			end_header(ms);
			return;
		}
		if (c != ' ' && c != '\t')
			end_field(ms);	/* a new field starts; else unfolding */
	}
	if (c == '\n')
		ms->hdr_bol = true;
	else if (buf_room(&ms->field) > 0)
		buf_append(&ms->field, &c, 1);
}

/* ---- bodies ---- */

static void decode_raw(struct message_search *ms)
{
	size_t n;

	if (ms->nraw == 0)
		return;
	switch (ms->cte_kind) {
	case CTE_BASE64:
		n = base64_decode(&ms->b64, ms->raw, ms->nraw, ms->decoded);
		charset_conv_feed(ms->cv, ms->decoded, n, body_utf8, ms);
		break;
	case CTE_QP:
		n = qp_decode(&ms->qp, ms->raw, ms->nraw, ms->decoded);
		charset_conv_feed(ms->cv, ms->decoded, n, body_utf8, ms);
		break;
	case CTE_IDENTITY:
		charset_conv_feed(ms->cv, ms->raw, ms->nraw, body_utf8, ms);
		break;
	}
	ms->nraw = 0;
}

static void emit(struct message_search *ms, const char *data, size_t len)
{
	if (!ms->text)
		return;
	while (len > 0) {
		size_t take = RAW_CHUNK - ms->nraw < len ? RAW_CHUNK - ms->nraw : len;

		memcpy(ms->raw + ms->nraw, data, take);
		ms->nraw += take;
		data += take;
		len -= take;
		if (ms->nraw == RAW_CHUNK)
			decode_raw(ms);
	}
}

static void emit_pending_nl(struct message_search *ms)
{
	if (ms->pending_nl) {
		ms->pending_nl = false;
		emit(ms, "\n", 1);
	}
}

static void end_body(struct message_search *ms)
{
	char tail[QP_DECODE_OUT_MAX(0)];
	size_t n;

	if (ms->text) {
		decode_raw(ms);
		if (ms->cte_kind == CTE_QP) {
			n = qp_decode_finish(&ms->qp, tail);
			charset_conv_feed(ms->cv, tail, n, body_utf8, ms);
		}
		charset_conv_finish(ms->cv, body_utf8, ms);
		n = text_fold_finish(&ms->folder, ms->folded);
		match_body_folded(ms, ms->folded, n);
	}
	charset_conv_free(&ms->cv);
	ms->text = false;
}

/* A held line ended: a boundary of an open multipart, or text after all. */
static void held_line(struct message_search *ms)
{
	size_t len = ms->line_len;

	ms->cand = false;
	if (len > 0 && ms->line[len - 1] == '\r')
		len--;
	for (int i = (int)ms->depth - 1; i >= 0; i--) {
		struct frame *f = &ms->stack[i];
		int r;

		if (f->closed || (r = message_boundary_match(ms->line, len, f->boundary)) == 0)
			continue;
		ms->pending_nl = false;		/* it belongs to the boundary */
		end_body(ms);
		end_frames(ms, (unsigned)i + 1);
		if (r == 2) {
			f->closed = true;
			start_body(ms, false, CTE_IDENTITY, NULL);	/* the epilogue */
		} else {
			start_header(ms, HDR_MIME, f->digest);
		}
		return;
	}
	emit_pending_nl(ms);
	emit(ms, ms->line, ms->line_len);
	ms->pending_nl = true;
}

static void body_byte(struct message_search *ms, char c)
{
	if (ms->bol) {
		ms->bol = false;
		if (c == '-' && ms->depth > 0) {
			ms->cand = true;
			ms->line_len = 0;
		} else {
			emit_pending_nl(ms);
		}
	}
	if (ms->cand) {
		if (c == '\n') {
			ms->bol = true;
			held_line(ms);
		} else if (ms->line_len < LINE_CAP) {
			ms->line[ms->line_len++] = c;
		} else {
			/* too long for a boundary: stream the rest */
			ms->cand = false;
			emit_pending_nl(ms);
			emit(ms, ms->line, ms->line_len);
			emit(ms, &c, 1);
		}
		return;
	}
	if (ms->held_cr) {
		ms->held_cr = false;
		if (c != '\n')
			emit(ms, "\r", 1);
	}
	if (c == '\n') {
		ms->pending_nl = true;
		ms->bol = true;
	} else if (c == '\r') {
		ms->held_cr = true;
	} else if (ms->text) {
		emit(ms, &c, 1);
	}
}

void message_search_feed(struct message_search *ms, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (ms->in_header) {
			header_byte(ms, data[i++]);
			continue;
		}
		if (!ms->bol && !ms->cand && !ms->held_cr) {
			/* inside a line of body text: pass the run on at once */
			size_t j = i;

			while (j < len && data[j] != '\n' && data[j] != '\r')
				j++;
			if (j > i) {
				emit(ms, data + i, j - i);
				i = j;
				continue;
			}
		}
		body_byte(ms, data[i++]);
	}
}

void message_search_finish(struct message_search *ms)
{
	if (ms->in_header) {
		/* no blank line: all of it was header (RFC 5322 allows no body) */
		end_header(ms);
		while (ms->in_header)	/* a message/rfc822 with nothing in it */
			end_header(ms);
	}
	if (ms->cand) {
		/* a last line without a line break is a line all the same */
		held_line(ms);
		while (ms->in_header)
			end_header(ms);
	}
	end_body(ms);
	end_frames(ms, 0);
}
