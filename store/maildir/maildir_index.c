/*
 * duomail-index: the metadata file of one Maildir folder.
 *
 *   duomail-index 3 UIDVALIDITY UIDNEXT FIRST-RECENT-UID CRC
 *   UID VSIZE PSIZE POP3-RETRIEVED UIDL BASE CRC
 *   ...
 *
 * One line per message in UID order; BASE may hold spaces, never a line
 * break.  CRC is the CRC-32 (zlib's) of the line before it, as 8 lower-case
 * hex digits after one space, so each line proves itself whole.  The UIDL
 * column is for people and tools reading the file: the store always derives
 * UIDLs from the base name (or takes the imported one kept beside the index,
 * maildir_uidls.c, which this column does not show), so they cannot drift
 * from what a rebuilt index would say.  Versions 1 (no FIRST-RECENT required, no UIDL column) and 2
 * (no CRC) are still read; the next write makes them version 3.
 *
 * What a damaged file still tells us (issue 4: keep UIDs where the data
 * allows, else a new UIDVALIDITY):
 * - a version 3 file whose header line checks out but some of whose entry
 *   lines do not (torn, cut short, edited, bit rot): the good entries keep
 *   their UIDs, and UIDVALIDITY stays.  The header's UIDNEXT is above every
 *   UID ever handed out in this epoch, so the messages whose lines were lost
 *   get new UIDs from there on: to a client that is an expunge and a new
 *   message, which IMAP allows at any time; a UID never comes to name
 *   another message (RFC 3501 §2.3.1.1);
 * - anything else unexpected (a bad header, or any fault in a version 1 or 2
 *   file, which has nothing to tell a good line from a changed one): the
 *   whole file is damaged, and the caller rebuilds it from the directory
 *   with a new UIDVALIDITY rather than trust any of it.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define INDEX_VERSION 3
#define CRC_SUFFIX 9	/* " " and 8 hex digits */

void maildir_index_free(struct maildir_index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		free(idx->entries[i].base);
	free(idx->entries);
	idx->entries = NULL;
	idx->count = 0;
}

/* A decimal number <= max at *p, followed by a space (skipped) or, when
 * last is set, by the end of the line. */
static bool parse_num(char **p, uint64_t max, bool last, uint64_t *v_r)
{
	uint64_t v = 0;
	char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (last ? *s != '\0' : *s != ' ')
		return false;
	*p = last ? s : s + 1;
	*v_r = v;
	return true;
}

/* "duomail-index VERSION UIDVALIDITY UIDNEXT [FIRST-RECENT]" */
static bool parse_header(char *line, int *version_r, struct maildir_index *idx)
{
	static const char magic[] = "duomail-index ";
	uint64_t version, validity, next, recent;
	char *p = line;

	if (strncmp(p, magic, sizeof(magic) - 1) != 0)
		return false;
	p += sizeof(magic) - 1;
	if (!parse_num(&p, INDEX_VERSION, false, &version) || version == 0 ||
	    !parse_num(&p, UINT32_MAX, false, &validity) || validity == 0)
		return false;
	/* Keep what we know of the old UID epoch even if the rest is bad. */
	idx->uidvalidity = (uint32_t)validity;
	if (version == 1 && parse_num(&p, UINT32_MAX, true, &next)) {
		recent = next;
	} else if (!parse_num(&p, UINT32_MAX, false, &next) ||
		   !parse_num(&p, UINT32_MAX, true, &recent)) {
		return false;
	}
	if (next == 0 || recent > next)
		return false;
	idx->uidnext = (uint32_t)next;
	idx->first_recent = recent > 0 ? (uint32_t)recent : (uint32_t)next;
	*version_r = (int)version;
	return true;
}

static bool parse_entry(char *line, int version, struct maildir_index_entry *e)
{
	uint64_t uid, vsize, psize, retrieved;
	char *p = line, *base;

	if (!parse_num(&p, UINT32_MAX, false, &uid) || uid == 0 ||
	    !parse_num(&p, INT64_MAX, false, &vsize) ||
	    !parse_num(&p, INT64_MAX, false, &psize) ||
	    !parse_num(&p, INT64_MAX, false, &retrieved))
		return false;
	if (version >= 2) {
		/* The UIDL column: one word, not used (see the top). */
		char *uidl = p;

		p = strchr(p, ' ');
		if (p == NULL || p == uidl)
			return false;
		p++;
	}
	base = p;
	if (base[0] == '\0' || strpbrk(base, "/:\r") != NULL)
		return false;
	e->uid = (uint32_t)uid;
	e->vsize = vsize;
	e->psize = psize;
	e->retrieved = (time_t)retrieved;
	e->base = xstrdup(base);
	return true;
}

