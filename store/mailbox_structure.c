/*
 * Parsed MIME structures of a mailbox view's messages, cached per view.
 * Backend-neutral: the bytes come through the ordinary message stream, so
 * every backend gets the cache for free.  See mailbox_msg_structure() in
 * store.h.
 */
#include "store/store_private.h"
#include "store/message.h"
#include "store/message_cache.h"
#include "core/log.h"

#include <stdlib.h>

/* Per selected mailbox of each session: small, since a server holds
 * thousands of sessions.  A typical tree is one or two KB. */
#define STRUCTURE_CACHE_ENTRIES	64
#define STRUCTURE_CACHE_BYTES	(512u << 10)
#define STRUCTURE_READ_CHUNK	(64u << 10)

static bool in_view(void *ctx, uint32_t uid)
{
	return mailbox_find_uid(ctx, uid) >= 0;
}

void mailbox_structures_prune(struct mailbox *box)
{
	if (box->structures == NULL)
		return;
	/* A new UIDVALIDITY means old UIDs may now name other messages. */
	if (box->uidvalidity != box->structures_uidvalidity)
		message_cache_free(&box->structures);
	else
		message_cache_retain(box->structures, in_view, box);
}

void mailbox_structures_free(struct mailbox *box)
{
	message_cache_free(&box->structures);
}

static int parse_message(struct mailbox *box, uint32_t uid, struct message_part **part_r)
{
	struct msg_stream *stream;
	struct message_parser *parser;
	char *chunk;
	ssize_t n;

	if (mailbox_msg_open(box, uid, &stream) < 0)
		return -1;
	chunk = xmalloc(STRUCTURE_READ_CHUNK);
	parser = message_parser_new();
	while ((n = msg_stream_read(stream, chunk, STRUCTURE_READ_CHUNK)) > 0)
		message_parser_feed(parser, chunk, (size_t)n);
	*part_r = message_parser_finish(&parser);
	free(chunk);
	msg_stream_close(&stream);
	if (n < 0) {
		message_part_free(part_r);
		return -1;	/* the read recorded its error */
	}
	return 0;
}

int mailbox_msg_structure(struct mailbox *box, uint32_t uid, const struct message_part **part_r)
{
	const struct message_part *cached;
	struct message_part *part;

	if (box->structures != NULL && box->structures_uidvalidity != box->uidvalidity)
		message_cache_free(&box->structures);
	if (box->structures == NULL) {
		box->structures = message_cache_new(STRUCTURE_CACHE_ENTRIES, STRUCTURE_CACHE_BYTES);
		box->structures_uidvalidity = box->uidvalidity;
	}
	cached = message_cache_get(box->structures, uid);
	if (cached != NULL) {
		*part_r = cached;
		return 0;
	}
	if (parse_message(box, uid, &part) < 0)
		return -1;
	*part_r = message_cache_put(box->structures, uid, part);
	return 0;
}
