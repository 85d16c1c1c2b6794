/* SASLprep through libidn (see saslprep.h): hand-written Unicode tables
 * would go stale, libidn's are the RFC 3454 ones. */
#include "core/saslprep.h"
#include "core/log.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

int saslprep(const char *in, bool stored, char **out_r)
{
	char *out = NULL;

	*out_r = NULL;
	/* libidn converts to UCS-4 without rejecting every malformed
	 * sequence: check the UTF-8 first. */
	if (!utf8_valid(in, strlen(in)))
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
