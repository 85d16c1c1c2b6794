/*
 * IMAP command parser.  See imap_parser.h for the contract.
 *
 * State kept between lines: the tag and name, a stack of open lists and
 * whether a separator is due.  Argument arrays grow on the heap while a list
 * is open and are copied into the command's arena when it closes.
 */
#include "imap/imap_parser.h"
#include "core/log.h"
#include "core/pool.h"

#include <ctype.h>
#include <string.h>

struct frame {
	struct imap_arg *args;
	unsigned count, cap;
};

enum parser_state { ST_START, ST_ARGS, ST_LITERAL };

struct imap_parser {
	struct imap_parser_limits lim;
	struct pool *pool;
	enum parser_state state;
	bool finished;		/* the last command is done (or failed) */
	const char *tag, *name;
	struct frame *stack;	/* lim.max_depth + 1 frames */
	unsigned depth;
	unsigned nargs;
	size_t size;
	bool need_sep;		/* an argument just ended: SP or ')' is next */
	struct imap_literal_info lit;
	/* A literal inside a section spec, BODY[HEADER.FIELDS ({7}CRLF
	 * Subject)]: header-fld-name is an astring (RFC 3501 §9).  The atom
	 * so far, the literal (as a quoted string) appended, is continued by
	 * the next line. */
	char *atom_prefix;	/* in the pool; NULL when no atom is open */
	size_t atom_prefix_len;
	bool atom_bad;		/* the literal cannot be a field name */
	struct imap_command cmd;
	struct imap_command partial;	/* imap_parser_command_so_far() */
	struct imap_parse_error err;
};

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->lim = *limits;
	p->pool = pool_new(4096);
	p->stack = xcalloc(limits->max_depth + 1, sizeof(*p->stack));
	p->finished = true;
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	for (unsigned i = 0; i <= p->lim.max_depth; i++)
		free(p->stack[i].args);
	free(p->stack);
	pool_free(&p->pool);
	free(p);
	*pp = NULL;
}

void imap_parser_reset(struct imap_parser *p)
{
	pool_clear(p->pool);
	for (unsigned i = 0; i <= p->lim.max_depth; i++)
		p->stack[i].count = 0;
	p->state = ST_START;
	p->finished = false;
	p->tag = p->name = NULL;
	p->depth = p->nargs = 0;
	p->size = 0;
	p->need_sep = false;
	p->atom_prefix = NULL;
	p->atom_prefix_len = 0;
	p->atom_bad = false;
	memset(&p->lit, 0, sizeof(p->lit));
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->err, 0, sizeof(p->err));
}

const struct imap_literal_info *imap_parser_literal(const struct imap_parser *p) { return &p->lit; }
const char *imap_parser_command_name(const struct imap_parser *p) { return p->name; }
const struct imap_command *imap_parser_command(const struct imap_parser *p) { return &p->cmd; }

const struct imap_command *imap_parser_command_so_far(struct imap_parser *p, unsigned *depth_r)
{
	if (p->state != ST_LITERAL)
		fatal("imap_parser_command_so_far() without a literal due");
	/* The top frame's array itself: it only grows when an argument is
	 * added, which takes another parser call. */
	p->partial.tag = p->tag;
	p->partial.name = p->name;
	p->partial.args = p->stack[0].args;
	p->partial.nargs = p->stack[0].count;
	*depth_r = p->depth;
	return &p->partial;
}

const struct imap_parse_error *imap_parser_error(const struct imap_parser *p) { return &p->err; }

/* Does the line end in "{N+}" / "~{N+}"?  Then the client sends N octets
 * without waiting, whatever we answer. */
static bool ends_in_nonsync_literal(const char *line, size_t len)
{
	size_t i;

	if (len < 4 || line[len - 1] != '}' || line[len - 2] != '+')
		return false;
	for (i = len - 3; i > 0 && isdigit((unsigned char)line[i]); i--)
		;
	return line[i] == '{' && i < len - 3;
}

static enum imap_parse_result fail(struct imap_parser *p, const char *line, size_t len,
				   const char *text)
{
	p->err.text = text;
	p->err.tag = p->tag;
	p->err.fatal = ends_in_nonsync_literal(line, len);
	p->state = ST_START;
	p->finished = true;
	return IMAP_PARSE_ERROR;
}

static bool add_arg(struct imap_parser *p, const struct imap_arg *arg)
{
	struct frame *f = &p->stack[p->depth];

	if (p->nargs >= p->lim.max_args)
		return false;
	p->nargs++;
	if (f->count == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->args = xrealloc(f->args, f->cap * sizeof(*f->args));
	}
	f->args[f->count++] = *arg;
	return true;
}

