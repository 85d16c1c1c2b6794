/*
 * IMAP date-time (imap/imap_datetime.c, APPEND's internal date) and
 * date-text (imap_search_parse_date(), SEARCH's BEFORE/ON/SINCE).  The
 * input is the string's content.  Checked: a date-time that parses comes
 * back to the same instant through the INTERNALDATE form FETCH writes
 * (imap_fetch_date(), in UTC here), and that form parses; a date-text is
 * a real day.
 */
#include "fuzz_common.h"
#include "imap/imap_datetime.h"
#include "imap/imap_fetch.h"
#include "imap/imap_search.h"

#include <time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* imap_fetch_date() writes the server's zone: make it a fixed one. */
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	time_t t, back;
	uint32_t date;

	if (imap_datetime_parse(s, size, &t) == 0) {
		char text[32];

		imap_fetch_date(text, (int64_t)t);
		/* years before 1900 or after 9999 in UTC are clamped */
		if (t >= -2208988800LL && t < 253402300800LL) {
			FUZZ_CHECK(imap_datetime_parse(text, strlen(text), &back) == 0);
			FUZZ_CHECK(back == t);
		}
	}
	if (imap_search_parse_date(s, size, &date) == 0) {
		FUZZ_CHECK(date % 100 >= 1 && date % 100 <= 31);
		FUZZ_CHECK(date / 100 % 100 >= 1 && date / 100 % 100 <= 12);
		FUZZ_CHECK(date / 10000 <= 9999);
	}
	return 0;
}
