/* The admin protocol's line format: tab-separated escaped fields (admin.h). */
#include "core/admin.h"

#include <string.h>

void admin_field_put(char *line, size_t size, const char *field)
{
	size_t n = strlen(line);

	if (n > 0 && n + 1 < size)
		line[n++] = '\t';
	for (const char *p = field ? field : ""; *p != '\0' && n + 2 < size; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\\') {
			line[n++] = '\\';
			line[n++] = *p == '\t' ? 't' : *p == '\n' ? 'n' : '\\';
		} else {
			line[n++] = *p;
		}
	}
	line[n < size ? n : size - 1] = '\0';
}

size_t admin_fields_split(char *line, char **fields, size_t max)
{
	size_t count = 0;
	char *r = line, *w = line;

	if (max == 0)
		return 0;
	fields[count++] = w;
	for (; *r != '\0'; r++) {
		if (*r == '\t') {
			*w++ = '\0';
			if (count == max)
				return count;
			fields[count++] = w;
		} else if (*r == '\\' && r[1] != '\0') {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return count;
}