/* Copies frame f's arguments into the arena. */
static const struct imap_arg *frame_finish(struct imap_parser *p, struct frame *f)
{
	struct imap_arg *args = pool_alloc(p->pool, (f->count ? f->count : 1) * sizeof(*args));

	if (f->count > 0)
		memcpy(args, f->args, f->count * sizeof(*args));
	return args;
}

/* ATOM-CHAR (RFC 3501 §9) plus what astrings, list patterns, flags and
 * sequence sets add: any CHAR but SP, CTL, '(' ')' '{' and '"'. */
static bool atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

/* Is line[i..] a literal announcement ending the line, "{N}" or "{N+}"? */
static bool literal_ends_line(const char *line, size_t len, size_t i)
{
	size_t j = i + 1;

	if (line[i] != '{')
		return false;
	while (j < len && isdigit((unsigned char)line[j]))
		j++;
	if (j == i + 1)
		return false;
	if (j < len && line[j] == '+')
		j++;
	return j + 1 == len && line[j] == '}';
}

/* An atom from *pos to *end_r.  in_bracket: the line continues a section
 * spec after a literal.  *literal_r: the atom stops at a literal inside
 * its brackets, at *end_r. */
static const char *parse_atom(const char *line, size_t len, size_t *pos, size_t *end_r,
			      bool in_bracket, bool *literal_r)
{
	size_t i = *pos;
	bool bracket = in_bracket;

	*literal_r = false;
	while (i < len) {
		unsigned char c = (unsigned char)line[i];

		if (bracket) {
			/* a section spec: BODY[HEADER.FIELDS (FROM TO)] */
			if (c == ']') {
				bracket = false;
			} else if (c == '{' && literal_ends_line(line, len, i)) {
				*literal_r = true;
				*end_r = i;
				return NULL;
			} else if (c < 0x20 || c > 0x7e)
				return "Invalid characters in atom";
			else if (c == '[')
				return "Nested [ in atom";
			i++;
			continue;
		}
		if (c == '[') {
			bracket = true;
			i++;
			continue;
		}
		if (c == ' ' || c == '(' || c == ')')
			break;
		if (!atom_char(c))
			return "Invalid characters in atom";
		i++;
	}
	if (bracket)
		return "Missing ] in atom";
	*end_r = i;
	return NULL;
}

static const char *parse_quoted(struct imap_parser *p, const char *line, size_t len, size_t *pos,
				struct imap_arg *arg)
{
	char *out = pool_alloc(p->pool, len - *pos + 1);
	size_t o = 0, i = *pos + 1;

	for (; i < len; i++) {
		char c = line[i];

		if (c == '"') {
			out[o] = '\0';
			arg->type = IMAP_ARG_QUOTED;
			arg->str = out;
			arg->len = o;
			*pos = i + 1;
			return NULL;
		}
		if (c == '\0')
			return "NUL in quoted string";
		if (c == '\\') {
			/* quoted-specials only: \" and \\ */
			if (i + 1 >= len || (line[i + 1] != '"' && line[i + 1] != '\\'))
				return "Invalid escape in quoted string";
			c = line[++i];
		}
		/* 8-bit is passed on: UTF8=ACCEPT (RFC 6855) allows it, and the
		 * command decides what to do with it otherwise. */
		out[o++] = c;
	}
	return "Missing closing quote";
}

/* "{N}" "{N+}" "~{N}" at line[*pos], which must end the line. */
static const char *parse_literal_spec(struct imap_parser *p, const char *line, size_t len,
				      size_t pos)
{
	uint64_t n = 0;
	size_t digits = 0;

	memset(&p->lit, 0, sizeof(p->lit));
	if (line[pos] == '~') {
		p->lit.literal8 = true;
		pos++;
	}
	pos++;		/* '{' */
	while (pos < len && isdigit((unsigned char)line[pos])) {
		if (n > (UINT64_MAX - 9) / 10)
			return "Literal size out of range";
		n = n * 10 + (uint64_t)(line[pos] - '0');
		pos++;
		digits++;
	}
	if (digits == 0)
		return "Invalid literal";
	/* A header field name: short (RFC 5322 §2.1.1 keeps lines to 998),
	 * so always read inline; and never in APPEND, whose literals the
	 * session may stream or skip (imap_parser_literal_external). */
	if (p->atom_prefix != NULL && (n > 998 || strcmp(p->name, "APPEND") == 0))
		return "Invalid literal in atom";
	p->lit.sync = true;
	if (pos < len && line[pos] == '+') {
		p->lit.sync = false;
		pos++;
	}
	if (pos >= len || line[pos] != '}')
		return "Invalid literal";
	if (pos + 1 != len)
		return "Literal must end the line";
	p->lit.size = n;
	p->lit.fits_inline = p->size + n <= p->lim.max_command;
	/* Only an APPEND may have a literal the caller streams elsewhere. */
	if (n > p->lim.max_literal || (!p->lit.sync && n > p->lim.max_nonsync) ||
	    (!p->lit.fits_inline && strcmp(p->name, "APPEND") != 0)) {
		p->err.too_big = true;
		return "[TOOBIG] Literal too big";
	}
	return NULL;
}

