/*
 * MIME structure parser.  See message.h.
 *
 * Line by line: each line's start (raw, CRLF-virtual, LF count) is known,
 * and RFC 2046 §5.1.1 is applied literally: the line break before a
 * boundary line belongs to the boundary, so a part ends where the content
 * of the line before the boundary ends.
 */
#include "store/message.h"
#include "store/message_lex.h"
#include "core/buf.h"
#include "core/log.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MSG_LINE_CAP	998	/* enough of a line to tell a boundary or a field */
#define MSG_HEADER_CAP	65536	/* header text kept per part for its fields */
#define MSG_MAX_DEPTH	64	/* nesting beyond this is treated as one body */

struct pos {
	uint64_t raw, v, lfs;
};

struct frame {
	struct message_part *part;
	char *boundary;		/* a multipart with a boundary parameter */
	bool closed;		/* its close-delimiter was seen: epilogue */
	bool in_header;
	struct message_part *last_child;
	struct pos header_start, body_start;
};

struct message_parser {
	struct message_part *root;
	struct frame stack[MSG_MAX_DEPTH];
	unsigned depth;		/* frames in use */

	struct pos at;		/* start of the line being read */
	char line[MSG_LINE_CAP + 1];
	size_t line_len;	/* bytes kept (capped) */
	uint64_t line_raw;	/* bytes of the line so far */
	bool line_cr;		/* the last byte of the line so far was CR */

	/* the previous complete line: where it started and its content length */
	bool have_prev;
	struct pos prev;
	uint64_t prev_content;

	struct buf header;	/* the current part's header text, unfolded */
};

/* ---- header fields ---- */

static char *lower(char *s)
{
	for (char *c = s; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return s;
}

/* Skips white space and (nested) comments, RFC 5322 §3.2.2 CFWS. */
static const char *skip_cfws(const char *s)
{
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '(')
			return s;
		s = message_skip_comment(s);
	}
}

static bool tspecial(char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL || c <= ' ' || c == 0x7f;
}

static char *token(const char **sp)
{
	const char *s = skip_cfws(*sp), *start = s;

	while (*s && !tspecial(*s))
		s++;
	*sp = s;
	return s > start ? xstrndup(start, s - start) : NULL;
}

static char *token_or_quoted(const char **sp)
{
	const char *s = skip_cfws(*sp);
	struct buf b;
	char *out;

	if (*s != '"')
		return token(sp);
	buf_init(&b, MSG_HEADER_CAP);
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1])
			s++;
		buf_append(&b, s, 1);
	}
	if (*s == '"')
		s++;
	*sp = s;
	out = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}

/* Does params[i] have the name base, "name" or "name*" for base "name"? */
static bool same_param(const char *have, const char *base)
{
	size_t len = strlen(base);

	return strncmp(have, base, len) == 0 && (have[len] == '\0' ||
						 (have[len] == '*' && have[len + 1] == '\0'));
}

/* "; name=value" list (RFC 2045 §5.1), with RFC 2231 continuations
 * ("name*0", "name*1*") joined in order.  An encoded value (name*=, or a
 * first piece name*0*=) keeps its "charset'language'%xx" form and its
 * name its "*" (RFC 2231 §4), so a client knows to decode it; plain
 * pieces are joined under the plain name.  Dovecot does the same. */
static void parse_params(const char *s, struct message_param **params_r, unsigned *n_r)
{
	struct message_param *params = NULL;
	unsigned n = 0;

	for (;;) {
		char *name, *value, *star;

		s = skip_cfws(s);
		if (*s != ';')
			break;
		s++;
		name = token(&s);
		s = skip_cfws(s);
		if (name == NULL || *s != '=') {
			free(name);
			continue;
		}
		s++;
		value = token_or_quoted(&s);
		if (value == NULL)
			value = xstrdup("");
		lower(name);
		star = strchr(name, '*');
		if (star != NULL && isdigit((unsigned char)star[1])) {
			/* name*0* starts an encoded value: named "name*" */
			bool encoded = star[strlen(star) - 1] == '*' && star[1] == '0' &&
				       star[2] == '*';

			*star = '\0';
			/* a continuation: append to the first piece if we have it */
			bool joined = false;
			for (unsigned i = 0; i < n && !joined; i++) {
				if (same_param(params[i].name, name)) {
					char *both = xasprintf("%s%s", params[i].value, value);

					free(params[i].value);
					params[i].value = both;
					joined = true;
				}
			}
			if (joined) {
				free(name);
				free(value);
				continue;
			}
			if (encoded) {
				star[0] = '*';
				star[1] = '\0';
			}
		}
		/* name*=charset'lang'value stays as it is */
		params = xrealloc(params, (n + 1) * sizeof(*params));
		params[n].name = name;
		params[n].value = value;
		n++;
	}
	*params_r = params;
	*n_r = n;
}

