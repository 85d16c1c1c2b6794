/*
 * RETR/TOP byte-stuffing (pop3/pop3_dotstuff.c), fed in chunk sizes drawn
 * from the input.  Checked: out never takes more than the 2 * len the
 * contract allows (ASan sees an exact-size buffer); chunking changes
 * nothing; the RETR response is a valid multi-line response (CRLF lines,
 * no line "." before the end) that un-stuffs to the message with its line
 * ends made CRLF; TOP's output is a prefix of RETR's.
 */
#include "fuzz_common.h"
#include "pop3/pop3_dotstuff.h"

struct out {
	char *data;
	size_t len;
};

static void run(const uint8_t *data, size_t size, long lines, bool chunked, struct out *o)
{
	struct fuzz_rng rng;
	struct dotstuff ds;
	size_t pos = 0;
	char *end;

	fuzz_rng_init(&rng, data, size);
	o->data = malloc(2 * size + 5);
	o->len = 0;
	dotstuff_init(&ds, lines);
	while (pos < size && !ds.finished) {
		size_t n = chunked ? fuzz_rng_chunk(&rng, size - pos) : size - pos;
		char *tmp = malloc(2 * n);	/* exactly what the contract asks */

		size_t w = dotstuff_feed(&ds, (const char *)data + pos, n, tmp);

		FUZZ_CHECK(w <= 2 * n);
		memcpy(o->data + o->len, tmp, w);
		o->len += w;
		free(tmp);
		pos += n;
	}
	end = malloc(5);
	size_t w = dotstuff_end(&ds, end);

	FUZZ_CHECK(w <= 5);
	memcpy(o->data + o->len, end, w);
	o->len += w;
	free(end);
}

/* The RETR response read back as a client reads it: lines up to CRLF,
 * one leading "." removed, ".\r\n" the end.  Returns the message with LF
 * line ends replaced by CRLF, as it should be. */
static void check_unstuffs(const struct out *o, const uint8_t *msg, size_t size)
{
	struct out want = { malloc(2 * size + 2), 0 }, got = { malloc(o->len), 0 };
	size_t i = 0;
	bool ended = false;

	for (size_t k = 0; k < size; k++) {
		if (msg[k] == '\n' && (k == 0 || msg[k - 1] != '\r'))
			want.data[want.len++] = '\r';
		want.data[want.len++] = (char)msg[k];
	}
	if (want.len > 0 && want.data[want.len - 1] != '\n') {
		want.data[want.len++] = '\r';
		want.data[want.len++] = '\n';
	}
	while (i < o->len) {
		const char *lf = memchr(o->data + i, '\n', o->len - i);
		size_t n;

		FUZZ_CHECK(lf != NULL);		/* every line ends */
		n = (size_t)(lf - (o->data + i)) + 1;
		FUZZ_CHECK(n >= 2 && lf[-1] == '\r');
		if (n == 3 && o->data[i] == '.') {
			FUZZ_CHECK(i + n == o->len);	/* the end, and only there */
			ended = true;
			break;
		}
		if (o->data[i] == '.') {
			FUZZ_CHECK(n > 3 && o->data[i + 1] == '.');
			i++;
			n--;
		}
		memcpy(got.data + got.len, o->data + i, n);
		got.len += n;
		i += n;
	}
	FUZZ_CHECK(ended);
	FUZZ_CHECK(got.len == want.len && memcmp(got.data, want.data, got.len) == 0);
	free(want.data);
	free(got.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole, chunks, top;
	long lines = size > 0 ? data[0] % 8 : 0;

	run(data, size, -1, false, &whole);
	run(data, size, -1, true, &chunks);
	FUZZ_CHECK(whole.len == chunks.len && memcmp(whole.data, chunks.data, whole.len) == 0);
	check_unstuffs(&whole, data, size);
	run(data, size, lines, true, &top);
	/* TOP sends the same bytes as RETR up to where it stops, then the end. */
	FUZZ_CHECK(top.len >= 3 && top.len <= whole.len);
	FUZZ_CHECK(memcmp(top.data, whole.data, top.len - 3) == 0);
	FUZZ_CHECK(memcmp(top.data + top.len - 3, ".\r\n", 3) == 0);
	free(whole.data);
	free(chunks.data);
	free(top.data);
	return 0;
}