static int cmp_entry_base(const void *a, const void *b)
{
	return strcmp(((const struct maildir_index_entry *)a)->base,
		      ((const struct maildir_index_entry *)b)->base);
}

static int cmp_entry_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct maildir_index_entry *)a)->uid;
	uint32_t y = ((const struct maildir_index_entry *)b)->uid;

	return x < y ? -1 : x > y;
}

static uint32_t line_crc(const char *line, size_t len)
{
	return (uint32_t)crc32(0, (const Bytef *)line, (uInt)len);
}

/* A version 3 line (without its line end) ends in " CRC": true, with the
 * CRC cut off, if it matches what comes before. */
static bool strip_crc(char *line, size_t len)
{
	uint32_t want = 0;

	if (len < CRC_SUFFIX + 1 || line[len - CRC_SUFFIX] != ' ')
		return false;
	for (size_t i = len - CRC_SUFFIX + 1; i < len; i++) {
		char c = line[i];

		if (c >= '0' && c <= '9')
			want = want << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			want = want << 4 | (uint32_t)(c - 'a' + 10);
		else
			return false;
	}
	if (line_crc(line, len - CRC_SUFFIX) != want)
		return false;
	line[len - CRC_SUFFIX] = '\0';
	return true;
}

/* Drops every entry whose UID or base another entry has too (entries
 * sorted by base on return).  Those lines passed their CRC, so we never
 * wrote them: neither can be trusted.  Returns how many were dropped. */
static size_t drop_duplicates(struct maildir_index *idx)
{
	size_t dropped = 0;

	for (int pass = 0; pass < 2; pass++) {
		int (*cmp)(const void *, const void *) = pass == 0 ? cmp_entry_uid : cmp_entry_base;
		size_t o = 0, i = 0;

		if (idx->count > 1)
			qsort(idx->entries, idx->count, sizeof(*idx->entries), cmp);
		while (i < idx->count) {
			size_t j = i + 1;

			while (j < idx->count && cmp(&idx->entries[i], &idx->entries[j]) == 0)
				j++;
			if (j - i == 1) {
				idx->entries[o++] = idx->entries[i];
			} else {
				for (size_t k = i; k < j; k++)
					free(idx->entries[k].base);
				dropped += j - i;
			}
			i = j;
		}
		idx->count = o;
	}
	return dropped;
}

static void add_entry(struct maildir_index *idx, size_t *alloc, const struct maildir_index_entry *e)
{
	if (idx->count == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 64;
		idx->entries = xrealloc(idx->entries, *alloc * sizeof(*idx->entries));
	}
	idx->entries[idx->count++] = *e;
}

/* Parses an index file read into memory (f reads those bytes). */
static enum maildir_index_state index_parse(FILE *f, struct maildir_index *idx)
{
	enum maildir_index_state state = MAILDIR_INDEX_OK;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;
	int version = 0, err;
	bool checked;

	memset(idx, 0, sizeof(*idx));
	n = getline(&line, &cap, f);
	if (n <= 0 || line[n - 1] != '\n') {
		state = n < 0 && ferror(f) ? MAILDIR_INDEX_IOERR : MAILDIR_INDEX_DAMAGED;
		goto out;
	}
	line[--n] = '\0';
	/* From version 3 on, nothing of a header that fails its CRC is used,
	 * not even the UIDVALIDITY: a changed digit could make it one that
	 * was handed out before. */
	checked = strncmp(line, "duomail-index ", 14) == 0 && line[14] >= '3' && line[14] <= '9';
	if ((checked && !strip_crc(line, (size_t)n)) || !parse_header(line, &version, idx)) {
		if (checked)
			idx->uidvalidity = 0;
		state = MAILDIR_INDEX_DAMAGED;
		goto out;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		struct maildir_index_entry e;
		/* A missing line end means a torn file: never written by us. */
		bool whole = line[n - 1] == '\n';

		if (whole)
			line[--n] = '\0';
		if (version >= 3) {
			/* A bad line costs its message its UID, not the others. */
			if (!whole || !strip_crc(line, (size_t)n) ||
			    !parse_entry(line, version, &e)) {
				idx->lost++;
				continue;
			}
			if (e.uid >= idx->uidnext) {
				free(e.base);
				idx->lost++;
				continue;
			}
			add_entry(idx, &alloc, &e);
			continue;
		}
		if (!whole || !parse_entry(line, version, &e)) {
			state = MAILDIR_INDEX_DAMAGED;
			goto out;
		}
		if (e.uid >= idx->uidnext ||
		    (idx->count > 0 && e.uid <= idx->entries[idx->count - 1].uid)) {
			free(e.base);
			state = MAILDIR_INDEX_DAMAGED;
			goto out;
		}
		add_entry(idx, &alloc, &e);
	}
	if (ferror(f)) {
		state = MAILDIR_INDEX_IOERR;
		goto out;
	}
	if (version >= 3) {
		idx->lost += drop_duplicates(idx);
		if (idx->lost > 0)
			state = MAILDIR_INDEX_PARTIAL;
		goto out;
	}
	if (idx->count > 1)
		qsort(idx->entries, idx->count, sizeof(*idx->entries), cmp_entry_base);
	for (size_t i = 1; i < idx->count; i++) {
		if (strcmp(idx->entries[i - 1].base, idx->entries[i].base) == 0) {
			state = MAILDIR_INDEX_DAMAGED;
			break;
		}
	}
out:
	err = errno;
	free(line);
	if (state != MAILDIR_INDEX_OK && state != MAILDIR_INDEX_PARTIAL)
		maildir_index_free(idx);
	errno = err;
	return state;
}

