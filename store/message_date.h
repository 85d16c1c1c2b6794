#ifndef DUOMAIL_MESSAGE_DATE_H
#define DUOMAIL_MESSAGE_DATE_H
/*
 * The calendar day of an RFC 5322 §3.3 date-time ("Mon, 7 Feb 1994
 * 21:52:25 -0800"), as written: time and zone disregarded, which is what
 * IMAP's SENTBEFORE/SENTON/SENTSINCE compare (RFC 3501 §6.4.4).
 * Protocol-neutral.  Liberal: comments and any white space between the
 * parts, no day name or no comma, "-" between the parts, and the obsolete
 * two- and three-digit years (§4.3) are read.
 */
#include <stdint.h>

/* Returns 0 with *day_r = year * 10000 + month * 100 + day, or -1 if value
 * has no readable date (then nothing is written). */
int message_date_day(const char *value, uint32_t *day_r);

#endif
