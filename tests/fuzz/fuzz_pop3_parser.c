/*
 * POP3 command lines (pop3/pop3_parser.c), split from the input as the
 * connection splits them (POP3_MAX_LINE).  Checked: a keyword is 3-4
 * upper-case letters or digits; arguments are non-empty words inside the
 * line; pop3_cmdline_rest() gives back exactly the text after the keyword
 * (PASS with spaces); pop3_parse_number() agrees with a plain reading of
 * the digits.
 */
#include "fuzz_common.h"
#include "pop3/pop3.h"
#include "pop3/pop3_parser.h"

#include <ctype.h>

/* The digits of arg up to a space as a number, or -1 if not all digits or
 * above max (the contract of pop3_parse_number). */
static int reference_number(const char *arg, unsigned long max, unsigned long *n_r)
{
	unsigned long long n = 0;
	const char *p = arg;

	if (*p == '\0')
		return -1;
	for (; *p != '\0' && *p != ' '; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (unsigned)(*p - '0');
		if (n > max)
			return -1;
	}
	*n_r = (unsigned long)n;
	return 0;
}

static void check_number(const char *arg, unsigned long max)
{
	unsigned long got = 0, want = 0;
	int r = pop3_parse_number(arg, max, &got), w = reference_number(arg, max, &want);

	FUZZ_CHECK(r == w);
	if (r == 0)
		FUZZ_CHECK(got == want && got <= max);
}

static void one_line(const char *text, size_t len)
{
	char *line = malloc(len + 1);
	struct pop3_cmdline cmd;
	enum pop3_parse_error err;

	memcpy(line, text, len);
	line[len] = '\0';
	err = pop3_parse_line(line, len, &cmd);
	if (err != POP3_PARSE_OK) {
		FUZZ_CHECK(err == (len == 0 ? POP3_PARSE_EMPTY : POP3_PARSE_BAD_KEYWORD));
		free(line);
		return;
	}
	size_t klen = strlen(cmd.keyword);

	FUZZ_CHECK(klen >= 3 && klen <= 4);
	for (size_t i = 0; i < klen; i++)
		FUZZ_CHECK(isupper((unsigned char)cmd.keyword[i]) ||
			   isdigit((unsigned char)cmd.keyword[i]));
	FUZZ_CHECK(strncasecmp(cmd.keyword, text, klen) == 0);
	FUZZ_CHECK(cmd.nargs <= POP3_MAX_ARGS);
	for (unsigned i = 0; i < cmd.nargs; i++) {
		const char *a = cmd.args[i];

		FUZZ_CHECK(a >= line && a < line + len);
		FUZZ_CHECK(a[0] != '\0' && strchr(a, ' ') == NULL);
		FUZZ_CHECK(i == 0 || a > cmd.args[i - 1]);
		check_number(a, 0xffffffffUL);
		check_number(a, 17);
		check_number(a, 0);
	}
	FUZZ_CHECK(cmd.rest >= line && cmd.rest + cmd.rest_len == line + len);
	/* The whole argument text comes back as the client sent it. */
	{
		const char *rest = pop3_cmdline_rest(&cmd);
		size_t off = len > klen ? klen + 1 : len;

		FUZZ_CHECK(cmd.rest_len == len - off);
		FUZZ_CHECK(memcmp(rest, text + off, cmd.rest_len) == 0);
		FUZZ_CHECK(rest[cmd.rest_len] == '\0');
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stream st;
	const char *line;
	size_t len;
	int r;

	fuzz_stream_init(&st, data, size);
	while ((r = fuzz_stream_line(&st, POP3_MAX_LINE, &line, &len)) != 0)
		if (r > 0)
			one_line(line, len);
	return 0;
}
