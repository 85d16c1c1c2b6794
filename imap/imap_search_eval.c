/*
 * Evaluating a SEARCH key tree against messages.  See imap_search.h.
 *
 * Three-valued: a key whose answer needs more of the message than has
 * been read yet is MAYBE, and AND/OR/NOT combine MAYBE as Kleene's logic
 * does (a NO decides an AND, a YES an OR).  Each message is first tried
 * with what the index knows (flags, UID, size, internal date); only if
 * that leaves it undecided is the message opened and fed, chunk by chunk,
 * to one message_search holding every string of the tree, and the tree is
 * tried again after each chunk: a header key is decided at the end of the
 * header, a body key when its string turns up or the message ends.
 */
#include "imap/imap_search.h"
#include "core/log.h"
#include "store/message_date.h"
#include "store/message_search.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads start small and grow: a header key is decided after the first
 * read or two without pulling in a big body behind the header. */
#define READ_FIRST	(8u << 10)
#define READ_CHUNK	(64u << 10)

enum tri { NO, YES, MAYBE };

struct imap_search_run {
	struct search_key *key;
	struct store *st;
	struct message_search *ms;	/* NULL: no key reads the message */
	char *chunk;
	const struct mailbox *keywords_of;	/* the box KEYWORD keys were looked up in */

	/* the message being tried */
	unsigned seq;
	const struct store_msg *msg;
	uint32_t internal_day;
	bool reading;			/* ms has been fed this message */
	bool header_done, body_done;
	uint32_t sent_day;		/* 0: no readable Date: */

	unsigned opened;
	uint64_t bytes;
};

/* ---- "*" ---- */

int imap_search_resolve(struct search_key *k, unsigned count, uint32_t last_uid, char *error,
			size_t size)
{
	for (struct search_key *c = k->children; c != NULL; c = c->next)
		if (imap_search_resolve(c, count, last_uid, error, size) < 0)
			return -1;
	if (k->type == SEARCH_UIDSET) {
		imap_seqset_resolve(&k->set, last_uid);
	} else if (k->type == SEARCH_SEQSET) {
		/* RFC 3501 §9 seq-number: past the last message is BAD,
		 * "*" of an empty mailbox included */
		for (size_t i = 0; i < k->set.count; i++) {
			const struct seq_range *r = &k->set.ranges[i];

			bool star = r->lo == 0 || r->hi == 0;

			if (r->lo > count || r->hi > count || (count == 0 && star)) {
				snprintf(error, size, "Invalid message sequence number.");
				return -1;
			}
		}
		imap_seqset_resolve(&k->set, count);
	}
	return 0;
}

/* ---- preparing ---- */

static void add_strings(struct imap_search_run *run, struct search_key *k)
{
	enum message_search_scope scope;

	for (struct search_key *c = k->children; c != NULL; c = c->next)
		add_strings(run, c);
	switch (k->type) {
	case SEARCH_HEADER:
		scope = MESSAGE_SEARCH_HEADER;
		break;
	case SEARCH_BODY:
		scope = MESSAGE_SEARCH_BODY;
		break;
	case SEARCH_TEXT:
		scope = MESSAGE_SEARCH_TEXT;
		break;
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		if (run->ms == NULL)
			run->ms = message_search_new();
		message_search_keep_field(run->ms, "Date");
		return;
	default:
		return;
	}
	if (run->ms == NULL)
		run->ms = message_search_new();
	k->needle = (int)message_search_add(run->ms, scope, k->field, k->str, k->len);
}

struct imap_search_run *imap_search_run_new(struct search_key *key, struct store *st)
{
	struct imap_search_run *run = xcalloc(1, sizeof(*run));

	run->key = key;
	run->st = st;
	add_strings(run, key);
	if (run->ms != NULL)
		run->chunk = xmalloc(READ_CHUNK);
	return run;
}

void imap_search_run_free(struct imap_search_run **runp)
{
	struct imap_search_run *run = *runp;

	if (run == NULL)
		return;
	message_search_free(&run->ms);
	free(run->chunk);
	free(run);
	*runp = NULL;
}

void imap_search_run_stats(const struct imap_search_run *run, unsigned *opened_r,
			   uint64_t *bytes_r)
{
	*opened_r = run->opened;
	*bytes_r = run->bytes;
}

/* ---- evaluating ---- */

static enum tri is(bool b)
{
	return b ? YES : NO;
}

static enum tri compare_day(enum search_key_type type, uint32_t day, uint32_t key_day)
{
	switch (type) {
	case SEARCH_BEFORE:
	case SEARCH_SENTBEFORE:
		return is(day < key_day);
	case SEARCH_ON:
	case SEARCH_SENTON:
		return is(day == key_day);
	default:	/* SINCE: "within or later than" */
		return is(day >= key_day);
	}
}

static enum tri eval(const struct imap_search_run *run, const struct search_key *k)
{
	enum tri r = NO, c;

