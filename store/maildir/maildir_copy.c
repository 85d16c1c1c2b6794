/*
 * Copying messages into a folder of the same store (IMAP COPY and MOVE).
 *
 * A copy is a hard link of the message file into the target's tmp/ under a
 * new unique name, so that it is a message of its own there (its own base
 * name, UID and POP3 UIDL) without the bytes being written twice; where the
 * file system refuses the link, the bytes are copied and fsync'd.  Then,
 * under the target's index lock, the copies are renamed into cur/ with
 * their flags and keywords (by name: the letters a-z mean what each
 * folder's dovecot-keywords says), cur/ is fsync'd, and they get the next
 * UIDs in the order they were asked for, written to the index before the
 * lock is released.  Any failure on the way undoes what was done, so the
 * target is as it was (RFC 3501 §6.4.7); a crash leaves at worst stray
 * files in tmp/, or copies in cur/ that nobody acknowledged, which the next
 * sync takes in.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries of a link that keeps losing to concurrent renames of its source. */
#define COPY_TRIES 8
#define COPY_CHUNK (64u << 10)

struct copy_item {
	uint32_t src_uid;
	char *unique;		/* its name in dest/tmp */
	char *base;		/* unique,S=..,W=.. */
	char *fname;		/* base:2,FLAGS, its name in dest/cur */
	struct store_msg m;	/* sizes, date and flags for the index */
	uint32_t src_keywords;	/* in the source's numbering */
	char kept[32];		/* ":2," and the source's other capital letters */
	bool in_cur;
	bool hidden;		/* the source is hidden from POP3: so is the copy */
};

struct copy_ctx {
	struct store *st;
	struct maildir_box *src;
	char *dest;		/* the target folder's directory */
	int tmpfd, curfd;	/* its tmp/ and cur/ */
	struct copy_item *items;	/* alloc of them, zeroed */
	size_t count, alloc;		/* items[0..count) are in tmp/ or cur/ */
	bool for_move;			/* mailbox_copy_for_move(): no quota check */
	struct maildir_quota quota;	/* held from the check until the copies
					 * are in or taken back */
};

static void items_free(struct copy_ctx *c)
{
	for (size_t i = 0; i < c->alloc; i++) {
		free(c->items[i].unique);
		free(c->items[i].base);
		free(c->items[i].fname);
	}
	free(c->items);
	c->items = NULL;
	c->count = c->alloc = 0;
}

/* The capital letters of the source's name as it is now, so the copy keeps
 * those we have no IMAP flag for ('P', passed) too.  Not the keyword
 * letters a-z: they stand for the source folder's keyword list, and are
 * carried over by name (map_keywords()). */
