#ifndef DUOMAIL_LMTP_PARSER_H
#define DUOMAIL_LMTP_PARSER_H
/*
 * LMTP command lines (RFC 2033 §4, the SMTP syntax of RFC 5321 §4.1):
 * the verb, MAIL/RCPT paths and ESMTP parameters.  Pure functions: no I/O,
 * no session state, unit tested (tests/unit/test_lmtp_parser.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 §4.5.3.1.3 makes 256 octets the path size every server must
 * take; VERP and SRS senders go past it in practice, so twice that. */
#define LMTP_MAX_PATH 512
/* The longest verb we know ("STARTTLS" would be 8). */
#define LMTP_MAX_VERB 8

struct lmtp_cmdline {
	char verb[LMTP_MAX_VERB + 1];	/* upper-cased */
	const char *args;		/* after the verb and its space(s); "" if none */
};

enum lmtp_parse_error {
	LMTP_PARSE_OK = 0,
	LMTP_PARSE_EMPTY,		/* nothing but white space */
	LMTP_PARSE_BAD,			/* not a verb, or NUL / control bytes in the line */
};

/* Splits line (len bytes, NUL-terminated).  args points into line. */
enum lmtp_parse_error lmtp_parse_command(const char *line, size_t len, struct lmtp_cmdline *cmd_r);

struct lmtp_path {
	/* The Mailbox between < and > (a source route dropped, RFC 5321
	 * §4.1.1.3), byte for byte as sent: a quoted local part stays quoted.
	 * "" for the null reverse-path <>. */
	char address[LMTP_MAX_PATH + 1];
	/* The local part with quoting undone: what names the user. */
	char local[LMTP_MAX_PATH + 1];
	bool has_domain;		/* false for a bare <user> */
};

enum lmtp_path_error {
	LMTP_PATH_OK = 0,
	LMTP_PATH_SYNTAX,		/* not a path */
	LMTP_PATH_TOO_LONG,		/* over LMTP_MAX_PATH */
	LMTP_PATH_8BIT,			/* non-ASCII: needs SMTPUTF8 (RFC 6531), not offered */
};

/*
 * Parses the argument of MAIL (prefix "FROM:") or RCPT (prefix "TO:"):
 * the prefix (any case), optional spaces (RFC 5321 has none; clients send
 * them), and a Path.  null_ok allows <> (MAIL only).  Bare local parts
 * without @domain are accepted: LMTP delivers to local users.  On success
 * *params_r points at what follows (ESMTP parameters, spaces skipped).
 */
enum lmtp_path_error lmtp_parse_path(const char *args, const char *prefix, bool null_ok,
				     struct lmtp_path *path_r, const char **params_r);

struct lmtp_param {
	char keyword[32];		/* upper-cased esmtp-keyword */
	const char *value;		/* NULL for a keyword without "=value" */
	size_t value_len;
};

/*
 * The next ESMTP parameter (RFC 5321 §4.1.2: esmtp-keyword ["=" esmtp-value])
 * of *p, which advances past it and the spaces after.  1 with *param_r,
 * 0 at the end, -1 on a syntax error.
 */
int lmtp_next_param(const char **p, struct lmtp_param *param_r);

/* SIZE=value (RFC 1870 §3): digits only, at most 20.  0, or -1. */
int lmtp_parse_size(const char *value, size_t len, uint64_t *n_r);

/* LHLO's domain (RFC 5321 §4.1.1.1: Domain or address-literal): printable
 * ASCII without spaces, at most 255 octets.  Checked, since it goes into the
 * Received field. */
bool lmtp_domain_ok(const char *s);

#endif
