/* Charset conversion to UTF-8 with iconv.  See message_charset.h. */
#include "store/message_charset.h"
#include "core/buf.h"
#include "core/log.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define CHARSET_NAME_MAX	40
/* Input is staged so a character cut across feeds can be completed; the
 * longest multibyte character of any iconv charset is well under 16. */
#define STAGE_SIZE		4096
#define PEND_MAX		16
#define OUT_SIZE		(4 * STAGE_SIZE)

static const char replacement[] = "\xEF\xBF\xBD";	/* U+FFFD */

struct charset_conv {
	iconv_t cd;		/* (iconv_t)-1: pass through */
	size_t npend;		/* start of a character cut off by the last feed */
	char stage[STAGE_SIZE + PEND_MAX];
	char out[OUT_SIZE];
};

static const struct {
	const char *label, *iconv_name;
} aliases[] = {
	{ "ks_c_5601-1987", "CP949" },
	{ "gb2312", "GB18030" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
};

/* Charset names are tokens (RFC 2978 §2.3); anything else is not given to
 * iconv, which reads "//" suffixes and the like as options. */
static bool sane_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CHARSET_NAME_MAX)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("-_.:+()", *c) != NULL))
			return false;
	return true;
}

static bool is_utf8_or_ascii(const char *name)
{
	static const char *const same[] = {
		"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
	};

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (strcasecmp(name, same[i]) == 0)
			return true;
	return false;
}

struct charset_conv *charset_conv_new(const char *charset)
{
	struct charset_conv *cv = xmalloc(sizeof(*cv));

	cv->cd = (iconv_t)-1;
	cv->npend = 0;
	if (charset == NULL || !sane_name(charset) || is_utf8_or_ascii(charset))
		return cv;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(charset, aliases[i].label) == 0)
			charset = aliases[i].iconv_name;
	cv->cd = iconv_open("UTF-8", charset);
	return cv;
}

void charset_conv_free(struct charset_conv **cvp)
{
	struct charset_conv *cv = *cvp;

	if (cv == NULL)
		return;
	if (cv->cd != (iconv_t)-1)
		iconv_close(cv->cd);
	free(cv);
	*cvp = NULL;
}

bool charset_conv_passthrough(const struct charset_conv *cv)
{
	return cv->cd == (iconv_t)-1;
}

/* Hands iconv's output on as UTF-8 (RFC 3629).  glibc writes code points
 * past U+10FFFF, which its UCS-4 and UTF-8 decoders let through (UTF-8
 * arrives here under names like "utf+8"), in 4- to 6-byte forms that are
 * no UTF-8; each becomes U+FFFD.  iconv writes whole characters, so one
 * never straddles two calls. */
static void emit_utf8(const char *s, size_t len, charset_emit_fn *emit, void *ctx)
{
	size_t start = 0, i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0xf5 && !(c == 0xf4 && i + 1 < len && (unsigned char)s[i + 1] >= 0x90)) {
			i++;
			continue;
		}
		if (i > start)
			emit(ctx, s + start, i - start);
		emit(ctx, replacement, 3);
		for (i++; i < len && ((unsigned char)s[i] & 0xc0) == 0x80; i++)
			;
		start = i;
	}
	if (i > start)
		emit(ctx, s + start, i - start);
}

/* Converts stage[0..avail); returns how many bytes at the end are the start
 * of a character still to come. */
static size_t convert(struct charset_conv *cv, size_t avail, charset_emit_fn *emit, void *ctx)
{
	char *in = cv->stage;
	size_t inleft = avail;

	while (inleft > 0) {
		char *out = cv->out;
		size_t outleft = sizeof(cv->out);
		size_t r = iconv(cv->cd, &in, &inleft, &out, &outleft);
		int err = r == (size_t)-1 ? errno : 0;

		emit_utf8(cv->out, (size_t)(out - cv->out), emit, ctx);
		if (err == EILSEQ) {
			emit(ctx, replacement, 3);
			in++;
			inleft--;
		} else if (err == EINVAL) {
			if (inleft <= PEND_MAX)
				return inleft;
			/* cannot be a real character: drop a byte */
			emit(ctx, replacement, 3);
			in++;
			inleft--;
		} else if (err != 0 && err != E2BIG) {
			break;	/* not documented for iconv; give up on the rest */
		}
	}
	return 0;
}

void charset_conv_feed(struct charset_conv *cv, const char *in, size_t len,
		       charset_emit_fn *emit, void *ctx)
{
	if (cv->cd == (iconv_t)-1) {
		if (len > 0)
			emit(ctx, in, len);
		return;
	}
	while (len > 0) {
		size_t take = len < STAGE_SIZE ? len : STAGE_SIZE;
		size_t avail = cv->npend + take, rest;

		memcpy(cv->stage + cv->npend, in, take);
		in += take;
		len -= take;
		rest = convert(cv, avail, emit, ctx);
		memmove(cv->stage, cv->stage + avail - rest, rest);
		cv->npend = rest;
	}
}

void charset_conv_finish(struct charset_conv *cv, charset_emit_fn *emit, void *ctx)
{
	char *out = cv->out;
	size_t outleft = sizeof(cv->out);

	if (cv->cd == (iconv_t)-1)
		return;
	if (cv->npend > 0)
		emit(ctx, replacement, 3);
	cv->npend = 0;
	/* back to the initial shift state (ISO-2022-JP, UTF-7) */
	iconv(cv->cd, NULL, NULL, &out, &outleft);
	emit_utf8(cv->out, (size_t)(out - cv->out), emit, ctx);
}

static void emit_buf(void *ctx, const char *data, size_t len)
{
	struct buf *out = ctx;
	size_t room = buf_room(out);

	buf_append(out, data, len < room ? len : room);
}

void charset_to_utf8(const char *charset, const char *in, size_t len, struct buf *out)
{
	struct charset_conv *cv;

	if (charset == NULL || is_utf8_or_ascii(charset)) {
		emit_buf(out, in, len);	/* the common case, without the 20 KB converter */
		return;
	}
	cv = charset_conv_new(charset);
	charset_conv_feed(cv, in, len, emit_buf, out);
	charset_conv_finish(cv, emit_buf, out);
	charset_conv_free(&cv);
}