static enum imap_parse_result parse_args(struct imap_parser *p, const char *line, size_t len,
					 size_t pos)
{
	struct imap_arg arg;
	const char *e;

	if (p->atom_prefix != NULL) {
		/* the rest of a section spec that had a literal in it */
		size_t end;
		bool literal;
		char *joined;

		if (p->atom_bad)
			return fail(p, line, len, "Invalid header field name in literal");
		e = parse_atom(line, len, &pos, &end, true, &literal);
		if (e != NULL)
			return fail(p, line, len, e);
		joined = pool_alloc(p->pool, p->atom_prefix_len + end + 1);
		memcpy(joined, p->atom_prefix, p->atom_prefix_len);
		memcpy(joined + p->atom_prefix_len, line, end);
		joined[p->atom_prefix_len + end] = '\0';
		if (literal) {
			p->atom_prefix = joined;
			p->atom_prefix_len += end;
			e = parse_literal_spec(p, line, len, end);
			if (e != NULL)
				return fail(p, line, len, e);
			p->state = ST_LITERAL;
			return IMAP_PARSE_LITERAL;
		}
		memset(&arg, 0, sizeof(arg));
		arg.type = IMAP_ARG_ATOM;
		arg.str = joined;
		arg.len = p->atom_prefix_len + end;
		p->atom_prefix = NULL;
		p->atom_prefix_len = 0;
		pos = end;
		if (!add_arg(p, &arg))
			return fail(p, line, len, "Too many arguments");
		p->need_sep = true;
	}
	while (pos < len) {
		char c = line[pos];

		if (c == ')') {
			struct frame *f;

			if (p->depth == 0)
				return fail(p, line, len, "Unexpected )");
			f = &p->stack[p->depth];
			memset(&arg, 0, sizeof(arg));
			arg.type = IMAP_ARG_LIST;
			arg.list = frame_finish(p, f);
			arg.count = f->count;
			f->count = 0;
			p->depth--;
			pos++;
			p->need_sep = true;
			/* Counted once when opened. */
			p->nargs--;
			if (!add_arg(p, &arg))
				return fail(p, line, len, "Too many arguments");
			continue;
		}
		if (p->need_sep) {
			if (c != ' ')
				return fail(p, line, len, "Missing space between arguments");
			pos++;
			p->need_sep = false;
			continue;
		}
		if (c == '(') {
			if (p->depth >= p->lim.max_depth)
				return fail(p, line, len, "Too deeply nested lists");
			if (p->nargs >= p->lim.max_args)
				return fail(p, line, len, "Too many arguments");
			p->nargs++;	/* the list itself */
			p->depth++;
			p->stack[p->depth].count = 0;
			pos++;
			continue;
		}
		memset(&arg, 0, sizeof(arg));
		if (c == '"') {
			e = parse_quoted(p, line, len, &pos, &arg);
			if (e != NULL)
				return fail(p, line, len, e);
		} else if (c == '{' || (c == '~' && pos + 1 < len && line[pos + 1] == '{')) {
			e = parse_literal_spec(p, line, len, pos);
			if (e != NULL)
				return fail(p, line, len, e);
			p->state = ST_LITERAL;
			return IMAP_PARSE_LITERAL;
		} else if (c == ' ') {
			/* A space at the very end: tolerated, as many servers do. */
			if (pos + 1 == len)
				break;
			return fail(p, line, len, "Double space");
		} else {
			size_t end;
			bool literal;

			e = parse_atom(line, len, &pos, &end, false, &literal);
			if (e != NULL)
				return fail(p, line, len, e);
			if (literal) {
				p->atom_prefix = pool_strndup(p->pool, line + pos, end - pos);
				p->atom_prefix_len = end - pos;
				e = parse_literal_spec(p, line, len, end);
				if (e != NULL)
					return fail(p, line, len, e);
				p->state = ST_LITERAL;
				return IMAP_PARSE_LITERAL;
			}
			arg.type = IMAP_ARG_ATOM;
			arg.str = pool_strndup(p->pool, line + pos, end - pos);
			arg.len = end - pos;
			pos = end;
		}
		if (!add_arg(p, &arg))
			return fail(p, line, len, "Too many arguments");
		p->need_sep = true;
	}
	if (p->depth > 0)
		return fail(p, line, len, "Missing )");
	p->cmd.tag = p->tag;
	p->cmd.name = p->name;
	p->cmd.args = frame_finish(p, &p->stack[0]);
	p->cmd.nargs = p->stack[0].count;
	p->state = ST_START;
	p->finished = true;
	return IMAP_PARSE_DONE;
}