static char *trimmed(const char *s)
{
	const char *end;

	s = skip_cfws(s);
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return xstrndup(s, end - s);
}

static void params_free(struct message_param *params, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

static const char *const env_names[ENV_FIELD_COUNT] = {
	[ENV_DATE] = "Date", [ENV_SUBJECT] = "Subject", [ENV_FROM] = "From",
	[ENV_SENDER] = "Sender", [ENV_REPLY_TO] = "Reply-To", [ENV_TO] = "To", [ENV_CC] = "Cc",
	[ENV_BCC] = "Bcc", [ENV_IN_REPLY_TO] = "In-Reply-To", [ENV_MESSAGE_ID] = "Message-ID",
};

/* Is part a message of its own (the root, or inside message/rfc822)? */
static bool is_message(const struct message_part *part)
{
	return part->parent == NULL || (strcmp(part->parent->type, "message") == 0 &&
					strcmp(part->parent->subtype, "rfc822") == 0);
}

/* A later field of the same name replaces an earlier one. */
static void header_field(struct message_part *part, const char *name, const char *value)
{
	if (is_message(part)) {
		for (int i = 0; i < ENV_FIELD_COUNT; i++) {
			if (part->env[i] == NULL && strcasecmp(name, env_names[i]) == 0) {
				while (*value == ' ' || *value == '\t')
					value++;
				part->env[i] = xstrdup(value);
			}
		}
	}
	if (strcasecmp(name, "Content-Type") == 0) {
		const char *s = value;
		char *type = token(&s), *subtype = NULL;

		s = skip_cfws(s);
		if (type != NULL && *s == '/') {
			s++;
			subtype = token(&s);
		}
		if (type == NULL || subtype == NULL) {
			/* unusable: RFC 2045 §5.2 says treat it as text/plain */
			free(type);
			free(subtype);
			return;
		}
		free(part->type);
		free(part->subtype);
		part->type = lower(type);
		part->subtype = lower(subtype);
		params_free(part->params, part->nparams);
		parse_params(s, &part->params, &part->nparams);
	} else if (strcasecmp(name, "Content-Transfer-Encoding") == 0) {
		free(part->encoding);
		part->encoding = trimmed(value);
	} else if (strcasecmp(name, "Content-ID") == 0) {
		free(part->id);
		part->id = trimmed(value);
	} else if (strcasecmp(name, "Content-Description") == 0) {
		free(part->description);
		part->description = trimmed(value);
	} else if (strcasecmp(name, "Content-MD5") == 0) {
		free(part->md5);
		part->md5 = trimmed(value);
	} else if (strcasecmp(name, "Content-Language") == 0) {
		free(part->language);
		part->language = trimmed(value);
	} else if (strcasecmp(name, "Content-Location") == 0) {
		free(part->location);
		part->location = trimmed(value);
	} else if (strcasecmp(name, "Content-Disposition") == 0) {
		const char *s = value;
		char *d = token(&s);

		if (d != NULL) {
			free(part->disposition);
			part->disposition = lower(d);
			params_free(part->disposition_params, part->ndisposition_params);
			parse_params(s, &part->disposition_params, &part->ndisposition_params);
		}
	}
}

/* The header text is one field per line (already unfolded). */
static void parse_header(struct message_parser *p, struct message_part *part)
{
	char *text = buf_ptr(&p->header), *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		/* RFC 5322 §3.6.8: name, optional WSP, colon */
		for (char *e = colon - 1; e >= line && (*e == ' ' || *e == '\t'); e--)
			*e = '\0';
		header_field(part, line, colon + 1);
	}
	buf_reset(&p->header);
}

