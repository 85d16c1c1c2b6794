#ifndef DUOMAIL_IMAP_PARSER_H
#define DUOMAIL_IMAP_PARSER_H
/*
 * The IMAP command parser (RFC 3501 §9 formal syntax, RFC 7888 literals).
 * Pure: it knows no sockets, sessions or mailboxes.
 *
 * A command arrives as lines and literals: "a1 LOGIN {5}" CRLF, 5 octets,
 * " {6}" CRLF, 6 octets, "" CRLF.  The caller feeds each line (without its
 * CRLF) to imap_parser_line().  When a line ends in a literal announcement,
 * the parser says so (IMAP_PARSE_LITERAL) before any literal byte is read,
 * so a literal over the limit is refused without reading it; the caller then
 * sends "+ " for a synchronising literal, reads the octets, hands them over
 * (or streams them elsewhere, for APPEND) and feeds the next line.
 *
 * Every limit is hard: command size, literal size, list depth, argument
 * count.  The parsed command lives in the parser's arena until the next
 * imap_parser_line() that starts a new command, or imap_parser_reset().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* also NIL, numbers, flags (\Seen), sequence sets,
				 * and section specs like BODY[HEADER.FIELDS (A)]<0.9> */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,	/* {n} / {n+} / ~{n} data given to the parser */
	IMAP_ARG_LITERAL_EXTERNAL,	/* a literal the caller consumed itself */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;	/* NUL-terminated (may contain NUL if a literal) */
	size_t len;		/* string length; for EXTERNAL, the literal size */
	bool literal8;		/* ~{n} (RFC 3516) */
	const struct imap_arg *list;	/* IMAP_ARG_LIST */
	unsigned count;
};

struct imap_command {
	const char *tag;
	const char *name;	/* upper-cased; "UID" is an ordinary name */
	const struct imap_arg *args;
	unsigned nargs;
};

struct imap_parser_limits {
	size_t max_command;	/* bytes of lines plus literals given to the parser */
	size_t max_literal;	/* largest literal at all (APPEND streams it) */
	size_t max_nonsync;	/* largest {n+} literal (RFC 7888 LITERAL-: 4096) */
	unsigned max_depth;	/* nested parentheses */
	unsigned max_args;	/* arguments in all lists together */
};

enum imap_parse_result {
	IMAP_PARSE_DONE,	/* imap_parser_command() is complete */
	IMAP_PARSE_LITERAL,	/* imap_parser_literal() describes what comes */
	IMAP_PARSE_ERROR,	/* imap_parser_error() says what; the command is dropped */
};

struct imap_literal_info {
	uint64_t size;
	bool sync;		/* send a continuation before the client sends it */
	bool literal8;
	bool fits_inline;	/* within max_command: imap_parser_literal_data() may
				 * take it; otherwise only an APPEND may stream it */
};

struct imap_parse_error {
	const char *text;	/* for the BAD response */
	const char *tag;	/* NULL if no tag could be read: answer "* BAD" */
	bool fatal;		/* a non-synchronising literal is on its way that
				 * we will not read: close the connection */
	bool too_big;		/* a literal over the limits (APPEND answers NO
				 * [TOOBIG] to that, RFC 7888 §4, RFC 4469) */
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **parser);
void imap_parser_reset(struct imap_parser *parser);

enum imap_parse_result imap_parser_line(struct imap_parser *parser, const char *line, size_t len);

/* After IMAP_PARSE_LITERAL: what is announced, and the command name (so the
 * caller can tell an APPEND message literal it wants to stream). */
const struct imap_literal_info *imap_parser_literal(const struct imap_parser *parser);
const char *imap_parser_command_name(const struct imap_parser *parser);
/* After IMAP_PARSE_LITERAL: the command so far, with the top-level
 * arguments before the literal (lists among them complete), and in
 * *depth_r how many lists the literal itself is inside.  APPEND needs its
 * mailbox, flags and date before the message literal streams by.  Valid
 * until the next call into the parser. */
const struct imap_command *imap_parser_command_so_far(struct imap_parser *parser,
						      unsigned *depth_r);
/* The literal's octets (exactly the announced size).  The command goes on
 * with the next imap_parser_line(). */
void imap_parser_literal_data(struct imap_parser *parser, const char *data, size_t len);
/* The caller consumed the literal itself (APPEND into the store). */
void imap_parser_literal_external(struct imap_parser *parser);

const struct imap_command *imap_parser_command(const struct imap_parser *parser);
const struct imap_parse_error *imap_parser_error(const struct imap_parser *parser);

#endif