enum imap_parse_result imap_parser_line(struct imap_parser *p, const char *line, size_t len)
{
	size_t pos = 0, start;

	if (p->state == ST_LITERAL)
		fatal("imap_parser_line() while a literal is due");
	if (p->finished)
		imap_parser_reset(p);
	p->size += len + 2;
	if (p->size > p->lim.max_command)
		return fail(p, line, len, "Command too long");
	if (p->nargs > p->lim.max_args)	/* a literal went over, see below */
		return fail(p, line, len, "Too many arguments");
	if (p->state == ST_START) {
		/* tag = 1*<any ASTRING-CHAR except "+"> */
		while (pos < len && atom_char((unsigned char)line[pos]) && line[pos] != '+')
			pos++;
		if (pos == 0 || pos == len || line[pos] != ' ')
			return fail(p, line, len, pos == 0 ? "Missing tag" : "Missing command");
		p->tag = pool_strndup(p->pool, line, pos);
		start = ++pos;
		while (pos < len && isalnum((unsigned char)line[pos]))
			pos++;
		if (pos == start || (pos < len && line[pos] != ' '))
			return fail(p, line, len, pos == start ? "Missing command" : "Invalid command name");
		char *name = pool_strndup(p->pool, line + start, pos - start);
		for (char *c = name; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		p->name = name;
		p->state = ST_ARGS;
		p->need_sep = true;
	}
	/* Checked after the tag, so the BAD can carry it. */
	if (memchr(line + pos, '\0', len - pos) != NULL)
		return fail(p, line, len, "NUL byte in command");
	return parse_args(p, line, len, pos);
}

void imap_parser_literal_data(struct imap_parser *p, const char *data, size_t len)
{
	struct imap_arg arg = { .type = IMAP_ARG_LITERAL, .literal8 = p->lit.literal8 };

	if (p->state != ST_LITERAL || len != p->lit.size)
		fatal("imap_parser_literal_data() out of turn");
	if (p->atom_prefix != NULL) {
		/* Into the section spec as a quoted string.  A field name is
		 * printable ASCII (RFC 5322 §3.6.8); brackets would end the
		 * section early: the next line fails on those. */
		char *joined = pool_alloc(p->pool, p->atom_prefix_len + 2 * len + 3);
		size_t o = p->atom_prefix_len;

		memcpy(joined, p->atom_prefix, o);
		joined[o++] = '"';
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)data[i];

			if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']') {
				p->atom_bad = true;
				c = 'x';
			}
			if (c == '"' || c == '\\')
				joined[o++] = '\\';
			joined[o++] = (char)c;
		}
		joined[o++] = '"';
		joined[o] = '\0';
		p->atom_prefix = joined;
		p->atom_prefix_len = o;
		p->size += len;
		p->state = ST_ARGS;
		p->need_sep = false;
		return;
	}
	arg.str = pool_strndup(p->pool, data, len);
	arg.len = len;
	p->size += len;
	p->state = ST_ARGS;
	p->need_sep = true;
	if (!add_arg(p, &arg))
		p->nargs = p->lim.max_args + 1;	/* reported at the next line */
}

void imap_parser_literal_external(struct imap_parser *p)
{
	struct imap_arg arg = { .type = IMAP_ARG_LITERAL_EXTERNAL, .literal8 = p->lit.literal8 };

	if (p->state != ST_LITERAL || p->atom_prefix != NULL)
		fatal("imap_parser_literal_external() out of turn");
	arg.len = (size_t)p->lit.size;
	arg.str = "";
	p->state = ST_ARGS;
	p->need_sep = true;
	if (!add_arg(p, &arg))
		p->nargs = p->lim.max_args + 1;
}