/* ---- structure ---- */

static void start_part(struct message_parser *p, struct pos at)
{
	struct frame *parent = p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
	struct message_part *part = xcalloc(1, sizeof(*part));
	struct frame *f;

	part->header_offset = at.raw;
	if (parent == NULL) {
		p->root = part;
	} else {
		part->parent = parent->part;
		if (parent->last_child != NULL)
			parent->last_child->next = part;
		else
			parent->part->children = part;
		parent->last_child = part;
		parent->part->nchildren++;
	}
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->part = part;
	f->in_header = true;
	f->header_start = at;
}

/* RFC 2045 §5.2: no (usable) Content-Type is "text/plain; charset=us-ascii",
 * whether or not the header ended with a blank line. */
static void default_text_plain(struct message_part *part)
{
	part->type = xstrdup("text");
	part->subtype = xstrdup("plain");
	part->params = xcalloc(1, sizeof(*part->params));
	part->params[0].name = xstrdup("charset");
	part->params[0].value = xstrdup("us-ascii");
	part->nparams = 1;
}

/* The blank line ended the header; the body starts at at. */
static void end_header(struct message_parser *p, struct pos at)
{
	struct frame *f = &p->stack[p->depth - 1];
	struct message_part *part = f->part;
	const struct message_part *parent = part->parent;

	f->in_header = false;
	f->body_start = at;
	part->body_offset = at.raw;
	part->header_vsize = at.v - f->header_start.v;
	parse_header(p, part);
	if (part->type == NULL) {
		/* RFC 2046 §5.1.5: in a digest the default is message/rfc822 */
		bool digest = parent != NULL && strcmp(parent->type, "multipart") == 0 &&
			      strcmp(parent->subtype, "digest") == 0;

		if (digest) {
			part->type = xstrdup("message");
			part->subtype = xstrdup("rfc822");
		} else {
			default_text_plain(part);
		}
	}
	if (p->depth >= MSG_MAX_DEPTH)
		return;		/* too deep: the rest is one opaque body */
	if (strcmp(part->type, "multipart") == 0) {
		const char *b = message_param(part->params, part->nparams, "boundary");

		if (b != NULL && *b != '\0' && strlen(b) <= 200)
			f->boundary = xstrdup(b);
	} else if (strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0) {
		start_part(p, at);	/* the message inside starts right here */
	}
}

/* Closes the innermost open part at end. */
static void end_part(struct message_parser *p, struct pos end)
{
	struct frame *f = &p->stack[p->depth - 1];
	struct message_part *part = f->part;

	if (f->in_header) {
		/* no blank line: all of it is header */
		f->in_header = false;
		part->body_offset = end.raw;
		part->header_vsize = end.v - f->header_start.v;
		parse_header(p, part);
		f->body_start = end;
		if (part->type == NULL)
			default_text_plain(part);
	} else if (end.raw < f->body_start.raw) {
		/* The blank line that ended the header was the line break
		 * before the boundary, which belongs to the boundary (RFC 2046
		 * §5.1.1): all of the part is header, and it ends inside its
		 * parent (a message in a digest part ran one byte past it). */
		part->body_offset = end.raw;
		part->header_vsize = end.v - f->header_start.v;
		f->body_start = end;
	}
	part->end_offset = end.raw;
	part->body_vsize = end.v - f->body_start.v;
	/* Lines are the line breaks in the body (RFC 3501 §7.4.2 leaves the
	 * count open): a last line without one, such as the line before a
	 * boundary (whose CRLF belongs to the boundary, RFC 2046 §5.1.1),
	 * does not count.  Dovecot counts the same way, and clients compare. */
	part->body_lines = end.lfs - f->body_start.lfs;
	free(f->boundary);
	p->depth--;
}

/* One complete line: kept text (capped), its full raw content length, and
 * where the next line will start. */
