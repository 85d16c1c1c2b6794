/* Arena allocation.  See pool.h. */
#include "core/pool.h"
#include "core/log.h"

#include <stdalign.h>
#include <string.h>

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

struct pool {
	size_t block_size;
	struct pool_block *blocks;	/* newest first; the oldest is kept by clear */
};

static struct pool_block *block_new(size_t size)
{
	struct pool_block *b = xmalloc(sizeof(*b) + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct pool *pool_new(size_t block_size)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->block_size = block_size < 256 ? 256 : block_size;
	p->blocks = block_new(p->block_size);
	return p;
}

void pool_clear(struct pool *p)
{
	while (p->blocks->next != NULL) {
		struct pool_block *b = p->blocks;

		p->blocks = b->next;
		free(b);
	}
	p->blocks->used = 0;
}

void pool_free(struct pool **pp)
{
	struct pool *p = *pp;

	if (p == NULL)
		return;
	pool_clear(p);
	free(p->blocks);
	free(p);
	*pp = NULL;
}

void *pool_alloc(struct pool *p, size_t size)
{
	const size_t align = alignof(max_align_t);
	size_t need = (size + align - 1) & ~(align - 1);
	struct pool_block *b = p->blocks;
	void *mem;

	if (need == 0)
		need = align;
	if (b->size - b->used < need) {
		/* A big request gets a block of its own behind the current one,
		 * so the current block's free space is not wasted. */
		if (need > p->block_size / 4) {
			struct pool_block *big = block_new(need);

			big->used = need;
			big->next = b->next;
			b->next = big;
			memset(big->data, 0, need);
			return big->data;
		}
		b = block_new(p->block_size);
		b->next = p->blocks;
		p->blocks = b;
	}
	mem = b->data + b->used;
	b->used += need;
	memset(mem, 0, need);
	return mem;
}

char *pool_strndup(struct pool *p, const char *data, size_t len)
{
	char *s = pool_alloc(p, len + 1);

	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}
