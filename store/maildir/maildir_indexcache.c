/*
 * A process-wide copy of the last parsed duomail-index of each folder, so
 * that a re-sync whose index did not change since another session of this
 * worker read it need not parse it again.  While a folder keeps changing
 * (IMAP sessions storing flags, expunging, appending), every other session
 * of it re-syncs at its next command, and parsing the index (a CRC-32 per
 * line, a sort by base) took a tenth of a busy worker's time at 1,000
 * messages a folder (perf, IMAP mixed at 100 clients: crc32 alone 7 %).
 *
 * The file is still read every time: a copy is used only when the bytes
 * read now are the very bytes it was parsed from, and parsing is a function
 * of the bytes alone, so the copy is what a parse would give (no trust in
 * times or inode numbers, which can repeat within a clock tick).  Only
 * wholly good files (MAILDIR_INDEX_OK) are kept: damaged ones are rewritten
 * at once, and their warnings must be said.  Threads of the worker's pool
 * sync folders at once, so one mutex guards the table.
 */
#include "store/maildir/maildir.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define INDEXCACHE_ENTRIES	32
#define INDEXCACHE_MAX_BYTES	(24u << 20)	/* over all entries' files */

struct cached_index {
	char *path;		/* the folder directory */
	uint64_t used;		/* LRU clock */
	char *bytes;		/* the file it was parsed from */
	size_t len;
	struct maildir_index idx;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_index cache[INDEXCACHE_ENTRIES];
static uint64_t clock_now;

static void copy_index(const struct maildir_index *from, struct maildir_index *to)
{
	*to = *from;
	to->entries = xmalloc((from->count ? from->count : 1) * sizeof(*to->entries));
	if (from->count > 0)
		memcpy(to->entries, from->entries, from->count * sizeof(*to->entries));
	for (size_t i = 0; i < from->count; i++)
		to->entries[i].base = xstrdup(from->entries[i].base);
}

static void entry_free(struct cached_index *e)
{
	maildir_index_free(&e->idx);
	free(e->bytes);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

static struct cached_index *find(const char *path)
{
	for (unsigned i = 0; i < INDEXCACHE_ENTRIES; i++)
		if (cache[i].path != NULL && strcmp(cache[i].path, path) == 0)
			return &cache[i];
	return NULL;
}

bool maildir_indexcache_get(const char *dir, const char *bytes, size_t len,
			    struct maildir_index *idx)
{
	struct cached_index *e;
	bool hit = false;

	pthread_mutex_lock(&lock);
	e = find(dir);
	if (e != NULL && e->len == len && memcmp(e->bytes, bytes, len) == 0) {
		copy_index(&e->idx, idx);
		e->used = ++clock_now;
		hit = true;
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void maildir_indexcache_put(const char *dir, const char *bytes, size_t len,
			    const struct maildir_index *idx)
{
	struct cached_index fresh = { 0 };

	if (len > INDEXCACHE_MAX_BYTES)
		return;
	fresh.path = xstrdup(dir);
	fresh.bytes = xmalloc(len ? len : 1);
	memcpy(fresh.bytes, bytes, len);
	fresh.len = len;
	copy_index(idx, &fresh.idx);

	pthread_mutex_lock(&lock);
	struct cached_index *old = find(dir);

	if (old != NULL)
		entry_free(old);
	/* Room: drop least recently used entries until the total fits. */
	for (;;) {
		struct cached_index *oldest = NULL, *empty = NULL;
		size_t total = len;

		for (unsigned i = 0; i < INDEXCACHE_ENTRIES; i++) {
			if (cache[i].path == NULL) {
				empty = empty ? empty : &cache[i];
				continue;
			}
			total += cache[i].len;
			if (oldest == NULL || cache[i].used < oldest->used)
				oldest = &cache[i];
		}
		if (empty != NULL && total <= INDEXCACHE_MAX_BYTES) {
			fresh.used = ++clock_now;
			*empty = fresh;
			break;
		}
		entry_free(oldest);
	}
	pthread_mutex_unlock(&lock);
}
