#ifndef DUOMAIL_IMAP_DATETIME_H
#define DUOMAIL_IMAP_DATETIME_H
/*
 * The IMAP date-time (RFC 3501 §9), as APPEND gives a message's internal
 * date:
 *
 *   date-time      = DQUOTE date-day-fixed "-" date-month "-" date-year
 *                    SP time SP zone DQUOTE
 *   date-day-fixed = (SP DIGIT) / 2DIGIT
 *   date-month     = "Jan" / "Feb" / ... / "Dec"      ; any case (RFC 5234)
 *   time           = 2DIGIT ":" 2DIGIT ":" 2DIGIT
 *   zone           = ("+" / "-") 4DIGIT
 *
 * A day of one digit without the space ("7-Feb-1994") is taken too, as
 * clients send it.  Pure; no session state.
 */
#include <stddef.h>
#include <time.h>

/* Parses the quoted string's content s[0..len) (without the DQUOTEs) into
 * seconds since the epoch, UTC.  Returns 0, or -1 if it is not a valid
 * date-time (bad syntax, no such day, hour over 23, zone minutes over 59,
 * year before 1900). */
int imap_datetime_parse(const char *s, size_t len, time_t *t_r);

#endif
