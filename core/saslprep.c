/* SASLprep through libidn (see saslprep.h): hand-written Unicode tables
 * would go stale, libidn's are the RFC 3454 ones. */
#include "core/saslprep.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

/* libidn converts to UCS-4 without rejecting every malformed sequence, so
 * check the UTF-8 first (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static bool utf8_valid(const unsigned char *p)
{
	while (*p != '\0') {
		unsigned c = *p, n, cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

int saslprep(const char *in, bool stored, char **out_r)
{
	char *out = NULL;

	*out_r = NULL;
	if (!utf8_valid((const unsigned char *)in))
		return -1;
	if (stringprep_profile(in, &out, "SASLprep", stored ? STRINGPREP_NO_UNASSIGNED : 0) !=
	    STRINGPREP_OK) {
		free(out);
		return -1;
	}
	if (out[0] == '\0') {
		free(out);
		return -1;
	}
	/* Our own copy: callers free with the project's allocator habits. */
	*out_r = xstrdup(out);
	explicit_bzero(out, strlen(out));
	free(out);
	return 0;
}