/* The whole file at path into *buf_r (NUL-terminated), or -1 with errno. */
static int slurp(const char *path, char **buf_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	struct stat sb;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0)
		goto fail;
	cap = (size_t)sb.st_size + 1;	/* a file growing meanwhile is read whole too */
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
fail:
	err = errno;
	close(fd);
	free(buf);
	errno = err;
	return -1;
}

enum maildir_index_state maildir_index_read(const char *dir, struct maildir_index *idx)
{
	char *path = xasprintf("%s/%s", dir, MAILDIR_INDEX);
	enum maildir_index_state state;
	size_t len;
	char *buf;
	FILE *f;
	int err;

	memset(idx, 0, sizeof(*idx));
	err = slurp(path, &buf, &len);
	free(path);
	if (err < 0)
		return errno == ENOENT ? MAILDIR_INDEX_MISSING : MAILDIR_INDEX_IOERR;
	/* The same bytes as another session of this process parsed: the
	 * same index (maildir_indexcache.c). */
	if (maildir_indexcache_get(dir, buf, len, idx)) {
		free(buf);
		return MAILDIR_INDEX_OK;
	}
	if (len == 0) {
		free(buf);
		return MAILDIR_INDEX_DAMAGED;	/* not even a header line */
	}
	f = fmemopen(buf, len, "r");
	if (f == NULL) {
		err = errno;
		free(buf);
		errno = err;
		return MAILDIR_INDEX_IOERR;
	}
	state = index_parse(f, idx);
	err = errno;
	fclose(f);
	if (state == MAILDIR_INDEX_OK)
		maildir_indexcache_put(dir, buf, len, idx);
	free(buf);
	errno = err;
	return state;
}

static enum store_error write_error(int err)
{
	return err == ENOSPC || err == EDQUOT ? STORE_ERR_NOSPACE : STORE_ERR_TEMP;
}

/*
 * The file is formatted in memory and written at once: it is rewritten
 * whole at every change (an APPEND's UID, an expunge, a \Recent claim),
 * and printf per field with a copy per line was a tenth of a busy
 * worker's time at 1,000 messages a folder.
 */
struct out {
	char *data;
	size_t len, cap;
	size_t line;		/* where the current line starts */
};

static char *out_room(struct out *o, size_t want)
{
	if (o->cap - o->len < want) {
		while (o->cap - o->len < want)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->data = xrealloc(o->data, o->cap);
	}
	return o->data + o->len;
}

static void out_str(struct out *o, const char *s, size_t len)
{
	memcpy(out_room(o, len), s, len);
	o->len += len;
}

static void out_u64(struct out *o, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	char *p = out_room(o, n);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	o->len += n;
}

static void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_str(o, "-", 1);
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

/* Ends the current line with its CRC (see the top). */
static void out_end_line(struct out *o)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t crc = line_crc(o->data + o->line, o->len - o->line);
	char *p = out_room(o, 10);

	p[0] = ' ';
	for (int i = 0; i < 8; i++)
		p[1 + i] = hex[(crc >> (28 - 4 * i)) & 0xf];
	p[9] = '\n';
	o->len += 10;
	o->line = o->len;
}

