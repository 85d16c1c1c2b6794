/* IMAP date-time parsing (RFC 3501 §9).  See imap_datetime.h. */
#include "imap/imap_datetime.h"

#include <stdbool.h>
#include <strings.h>

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* n digits at s[*pos] as a number; false if any is not a digit. */
static bool digits(const char *s, size_t len, size_t *pos, int n, int *v_r)
{
	int v = 0;

	if (*pos + (size_t)n > len)
		return false;
	for (int i = 0; i < n; i++) {
		char c = s[*pos + i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*pos += (size_t)n;
	*v_r = v;
	return true;
}

static bool expect(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return false;
	(*pos)++;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int m, int y)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 1 && leap(y) ? 29 : days[m];
}

/* Days from 1970-01-01 to y-m-d (m 0-based), negative before. */
static long long days_from_epoch(int y, int m, int d)
{
	long long days = 0;

	for (int yy = 1970; yy < y; yy++)
		days += leap(yy) ? 366 : 365;
	for (int yy = y; yy < 1970; yy++)
		days -= leap(yy) ? 366 : 365;
	for (int mm = 0; mm < m; mm++)
		days += month_days(mm, y);
	return days + d - 1;
}

int imap_datetime_parse(const char *s, size_t len, time_t *t_r)
{
	size_t pos = 0;
	int day, month = -1, year, hh, mi, ss, zh, zm, sign;

	/* " 7", "07" or "7" */
	if (len > 0 && s[0] == ' ')
		pos++;
	if (!digits(s, len, &pos, 1, &day))
		return -1;
	if (s[0] != ' ' && pos < len && s[pos] >= '0' && s[pos] <= '9')
		day = day * 10 + (s[pos++] - '0');
	if (!expect(s, len, &pos, '-') || pos + 3 > len)
		return -1;
	for (int i = 0; i < 12 && month < 0; i++)
		if (strncasecmp(s + pos, months[i], 3) == 0)
			month = i;
	if (month < 0)
		return -1;
	pos += 3;
	if (!expect(s, len, &pos, '-') || !digits(s, len, &pos, 4, &year) ||
	    !expect(s, len, &pos, ' ') || !digits(s, len, &pos, 2, &hh) ||
	    !expect(s, len, &pos, ':') || !digits(s, len, &pos, 2, &mi) ||
	    !expect(s, len, &pos, ':') || !digits(s, len, &pos, 2, &ss) ||
	    !expect(s, len, &pos, ' ') || pos >= len)
		return -1;
	if (s[pos] != '+' && s[pos] != '-')
		return -1;
	sign = s[pos++] == '-' ? -1 : 1;
	if (!digits(s, len, &pos, 2, &zh) || !digits(s, len, &pos, 2, &zm) || pos != len)
		return -1;
	/* 60 seconds: a leap second, which time_t folds into the next one. */
	if (year < 1900 || day < 1 || day > month_days(month, year) || hh > 23 || mi > 59 ||
	    ss > 60 || zh > 23 || zm > 59)
		return -1;
	*t_r = (time_t)(((days_from_epoch(year, month, day) * 24 + hh) * 60 + mi) * 60 + ss) -
	       (time_t)sign * (zh * 3600 + zm * 60);
	return 0;
}
