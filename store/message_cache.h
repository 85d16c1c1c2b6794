#ifndef DUOMAIL_MESSAGE_CACHE_H
#define DUOMAIL_MESSAGE_CACHE_H
/*
 * A bounded cache of parsed message structures (store/message.h trees) for
 * one mailbox view, keyed by UID.  IMAP clients ask for a message's
 * BODYSTRUCTURE and then for its parts one FETCH at a time; without a cache
 * every FETCH would read and parse the whole message again.
 *
 * Bounded twice: by entry count and by the memory the trees take
 * (message_part_mem_size()).  The least recently used entry goes first; the
 * entry just added is always kept, even if it alone is over the byte bound,
 * so the caller can use what it just parsed.  Lookups are O(1).
 *
 * Not thread-safe: one user at a time, like the mailbox view it belongs to.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct message_cache;
struct message_part;

struct message_cache *message_cache_new(unsigned max_entries, size_t max_bytes);
void message_cache_free(struct message_cache **cache);

/* The tree cached for uid (now the most recently used), or NULL.  It stays
 * valid until the next put, forget, retain or free on cache. */
const struct message_part *message_cache_get(struct message_cache *cache, uint32_t uid);

/* Caches part for uid, taking it over (an older tree for uid is freed), and
 * evicts least recently used entries until the bounds hold again, never the
 * new one.  Returns part. */
const struct message_part *message_cache_put(struct message_cache *cache, uint32_t uid,
					     struct message_part *part);

/* Drops uid's entry, if any (the message was expunged). */
void message_cache_forget(struct message_cache *cache, uint32_t uid);

/* Drops every entry for which keep(ctx, uid) is false. */
void message_cache_retain(struct message_cache *cache, bool (*keep)(void *ctx, uint32_t uid),
			  void *ctx);

unsigned message_cache_count(const struct message_cache *cache);
size_t message_cache_bytes(const struct message_cache *cache);

/* Heap memory a tree takes, approximately (nodes, strings, parameters). */
size_t message_part_mem_size(const struct message_part *part);

#endif
