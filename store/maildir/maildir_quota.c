/*
 * The account's quota usage, in the Maildir++ "maildirsize" file at the top
 * of the user's Maildir, so Courier, maildrop, Exim and Dovecot read and
 * keep the same numbers (www.courier-mta.org/imap/README.maildirquota.html):
 *
 *   1073741824S,10000C      the limits: bytes (S) and messages (C)
 *   51234 12                then one "bytes messages" line per change,
 *   -2048 -1                appended; the usage is their sum
 *
 * Sizes are the ",S=" of the file names (the size as stored), else the
 * file's size; every folder counts, and cur/ and new/, not tmp/.
 *
 * duomail changes it under duomail-quota.lock (an OFD lock, like the index
 * locks), held across the check and the change it guards (a save's rename,
 * an expunge's unlinks), so two processes cannot both take the last room,
 * and a recount never runs between a change and its line.  Others append
 * without our lock; each append is one write() with O_APPEND, as theirs are.
 *
 * The file is recounted from the directories (and replaced by a rename)
 * when it is missing, when a line
 * does not parse or the sum is negative, when it has grown past 5120 bytes
 * (the Maildir++ rule: that keeps reads small and lets drift from programs
 * that do not keep it, like an MTA writing into new/, heal), and, before a
 * save is refused, when it has not changed for 15 minutes (the same rule as
 * Courier's and Dovecot's: an over-quota verdict from an old file may be
 * drift).  A header with other limits than ours is rewritten with the
 * same sum (no recount: a session that logged in before the admin changed
 * the limits keeps its own, and must not cost a full count per save).
 * Lock order: a folder's index lock, then this one; never the
 * other way round.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAILDIRSIZE_MAX		5120
#define MAILDIRSIZE_STALE	(15 * 60)
#define MAILDIRSIZE_READ_MAX	65536

static bool limits_set(const struct store *st)
{
	return st->quota_storage != 0 || st->quota_messages != 0;
}

static char *quota_path(struct store *st, const char *name)
{
	return xasprintf("%s/%s", maildir_store(st)->dir, name);
}

uint64_t maildir_quota_size(const char *fname, uint64_t size_on_disk)
{
	const char *end = strchr(fname, ':');
	size_t len = end != NULL ? (size_t)(end - fname) : strlen(fname);
	const char *p = fname;

	while ((p = memmem(p, len - (size_t)(p - fname), ",S=", 3)) != NULL) {
		uint64_t v = 0;
		const char *d = p + 3;

		for (; d < fname + len && *d >= '0' && *d <= '9' && v < UINT64_MAX / 10; d++)
			v = v * 10 + (uint64_t)(*d - '0');
		if (d > p + 3 && (d == fname + len || *d == ','))
			return v;
		p++;
	}
	return size_on_disk;
}

/* Adds up the messages in dir/cur and dir/new. */
static int scan_folder(const char *dir, uint64_t *bytes, uint64_t *count)
{
	static const char *const subs[] = { "cur", "new" };

	for (size_t k = 0; k < 2; k++) {
		char *path = xasprintf("%s/%s", dir, subs[k]);
		DIR *d = opendir(path);
		struct dirent *de;

		free(path);
		if (d == NULL) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			struct stat sb;

			if (de->d_name[0] == '.')
				continue;
			/* A file that vanished meanwhile was expunged: not counted. */
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(sb.st_mode))
				continue;
			*bytes += maildir_quota_size(de->d_name, (uint64_t)sb.st_size);
			(*count)++;
		}
		closedir(d);
	}
	return 0;
}

int maildir_quota_scan_folder(const char *dir, uint64_t *bytes_r, uint64_t *count_r)
{
	*bytes_r = *count_r = 0;
	return scan_folder(dir, bytes_r, count_r);
}

/* INBOX and every Maildir++ folder (".name" holding a cur/). */
static int scan_account(struct store *st, uint64_t *bytes, uint64_t *count)
{
	const char *top = maildir_store(st)->dir;
	struct dirent *de;
	DIR *d;

	*bytes = *count = 0;
	if (scan_folder(top, bytes, count) < 0)
		return store_fail(st, maildir_errno(errno), "%s: %s", top, strerror(errno));
	d = opendir(top);
	if (d == NULL)
		return store_fail(st, maildir_errno(errno), "%s: %s", top, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *dir, *cur;
		struct stat sb;
		bool folder;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		dir = xasprintf("%s/%s", top, de->d_name);
		cur = xasprintf("%s/cur", dir);
		folder = stat(cur, &sb) == 0 && S_ISDIR(sb.st_mode);
		if (folder && scan_folder(dir, bytes, count) < 0)
			log_warn("maildir %s: cannot count it for the quota: %s", dir,
				 strerror(errno));
		free(cur);
		free(dir);
	}
	closedir(d);
	return 0;
}

