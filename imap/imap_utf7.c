/* Modified UTF-7 (RFC 3501 §5.1.3).  See imap_utf7.h. */
#include "imap/imap_utf7.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

static void utf8_put(struct buf *b, uint32_t cp)
{
	char out[4];

	buf_append(b, out, utf8_encode(cp, out));
}

char *imap_utf7_encode(const char *utf8)
{
	const unsigned char *p = (const unsigned char *)utf8, *end = p + strlen(utf8);
	struct buf b;
	char *out;

	buf_init(&b, (size_t)-1);
	while (*p != '\0') {
		uint32_t bits = 0;
		int nbits = 0;

		if (*p >= 0x20 && *p <= 0x7e) {
			buf_append(&b, *p == '&' ? "&-" : (const char *)p, *p == '&' ? 2 : 1);
			p++;
			continue;
		}
		/* A run of non-printable characters: one base64 section. */
		buf_append(&b, "&", 1);
		while (*p != '\0' && !(*p >= 0x20 && *p <= 0x7e)) {
			size_t n = 0;
			int32_t cp = utf8_decode(p, (size_t)(end - p), &n);
			uint16_t units[2];
			int nunits = 1;

			if (cp < 0x20 || cp == 0x7f) {	/* malformed, or a control */
				buf_free(&b);
				return NULL;
			}
			p += n;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = (uint16_t)(0xd800 | (cp >> 10));
				units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
				nunits = 2;
			} else {
				units[0] = (uint16_t)cp;
			}
			for (int u = 0; u < nunits; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_append(&b, &b64[(bits >> nbits) & 0x3f], 1);
				}
			}
		}
		if (nbits > 0)
			buf_append(&b, &b64[(bits << (6 - nbits)) & 0x3f], 1);
		buf_append(&b, "-", 1);
	}
	out = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}

char *imap_utf7_decode(const char *s)
{
	struct buf b;
	char *out;
	bool after_run = false;	/* the previous thing was an encoded run */

	buf_init(&b, (size_t)-1);
	while (*s != '\0') {
		uint32_t bits = 0, high = 0;
		int nbits = 0;
		size_t nchars = 0;

		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			goto fail;
		if (*s != '&') {
			buf_append(&b, s++, 1);
			after_run = false;
			continue;
		}
		s++;
		if (*s == '-') {
			buf_append(&b, "&", 1);
			s++;
			after_run = false;
			continue;
		}
		if (after_run)
			goto fail;	/* "&AGE-&AGE-" must be one run */
		for (; *s != '-'; s++, nchars++) {
			int v = b64_value(*s);

			if (v < 0)
				goto fail;	/* also the end of the string */
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t unit = (bits >> nbits) & 0xffff;

			if (high != 0) {
				if (unit < 0xdc00 || unit > 0xdfff)
					goto fail;
				utf8_put(&b, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
				high = 0;
			} else if (unit >= 0xd800 && unit <= 0xdbff) {
				high = unit;
			} else if ((unit >= 0xdc00 && unit <= 0xdfff) || unit <= 0x7f) {
				/* a lone low surrogate; ASCII (printable or not)
				 * has no business in a run */
				goto fail;
			} else {
				utf8_put(&b, unit);
			}
		}
		/* Leftover bits are padding: fewer than 6 of them, all zero. */
		if (nchars == 0 || high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
			goto fail;
		s++;
		after_run = true;
	}
	out = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return out;
fail:
	buf_free(&b);
	return NULL;
}
