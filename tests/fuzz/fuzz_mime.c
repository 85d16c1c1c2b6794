/*
 * The MIME structure parser (store/message.c) and what IMAP builds on it:
 * ENVELOPE and BODYSTRUCTURE (imap/imap_format.c), body sections
 * (imap/imap_fetch_body.c) and SEARCH's streaming matcher
 * (store/message_search.c).  The input is a stored message.
 *
 * It is parsed twice, at once and in chunk sizes drawn from the input,
 * and both must give the same tree (the parser is incremental).  Checked:
 * every part lies inside its parent, after its older sibling, with
 * header <= body <= end and CRLF sizes no smaller than the stored ones;
 * the FETCH header scan finds the end of the header where the parser
 * did; a located section lies inside the message and the stored-to-sent
 * transform makes exactly its announced size; SEARCH finds the same
 * strings however the message is chunked.
 */
#include "fuzz_common.h"
#include "core/buf.h"
#include "core/log.h"
#include "imap/imap_fetch.h"
#include "imap/imap_format.h"
#include "store/message.h"
#include "store/message_search.h"

static struct message_part *parse(const uint8_t *data, size_t size, struct fuzz_rng *rng)
{
	struct message_parser *p = message_parser_new();
	struct message_part *root;

	for (size_t pos = 0; pos < size;) {
		size_t n = rng ? fuzz_rng_chunk(rng, size - pos) : size - pos;

		message_parser_feed(p, (const char *)data + pos, n);
		pos += n;
	}
	root = message_parser_finish(&p);
	FUZZ_CHECK(p == NULL && root != NULL);
	return root;
}

static bool lower_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return false;
	return true;
}

static void check_part(const struct message_part *part, uint64_t lo, uint64_t hi,
		       unsigned depth)
{
	uint64_t prev_end = lo;
	unsigned n = 0;

	FUZZ_CHECK(depth <= 130);	/* 64 levels, message/rfc822 doubling them */
	FUZZ_CHECK(lo <= part->header_offset && part->header_offset <= part->body_offset &&
		   part->body_offset <= part->end_offset && part->end_offset <= hi);
	FUZZ_CHECK(part->header_vsize >= part->body_offset - part->header_offset);
	FUZZ_CHECK(part->header_vsize <= 2 * (part->body_offset - part->header_offset));
	FUZZ_CHECK(part->body_vsize >= part->end_offset - part->body_offset);
	FUZZ_CHECK(part->body_vsize <= 2 * (part->end_offset - part->body_offset));
	FUZZ_CHECK(part->body_lines <= part->body_vsize);
	FUZZ_CHECK(lower_token(part->type) && lower_token(part->subtype));
	for (unsigned i = 0; i < part->nparams; i++)
		FUZZ_CHECK(part->params[i].name != NULL && part->params[i].value != NULL);
	for (const struct message_part *c = part->children; c != NULL; c = c->next) {
		FUZZ_CHECK(c->parent == part);
		FUZZ_CHECK(c->header_offset >= prev_end);
		check_part(c, part->body_offset, part->end_offset, depth + 1);
		prev_end = c->end_offset;
		n++;
	}
	FUZZ_CHECK(n == part->nchildren);
	if (strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0)
		FUZZ_CHECK(n <= 1);
	else if (strcmp(part->type, "multipart") != 0)
		FUZZ_CHECK(n == 0);
}

static char *structure(const struct message_part *root)
{
	struct buf b;
	char *s;

	buf_init(&b, (size_t)-1);
	imap_bodystructure(&b, root, true);
	buf_append(&b, "\n", 1);
	imap_bodystructure(&b, root, false);
	buf_append(&b, "\n", 1);
	imap_envelope(&b, root);
	s = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return s;
}

static void check_header_scan(const uint8_t *data, size_t size, const struct message_part *root,
			      struct fuzz_rng *rng)
{
	struct fetch_header_scan h;

	imap_fetch_header_scan_init(&h);
	for (size_t pos = 0; pos < size && !h.done;) {
		size_t n = fuzz_rng_chunk(rng, size - pos);

		imap_fetch_header_scan(&h, (const char *)data + pos, n);
		pos += n;
	}
	FUZZ_CHECK(h.raw == root->body_offset);
	FUZZ_CHECK(h.vsize == root->header_vsize);
}

/* A section picked by the input: a short path and any text. */
static void pick_section(struct fuzz_rng *rng, struct fetch_section *sec, char **fields)
{
	uint64_t v = fuzz_rng_next(rng);

	memset(sec, 0, sizeof(*sec));
	sec->depth = (unsigned)(v % 4);
	for (unsigned i = 0; i < sec->depth; i++)
		sec->path[i] = (uint32_t)((v >> (8 + 4 * i)) % 4) + 1;
	sec->text = (enum fetch_text)((v >> 32) % 6);
	if (sec->text == FETCH_TEXT_MIME && sec->depth == 0)
		sec->text = FETCH_TEXT_NONE;
	if (sec->text == FETCH_TEXT_FIELDS || sec->text == FETCH_TEXT_FIELDS_NOT) {
		sec->fields = fields;
		sec->nfields = 3;
	}
}