/* "1000S,10C" for st's limits. */
static void format_limits(const struct store *st, char *buf, size_t size)
{
	if (st->quota_storage != 0 && st->quota_messages != 0)
		snprintf(buf, size, "%" PRIu64 "S,%" PRIu64 "C", st->quota_storage,
			 st->quota_messages);
	else if (st->quota_messages != 0)
		snprintf(buf, size, "%" PRIu64 "C", st->quota_messages);
	else
		snprintf(buf, size, "%" PRIu64 "S", st->quota_storage);
}

/* Replaces maildirsize with one holding st's limits and q's usage.  A
 * failure is logged: the numbers in q are right anyway, and the next
 * process tries again. */
static void rewrite(struct store *st, struct maildir_quota *q)
{
	char *path = quota_path(st, MAILDIR_QUOTA_FILE);
	char *tmp = quota_path(st, MAILDIR_QUOTA_FILE ".duomail-tmp");
	char limits[64];
	FILE *f;

	format_limits(st, limits, sizeof(limits));
	/* A fixed temp name: only the quota lock's holder writes it.  No
	 * fsync: a file lost in a crash is recounted. */
	f = fopen(tmp, "we");
	if (f == NULL || fprintf(f, "%s\n%" PRId64 " %" PRId64 "\n", limits, q->bytes,
				 q->messages) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
		log_warn("maildir %s: cannot write %s: %s", maildir_store(st)->dir,
			 MAILDIR_QUOTA_FILE, strerror(errno));
		unlink(tmp);
	}
	q->mtime = time(NULL);
	free(path);
	free(tmp);
}

/* Counts the account from its folders and rewrites the record. */
static int recount(struct store *st, struct maildir_quota *q)
{
	uint64_t bytes, count;

	if (scan_account(st, &bytes, &count) < 0)
		return -1;
	q->bytes = (int64_t)bytes;
	q->messages = (int64_t)count;
	q->recounted = true;
	rewrite(st, q);
	return 0;
}

/* "1000S,10C" (either part may be missing, in either order). */
static bool parse_limits(const char *line, uint64_t *storage_r, uint64_t *messages_r)
{
	const char *p = line;

	*storage_r = *messages_r = 0;
	while (*p != '\0') {
		uint64_t v = 0;
		const char *d = p;

		for (; *d >= '0' && *d <= '9'; d++) {
			if (v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (uint64_t)(*d - '0');
		}
		if (d == p || (*d != 'S' && *d != 'C'))
			return false;
		if (*d == 'S')
			*storage_r = v;
		else
			*messages_r = v;
		p = d + 1;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return false;
	}
	return true;
}

/* One "bytes messages" line: signed numbers, blanks around them. */
static bool parse_delta(const char *line, int64_t *bytes_r, int64_t *count_r)
{
	char *end;
	long long b, c;

	errno = 0;
	b = strtoll(line, &end, 10);
	if (end == line || errno != 0 || (*end != ' ' && *end != '\t'))
		return false;
	line = end;
	c = strtoll(line, &end, 10);
	if (end == line || errno != 0)
		return false;
	end += strspn(end, " \t");
	if (*end != '\0')
		return false;
	*bytes_r = b;
	*count_r = c;
	return true;
}

/* Sums maildirsize into q.  1 read and plausible, 2 the same but with
 * other limits in its header, 0 needs a recount (missing, damaged, too
 * big), -1 I/O error. */
static int read_usage(struct store *st, struct maildir_quota *q)
{
	char *path = quota_path(st, MAILDIR_QUOTA_FILE);
	char *buf = NULL, *line, *save = NULL;
	uint64_t storage, messages;
	int64_t bytes = 0, count = 0;
	struct stat sb;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 :
			store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		ret = store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
		goto out;
	}
	q->mtime = sb.st_mtime;
	q->exists = true;
	if (sb.st_size > MAILDIRSIZE_MAX)
		goto out;
	buf = xmalloc(MAILDIRSIZE_READ_MAX + 1);
	n = pread(fd, buf, MAILDIRSIZE_READ_MAX, 0);
	if (n < 0) {
		ret = store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	/* A torn last line (a writer that died mid-append) is damage too. */
	if (n == 0 || buf[n - 1] != '\n' || memchr(buf, '\0', (size_t)n) != NULL)
		goto out;
	line = strtok_r(buf, "\n", &save);
	if (line == NULL || !parse_limits(line, &storage, &messages))
		goto out;
	q->header_ok = true;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		int64_t b, c;

		if (!parse_delta(line, &b, &c))
			goto out;
		bytes += b;
		count += c;
	}
	if (bytes < 0 || count < 0)
		goto out;
	q->bytes = bytes;
	q->messages = count;
	/* Other limits (changed by the admin, or a session that logged in
	 * before the change): the sum is good, only the header is rewritten. */
	ret = limits_set(st) && (storage != st->quota_storage || messages != st->quota_messages) ?
		2 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return ret;
}

