/* The day of an RFC 5322 date-time.  See message_date.h. */
#include "store/message_date.h"
#include "store/message_lex.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Skips white space, "-" and (nested) comments (RFC 5322 §3.2.2 CFWS). */
static const char *skip(const char *s)
{
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '-')
			s++;
		if (*s != '(')
			return s;
		s = message_skip_comment(s);
	}
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

int message_date_day(const char *value, uint32_t *day_r)
{
	static const char *const months[] = {
		"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
	};
	const char *s = skip(value);
	unsigned day = 0, month = 0, year = 0, ndigits = 0;

	/* [ day-of-week "," ]: any word before the day number */
	if (!digit(*s)) {
		while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			s++;
		s = skip(s);
		if (*s == ',')
			s = skip(s + 1);
	}
	/* day = 1*2DIGIT */
	while (digit(*s) && ndigits < 3) {
		day = day * 10 + (unsigned)(*s++ - '0');
		ndigits++;
	}
	if (ndigits == 0 || ndigits > 2 || day < 1 || day > 31)
		return -1;
	s = skip(s);
	for (unsigned m = 0; m < 12; m++)
		if (strncasecmp(s, months[m], 3) == 0)
			month = m + 1;
	if (month == 0)
		return -1;
	s += 3;
	/* the full month name, as some mailers write it */
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
		s++;
	s = skip(s);
	/* year = 4*DIGIT, or obs-year 2*DIGIT (§4.3) */
	for (ndigits = 0; digit(*s); s++, ndigits++) {
		if (ndigits == 5)
			return -1;	/* no year 100000 */
		year = year * 10 + (unsigned)(*s - '0');
	}
	if (ndigits < 2)
		return -1;
	if (ndigits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (ndigits == 3)
		year += 1900;
	*day_r = year * 10000 + month * 100 + day;
	return 0;
}