static void kept_letters(const char *src_fname, char *kept, size_t size)
{
	const char *info = strstr(src_fname, ":2,");
	size_t k = 3;

	memcpy(kept, ":2,", 4);
	for (const char *p = info != NULL ? info + 3 : ""; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z' && k < size - 1)
			kept[k++] = *p;
	kept[k] = '\0';
}

/* The copy's keywords in the target's numbering: by name, adding the names
 * the target has not had yet (we hold its lock).  A letter the source has
 * no name for is left out, and so is a name the target has no room for
 * (STORE_MAX_KEYWORDS): a COPY should not fail over a keyword. */
static int map_keywords(struct copy_ctx *c, struct maildir_box *box, uint32_t src_kw,
			uint32_t *kw_r)
{
	struct mailbox *src = &c->src->base;
	uint32_t kw = 0;

	for (unsigned k = 0; k < STORE_MAX_KEYWORDS; k++) {
		unsigned idx;
		int found;

		if ((src_kw & (1u << k)) == 0)
			continue;
		if (k >= src->nkeywords)
			maildir_keywords_load(c->src);	/* named after our last sync */
		if (k >= src->nkeywords)
			continue;
		found = mailbox_keyword_find(&box->base, src->keywords[k]);
		if (found >= 0) {
			idx = (unsigned)found;
		} else if (maildir_keyword_add_locked(box, src->keywords[k], &idx) < 0) {
			if (store_last_error(c->st, NULL) != STORE_ERR_NOSPACE)
				return -1;
			log_warn("maildir %s: no room for keyword %s; copied without it", c->dest,
				 src->keywords[k]);
			continue;
		}
		kw |= 1u << idx;
	}
	*kw_r = kw;
	return 0;
}

static bool link_refused(int err)
{
	/* Another file system, a hard-link limit, or no hard links at all. */
	return err == EXDEV || err == EPERM || err == EMLINK || err == ENOTSUP ||
	       err == EOPNOTSUPP || err == ENOSYS;
}

/* The fallback: a byte copy of src into tmpfd/name with src's mtime (the
 * internal date), fsync'd.  0, or -1 with errno (ENOENT: src is gone). */
static int copy_bytes(const char *src, int tmpfd, const char *name)
{
	struct timespec ts[2];
	struct stat sb;
	char *buf;
	int in, out, ret = -1, err = 0;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -1;
	out = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		err = errno;
		close(in);
		errno = err;
		return -1;
	}
	buf = xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				err = errno;
				break;
			}
			w += k;
		}
		if (err != 0)
			break;
	}
	free(buf);
	if (err == 0 && fstat(in, &sb) < 0)
		err = errno;
	if (err == 0) {
		ts[0] = sb.st_mtim;
		ts[1] = sb.st_mtim;
		/* The date before the fsync, so it is as durable as the text. */
		if (futimens(out, ts) < 0 || fsync(out) < 0)
			err = errno;
	}
	if (close(out) < 0 && err == 0)
		err = errno;
	close(in);
	if (err == 0)
		ret = 0;
	else
		unlinkat(tmpfd, name, 0);
	errno = err;
	return ret;
}

