/*
 * SASL (core/sasl.c): the base64 line framing IMAP AUTHENTICATE and POP3
 * AUTH share, and the PLAIN and LOGIN exchanges, without a network.
 *
 * The input is read three ways.  As an exchange: the first line is the
 * command's "MECHANISM [initial-response]", each further line a client
 * response, fed until the mechanism stops asking.  As raw mechanism input:
 * the first byte picks PLAIN or LOGIN and whether an initial response
 * comes, the rest split at LF is the decoded responses (NULs and all, so
 * PLAIN's fields are reached without base64).  As base64: the strict
 * decoder agrees with the MIME one on everything it accepts, and
 * decode(encode(x)) is x.
 *
 * Checked: a finished exchange names a user and a password without NUL,
 * no field past 255 bytes (RFC 4616), PLAIN's user and password not empty;
 * a challenge line is "+ " base64 CRLF and decodes.
 */
#include "fuzz_common.h"
#include "core/sasl.h"
#include "store/message_decode.h"

/* PLAIN and LOGIN only: SCRAM and CRAM-MD5 are fuzz_scram.c's. */
static const struct sasl_context fuzz_sasl_ctx = { .plaintext_allowed = true };

static void check_done(struct sasl *s)
{
	const char *user = sasl_user(s), *pass = sasl_password(s);

	FUZZ_CHECK(user != NULL && pass != NULL);
	FUZZ_CHECK(strlen(user) <= 255 && strlen(pass) <= 255);
	FUZZ_CHECK(user[0] != '\0');
}

static void check_challenge_line(const char *line)
{
	size_t len = strlen(line);
	unsigned char *raw;
	size_t rawlen;

	FUZZ_CHECK(len >= 4 && memcmp(line, "+ ", 2) == 0 && memcmp(line + len - 2, "\r\n", 2) == 0);
	FUZZ_CHECK(sasl_b64_decode(line + 2, len - 4, &raw, &rawlen) == 0);
	free(raw);
}

static void exchange(const uint8_t *data, size_t size)
{
	struct fuzz_stream st;
	const char *line, *sp, *err;
	size_t len;
	char mech[32];
	struct sasl *s;
	enum sasl_status r;
	char *out;

	fuzz_stream_init(&st, data, size);
	if (fuzz_stream_line(&st, 1024, &line, &len) <= 0)
		return;
	sp = memchr(line, ' ', len);
	if ((size_t)((sp ? sp : line + len) - line) >= sizeof(mech))
		return;
	memcpy(mech, line, (size_t)((sp ? sp : line + len) - line));
	mech[(sp ? sp : line + len) - line] = '\0';
	s = sasl_begin(mech, &fuzz_sasl_ctx);
	if (s == NULL)
		return;
	FUZZ_CHECK(sasl_is_plaintext(s));
	if (sp != NULL)
		r = sasl_step_text(s, sp + 1, len - (size_t)(sp + 1 - line), true, &out, &err);
	else
		r = sasl_step_text(s, NULL, 0, true, &out, &err);
	for (;;) {
		FUZZ_CHECK(err != NULL);
		if (r != SASL_CONTINUE) {
			FUZZ_CHECK(out == NULL);
			break;
		}
		check_challenge_line(out);
		free(out);
		if (fuzz_stream_line(&st, 1024, &line, &len) <= 0)
			break;
		r = sasl_step_text(s, line, len, false, &out, &err);
	}
	if (r == SASL_DONE)
		check_done(s);
	sasl_free(&s);
	FUZZ_CHECK(s == NULL);
}

static void raw(const uint8_t *data, size_t size)
{
	struct sasl *s;
	const char *err;
	const unsigned char *challenge, *p, *end;
	size_t clen;
	enum sasl_status r;
	bool initial, more = true;

	if (size == 0)
		return;
	s = sasl_begin(data[0] & 1 ? "login" : "PLAIN", &fuzz_sasl_ctx);
	initial = data[0] & 2;
	p = data + 1;
	end = data + size;
	if (!initial)
		/* data is never NULL: sasl_step_text() passes "" too */
		r = sasl_step(s, false, (const unsigned char *)"", 0, &challenge, &clen, &err);
	else
		r = SASL_CONTINUE;
	while (r == SASL_CONTINUE && more) {
		const unsigned char *lf = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);

		/* NUL-terminated, as sasl_b64_decode() leaves what it decodes */
		unsigned char *piece = malloc(n + 1);

		memcpy(piece, p, n);
		piece[n] = '\0';
		r = sasl_step(s, true, piece, n, &challenge, &clen, &err);
		free(piece);
		FUZZ_CHECK(err != NULL);
		if (r == SASL_CONTINUE)
			FUZZ_CHECK(challenge != NULL && strlen((const char *)challenge) == clen);
		if (lf != NULL)
			p = lf + 1;
		else
			more = false;
	}
	if (r == SASL_DONE) {
		check_done(s);
		if (!(data[0] & 1))
			FUZZ_CHECK(sasl_password(s)[0] != '\0');	/* PLAIN */
	}
	FUZZ_CHECK(r != SASL_CANCELLED && r != SASL_BAD_BASE64);
	sasl_free(&s);
}

static void base64(const uint8_t *data, size_t size)
{
	unsigned char *out;
	size_t outlen;
	char *enc;

	if (sasl_b64_decode((const char *)data, size, &out, &outlen) == 0) {
		struct base64_decoder d;
		char *mime = malloc(size + 1);
		size_t n;

		FUZZ_CHECK(out[outlen] == '\0');
		base64_decoder_init(&d);
		n = base64_decode(&d, (const char *)data, size, mime);
		FUZZ_CHECK(n == outlen && memcmp(mime, out, n) == 0);
		free(mime);
		free(out);
	}
	enc = sasl_b64_encode(data, size);
	FUZZ_CHECK(strlen(enc) == (size + 2) / 3 * 4);
	FUZZ_CHECK(sasl_b64_decode(enc, strlen(enc), &out, &outlen) == 0);
	FUZZ_CHECK(outlen == size && memcmp(out, data, size) == 0);
	free(out);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	exchange(data, size);
	raw(data, size);
	base64(data, size);
	return 0;
}
