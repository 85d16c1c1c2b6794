/* POP3 command-line parsing.  See pop3_parser.h. */
#include "pop3/pop3_parser.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum pop3_parse_error pop3_parse_line(char *line, size_t len, struct pop3_cmdline *cmd_r)
{
	size_t i, klen;
	char *p;

	memset(cmd_r, 0, sizeof(*cmd_r));
	if (len == 0)
		return POP3_PARSE_EMPTY;
	/* An embedded NUL would silently cut the line short later on. */
	if (memchr(line, '\0', len) != NULL)
		return POP3_PARSE_BAD_KEYWORD;
	for (klen = 0; klen < len && line[klen] != ' '; klen++) {
		if (!isalnum((unsigned char)line[klen]) || klen >= 4)
			return POP3_PARSE_BAD_KEYWORD;
	}
	if (klen < 3)
		return POP3_PARSE_BAD_KEYWORD;
	for (i = 0; i < klen; i++)
		cmd_r->keyword[i] = toupper((unsigned char)line[i]);
	cmd_r->keyword[klen] = '\0';
	if (klen == len) {
		cmd_r->rest = line + len;
		cmd_r->rest_len = 0;
		return POP3_PARSE_OK;
	}
	p = line + klen + 1;
	cmd_r->rest = p;
	cmd_r->rest_len = len - klen - 1;
	/* Arguments are cut in place with NULs; pop3_cmdline_rest() undoes it
	 * (the line had no NUL of its own, checked above). */
	while (*p != '\0') {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (cmd_r->nargs == POP3_MAX_ARGS) {
			/* Only PASS may have that many words (a password with
			 * spaces); the session rejects it for the others. */
			cmd_r->too_many_args = true;
			break;
		}
		cmd_r->args[cmd_r->nargs++] = p;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	return POP3_PARSE_OK;
}

int pop3_parse_number(const char *arg, unsigned long max, unsigned long *n_r)
{
	unsigned long n = 0;

	if (arg == NULL || *arg == '\0')
		return -1;
	for (const char *p = arg; *p != '\0' && *p != ' '; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned long digit = (unsigned long)(*p - '0');

		if (n > max / 10 || digit > max - n * 10)
			return -1;
		n = n * 10 + digit;
	}
	*n_r = n;
	return 0;
}

char *pop3_cmdline_rest(struct pop3_cmdline *cmd)
{
	for (size_t i = 0; i < cmd->rest_len; i++) {
		if (cmd->rest[i] == '\0')
			cmd->rest[i] = ' ';
	}
	return cmd->rest;
}