/* Fills it for the file now at dest/tmp/it->unique, a copy of message i. */
static int describe(struct copy_ctx *c, unsigned i, struct copy_item *it)
{
	const struct store_msg *src = &c->src->base.msgs[i];
	struct stat sb;
	uint64_t vsize = src->vsize;

	if (fstatat(c->tmpfd, it->unique, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return store_fail(c->st, maildir_errno(errno), "copy uid %u: %s", src->uid,
				  strerror(errno));
	/* Not the size we measured (someone edited the file): measure again. */
	if ((uint64_t)sb.st_size != src->psize && maildir_vsize(c->tmpfd, it->unique, &vsize) < 0)
		return store_fail(c->st, STORE_ERR_TEMP, "copy uid %u: %s", src->uid,
				  strerror(errno));
	it->src_uid = src->uid;
	it->m.psize = (uint64_t)sb.st_size;
	it->m.vsize = vsize;
	it->m.received = sb.st_mtime;
	it->m.flags = maildir_flags_from_name(c->src->extra[i].fname) & ~MSG_FLAG_RECENT;
	it->src_keywords = maildir_keywords_from_name(c->src->extra[i].fname);
	it->hidden = src->pop3_hidden;
	kept_letters(c->src->extra[i].fname, it->kept, sizeof(it->kept));
	it->base = xasprintf("%s,S=%" PRIu64 ",W=%" PRIu64, it->unique, it->m.psize, vsize);
	return 0;
}

/* Puts a copy of message i (of the source view) into dest/tmp.  1 done,
 * 0 the message is gone, -1 error. */
static int copy_to_tmp(struct copy_ctx *c, unsigned i, struct copy_item *it)
{
	struct maildir_msg_extra *x = &c->src->extra[i];

	for (int attempt = 0; attempt < COPY_TRIES; attempt++) {
		char *src = xasprintf("%s/cur/%s", c->src->path, x->fname);
		char *now;
		int ret, err;

		it->unique = maildir_unique_name();
		ret = linkat(AT_FDCWD, src, c->tmpfd, it->unique, 0);
		err = errno;
		if (ret < 0 && link_refused(err)) {
			ret = copy_bytes(src, c->tmpfd, it->unique);
			err = errno;
		}
		free(src);
		if (ret == 0) {
			if (describe(c, i, it) == 0)
				return 1;
			unlinkat(c->tmpfd, it->unique, 0);
			return -1;
		}
		xfree(&it->unique);
		if (err == EEXIST)
			continue;	/* a name clash in tmp/: a new name */
		if (err != ENOENT)
			return store_fail(c->st, maildir_errno(err), "copy uid %u: %s",
					  c->src->base.msgs[i].uid, strerror(err));
		/* Renamed since we looked (flags), expunged, or the target is gone. */
		now = maildir_find_base(c->src->path, x->base);
		if (now == NULL)
			return 0;
		if (strcmp(now, x->fname) == 0) {
			free(now);
			return store_fail(c->st, STORE_ERR_NOTFOUND, "copy target vanished");
		}
		maildir_extra_set_fname(x, now);
	}
	return store_fail(c->st, STORE_ERR_TEMP, "uid %u keeps being renamed",
			  c->src->base.msgs[i].uid);
}

/* Takes back the copies made so far: the target is as it was. */
static void undo(struct copy_ctx *c)
{
	bool any_in_cur = false;

	for (size_t i = 0; i < c->count; i++) {
		struct copy_item *it = &c->items[i];

		if (it->in_cur) {
			any_in_cur = true;
			if (unlinkat(c->curfd, it->fname, 0) < 0)
				log_error("maildir %s: cannot take back copy %s: %s", c->dest,
					  it->fname, strerror(errno));
		} else {
			unlinkat(c->tmpfd, it->unique, 0);
		}
	}
	if (any_in_cur && fsync(c->curfd) < 0)
		log_warn("maildir %s: fsync cur: %s", c->dest, strerror(errno));
}

/* The copies join the target's view with the next UIDs, in order. */
static void add_to_view(struct maildir_box *box, struct copy_ctx *c)
{
	struct mailbox *b = &box->base;

	b->msgs = xrealloc(b->msgs, (b->count + c->count) * sizeof(*b->msgs));
	box->extra = xrealloc(box->extra, (b->count + c->count) * sizeof(*box->extra));
	for (size_t i = 0; i < c->count; i++) {
		struct copy_item *it = &c->items[i];
		struct store_msg m = it->m;

		m.uid = b->uidnext++;
		m.pop3_retrieved = 0;
		maildir_extra_init(&m, &box->extra[b->count], xstrdup(it->base),
				   xstrdup(it->fname), maildir_uidl(it->base));
		it->m.uid = m.uid;
		b->msgs[b->count++] = m;
	}
}

/* The copies of hidden messages are hidden in the target too, before the
 * index names them: a crash in between must not show them to POP3. */
static int hide_copies(struct copy_ctx *c, struct maildir_box *box)
{
	char **bases = xcalloc(c->count, sizeof(*bases));
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < c->count; i++)
		if (c->items[i].hidden)
			bases[n++] = c->items[i].base;	/* borrowed */
	ret = maildir_hidden_add_locked(box, bases, n);
	free(bases);
	return ret;
}

/* Does the account have room for the copies?  A copy for a move needs
 * none: the sources go right after. */
static int quota_check(struct copy_ctx *c)
{
	uint64_t bytes = 0;

	if (maildir_quota_begin(c->st, &c->quota) < 0)
		return -1;
	if (c->for_move)
		return 0;
	for (size_t i = 0; i < c->count; i++)
		bytes += c->items[i].m.psize;
	return maildir_quota_fits(c->st, &c->quota, bytes, c->count);
}

/* Moves the copies into cur/ and numbers them, under the target's lock. */
static int commit_locked(struct copy_ctx *c, struct maildir_box *box, int lockfd)
{
	uint64_t bytes = 0;

	if (maildir_sync_locked(box, lockfd) < 0)
		return -1;
	if (c->count > UINT32_MAX - box->base.uidnext)
		return store_fail(c->st, STORE_ERR_TEMP, "maildir %s: out of UIDs", c->dest);
	if (quota_check(c) < 0)
		return -1;
	for (size_t i = 0; i < c->count; i++) {
		struct copy_item *it = &c->items[i];

		if (map_keywords(c, box, it->src_keywords, &it->m.keywords) < 0)
			return -1;
		it->fname = maildir_name_with_flags_kw(it->base, it->kept, it->m.flags,
						       it->m.keywords);
		if (renameat(c->tmpfd, it->unique, c->curfd, it->fname) < 0)
			return store_fail(c->st, maildir_errno(errno), "copy into %s: %s",
					  c->dest, strerror(errno));
		it->in_cur = true;
	}
	/* The files are durable in cur/ before the index names them. */
	if (fsync(c->curfd) < 0)
		return store_fail(c->st, maildir_errno(errno), "fsync %s/cur: %s", c->dest,
				  strerror(errno));
	if (hide_copies(c, box) < 0)
		return -1;
	add_to_view(box, c);
	for (size_t i = 0; i < c->count; i++)
		box->base.msgs[box->base.count - c->count + i].pop3_hidden = c->items[i].hidden;
	if (maildir_box_write_index(box) < 0)
		return -1;
	for (size_t i = 0; i < c->count; i++)
		bytes += c->items[i].m.psize;
	maildir_quota_record(c->st, &c->quota, (int64_t)bytes, (int64_t)c->count);
	return 0;
}

static int open_dir(struct copy_ctx *c, const char *sub, int *fd_r)
{
	char *path = xasprintf("%s/%s", c->dest, sub);
	int err;

	*fd_r = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	free(path);
	if (*fd_r >= 0)
		return 0;
	if (err == ENOENT || err == ENOTDIR)
		return store_fail(c->st, STORE_ERR_NOTFOUND, "no such mailbox");
	return store_fail(c->st, maildir_errno(err), "%s/%s: %s", c->dest, sub, strerror(err));
}

static void fill_map(struct copy_ctx *c, uint32_t uidvalidity, struct store_copy_map *map)
{
	map->uidvalidity = uidvalidity;
	map->count = c->count;
	map->src_uids = xcalloc(c->count ? c->count : 1, sizeof(*map->src_uids));
	map->dest_uids = xcalloc(c->count ? c->count : 1, sizeof(*map->dest_uids));
	for (size_t i = 0; i < c->count; i++) {
		map->src_uids[i] = c->items[i].src_uid;
		map->dest_uids[i] = c->items[i].m.uid;
	}
}

int maildir_copy(struct mailbox *mbox, const uint32_t *uids, size_t count, const char *dest,
		 bool for_move, struct store_copy_map *map_r)
{
	struct copy_ctx c = { .st = mbox->st, .src = maildir_box(mbox), .tmpfd = -1, .curfd = -1,
			      .for_move = for_move, .quota = { .lockfd = -1 } };
	struct maildir_box *box = NULL;
	int lockfd = -1, ret = -1;

	c.dest = maildir_folder_path(maildir_store(mbox->st), dest);
	if (c.dest == NULL)
		return store_fail(c.st, STORE_ERR_INVALID, "invalid mailbox name");
	if (open_dir(&c, "tmp", &c.tmpfd) < 0 || open_dir(&c, "cur", &c.curfd) < 0)
		goto out;
	c.alloc = count;
	c.items = xcalloc(count ? count : 1, sizeof(*c.items));
	for (size_t k = 0; k < count; k++) {
		int i = mailbox_find_uid(mbox, uids[k]), r;

		if (i < 0)
			continue;	/* not in the view: gone before we started */
		r = copy_to_tmp(&c, (unsigned)i, &c.items[c.count]);
		if (r < 0) {
			undo(&c);
			goto out;
		}
		c.count += (size_t)r;
	}
	if (c.count == 0) {
		fill_map(&c, 0, map_r);
		ret = 0;
		goto out;
	}
	lockfd = maildir_lock(c.st, c.dest);
	if (lockfd < 0) {
		undo(&c);
		goto out;
	}
	box = maildir_box_new(c.st, xstrdup(c.dest));
	if (commit_locked(&c, box, lockfd) < 0) {
		undo(&c);
		goto out;
	}
	fill_map(&c, box->base.uidvalidity, map_r);
	ret = 0;
out:
	maildir_quota_end(&c.quota);
	maildir_unlock(&lockfd);
	maildir_box_free(&box);
	items_free(&c);
	if (c.tmpfd >= 0)
		close(c.tmpfd);
	if (c.curfd >= 0)
		close(c.curfd);
	free(c.dest);
	return ret;
}
