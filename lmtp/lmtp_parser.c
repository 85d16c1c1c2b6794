/* LMTP command-line parsing.  See lmtp_parser.h. */
#include "lmtp/lmtp_parser.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum lmtp_parse_error lmtp_parse_command(const char *line, size_t len, struct lmtp_cmdline *cmd_r)
{
	size_t i = 0, v = 0;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->args = "";
	/* An embedded NUL would cut the line short for everything after. */
	if (memchr(line, '\0', len) != NULL)
		return LMTP_PARSE_BAD;
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)line[k] < 0x20 && line[k] != '\t')
			return LMTP_PARSE_BAD;
	while (i < len && line[i] == ' ')
		i++;
	if (i == len)
		return LMTP_PARSE_EMPTY;
	for (; i < len && line[i] != ' '; i++) {
		if (!isalpha((unsigned char)line[i]) || v == LMTP_MAX_VERB)
			return LMTP_PARSE_BAD;
		cmd_r->verb[v++] = (char)toupper((unsigned char)line[i]);
	}
	while (i < len && line[i] == ' ')
		i++;
	cmd_r->args = line + i;
	return LMTP_PARSE_OK;
}

/* RFC 5321 §4.1.2 atext (RFC 5322 §3.2.3), the characters of a Dot-string. */
static bool is_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A Domain (letters, digits, hyphens and dots; '_' too, which real host
 * names have) or an address-literal "[...]".  Returns the length, 0 if none. */
static size_t domain_len(const char *p)
{
	size_t n = 0;

	if (p[0] == '[') {
		/* dcontent: %d33-90 / %d94-126 (RFC 5321 §4.1.3) */
		for (n = 1; p[n] != ']'; n++)
			if ((unsigned char)p[n] < 33 || (unsigned char)p[n] > 126 || p[n] == '[' ||
			    p[n] == '\\')
				return 0;
		return n > 1 ? n + 1 : 0;
	}
	while (isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '.' || p[n] == '_')
		n++;
	return n;
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* The local part at p (Dot-string or Quoted-string), unquoted into local.
 * Returns its length in the input, 0 if there is none. */
static size_t local_part(const char *p, char *local, size_t size)
{
	size_t n = 0, out = 0;

	if (p[0] != '"') {
		while (is_atext((unsigned char)p[n]) || p[n] == '.') {
			if (out + 1 >= size)
				return 0;
			local[out++] = p[n++];
		}
		local[out] = '\0';
		return n;
	}
	/* qtextSMTP %d32-33 / %d35-91 / %d93-126, quoted-pairSMTP "\" %d32-126 */
	for (n = 1; p[n] != '"'; n++) {
		unsigned char c = (unsigned char)p[n];

		if (c == '\\') {
			c = (unsigned char)p[++n];
		}
		if (c < 32 || c > 126 || out + 1 >= size)
			return 0;
		local[out++] = (char)c;
	}
	local[out] = '\0';
	return n + 1;
}

enum lmtp_path_error lmtp_parse_path(const char *args, const char *prefix, bool null_ok,
				     struct lmtp_path *path_r, const char **params_r)
{
	size_t plen = strlen(prefix), n, start;
	const char *p = args, *close;

	memset(path_r, 0, sizeof(*path_r));
	if (strncasecmp(p, prefix, plen) != 0)
		return LMTP_PATH_SYNTAX;
	p += plen;
	while (*p == ' ')
		p++;
	if (*p != '<')
		return LMTP_PATH_SYNTAX;
	close = strchr(p, '>');
	/* A '>' inside a quoted local part is legal but would end a naive
	 * scan: the length check below is done on what the parse consumed. */
	if (has_8bit(p))
		return LMTP_PATH_8BIT;
	p++;
	if (*p == '>') {
		if (!null_ok)
			return LMTP_PATH_SYNTAX;
		p++;
		goto params;
	}
	if (*p == '@') {
		/* A source route (A-d-l): to be ignored, RFC 5321 §4.1.1.3 and
		 * Appendix C. */
		while (*p == '@') {
			n = domain_len(p + 1);
			if (n == 0)
				return LMTP_PATH_SYNTAX;
			p += 1 + n;
			if (*p == ',')
				p++;
		}
		if (*p != ':')
			return LMTP_PATH_SYNTAX;
		p++;
	}
	start = (size_t)(p - args);
	n = local_part(p, path_r->local, sizeof(path_r->local));
	if (n == 0)
		return close != NULL && (size_t)(close - args) > LMTP_MAX_PATH ? LMTP_PATH_TOO_LONG :
										 LMTP_PATH_SYNTAX;
	p += n;
	if (*p == '@') {
		n = domain_len(p + 1);
		if (n == 0)
			return LMTP_PATH_SYNTAX;
		p += 1 + n;
		path_r->has_domain = true;
	}
	if (*p != '>')
		return LMTP_PATH_SYNTAX;
	n = (size_t)(p - args) - start;
	if (n > LMTP_MAX_PATH)
		return LMTP_PATH_TOO_LONG;
	memcpy(path_r->address, args + start, n);
	path_r->address[n] = '\0';
	p++;
params:
	if (*p != '\0' && *p != ' ')
		return LMTP_PATH_SYNTAX;
	while (*p == ' ')
		p++;
	*params_r = p;
	return LMTP_PATH_OK;
}

int lmtp_next_param(const char **pp, struct lmtp_param *param_r)
{
	const char *p = *pp;
	size_t k = 0;

	memset(param_r, 0, sizeof(*param_r));
	if (*p == '\0')
		return 0;
	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	if (!isalnum((unsigned char)*p))
		return -1;
	while (isalnum((unsigned char)*p) || *p == '-') {
		if (k + 1 >= sizeof(param_r->keyword))
			return -1;
		param_r->keyword[k++] = (char)toupper((unsigned char)*p++);
	}
	if (*p == '=') {
		/* esmtp-value = 1*(%d33-60 / %d62-126) */
		param_r->value = ++p;
		while ((unsigned char)*p >= 33 && (unsigned char)*p <= 126 && *p != '=')
			p++;
		param_r->value_len = (size_t)(p - param_r->value);
		if (param_r->value_len == 0)
			return -1;
	}
	if (*p != '\0' && *p != ' ')
		return -1;
	while (*p == ' ')
		p++;
	*pp = p;
	return 1;
}

int lmtp_parse_size(const char *value, size_t len, uint64_t *n_r)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint64_t digit;

		if (value[i] < '0' || value[i] > '9')
			return -1;
		digit = (uint64_t)(value[i] - '0');
		if (n > (UINT64_MAX - digit) / 10)
			return -1;
		n = n * 10 + digit;
	}
	*n_r = n;
	return 0;
}

bool lmtp_domain_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			return false;
	return true;
}
