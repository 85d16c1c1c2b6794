#ifndef DUOMAIL_CONFIG_READER_H
#define DUOMAIL_CONFIG_READER_H
/*
 * Lines of the config file for inih (ini_parse_stream()), lifting two
 * limits of inih as Debian builds it: a line is at most 199 bytes
 * (INI_MAX_LINE), and a value cannot go on over several lines.  An SQL
 * query ([pgsql] password_query) easily needs both.
 *
 *   - A line ending in a backslash goes on in the next line, as in
 *     Dovecot's dovecot-sql.conf.ext: the backslash and the line break are
 *     dropped, the next line is taken as it is (its indentation included).
 *   - A "key = value" line too long for inih reaches it as "key =" and a
 *     short stand-in; config_reader_value() gives back the value, with
 *     inih's own treatment: spaces around it and an inline comment (" #"
 *     or " ;") removed.
 *
 * Line numbers stay those of the file: the lines a continuation took come
 * to inih as empty lines, so an error names the first line of the value.
 */
#include <stdio.h>

struct config_reader {
	FILE *f;
	char **values;		/* the long values, in order */
	size_t nvalues;
	unsigned blank;		/* empty lines still owed to inih */
};

/* An ini_reader: stream is a struct config_reader. */
char *config_reader_gets(char *str, int num, void *stream);

/* value as inih handed it over, or the long value it stands in for. */
const char *config_reader_value(const struct config_reader *r, const char *value);

void config_reader_free(struct config_reader *r);

#endif
