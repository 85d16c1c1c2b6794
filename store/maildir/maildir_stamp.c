/*
 * A re-sync of a big Maildir reads every name in cur/ (100,000 entries take
 * a few hundred milliseconds), yet most syncs (NOOP, IDLE start, a STATUS
 * poll) find nothing new.  Every change we care about leaves a trace in a
 * modification time: a delivery or move into new/ changes new/, a flag
 * change or expunge (rename, unlink in cur/) changes cur/, a \Recent claim
 * or UID assignment rewrites the index (a new inode).  If none of those
 * moved since the last sync, the view is current.
 *
 * File systems stamp times from a coarse clock (one kernel tick), so two
 * changes in the same tick, one before and one after our look, carry the
 * same time.  A stamp is trusted only if the directories' times were a
 * second old when it was taken; otherwise the next sync reads them again.
 */
#include "store/maildir/maildir.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#define STAMP_SETTLE_NS 1000000000LL

static int stat_time(const char *path, const char *sub, struct timespec *t, struct stat *sb_r)
{
	char buf[4096];
	struct stat sb;

	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", path, sub) >= sizeof(buf) ||
	    stat(buf, &sb) < 0)
		return -1;
	*t = sb.st_mtim;
	if (sb_r != NULL)
		*sb_r = sb;
	return 0;
}

int maildir_stamp_take(const char *path, bool dirs, struct maildir_stamp *st)
{
	struct stat sb;

	clock_gettime(CLOCK_REALTIME, &st->taken);
	if (dirs && (stat_time(path, "cur", &st->cur, NULL) < 0 ||
		     stat_time(path, "new", &st->new, NULL) < 0))
		return -1;
	if (stat_time(path, MAILDIR_INDEX, &st->index, &sb) < 0)
		return -1;
	st->index_ino = sb.st_ino;
	st->index_size = sb.st_size;
	st->valid = true;
	return 0;
}

static bool same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool settled(const struct timespec *t, const struct timespec *taken)
{
	long long age = (long long)(taken->tv_sec - t->tv_sec) * 1000000000LL +
			(taken->tv_nsec - t->tv_nsec);

	return age > STAMP_SETTLE_NS;
}

bool maildir_stamp_unchanged(const struct maildir_stamp *then, const struct maildir_stamp *now)
{
	if (!then->valid || !now->valid)
		return false;
	if (!same(&then->cur, &now->cur) || !same(&then->new, &now->new) ||
	    !same(&then->index, &now->index) || then->index_ino != now->index_ino ||
	    then->index_size != now->index_size)
		return false;
	/* The index needs no settling: it is replaced (a new inode) under
	 * the lock, and its stamp was taken under the lock. */
	return settled(&then->cur, &then->taken) && settled(&then->new, &then->taken);
}