/* The whole file for idx. */
static void format_index(struct out *o, const struct maildir_index *idx)
{
	out_str(o, "duomail-index ", 14);
	out_u64(o, INDEX_VERSION);
	out_str(o, " ", 1);
	out_u64(o, idx->uidvalidity);
	out_str(o, " ", 1);
	out_u64(o, idx->uidnext);
	out_str(o, " ", 1);
	out_u64(o, idx->first_recent);
	out_end_line(o);
	for (size_t i = 0; i < idx->count; i++) {
		const struct maildir_index_entry *e = &idx->entries[i];
		char *uidl = maildir_uidl(e->base);

		out_u64(o, e->uid);
		out_str(o, " ", 1);
		out_u64(o, e->vsize);
		out_str(o, " ", 1);
		out_u64(o, e->psize);
		out_str(o, " ", 1);
		out_i64(o, (int64_t)e->retrieved);
		out_str(o, " ", 1);
		out_str(o, uidl, strlen(uidl));
		out_str(o, " ", 1);
		out_str(o, e->base, strlen(e->base));
		out_end_line(o);
		free(uidl);
	}
}

/* Puts tmp in path's place, atomically, keeping path's old file at tmp;
 * a plain rename where there is no old file or the file system cannot
 * exchange. */
static int swap_in(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
		return -1;
	return rename(tmp, path);
}

int maildir_index_write(struct store *st, const char *dir, const struct maildir_index *idx,
			int lockfd)
{
	char *lock = xasprintf("%s/%s", dir, MAILDIR_INDEX_LOCK);
	char *tmp = xasprintf("%s/%s", dir, MAILDIR_INDEX_TMP);
	char *path = xasprintf("%s/%s", dir, MAILDIR_INDEX);
	struct out o = { 0 };
	int fd, err, ret = -1;

	/* A fixed temp name is safe: only the lock holder writes it.  (Were
	 * the lock file deleted while held, a second holder could write it at
	 * the same time; the check before the rename keeps the first from
	 * committing, and a file mixed from two writers shows torn lines or
	 * a UID twice, which maildir_index_read() does not trust.)
	 *
	 * The temp file is the previous index, swapped out by the last write
	 * (RENAME_EXCHANGE), rewritten in place: a new file for every change
	 * and the old one's deletion cost a busy folder a fifth of its CPU in
	 * the file system's inode allocator (ext4's recently_deleted scan,
	 * IMAP mixed at 100 clients).  Readers read the index under the lock
	 * only, so none is reading the inode while it is rewritten. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		store_fail(st, write_error(errno), "%s: %s", tmp, strerror(errno));
		goto out;
	}
	format_index(&o, idx);
	/* Crash safety: the new file is complete on disk before it replaces
	 * the old one, and the rename itself is made durable. */
	if (maildir_write_all(fd, o.data, o.len) < 0 || fsync(fd) != 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		store_fail(st, write_error(err), "%s: %s", tmp, strerror(err));
		goto out;
	}
	/* The last moment before the commit: is our lock still the one
	 * everybody takes?  (The README lets admins delete the lock file.) */
	if (!maildir_lock_is_current(lockfd, lock)) {
		close(fd);
		unlink(tmp);
		store_fail(st, STORE_ERR_TEMP, "%s was removed while we held it; not writing %s",
			   lock, path);
		goto out;
	}
	if (close(fd) != 0 || swap_in(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		store_fail(st, write_error(err), "%s: %s", path, strerror(err));
		goto out;
	}
	if (maildir_fsync_dir(dir) < 0) {
		store_fail(st, write_error(errno), "fsync %s: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(o.data);
	free(lock);
	free(tmp);
	free(path);
	return ret;
}

uint32_t maildir_index_new_uidvalidity(int lockfd, uint32_t known)
{
	char buf[32];
	uint32_t now = (uint32_t)time(NULL), v;
	ssize_t n;
	int len;

	/* The lock file outlives any index (it is never replaced), so it
	 * remembers the last UIDVALIDITY given out.  Without it two rebuilds in
	 * one second would reuse a value for a different UID numbering, and
	 * clients' caches (RFC 3501 §2.3.1.1) would show the wrong messages. */
	n = pread(lockfd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		char *end;
		unsigned long long last;

		buf[n] = '\0';
		last = strtoull(buf, &end, 10);
		if (end != buf && (*end == '\n' || *end == '\0') && last < UINT32_MAX &&
		    last > known)
			known = (uint32_t)last;
	}
	v = now > known ? now : known + 1;
	if (v == 0)
		v = 1;	/* wrapped past 2^32-1: start over rather than use 0 */
	len = snprintf(buf, sizeof(buf), "%" PRIu32 "\n", v);
	if (pwrite(lockfd, buf, (size_t)len, 0) != len || ftruncate(lockfd, len) < 0)
		log_warn("maildir: cannot record UIDVALIDITY in the lock file: %s",
			 strerror(errno));
	return v;
}
