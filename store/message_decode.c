/* base64, quoted-printable and RFC 2047 decoding.  See message_decode.h. */
#include "store/message_decode.h"
#include "store/message_charset.h"
#include "core/buf.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define CHARSET_MAX	64	/* longest charset name taken from an encoded word */

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void base64_decoder_init(struct base64_decoder *d)
{
	d->bits = 0;
	d->nbits = 0;
}

size_t base64_decode(struct base64_decoder *d, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0) {
			/* padding: what is left of the quantum is zero fill */
			if (in[i] == '=')
				d->nbits = 0;
			continue;
		}
		d->bits = (d->bits << 6 | (uint32_t)v) & 0xFFFFFF;
		d->nbits += 6;
		if (d->nbits >= 8) {
			d->nbits -= 8;
			out[n++] = (char)(d->bits >> d->nbits & 0xFF);
		}
	}
	return n;
}

/* ---- quoted-printable ---- */

enum {
	QP_TEXT,	/* ordinary text; d->ws holds white space seen last */
	QP_CR,		/* a CR: a line break if LF follows */
	QP_EQ,		/* "=" */
	QP_EQ_HEX,	/* "=" and one hex digit (d->first) */
	QP_EQ_WS,	/* "=" and white space (d->ws): a soft break if the line ends */
	QP_EQ_CR,	/* "=" (and white space) and CR: soft break */
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void qp_decoder_init(struct qp_decoder *d)
{
	d->state = QP_TEXT;
	d->nws = 0;
}

static size_t flush_ws(struct qp_decoder *d, char *out)
{
	size_t n = d->nws;

	memcpy(out, d->ws, n);
	d->nws = 0;
	return n;
}

size_t qp_decode(struct qp_decoder *d, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		switch (d->state) {
		case QP_CR:
			d->state = QP_TEXT;
			if (c == '\n') {
				d->nws = 0;	/* trailing white space: rule (3) */
				out[n++] = '\r';
				out[n++] = '\n';
				continue;
			}
			/* a bare CR is text */
			n += flush_ws(d, out + n);
			out[n++] = '\r';
			break;
		case QP_EQ:
			if (hex_value(c) >= 0) {
				d->first = c;
				d->state = QP_EQ_HEX;
			} else if (c == ' ' || c == '\t') {
				d->ws[d->nws++] = c;
				d->state = QP_EQ_WS;
			} else if (c == '\r') {
				d->state = QP_EQ_CR;
			} else if (c == '\n') {
				d->state = QP_TEXT;	/* soft line break */
			} else {
				out[n++] = '=';
				d->state = QP_TEXT;
				break;
			}
			continue;
		case QP_EQ_HEX:
			d->state = QP_TEXT;
			if (hex_value(c) >= 0) {
				out[n++] = (char)(hex_value(d->first) << 4 | hex_value(c));
				continue;
			}
			out[n++] = '=';
			out[n++] = d->first;
			break;
		case QP_EQ_WS:
			if ((c == ' ' || c == '\t') && d->nws < QP_WS_MAX) {
				d->ws[d->nws++] = c;
				continue;
			}
			if (c == '\r' || c == '\n') {
				d->nws = 0;
				d->state = c == '\r' ? QP_EQ_CR : QP_TEXT;
				continue;
			}
			/* "=" and white space inside a line: not an encoding */
			out[n++] = '=';
			n += flush_ws(d, out + n);
			d->state = QP_TEXT;
			break;
		case QP_EQ_CR:
			d->state = QP_TEXT;
			if (c == '\n')
				continue;
			break;	/* "=" CR without LF: still a soft break */
		}
		/* QP_TEXT, or c taken up again after a state above ended */
		if (c == '=') {
			n += flush_ws(d, out + n);
			d->state = QP_EQ;
		} else if (c == ' ' || c == '\t') {
			if (d->nws == QP_WS_MAX)
				n += flush_ws(d, out + n);
			d->ws[d->nws++] = c;
		} else if (c == '\r') {
			d->state = QP_CR;
		} else if (c == '\n') {
			d->nws = 0;
			out[n++] = '\r';
			out[n++] = '\n';
		} else {
			n += flush_ws(d, out + n);
			out[n++] = c;
		}
	}
	return n;
}

size_t qp_decode_finish(struct qp_decoder *d, char *out)
{
	size_t n = 0;

	if (d->state == QP_EQ_HEX) {
		out[n++] = '=';
		out[n++] = d->first;
	} else if (d->state == QP_CR) {
		out[n++] = '\r';
	}
	/* white space ending the last line goes as at any line end; a final
	 * "=" is a soft break before the end */
	qp_decoder_init(d);
	return n;
}

