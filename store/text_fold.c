/* Case folding of UTF-8 text.  See text_fold.h. */
#include "store/text_fold.h"
#include "core/log.h"

#include <string.h>

/*
 * Unicode's simple lower-case mappings (UnicodeData.txt field 13) for the
 * blocks named in text_fold.h, as runs: every code point in lo..hi (step 1),
 * or every other one starting at lo (step 2, the upper/lower pairs of the
 * Latin Extended and Cyrillic blocks), maps to itself plus delta.  The unit
 * test checks it code point by code point against glibc's towlower_l() in
 * the C.UTF-8 locale where that exists.
 */
static const struct {
	uint32_t lo, hi;
	int step, delta;
} fold_runs[] = {
	/* Basic Latin, Latin-1 Supplement, Latin Extended-A */
	{ 0x0041, 0x005A, 1, 32 }, { 0x00C0, 0x00D6, 1, 32 }, { 0x00D8, 0x00DE, 1, 32 },
	{ 0x0100, 0x012E, 2, 1 }, { 0x0130, 0x0130, 1, -199 }, { 0x0132, 0x0136, 2, 1 },
	{ 0x0139, 0x0147, 2, 1 }, { 0x014A, 0x0176, 2, 1 }, { 0x0178, 0x0178, 1, -121 },
	{ 0x0179, 0x017D, 2, 1 },
	/* Latin Extended-B */
	{ 0x0181, 0x0181, 1, 210 }, { 0x0182, 0x0184, 2, 1 }, { 0x0186, 0x0186, 1, 206 },
	{ 0x0187, 0x0187, 1, 1 }, { 0x0189, 0x018A, 1, 205 }, { 0x018B, 0x018B, 1, 1 },
	{ 0x018E, 0x018E, 1, 79 }, { 0x018F, 0x018F, 1, 202 }, { 0x0190, 0x0190, 1, 203 },
	{ 0x0191, 0x0191, 1, 1 }, { 0x0193, 0x0193, 1, 205 }, { 0x0194, 0x0194, 1, 207 },
	{ 0x0196, 0x0196, 1, 211 }, { 0x0197, 0x0197, 1, 209 }, { 0x0198, 0x0198, 1, 1 },
	{ 0x019C, 0x019C, 1, 211 }, { 0x019D, 0x019D, 1, 213 }, { 0x019F, 0x019F, 1, 214 },
	{ 0x01A0, 0x01A4, 2, 1 }, { 0x01A6, 0x01A6, 1, 218 }, { 0x01A7, 0x01A7, 1, 1 },
	{ 0x01A9, 0x01A9, 1, 218 }, { 0x01AC, 0x01AC, 1, 1 }, { 0x01AE, 0x01AE, 1, 218 },
	{ 0x01AF, 0x01AF, 1, 1 }, { 0x01B1, 0x01B2, 1, 217 }, { 0x01B3, 0x01B5, 2, 1 },
	{ 0x01B7, 0x01B7, 1, 219 }, { 0x01B8, 0x01B8, 1, 1 }, { 0x01BC, 0x01BC, 1, 1 },
	{ 0x01C4, 0x01C4, 1, 2 }, { 0x01C5, 0x01C5, 1, 1 }, { 0x01C7, 0x01C7, 1, 2 },
	{ 0x01C8, 0x01C8, 1, 1 }, { 0x01CA, 0x01CA, 1, 2 }, { 0x01CB, 0x01DB, 2, 1 },
	{ 0x01DE, 0x01EE, 2, 1 }, { 0x01F1, 0x01F1, 1, 2 }, { 0x01F2, 0x01F4, 2, 1 },
	{ 0x01F6, 0x01F6, 1, -97 }, { 0x01F7, 0x01F7, 1, -56 }, { 0x01F8, 0x021E, 2, 1 },
	{ 0x0220, 0x0220, 1, -130 }, { 0x0222, 0x0232, 2, 1 }, { 0x023A, 0x023A, 1, 10795 },
	{ 0x023B, 0x023B, 1, 1 }, { 0x023D, 0x023D, 1, -163 }, { 0x023E, 0x023E, 1, 10792 },
	{ 0x0241, 0x0241, 1, 1 }, { 0x0243, 0x0243, 1, -195 }, { 0x0244, 0x0244, 1, 69 },
	{ 0x0245, 0x0245, 1, 71 }, { 0x0246, 0x024E, 2, 1 },
	/* Greek and Coptic */
	{ 0x0370, 0x0372, 2, 1 }, { 0x0376, 0x0376, 1, 1 }, { 0x037F, 0x037F, 1, 116 },
	{ 0x0386, 0x0386, 1, 38 }, { 0x0388, 0x038A, 1, 37 }, { 0x038C, 0x038C, 1, 64 },
	{ 0x038E, 0x038F, 1, 63 }, { 0x0391, 0x03A1, 1, 32 }, { 0x03A3, 0x03AB, 1, 32 },
	{ 0x03CF, 0x03CF, 1, 8 }, { 0x03D8, 0x03EE, 2, 1 }, { 0x03F4, 0x03F4, 1, -60 },
	{ 0x03F7, 0x03F7, 1, 1 }, { 0x03F9, 0x03F9, 1, -7 }, { 0x03FA, 0x03FA, 1, 1 },
	{ 0x03FD, 0x03FF, 1, -130 },
	/* Cyrillic, Cyrillic Supplement, Armenian */
	{ 0x0400, 0x040F, 1, 80 }, { 0x0410, 0x042F, 1, 32 }, { 0x0460, 0x0480, 2, 1 },
	{ 0x048A, 0x04BE, 2, 1 }, { 0x04C0, 0x04C0, 1, 15 }, { 0x04C1, 0x04CD, 2, 1 },
	{ 0x04D0, 0x052E, 2, 1 }, { 0x0531, 0x0556, 1, 48 },
	/* Latin Extended Additional (Vietnamese, Welsh, ...) */
	{ 0x1E00, 0x1E94, 2, 1 }, { 0x1E9E, 0x1E9E, 1, -7615 }, { 0x1EA0, 0x1EFE, 2, 1 },
	/* Ohm, Kelvin and Angstrom signs; fullwidth A-Z */
	{ 0x2126, 0x2126, 1, -7517 }, { 0x212A, 0x212A, 1, -8383 }, { 0x212B, 0x212B, 1, -8262 },
	{ 0xFF21, 0xFF3A, 1, 32 },
};

