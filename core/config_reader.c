/* Long and continued config lines for inih.  See config_reader.h. */
#include "core/config_reader.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

/* Marks a stand-in: a control character no config value may hold. */
#define STAND_IN '\x01'

static void chomp(char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
}

/* What inih makes of a value: an inline comment cut (a '#' or ';' after
 * white space, ini_inline_comment_prefixes in config.c), spaces trimmed. */
static char *clean_value(const char *raw)
{
	const char *start = raw + strspn(raw, " \t");
	char *v = xstrdup(start);
	size_t n;

	for (char *p = v; *p != '\0'; p++) {
		if ((*p == '#' || *p == ';') && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	return v;
}

char *config_reader_gets(char *str, int num, void *stream)
{
	struct config_reader *r = stream;
	char *line = NULL, *more = NULL;
	size_t cap = 0, mcap = 0, len;
	const char *sep;

	if (r->blank > 0) {
		r->blank--;
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	if (getline(&line, &cap, r->f) < 0) {
		free(line);
		return NULL;
	}
	chomp(line);
	/* A comment that ends in a backslash does not swallow the next line. */
	while (line[strspn(line, " \t")] != '#' && line[strspn(line, " \t")] != ';' &&
	       (len = strlen(line)) > 0 && line[len - 1] == '\\') {
		line[len - 1] = '\0';
		if (getline(&more, &mcap, r->f) < 0)
			break;
		chomp(more);
		line = xrealloc(line, len + strlen(more) + 1);
		memcpy(line + len - 1, more, strlen(more) + 1);
		r->blank++;
	}
	free(more);
	len = strlen(line);
	sep = strchr(line, '=');
	if (len + 2 > (size_t)num && sep != NULL && line[strspn(line, " \t")] != '#' &&
	    line[strspn(line, " \t")] != ';' && line[strspn(line, " \t")] != '[') {
		/* "key =" and the stand-in: the key is short, whatever the value. */
		r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(*r->values));
		r->values[r->nvalues] = clean_value(sep + 1);
		snprintf(str, (size_t)num, "%.*s= %c%zu\n", (int)(sep - line), line, STAND_IN,
			 r->nvalues);
		r->nvalues++;
	} else {
		/* inih reports a too long section or key line itself */
		snprintf(str, (size_t)num, "%s\n", line);
	}
	free(line);
	return str;
}

const char *config_reader_value(const struct config_reader *r, const char *value)
{
	char *end;
	unsigned long i;

	if (value[0] != STAND_IN)
		return value;
	i = strtoul(value + 1, &end, 10);
	return *end == '\0' && i < r->nvalues ? r->values[i] : value;
}

void config_reader_free(struct config_reader *r)
{
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	r->values = NULL;
	r->nvalues = 0;
}