/* ---- RFC 2047 encoded words ---- */

struct encoded_word {
	char charset[CHARSET_MAX + 1];
	char encoding;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t len;		/* of the whole word */
};

/* RFC 2047 §2: especials may not be in a charset or encoding token. */
static bool token_char(char c)
{
	return (unsigned char)c > ' ' && (unsigned char)c < 0x7f &&
	       strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/* An encoded word at s[0..len)? */
static bool parse_word(const char *s, size_t len, struct encoded_word *w)
{
	size_t i = 2, start;

	if (len < 2 || s[0] != '=' || s[1] != '?')
		return false;
	start = i;
	while (i < len && token_char(s[i]))
		i++;
	if (i == start || i - start > CHARSET_MAX || i + 2 >= len || s[i] != '?')
		return false;
	memcpy(w->charset, s + start, i - start);
	w->charset[i - start] = '\0';
	/* RFC 2231 §5: "charset*language" */
	char *star = strchr(w->charset, '*');
	if (star != NULL)
		*star = '\0';
	if (w->charset[0] == '\0')
		return false;
	i++;
	w->encoding = (char)(s[i] & ~0x20);	/* upper case */
	if ((w->encoding != 'B' && w->encoding != 'Q') || i + 1 >= len || s[i + 1] != '?')
		return false;
	i += 2;
	start = i;
	/* encoded-text: printable ASCII but "?" and space (§2, §5) */
	while (i < len && s[i] > ' ' && s[i] < 0x7f && s[i] != '?')
		i++;
	if (i + 1 >= len || s[i] != '?' || s[i + 1] != '=')
		return false;
	w->text = s + start;
	w->text_len = i - start;
	w->len = i + 2;
	return true;
}

/* Appends the word's octets (still in its charset) to raw. */
static void decode_word(const struct encoded_word *w, struct buf *raw)
{
	char out[256];
	size_t n = 0;

	if (w->encoding == 'B') {
		struct base64_decoder d;

		base64_decoder_init(&d);
		for (size_t i = 0; i < w->text_len; i += sizeof(out)) {
			size_t chunk = w->text_len - i;

			if (chunk > sizeof(out))
				chunk = sizeof(out);

			n = base64_decode(&d, w->text + i, chunk, out);
			buf_append(raw, out, n);
		}
		return;
	}
	/* Q (§4.2): "_" is a space, "=XX" an octet, the rest itself */
	for (size_t i = 0; i < w->text_len; i++) {
		char c = w->text[i];

		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < w->text_len && hex_value(w->text[i + 1]) >= 0 &&
			   hex_value(w->text[i + 2]) >= 0) {
			c = (char)(hex_value(w->text[i + 1]) << 4 | hex_value(w->text[i + 2]));
			i += 2;
		}
		out[n++] = c;
		if (n == sizeof(out)) {
			buf_append(raw, out, n);
			n = 0;
		}
	}
	buf_append(raw, out, n);
}

static bool only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

struct pending {
	struct buf raw;		/* decoded octets of adjacent words in one charset */
	char charset[CHARSET_MAX + 1];
};

static void flush_pending(struct pending *p, struct buf *out)
{
	if (buf_len(&p->raw) > 0)
		charset_to_utf8(p->charset, buf_ptr(&p->raw), buf_len(&p->raw), out);
	buf_reset(&p->raw);
}

static void append_cut(struct buf *out, const char *s, size_t len)
{
	size_t room = buf_room(out);

	buf_append(out, s, len < room ? len : room);
}

void message_decode_header(const char *value, size_t len, struct buf *out)
{
	struct pending p;
	size_t text_start = 0;	/* value[text_start..i) is not yet written */
	bool after_word = false;

	buf_init(&p.raw, len + 1);	/* decoding never makes more octets */
	p.charset[0] = '\0';
	for (size_t i = 0; i < len;) {
		struct encoded_word w;

		if (value[i] != '=' || !parse_word(value + i, len - i, &w)) {
			i++;
			continue;
		}
		if (!after_word || !only_space(value + text_start, i - text_start)) {
			flush_pending(&p, out);
			append_cut(out, value + text_start, i - text_start);
		}
		if (strcasecmp(p.charset, w.charset) != 0) {
			flush_pending(&p, out);
			memcpy(p.charset, w.charset, sizeof(p.charset));
		}
		decode_word(&w, &p.raw);
		i += w.len;
		text_start = i;
		after_word = true;
	}
	flush_pending(&p, out);
	append_cut(out, value + text_start, len - text_start);
	buf_free(&p.raw);
}
