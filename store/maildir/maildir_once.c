/*
 * "Logged once per message, not per access" (issue 4): a broken file in a
 * Maildir (unreadable, replaced by a link, gone behind our back, a stray
 * directory) is met again at every sync, RETR or FETCH, and a log that says
 * so a thousand times hides everything else.  This remembers, per process,
 * which problems were logged: a bounded set of digests of (folder, file,
 * kind), forgotten all at once when it fills up, so a long-running worker
 * says it again now and then rather than never.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define ONCE_SLOTS 4096		/* a power of two */
#define ONCE_FULL (ONCE_SLOTS / 4 * 3)

static pthread_mutex_t once_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t once_slots[ONCE_SLOTS];	/* 0: free */
static unsigned once_used;

bool maildir_once(const char *folder, const char *name, const char *kind)
{
	unsigned char digest[20];
	char *key = xasprintf("%s\n%s\n%s", folder, name, kind);
	uint64_t h;
	bool fresh = true;
	size_t i;

	/* Thread-pool jobs of several sessions report at once, hence the
	 * lock; a digest, so the table is small whatever the names. */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, key, strlen(key), digest) < 0)
		fatal("gnutls_hash_fast(SHA1) failed");
	free(key);
	memcpy(&h, digest, sizeof(h));
	h |= 1;		/* never 0 */
	pthread_mutex_lock(&once_lock);
	if (once_used >= ONCE_FULL) {
		memset(once_slots, 0, sizeof(once_slots));
		once_used = 0;
	}
	for (i = h & (ONCE_SLOTS - 1); once_slots[i] != 0; i = (i + 1) & (ONCE_SLOTS - 1)) {
		if (once_slots[i] == h) {
			fresh = false;
			break;
		}
	}
	if (fresh) {
		once_slots[i] = h;
		once_used++;
	}
	pthread_mutex_unlock(&once_lock);
	return fresh;
}