static void check_section(const uint8_t *data, size_t size, uint64_t vsize,
			  const struct message_part *root, struct fuzz_rng *rng)
{
	static char from[] = "From", subject[] = "subject", ctype[] = "Content-Type";
	char *fields[] = { from, subject, ctype };
	struct fetch_section sec;
	struct fetch_range r;
	struct fetch_xform x;
	uint64_t made = 0;

	pick_section(rng, &sec, fields);
	imap_fetch_locate(root, &sec, size, vsize, &r);
	if (!r.exists)
		return;
	FUZZ_CHECK(r.start <= r.end && r.end <= size);
	FUZZ_CHECK(r.vsize >= r.end - r.start);
	imap_fetch_xform_init(&x, &sec);
	for (uint64_t pos = r.start; pos < r.end;) {
		size_t n = fuzz_rng_chunk(rng, (size_t)(r.end - pos));
		/* exactly the room the contract promises to need */
		char *out = malloc(FETCH_XFORM_OUT_MAX(n));

		made += imap_fetch_xform_feed(&x, (const char *)data + pos, n, out);
		free(out);
		pos += n;
	}
	{
		char *out = malloc(FETCH_XFORM_OUT_MAX(0));

		made += imap_fetch_xform_end(&x, out);
		free(out);
	}
	if (r.filtered)
		FUZZ_CHECK(made <= r.vsize);
	else
		FUZZ_CHECK(made == r.vsize);
}

static void search(const uint8_t *data, size_t size, struct fuzz_rng *rng, bool found[5],
		   char **date_r)
{
	struct message_search *ms = message_search_new();
	const char *date;
	unsigned idx[5];

	idx[0] = message_search_add(ms, MESSAGE_SEARCH_BODY, NULL, "the", 3);
	idx[1] = message_search_add(ms, MESSAGE_SEARCH_TEXT, NULL, "subject: ", 9);
	idx[2] = message_search_add(ms, MESSAGE_SEARCH_HEADER, "from", "@", 1);
	idx[3] = message_search_add(ms, MESSAGE_SEARCH_BODY, NULL, "\xc3\xa4", 2);
	/* a needle from the message itself: likely to be there */
	idx[4] = message_search_add(ms, MESSAGE_SEARCH_TEXT, NULL,
				    size >= 8 ? (const char *)data + size / 2 - 4 : "x",
				    size >= 8 ? 4 : 1);
	message_search_keep_field(ms, "Date");
	message_search_begin(ms);
	for (size_t pos = 0; pos < size;) {
		size_t n = rng ? fuzz_rng_chunk(rng, size - pos) : size - pos;

		message_search_feed(ms, (const char *)data + pos, n);
		pos += n;
	}
	message_search_finish(ms);
	FUZZ_CHECK(message_search_header_done(ms));
	for (int i = 0; i < 5; i++)
		found[i] = message_search_found(ms, idx[i]);
	date = message_search_field(ms);
	*date_r = date ? xstrdup(date) : NULL;
	message_search_free(&ms);
	FUZZ_CHECK(ms == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_part *whole, *chunked;
	struct fuzz_rng rng;
	char *s1, *s2, *d1, *d2;
	bool f1[5], f2[5];
	uint64_t vsize = size;

	fuzz_rng_init(&rng, data, size);
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			vsize++;

	whole = parse(data, size, NULL);
	chunked = parse(data, size, &rng);
	check_part(whole, 0, size, 0);
	FUZZ_CHECK(whole->header_offset == 0);
	s1 = structure(whole);
	s2 = structure(chunked);
	FUZZ_CHECK(strcmp(s1, s2) == 0);
	FUZZ_CHECK(whole->end_offset == chunked->end_offset &&
		   whole->body_offset == chunked->body_offset);
	free(s1);
	free(s2);

	check_header_scan(data, size, whole, &rng);
	for (int i = 0; i < 4; i++)
		check_section(data, size, vsize, whole, &rng);

	search(data, size, NULL, f1, &d1);
	search(data, size, &rng, f2, &d2);
	FUZZ_CHECK(memcmp(f1, f2, sizeof(f1)) == 0);
	FUZZ_CHECK((d1 == NULL) == (d2 == NULL) && (d1 == NULL || strcmp(d1, d2) == 0));
	free(d1);
	free(d2);

	message_part_free(&whole);
	message_part_free(&chunked);
	return 0;
}
