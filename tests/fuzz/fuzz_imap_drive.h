#ifndef DUOMAIL_FUZZ_IMAP_DRIVE_H
#define DUOMAIL_FUZZ_IMAP_DRIVE_H
/*
 * Feeds a byte stream to the IMAP command parser the way imap_session.c
 * does: line by line (overlong lines skipped, the parser reset), each
 * announced literal answered as the session answers it (read inline when
 * it fits, streamed past for an APPEND message or a too big non-sync
 * literal, refused for a too big sync one), and the input ended where the
 * session would close the connection (a fatal parse error).  Every
 * complete command goes to the caller; the parser's promises about
 * literals and partial commands are checked on the way.
 */
#include "fuzz_common.h"
#include "imap/imap_parser.h"

typedef void fuzz_imap_command_fn(const struct imap_command *cmd, void *ctx);

/* An atom: ATOM-CHARs, and inside one [...] section spec any printable
 * character but "[" (BODY[HEADER.FIELDS (A B)]). */
static inline void fuzz_imap_check_atom(const char *s, size_t len)
{
	bool bracket = false;

	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];

		FUZZ_CHECK(c >= 0x20 && c < 0x7f);
		if (bracket) {
			FUZZ_CHECK(c != '[');
			bracket = c != ']';
		} else {
			FUZZ_CHECK(c != ' ' && c != '(' && c != ')' && c != '{' && c != '"');
			bracket = c == '[';
		}
	}
	FUZZ_CHECK(!bracket);
}

/* Arguments in a list tree, each list counted once as the parser counts
 * them; checks the tree is within the limits and well formed. */
static inline unsigned fuzz_imap_check_args(const struct imap_arg *args, unsigned n,
					    unsigned depth, const struct imap_parser_limits *lim)
{
	unsigned total = n;

	FUZZ_CHECK(depth <= lim->max_depth);
	FUZZ_CHECK(n == 0 || args != NULL);
	for (unsigned i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];

		switch (a->type) {
		case IMAP_ARG_ATOM:
			FUZZ_CHECK(a->len > 0 && strlen(a->str) == a->len);
			fuzz_imap_check_atom(a->str, a->len);
			break;
		case IMAP_ARG_QUOTED:
			FUZZ_CHECK(strlen(a->str) == a->len);
			break;
		case IMAP_ARG_LITERAL:
			FUZZ_CHECK(a->str[a->len] == '\0' && a->len <= lim->max_command);
			break;
		case IMAP_ARG_LITERAL_EXTERNAL:
			FUZZ_CHECK(a->len <= lim->max_literal);
			break;
		case IMAP_ARG_LIST:
			total += fuzz_imap_check_args(a->list, a->count, depth + 1, lim);
			break;
		default:
			FUZZ_CHECK(!"unknown argument type");
		}
	}
	return total;
}

static inline void fuzz_imap_check_command(const struct imap_command *cmd,
					   const struct imap_parser_limits *lim)
{
	FUZZ_CHECK(cmd->tag != NULL && cmd->tag[0] != '\0' && strchr(cmd->tag, '+') == NULL);
	FUZZ_CHECK(cmd->name != NULL && cmd->name[0] != '\0');
	for (const char *c = cmd->name; *c; c++)
		FUZZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'));
	FUZZ_CHECK(fuzz_imap_check_args(cmd->args, cmd->nargs, 0, lim) <= lim->max_args);
}

/* What the session does with an announced literal; false when it would
 * stop reading (the input ran out inside the literal). */
static inline bool fuzz_imap_literal(struct imap_parser *p, const struct imap_parser_limits *lim,
				     struct fuzz_stream *st, size_t *size)
{
	const struct imap_literal_info *li = imap_parser_literal(p);
	const char *name = imap_parser_command_name(p), *data;
	const struct imap_command *so_far;
	unsigned depth;
	size_t n;

	/* The parser refuses what is over the limits before any byte. */
	FUZZ_CHECK(li->size <= lim->max_literal);
	FUZZ_CHECK(li->sync || li->size <= lim->max_nonsync);
	FUZZ_CHECK(li->fits_inline || strcmp(name, "APPEND") == 0);
	so_far = imap_parser_command_so_far(p, &depth);
	FUZZ_CHECK(depth <= lim->max_depth);
	FUZZ_CHECK(strcmp(so_far->name, name) == 0);
	FUZZ_CHECK(fuzz_imap_check_args(so_far->args, so_far->nargs, 0, lim) <= lim->max_args);

	if (strcmp(name, "APPEND") == 0 && so_far->nargs > 0 && depth == 0) {
		/* The message: imap_append.c streams it into the store. */
		n = fuzz_stream_bytes(st, (size_t)li->size, &data);
		if (n < li->size)
			return false;
		imap_parser_literal_external(p);
		return true;
	}
	if (!li->fits_inline) {
		if (li->sync) {
			/* Refused with BAD before the client sends it. */
			imap_parser_reset(p);
			*size = 0;
			return true;
		}
		n = fuzz_stream_bytes(st, (size_t)li->size, &data);
		if (n < li->size)
			return false;
		imap_parser_literal_external(p);
		return true;
	}
	n = fuzz_stream_bytes(st, (size_t)li->size, &data);
	if (n < li->size)
		return false;
	*size += n;
	imap_parser_literal_data(p, data, n);
	return true;
}

/* Runs the whole input through a parser with limits lim, lines of at most
 * max_line; each complete command goes to fn. */
static inline void fuzz_imap_drive(const struct imap_parser_limits *lim, size_t max_line,
				   const uint8_t *data, size_t len, fuzz_imap_command_fn *fn,
				   void *ctx)
{
	struct imap_parser *p = imap_parser_new(lim);
	struct fuzz_stream st;
	size_t size = 0;	/* bytes of the command so far, as the parser counts */
	const char *line;
	size_t line_len;
	int r;

	fuzz_stream_init(&st, data, len);
	while ((r = fuzz_stream_line(&st, max_line, &line, &line_len)) != 0) {
		enum imap_parse_result res;

		if (r < 0) {
			imap_parser_reset(p);	/* "Line too long": the command is lost */
			size = 0;
			continue;
		}
		res = imap_parser_line(p, line, line_len);
		size += line_len + 2;
		if (res == IMAP_PARSE_LITERAL) {
			if (!fuzz_imap_literal(p, lim, &st, &size))
				break;
			continue;
		}
		if (res == IMAP_PARSE_DONE) {
			const struct imap_command *cmd = imap_parser_command(p);

			FUZZ_CHECK(size <= lim->max_command);
			fuzz_imap_check_command(cmd, lim);
			fn(cmd, ctx);
		} else {
			const struct imap_parse_error *err = imap_parser_error(p);

			FUZZ_CHECK(err->text != NULL && err->text[0] != '\0');
			if (err->fatal)
				break;	/* the session sends BYE and closes */
		}
		size = 0;
	}
	imap_parser_free(&p);
	FUZZ_CHECK(p == NULL);
}

#endif
