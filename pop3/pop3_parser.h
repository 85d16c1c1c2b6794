#ifndef DUOMAIL_POP3_PARSER_H
#define DUOMAIL_POP3_PARSER_H
/*
 * POP3 command-line parsing (RFC 1939 §3, RFC 2449 §3): a keyword of 3-4
 * printable characters, case-insensitive, then arguments separated by
 * spaces.  Pure functions: no I/O, no session state, so they are unit
 * tested byte by byte.
 */
#include <stdbool.h>
#include <stddef.h>

#define POP3_MAX_ARGS 4

struct pop3_cmdline {
	char keyword[5];		/* upper-cased, NUL-terminated */
	unsigned nargs;
	char *args[POP3_MAX_ARGS];	/* point into the parsed line */
	bool too_many_args;		/* more than POP3_MAX_ARGS words */
	char *rest;			/* everything after "KEYWORD ", see below */
	size_t rest_len;
};

enum pop3_parse_error {
	POP3_PARSE_OK = 0,
	POP3_PARSE_EMPTY,		/* empty line */
	POP3_PARSE_BAD_KEYWORD,		/* not 3-4 letters, or NUL/control bytes */
};

/* Parses line (len bytes, NUL-terminated, modified in place). */
enum pop3_parse_error pop3_parse_line(char *line, size_t len, struct pop3_cmdline *cmd_r);

/* The whole argument text, spaces included, as PASS needs it: RFC 1939 §7
 * lets a password contain spaces.  Invalidates args[]. */
char *pop3_cmdline_rest(struct pop3_cmdline *cmd);

/* A message number or count: decimal digits only, no sign, no leading
 * spaces, value 0..max.  Returns 0, or -1 if malformed or out of range. */
int pop3_parse_number(const char *arg, unsigned long max, unsigned long *n_r);

#endif
