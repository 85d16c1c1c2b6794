/*
 * The message structure cache.  See message_cache.h.
 *
 * Entries sit on a doubly linked LRU list (most recent at the head) and in
 * a chained hash table on the UID, whose bucket count is a power of two at
 * least twice the entry bound, so chains stay short.
 */
#include "store/message_cache.h"
#include "store/message.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

struct cache_entry {
	uint32_t uid;
	struct message_part *part;
	size_t bytes;
	struct cache_entry *prev, *next;	/* LRU list */
	struct cache_entry *hnext;		/* hash chain */
};

struct message_cache {
	unsigned max_entries;
	size_t max_bytes;
	unsigned count;
	size_t bytes;
	struct cache_entry *head, *tail;
	struct cache_entry **buckets;
	size_t nbuckets;			/* a power of two */
};

static size_t str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static size_t params_size(const struct message_param *p, unsigned n)
{
	size_t total = n * sizeof(*p);

	for (unsigned i = 0; i < n; i++)
		total += str_size(p[i].name) + str_size(p[i].value);
	return total;
}

size_t message_part_mem_size(const struct message_part *part)
{
	size_t total = 0;

	for (; part != NULL; part = part->next) {
		total += sizeof(*part) + str_size(part->type) + str_size(part->subtype) +
			 str_size(part->id) + str_size(part->description) +
			 str_size(part->encoding) + str_size(part->md5) +
			 str_size(part->language) + str_size(part->location) +
			 str_size(part->disposition) + params_size(part->params, part->nparams) +
			 params_size(part->disposition_params, part->ndisposition_params);
		for (int i = 0; i < ENV_FIELD_COUNT; i++)
			total += str_size(part->env[i]);
		total += message_part_mem_size(part->children);
	}
	return total;
}

struct message_cache *message_cache_new(unsigned max_entries, size_t max_bytes)
{
	struct message_cache *c = xcalloc(1, sizeof(*c));

	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->max_bytes = max_bytes;
	c->nbuckets = 8;
	while (c->nbuckets < 2 * (size_t)c->max_entries)
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

static struct cache_entry **bucket(const struct message_cache *c, uint32_t uid)
{
	/* Fibonacci hashing: consecutive UIDs spread over the buckets. */
	uint32_t h = uid * 2654435769u;

	return &c->buckets[h & (c->nbuckets - 1)];
}

static struct cache_entry *find(const struct message_cache *c, uint32_t uid)
{
	struct cache_entry *e;

	for (e = *bucket(c, uid); e != NULL && e->uid != uid; e = e->hnext)
		;
	return e;
}

static void lru_unlink(struct message_cache *c, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct message_cache *c, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void remove_entry(struct message_cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = bucket(c, e->uid);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->count--;
	c->bytes -= e->bytes;
	message_part_free(&e->part);
	free(e);
}

void message_cache_free(struct message_cache **cp)
{
	struct message_cache *c = *cp;

	if (c == NULL)
		return;
	while (c->head != NULL)
		remove_entry(c, c->head);
	free(c->buckets);
	free(c);
	*cp = NULL;
}

const struct message_part *message_cache_get(struct message_cache *c, uint32_t uid)
{
	struct cache_entry *e = find(c, uid);

	if (e == NULL)
		return NULL;
	if (c->head != e) {
		lru_unlink(c, e);
		lru_push_front(c, e);
	}
	return e->part;
}

const struct message_part *message_cache_put(struct message_cache *c, uint32_t uid,
					     struct message_part *part)
{
	struct cache_entry *e = find(c, uid);

	if (e != NULL)
		remove_entry(c, e);
	e = xcalloc(1, sizeof(*e));
	e->uid = uid;
	e->part = part;
	e->bytes = sizeof(*e) + message_part_mem_size(part);
	e->hnext = *bucket(c, uid);
	*bucket(c, uid) = e;
	lru_push_front(c, e);
	c->count++;
	c->bytes += e->bytes;
	while (c->tail != e && (c->count > c->max_entries || c->bytes > c->max_bytes))
		remove_entry(c, c->tail);
	return part;
}

void message_cache_forget(struct message_cache *c, uint32_t uid)
{
	struct cache_entry *e = find(c, uid);

	if (e != NULL)
		remove_entry(c, e);
}

void message_cache_retain(struct message_cache *c, bool (*keep)(void *ctx, uint32_t uid),
			  void *ctx)
{
	struct cache_entry *e = c->head, *next;

	for (; e != NULL; e = next) {
		next = e->next;
		if (!keep(ctx, e->uid))
			remove_entry(c, e);
	}
}

unsigned message_cache_count(const struct message_cache *c)
{
	return c->count;
}

size_t message_cache_bytes(const struct message_cache *c)
{
	return c->bytes;
}