	switch (k->type) {
	case SEARCH_ALL:
		return YES;
	case SEARCH_AND:
		r = YES;
		for (const struct search_key *ch = k->children; ch && r != NO; ch = ch->next)
			if ((c = eval(run, ch)) != YES)
				r = c;
		return r;
	case SEARCH_OR:
		for (const struct search_key *ch = k->children; ch && r != YES; ch = ch->next)
			if ((c = eval(run, ch)) != NO)
				r = c;
		return r;
	case SEARCH_NOT:
		c = eval(run, k->children);
		return c == MAYBE ? MAYBE : c == YES ? NO : YES;
	case SEARCH_FLAGS:
		return is((run->msg->flags & k->flag_mask) == k->flag_value);
	case SEARCH_KEYWORD:
		return is(k->keyword >= 0 && (run->msg->keywords & (1u << k->keyword)) != 0);
	case SEARCH_SEQSET:
		return is(imap_seqset_contains(&k->set, run->seq));
	case SEARCH_UIDSET:
		return is(imap_seqset_contains(&k->set, run->msg->uid));
	case SEARCH_LARGER:
		return is(run->msg->vsize > k->size);
	case SEARCH_SMALLER:
		return is(run->msg->vsize < k->size);
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
		return compare_day(k->type, run->internal_day, k->date);
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		if (!run->header_done)
			return MAYBE;
		return run->sent_day == 0 ? NO : compare_day(k->type, run->sent_day, k->date);
	case SEARCH_HEADER:
		if (run->reading && message_search_found(run->ms, (unsigned)k->needle))
			return YES;
		return run->header_done ? NO : MAYBE;
	case SEARCH_BODY:
	case SEARCH_TEXT:
		if (run->reading && message_search_found(run->ms, (unsigned)k->needle))
			return YES;
		return run->body_done ? NO : MAYBE;
	}
	return NO;
}

/* The internal date's day in the server's zone (RFC 3501 §6.4.4:
 * "disregarding time and timezone"). */
static uint32_t local_day(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (uint32_t)(tm.tm_year + 1900) * 10000 + (uint32_t)(tm.tm_mon + 1) * 100 +
	       (uint32_t)tm.tm_mday;
}

static void header_read(struct imap_search_run *run)
{
	const char *date = message_search_field(run->ms);

	run->header_done = true;
	if (date == NULL || message_date_day(date, &run->sent_day) < 0)
		run->sent_day = 0;
}

/* Reads the message until the tree is decided.  Returns the answer, or -1. */
static int read_message(struct imap_search_run *run, struct mailbox *box)
{
	struct msg_stream *stream;
	enum tri r = MAYBE;
	size_t want = READ_FIRST;

	/* Gone, or a file that cannot be read (logged by the store): no
	 * match, rather than no answer for the whole mailbox. */
	if (mailbox_msg_open(box, run->msg->uid, &stream) < 0)
		return store_last_error(run->st, NULL) == STORE_ERR_EXPUNGED ||
		       store_last_error(run->st, NULL) == STORE_ERR_PERM ? 0 : -1;
	run->opened++;
	run->reading = true;
	message_search_begin(run->ms);
	while (r == MAYBE) {
		ssize_t n = msg_stream_read(stream, run->chunk, want);

		if (want < READ_CHUNK)
			want *= 2;
		if (n < 0) {
			msg_stream_close(&stream);
			return -1;
		}
		if (n == 0) {
			message_search_finish(run->ms);
			if (!run->header_done)
				header_read(run);
			run->body_done = true;
		} else {
			run->bytes += (uint64_t)n;
			message_search_feed(run->ms, run->chunk, (size_t)n);
			if (!run->header_done && message_search_header_done(run->ms))
				header_read(run);
		}
		r = eval(run, run->key);
	}
	msg_stream_close(&stream);
	return r == YES;
}

/* Keyword names to the mailbox's bit numbers.  A number, once given out,
 * keeps its name, so one look-up serves a whole run. */
static void find_keywords(struct search_key *k, const struct mailbox *box)
{
	for (struct search_key *c = k->children; c != NULL; c = c->next)
		find_keywords(c, box);
	if (k->type == SEARCH_KEYWORD)
		k->keyword = mailbox_keyword_find(box, k->str);
}

int imap_search_run_match(struct imap_search_run *run, struct mailbox *box, unsigned seq,
			  const struct store_msg *msg)
{
	enum tri r;

	if (run->keywords_of != box) {
		find_keywords(run->key, box);
		run->keywords_of = box;
	}
	run->seq = seq;
	run->msg = msg;
	run->internal_day = local_day(msg->received);
	run->reading = false;
	run->header_done = false;
	run->body_done = false;
	run->sent_day = 0;
	r = eval(run, run->key);
	if (r != MAYBE)
		return r == YES;
	return read_message(run, box);
}