static void process_line(struct message_parser *p, uint64_t content, struct pos next)
{
	struct frame *f = &p->stack[p->depth - 1];
	size_t kept = p->line_len;

	if (kept > content)
		kept = (size_t)content;	/* without the CR */
	if (f->in_header) {
		if (content == 0) {
			end_header(p, next);
		} else if ((p->line[0] == ' ' || p->line[0] == '\t') && buf_len(&p->header) > 0) {
			buf_append(&p->header, p->line, kept);	/* unfolding */
		} else {
			if (buf_len(&p->header) > 0)
				buf_append(&p->header, "\n", 1);
			buf_append(&p->header, p->line, kept);
		}
		return;
	}
	if (kept >= 2 && p->line[0] == '-' && p->line[1] == '-') {
		for (int i = (int)p->depth - 1; i >= 0; i--) {
			struct frame *m = &p->stack[i];
			int r;

			if (m->boundary == NULL || m->closed ||
			    (r = message_boundary_match(p->line, kept, m->boundary)) == 0)
				continue;
			/* RFC 2046 §5.1.1: the line break before the boundary
			 * belongs to it. */
			struct pos end = p->at;

			if (p->have_prev) {
				end = p->prev;
				end.raw += p->prev_content;
				end.v += p->prev_content;
			}
			while (p->depth - 1 > (unsigned)i)
				end_part(p, end);
			if (r == 2)
				m->closed = true;
			else
				start_part(p, next);
			return;
		}
	}
}

void message_parser_feed(struct message_parser *p, const char *data, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		char c = data[k];

		p->line_raw++;
		if (c != '\n') {
			if (p->line_len < MSG_LINE_CAP)
				p->line[p->line_len++] = c;
			p->line_cr = c == '\r';
			continue;
		}
		/* a line ends: its content is everything but CR LF / LF */
		uint64_t content = p->line_raw - 1 - (p->line_cr ? 1 : 0);
		struct pos next = p->at;

		next.raw += p->line_raw;
		next.v += p->line_raw + (p->line_cr ? 0 : 1);	/* bare LF counts as CRLF */
		next.lfs++;
		p->line[p->line_len] = '\0';
		process_line(p, content, next);
		p->have_prev = true;
		p->prev = p->at;
		p->prev_content = content;
		p->at = next;
		p->line_len = 0;
		p->line_raw = 0;
		p->line_cr = false;
	}
}

struct message_parser *message_parser_new(void)
{
	struct message_parser *p = xcalloc(1, sizeof(*p));

	buf_init(&p->header, MSG_HEADER_CAP);
	start_part(p, p->at);
	return p;
}

struct message_part *message_parser_finish(struct message_parser **pp)
{
	struct message_parser *p = *pp;
	struct message_part *root;

	/* A last line without LF is a line all the same (a close-delimiter
	 * at the very end still counts). */
	if (p->line_raw > 0) {
		uint64_t content = p->line_raw - (p->line_cr ? 1 : 0);
		struct pos next = p->at;

		next.raw += p->line_raw;
		next.v += p->line_raw;
		p->line[p->line_len] = '\0';
		process_line(p, content, next);
		p->at = next;
	}
	while (p->depth > 0)
		end_part(p, p->at);
	root = p->root;
	buf_free(&p->header);
	free(p);
	*pp = NULL;
	return root;
}

void message_part_free(struct message_part **partp)
{
	struct message_part *part = *partp, *child, *next;

	if (part == NULL)
		return;
	for (child = part->children; child != NULL; child = next) {
		next = child->next;
		message_part_free(&child);
	}
	free(part->type);
	free(part->subtype);
	params_free(part->params, part->nparams);
	params_free(part->disposition_params, part->ndisposition_params);
	free(part->id);
	free(part->description);
	free(part->encoding);
	free(part->md5);
	free(part->language);
	free(part->location);
	free(part->disposition);
	for (int i = 0; i < ENV_FIELD_COUNT; i++)
		free(part->env[i]);
	free(part);
	*partp = NULL;
}

const char *message_param(const struct message_param *params, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	return NULL;
}