int maildir_quota_begin(struct store *st, struct maildir_quota *q)
{
	char *lock;
	int ret;

	memset(q, 0, sizeof(*q));
	q->lockfd = -1;
	if (!limits_set(st)) {
		/* No limits of ours: keep someone else's record right, if any. */
		char *path = quota_path(st, MAILDIR_QUOTA_FILE);
		struct stat sb;
		bool exists = lstat(path, &sb) == 0;

		free(path);
		if (!exists)
			return 0;
	}
	lock = quota_path(st, MAILDIR_QUOTA_LOCK);
	q->lockfd = maildir_lock_file(st, lock);
	free(lock);
	if (q->lockfd < 0)
		return -1;
	ret = read_usage(st, q);
	if (ret < 0) {
		maildir_quota_end(q);
		return -1;
	}
	if (ret == 1)
		return 0;
	if (ret == 2) {
		rewrite(st, q);
		return 0;
	}
	if (!limits_set(st)) {
		/* Needs a recount, but without limits we cannot write its
		 * header: leave it to a process that has them. */
		maildir_quota_end(q);
		return 0;
	}
	if (recount(st, q) < 0) {
		maildir_quota_end(q);
		return -1;
	}
	return 0;
}

static bool over(const struct store *st, const struct maildir_quota *q, uint64_t bytes,
		 uint64_t messages)
{
	uint64_t used_b = (uint64_t)q->bytes, used_m = (uint64_t)q->messages;

	return (st->quota_storage != 0 &&
		(bytes > st->quota_storage || used_b > st->quota_storage - bytes)) ||
	       (st->quota_messages != 0 &&
		(messages > st->quota_messages || used_m > st->quota_messages - messages));
}

int maildir_quota_fits(struct store *st, struct maildir_quota *q, uint64_t bytes,
		       uint64_t messages)
{
	if (q->lockfd < 0 || !limits_set(st) || !over(st, q, bytes, messages))
		return 0;
	if (!q->recounted && time(NULL) - q->mtime >= MAILDIRSIZE_STALE) {
		if (recount(st, q) < 0)
			return -1;
		if (!over(st, q, bytes, messages))
			return 0;
	}
	return store_fail(st, STORE_ERR_OVERQUOTA, "over quota: %" PRId64 " bytes in %" PRId64
			  " messages used of %" PRIu64 "/%" PRIu64 ", %" PRIu64 " more asked",
			  q->bytes, q->messages, st->quota_storage, st->quota_messages, bytes);
}

uint64_t maildir_quota_room(const struct store *st, const struct maildir_quota *q)
{
	if (q->lockfd < 0 || st->quota_storage == 0)
		return UINT64_MAX;
	return (uint64_t)q->bytes >= st->quota_storage ? 0 :
		st->quota_storage - (uint64_t)q->bytes;
}

void maildir_quota_record(struct store *st, struct maildir_quota *q, int64_t bytes,
			  int64_t messages)
{
	char *path, line[64];
	int fd, len;

	if (q->lockfd < 0 || (bytes == 0 && messages == 0))
		return;
	q->bytes += bytes;
	q->messages += messages;
	path = quota_path(st, MAILDIR_QUOTA_FILE);
	len = snprintf(line, sizeof(line), "%" PRId64 " %" PRId64 "\n", bytes, messages);
	/* Not O_CREAT: a file someone removed meanwhile is recounted by the
	 * next process with limits, and a new one here would lack them. */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		log_warn("maildir %s: cannot update %s: %s (it is recounted later)",
			 maildir_store(st)->dir, MAILDIR_QUOTA_FILE, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
}

void maildir_quota_end(struct maildir_quota *q)
{
	maildir_unlock(&q->lockfd);
}

int maildir_quota_get(struct store *st, struct store_quota *q_r)
{
	struct maildir_quota q;
	uint64_t bytes, count;

	if (maildir_quota_begin(st, &q) < 0)
		return -1;
	if (q.lockfd >= 0) {
		q_r->storage_used = (uint64_t)q.bytes;
		q_r->messages_used = (uint64_t)q.messages;
		maildir_quota_end(&q);
		return 0;
	}
	/* Nothing recorded: count now, without keeping a record. */
	if (scan_account(st, &bytes, &count) < 0)
		return -1;
	q_r->storage_used = bytes;
	q_r->messages_used = count;
	return 0;
}

int maildir_quota_check(struct store *st, uint64_t bytes, uint64_t messages)
{
	struct maildir_quota q;
	int ret;

	if (maildir_quota_begin(st, &q) < 0)
		return -1;
	ret = maildir_quota_fits(st, &q, bytes, messages);
	maildir_quota_end(&q);
	return ret;
}