uint32_t text_fold_cp(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(fold_runs) / sizeof(fold_runs[0]);

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	/* Beyond lower case: one form for letters that have two lower-case
	 * spellings of one upper-case letter. */
	if (cp == 0x03C2)		/* final sigma */
		return 0x03C3;
	if (cp == 0x017F)		/* long s */
		return 's';
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp < fold_runs[mid].lo) {
			hi = mid;
		} else if (cp > fold_runs[mid].hi) {
			lo = mid + 1;
		} else {
			if ((cp - fold_runs[mid].lo) % (uint32_t)fold_runs[mid].step != 0)
				return cp;
			return (uint32_t)((int32_t)cp + fold_runs[mid].delta);
		}
	}
	return cp;
}

void text_folder_init(struct text_folder *f)
{
	f->npend = 0;
}

enum seq_status { SEQ_OK, SEQ_SHORT, SEQ_BAD };

/*
 * The UTF-8 sequence at p[0..avail) (RFC 3629 §4, well-formed only: no
 * overlong forms, surrogates or code points past U+10FFFF).  SEQ_OK: *len_r
 * bytes make code point *cp_r.  SEQ_SHORT: all avail bytes are a valid
 * start.  SEQ_BAD: the first *len_r bytes are not part of any sequence.
 */
static enum seq_status utf8_seq(const unsigned char *p, size_t avail, size_t *len_r,
				uint32_t *cp_r)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;
	uint32_t cp;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*len_r = 1;
		return SEQ_BAD;
	}
	for (size_t i = 1; i < need; i++) {
		if (i == avail) {
			*len_r = avail;
			return SEQ_SHORT;
		}
		if (p[i] < lo || p[i] > hi) {
			*len_r = i;
			return SEQ_BAD;
		}
		cp = cp << 6 | (p[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*len_r = need;
	*cp_r = cp;
	return SEQ_OK;
}

static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Writes what one sequence at p stands for.  Returns its status. */
static enum seq_status fold_one(const unsigned char *p, size_t avail, size_t *len_r, char *out,
				size_t *olen)
{
	uint32_t cp = 0;
	enum seq_status st = utf8_seq(p, avail, len_r, &cp);

	if (st == SEQ_OK) {
		*olen += put_utf8(text_fold_cp(cp), out + *olen);
	} else if (st == SEQ_BAD) {
		memcpy(out + *olen, p, *len_r);
		*olen += *len_r;
	}
	return st;
}

size_t text_fold(struct text_folder *f, const char *in, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, olen = 0, n;

	if (f->npend > 0 && len > 0) {
		/* finish the sequence the last chunk cut off */
		unsigned char tmp[8];
		size_t take = len < 4 ? len : 4;

		memcpy(tmp, f->pend, f->npend);
		memcpy(tmp + f->npend, p, take);
		if (fold_one(tmp, f->npend + take, &n, out, &olen) == SEQ_SHORT) {
			memcpy(f->pend + f->npend, p, take);
			f->npend += (unsigned)take;
			return 0;
		}
		/* the bad or complete sequence began with the held bytes */
		i = n - f->npend;
		f->npend = 0;
	}
	while (i < len) {
		if (p[i] < 0x80) {
			if (p[i] != '\r')
				out[olen++] = (char)text_fold_cp(p[i]);
			i++;
			continue;
		}
		if (fold_one(p + i, len - i, &n, out, &olen) == SEQ_SHORT) {
			memcpy(f->pend, p + i, n);
			f->npend = (unsigned)n;
			break;
		}
		i += n;
	}
	return olen;
}

size_t text_fold_finish(struct text_folder *f, char *out)
{
	size_t n = f->npend;

	memcpy(out, f->pend, n);
	f->npend = 0;
	return n;
}

char *text_fold_string(const char *s, size_t len, size_t *len_r)
{
	struct text_folder f;
	char *out = xmalloc(TEXT_FOLD_OUT_MAX(len) + 1);
	size_t n;

	text_folder_init(&f);
	n = text_fold(&f, s, len, out);
	n += text_fold_finish(&f, out + n);
	out[n] = '\0';
	*len_r = n;
	return out;
}
