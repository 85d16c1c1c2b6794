/*
 * Modified UTF-7 mailbox names (imap/imap_utf7.c).  The decoder is strict
 * and the encoder canonical, so each is the other's inverse: a name that
 * decodes encodes back to the same bytes, and a UTF-8 name that encodes
 * decodes back to itself.
 */
#include "fuzz_common.h"
#include "imap/imap_utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstring(data, size), *out, *back;

	out = imap_utf7_decode(in);
	if (out != NULL) {
		back = imap_utf7_encode(out);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(strcmp(back, in) == 0);
		free(back);
		free(out);
	}
	out = imap_utf7_encode(in);
	if (out != NULL) {
		for (const char *c = out; *c; c++)
			FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
		back = imap_utf7_decode(out);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(strcmp(back, in) == 0);
		free(back);
		free(out);
	}
	free(in);
	return 0;
}
