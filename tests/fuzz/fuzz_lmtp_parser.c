/*
 * The LMTP command reader (lmtp/lmtp_parser.c) and DATA decoder
 * (lmtp/lmtp_dot.c), driven as lmtp_session.c drives them: command lines
 * split as the connection splits them (LMTP_MAX_LINE), MAIL and RCPT paths
 * with their ESMTP parameters, LHLO's domain, and after a DATA line the raw
 * bytes through the dot decoder, in chunk sizes drawn from the input, until
 * the terminating line; then commands again from where it stopped.
 *
 * Checked: verbs are upper-case; a path fits its buffers, has no 8-bit
 * byte and only a null path is empty; parameters are consumed to the end
 * or refused; the decoder never writes past the len + 1 bytes it may, and
 * gives exactly what a plain reading of RFC 5321 §4.5.2 gives: lines up to
 * LF, "." alone (before CRLF or LF) ends, one leading "." dropped, so the
 * next command starts right after an LF, where the line reader also sees
 * one start (no smuggling).
 */
#include "fuzz_common.h"
#include "core/buf.h"
#include "lmtp/lmtp.h"
#include "lmtp/lmtp_dot.h"
#include "lmtp/lmtp_parser.h"

static void check_params(const char *params)
{
	struct lmtp_param prm;
	int r;

	while ((r = lmtp_next_param(&params, &prm)) > 0) {
		uint64_t n;

		FUZZ_CHECK(prm.keyword[0] != '\0');
		for (const char *c = prm.keyword; *c; c++)
			FUZZ_CHECK(!(*c >= 'a' && *c <= 'z'));
		FUZZ_CHECK(prm.value == NULL || strlen(prm.value) >= prm.value_len);
		if (prm.value != NULL && lmtp_parse_size(prm.value, prm.value_len, &n) == 0)
			FUZZ_CHECK(prm.value_len > 0 && prm.value_len <= 20);
	}
	if (r == 0)
		FUZZ_CHECK(*params == '\0');
}

static void check_path(const char *args, const char *prefix, bool null_ok)
{
	struct lmtp_path path;
	const char *params = NULL;

	if (lmtp_parse_path(args, prefix, null_ok, &path, &params) != LMTP_PATH_OK)
		return;
	FUZZ_CHECK(strlen(path.address) <= LMTP_MAX_PATH && strlen(path.local) <= LMTP_MAX_PATH);
	FUZZ_CHECK(null_ok || path.address[0] != '\0');
	for (const char *c = path.address; *c; c++)
		FUZZ_CHECK((unsigned char)*c < 0x80);
	FUZZ_CHECK(params != NULL && params >= args && params <= args + strlen(args));
	check_params(params);
}

static void command(const char *text, size_t len, bool *data_r)
{
	char *line = fuzz_cstring((const uint8_t *)text, len);
	struct lmtp_cmdline cmd;

	*data_r = false;
	if (lmtp_parse_command(line, len, &cmd) == LMTP_PARSE_OK) {
		FUZZ_CHECK(cmd.verb[0] != '\0' && strlen(cmd.verb) <= LMTP_MAX_VERB);
		for (const char *c = cmd.verb; *c; c++)
			FUZZ_CHECK(!(*c >= 'a' && *c <= 'z'));
		FUZZ_CHECK(cmd.args >= line && cmd.args <= line + len);
		if (strcmp(cmd.verb, "MAIL") == 0)
			check_path(cmd.args, "FROM:", true);
		else if (strcmp(cmd.verb, "RCPT") == 0)
			check_path(cmd.args, "TO:", false);
		else if (strcmp(cmd.verb, "LHLO") == 0 && lmtp_domain_ok(cmd.args))
			FUZZ_CHECK(cmd.args[0] != '\0' && strlen(cmd.args) <= 255);
		*data_r = strcmp(cmd.verb, "DATA") == 0;
	}
	free(line);
}

/* RFC 5321 §4.5.2 read plainly: the message in data, and how many bytes
 * the data took with its terminating line (0: it never ended). */
static size_t reference_data(const char *data, size_t len, struct buf *msg)
{
	size_t pos = 0;

	while (pos < len) {
		const char *l = data + pos, *lf = memchr(l, '\n', len - pos);
		size_t n = lf ? (size_t)(lf - l) + 1 : len - pos, next = pos + n;

		if (lf != NULL && ((n == 2 && l[0] == '.') || (n == 3 && l[0] == '.' && l[1] == '\r')))
			return next;
		if (l[0] == '.') {
			l++;
			n--;
		}
		buf_append(msg, l, n);
		pos = next;
	}
	return 0;
}

/* The DATA text from st's position on; returns false if it never ended. */
static bool data(struct fuzz_stream *st, struct fuzz_rng *rng)
{
	const char *rest = st->data + st->pos;
	size_t len = st->len - st->pos, used = 0, want_used;
	struct lmtp_dot d;
	struct buf got, want;

	buf_init(&got, (size_t)-1);
	buf_init(&want, (size_t)-1);
	lmtp_dot_init(&d);
	while (!d.done && used < len) {
		size_t n = fuzz_rng_chunk(rng, len - used), out_len = 0, u;
		char *out = malloc(n + LMTP_DOT_SLACK);	/* the room the contract asks */

		u = lmtp_dot_decode(&d, rest + used, n, out, &out_len);
		FUZZ_CHECK(u <= n && out_len <= n + LMTP_DOT_SLACK);
		FUZZ_CHECK(d.done || u == n);
		buf_append(&got, out, out_len);
		free(out);
		used += u;
	}
	want_used = reference_data(rest, len, &want);
	if (d.done) {
		FUZZ_CHECK(want_used == used);
		FUZZ_CHECK(used > 0 && rest[used - 1] == '\n');
		FUZZ_CHECK(buf_len(&got) == buf_len(&want) &&
			   memcmp(buf_ptr(&got), buf_ptr(&want), buf_len(&got)) == 0);
	} else {
		/* Unended: the decoder may still hold back the start of a
		 * line that could be the end ("." or CR); the rest agrees. */
		size_t n = buf_len(&got) < buf_len(&want) ? buf_len(&got) : buf_len(&want);

		FUZZ_CHECK(want_used == 0);
		FUZZ_CHECK(memcmp(buf_ptr(&got), buf_ptr(&want), n) == 0);
		FUZZ_CHECK(buf_len(&want) - n <= 2 && buf_len(&got) - n <= 2);
	}
	buf_free(&got);
	buf_free(&want);
	st->pos += used;
	return d.done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data_in, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data_in, size_t size)
{
	struct fuzz_stream st;
	struct fuzz_rng rng;
	const char *line;
	size_t len;
	int r;

	fuzz_stream_init(&st, data_in, size);
	fuzz_rng_init(&rng, data_in, size);
	while ((r = fuzz_stream_line(&st, LMTP_MAX_LINE, &line, &len)) != 0) {
		bool is_data;

		if (r < 0)
			continue;	/* "500 Line too long", skipped */
		command(line, len, &is_data);
		if (is_data && !data(&st, &rng))
			break;
	}
	return 0;
}
