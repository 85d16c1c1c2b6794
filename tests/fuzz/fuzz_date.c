/*
 * The day of an RFC 5322 Date: field (store/message_date.c), as SENT*
 * search keys read it.  The input is the field value.  Checked: a date
 * read is a real calendar day of a month (1-31, 1-12) and a year that fits
 * five digits; nothing is written when nothing is read.
 */
#include "fuzz_common.h"
#include "store/message_date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_cstring(data, size);
	uint32_t day = 0xdeadbeef;

	if (message_date_day(value, &day) == 0) {
		FUZZ_CHECK(day % 100 >= 1 && day % 100 <= 31);
		FUZZ_CHECK(day / 100 % 100 >= 1 && day / 100 % 100 <= 12);
		FUZZ_CHECK(day / 10000 <= 99999);
	} else {
		FUZZ_CHECK(day == 0xdeadbeef);
	}
	free(value);
	return 0;
}
