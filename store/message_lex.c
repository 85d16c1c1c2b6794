/* Shared RFC 5322 / MIME lexical pieces.  See message_lex.h. */
#include "store/message_lex.h"

#include <string.h>

const char *message_skip_comment(const char *s)
{
	for (int depth = 0; *s; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

int message_boundary_match(const char *line, size_t len, const char *boundary)
{
	size_t blen = strlen(boundary), i;
	int final = 0;

	if (len < blen + 2 || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, boundary, blen) != 0)
		return 0;
	i = blen + 2;
	if (i + 1 < len && line[i] == '-' && line[i + 1] == '-') {
		final = 1;
		i += 2;
	}
	for (; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return 0;
	return final ? 2 : 1;
}
