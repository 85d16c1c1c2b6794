/*
 * POP3's hide marks: the messages a POP3 client deleted on an account whose
 * policy is pop3_delete=hide.  They stay in the folder for IMAP; POP3 no
 * longer lists them.
 *
 *   duomail-pop3-hidden 1
 *   BASE
 *   ...
 *
 * One Maildir base name per line, in a file of its own beside the index,
 * not in it: the index may be deleted or rebuilt at any time (a new
 * UIDVALIDITY, new UIDs), and a lost mark would make every hidden message
 * come back to POP3 with its old UIDL, to be downloaded again.  Base names
 * outlive all of that.  Written whole (temp file, fsync, rename, fsync of
 * the folder) under the folder's index lock; read at every full sync,
 * which also drops the names of messages that are gone.
 */
#include "store/maildir/maildir.h"
#include "core/buf.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HIDDEN_MAGIC "duomail-pop3-hidden 1"

struct names {
	char **v;
	size_t count;
};

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->count = 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_add(struct names *n, const char *name)
{
	n->v = xrealloc(n->v, (n->count + 1) * sizeof(*n->v));
	n->v[n->count++] = xstrdup(name);
}

/* Sorts and drops duplicates. */
static void names_sort(struct names *n)
{
	size_t o = 0;

	if (n->count > 1)
		qsort(n->v, n->count, sizeof(*n->v), cmp_name);
	for (size_t i = 0; i < n->count; i++) {
		if (o > 0 && strcmp(n->v[o - 1], n->v[i]) == 0)
			free(n->v[i]);
		else
			n->v[o++] = n->v[i];
	}
	n->count = o;
}

static bool names_has(const struct names *n, const char *name)
{
	return n->count > 0 &&
	       bsearch(&name, n->v, n->count, sizeof(*n->v), cmp_name) != NULL;
}

/* Reads the folder's list, sorted.  A missing file is an empty list; an
 * unreadable or damaged one is logged and taken as what could be read, so
 * a bad line costs that mark only. */
static void read_names(const char *dir, struct names *n)
{
	char *path = xasprintf("%s/%s", dir, MAILDIR_POP3_HIDDEN);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool first = true;
	FILE *f = fopen(path, "re");

	memset(n, 0, sizeof(*n));
	if (f == NULL) {
		if (errno != ENOENT)
			log_error("maildir %s: %s (hidden messages show in POP3 now)", path,
				  strerror(errno));
		free(path);
		return;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n')
			break;	/* torn: never written by us, who rename whole files */
		line[--len] = '\0';
		if (first) {
			first = false;
			if (strcmp(line, HIDDEN_MAGIC) != 0) {
				log_error("maildir %s: not a duomail-pop3-hidden file", path);
				break;
			}
			continue;
		}
		if (len > 0 && strpbrk(line, "/:\r") == NULL)
			names_add(n, line);
	}
	free(line);
	fclose(f);
	free(path);
	names_sort(n);
}

/* Replaces the folder's list with n (an empty list removes the file). */
static int write_names(struct store *st, const char *dir, const struct names *n)
{
	struct buf b;
	int ret;

	if (n->count == 0) {
		char *path = xasprintf("%s/%s", dir, MAILDIR_POP3_HIDDEN);

		ret = 0;
		if (unlink(path) < 0 && errno != ENOENT)
			ret = store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
		else if (maildir_fsync_dir(dir) < 0)
			ret = store_fail(st, maildir_errno(errno), "fsync %s: %s", dir,
					 strerror(errno));
		free(path);
		return ret;
	}
	/* A POP3 deletion is acknowledged at QUIT: it must be on disk then. */
	buf_init(&b, (size_t)-1);
	buf_printf(&b, "%s\n", HIDDEN_MAGIC);
	for (size_t i = 0; i < n->count; i++)
		buf_printf(&b, "%s\n", n->v[i]);
	ret = maildir_replace_file(st, dir, MAILDIR_POP3_HIDDEN, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}

void maildir_hidden_apply(struct maildir_box *box)
{
	struct mailbox *b = &box->base;
	struct names n, kept = { 0 };

	read_names(box->path, &n);
	for (unsigned i = 0; i < b->count; i++) {
		b->msgs[i].pop3_hidden = names_has(&n, box->extra[i].base);
		if (b->msgs[i].pop3_hidden)
			names_add(&kept, box->extra[i].base);
	}
	/* Marks of expunged messages: the sync has just decided they are gone
	 * (after its rescans), so they can go from the list too. */
	if (kept.count < n.count) {
		names_sort(&kept);
		if (write_names(b->st, box->path, &kept) < 0) {
			const char *text;

			store_last_error(b->st, &text);
			log_warn("maildir %s: cannot prune %s: %s", box->path,
				 MAILDIR_POP3_HIDDEN, text);
		}
	}
	names_free(&kept);
	names_free(&n);
}

/* The view's hidden messages plus bases. */
static int add_locked(struct maildir_box *box, char *const *bases, size_t count)
{
	struct mailbox *b = &box->base;
	struct names n = { 0 };
	int ret;

	for (unsigned i = 0; i < b->count; i++)
		if (b->msgs[i].pop3_hidden)
			names_add(&n, box->extra[i].base);
	for (size_t i = 0; i < count; i++)
		names_add(&n, bases[i]);
	names_sort(&n);
	ret = write_names(b->st, box->path, &n);
	names_free(&n);
	return ret;
}

int maildir_hidden_add_locked(struct maildir_box *box, char *const *bases, size_t count)
{
	return count == 0 ? 0 : add_locked(box, bases, count);
}

int maildir_set_pop3_hidden(struct mailbox *mbox, const uint32_t *uids, size_t count)
{
	struct maildir_box *box = maildir_box(mbox);
	struct maildir_box *fresh;
	char **bases;
	size_t n = 0;
	int lockfd, ret;

	/* The UIDs are the caller's (a POP3 snapshot) and name what its view
	 * says they name, now: if the index was rebuilt meanwhile (a new
	 * UIDVALIDITY), a re-read view would number the messages anew and
	 * the wrong ones would be hidden.  So the bases come first, and the
	 * re-read (the list may have changed since our view) goes into a
	 * view of its own. */
	bases = xcalloc(count ? count : 1, sizeof(*bases));
	for (size_t k = 0; k < count; k++) {
		int i = mailbox_find_uid(mbox, uids[k]);

		if (i >= 0 && !mbox->msgs[i].pop3_hidden)
			bases[n++] = box->extra[i].base;	/* borrowed */
	}
	if (n == 0) {
		free(bases);
		return 0;
	}
	lockfd = maildir_lock(mbox->st, box->path);
	if (lockfd < 0) {
		free(bases);
		return -1;
	}
	fresh = maildir_box_new(mbox->st, xstrdup(box->path));
	ret = maildir_sync_locked(fresh, lockfd);
	if (ret == 0)
		ret = maildir_hidden_add_locked(fresh, bases, n);
	if (ret == 0) {
		for (size_t k = 0; k < count; k++) {
			int i = mailbox_find_uid(mbox, uids[k]);

			if (i >= 0)
				mbox->msgs[i].pop3_hidden = true;
		}
	}
	maildir_unlock(&lockfd);
	maildir_box_free(&fresh);
	free(bases);
	return ret;
}
