/*
 * Maildir++ folders: ROOT/USER/.a.b is the mailbox "a/b" (names in the IMAP
 * wire form, see store.h).  Listing, creating, deleting, renaming, and the
 * subscriptions file (one name per line; a Dovecot "V\t2" header is read
 * and skipped, so its file carries over).
 */
#include "store/maildir/maildir.h"
#include "core/buf.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBSCRIPTIONS "subscriptions"

/* A directory, not a symbolic link to one: a folder that is a link is not
 * a folder (maildir_is_mailbox), so it is never listed, made over, renamed
 * or deleted through. */
static bool is_dir(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Anything at all there, a link (even a dangling one) included. */
static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static bool is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

/* Folder directory names (".a.b") directly in the user's Maildir. */
static int folder_dirs(struct store *st, char ***dirs_r, size_t *count_r)
{
	struct maildir_store *ms = maildir_store(st);
	char **dirs = NULL;
	size_t count = 0, alloc = 0;
	struct dirent *de;
	DIR *d = opendir(ms->dir);

	if (d == NULL)
		return store_fail(st, maildir_errno(errno), "%s: %s", ms->dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char cur[4400];

		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(cur, sizeof(cur), "%s/%s", ms->dir, de->d_name);
		if (!maildir_is_mailbox(cur, false))
			continue;
		if (count == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			dirs = xrealloc(dirs, alloc * sizeof(*dirs));
		}
		dirs[count++] = xstrdup(de->d_name);
	}
	closedir(d);
	*dirs_r = dirs;
	*count_r = count;
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct store_mailbox_info *)a)->name,
		      ((const struct store_mailbox_info *)b)->name);
}

int maildir_mailbox_list(struct store *st, struct store_mailbox_info **list_r, size_t *count_r)
{
	struct store_mailbox_info *list;
	char **dirs;
	size_t n;

	if (folder_dirs(st, &dirs, &n) < 0)
		return -1;
	list = xcalloc(n + 1, sizeof(*list));
	list[0].name = xstrdup("INBOX");
	for (size_t i = 0; i < n; i++) {
		char *name = xstrdup(dirs[i] + 1);

		for (char *p = name; *p; p++)
			if (*p == '.')
				*p = '/';
		list[i + 1].name = name;
	}
	free_strings(dirs, n);
	if (n > 1)
		qsort(list + 1, n, sizeof(*list), cmp_info);
	*list_r = list;
	*count_r = n + 1;
	return 0;
}

static char *path_of(struct store *st, const char *name)
{
	char *path = maildir_folder_path(maildir_store(st), name);

	if (path == NULL)
		store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	return path;
}

/* Creates name's missing parents ("a" and "a/b" for "a/b/c"). */
static int create_parents(struct store *st, const char *name)
{
	char *copy = xstrdup(name);
	int ret = 0;

	for (char *slash = strchr(copy, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		char *path;

		*slash = '\0';
		path = path_of(st, copy);
		*slash = '/';
		if (path == NULL || (!is_dir(path) && maildir_make(path, false) < 0)) {
			if (path != NULL)
				store_fail(st, maildir_errno(errno), "%s: %s", path,
					   strerror(errno));
			free(path);
			ret = -1;
			break;
		}
		free(path);
	}
	free(copy);
	return ret;
}

int maildir_mailbox_create(struct store *st, const char *name)
{
	char *path;
	int ret = 0;

	if (is_inbox(name))
		return store_fail(st, STORE_ERR_EXISTS, "INBOX exists");
	path = path_of(st, name);
	if (path == NULL)
		return -1;
	if (exists(path)) {
		free(path);
		return store_fail(st, STORE_ERR_EXISTS, "mailbox exists");
	}
	if (create_parents(st, name) < 0 || maildir_make(path, false) < 0)
		ret = store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
	else
		maildir_fsync_dir(maildir_store(st)->dir);
	free(path);
	return ret;
}

/* Does any folder below name exist (".name.x")? */
static int has_children(struct store *st, const char *path)
{
	const char *base = strrchr(path, '/') + 1;	/* ".a.b" */
	size_t blen = strlen(base);
	char **dirs;
	size_t n;
	bool found = false;

	if (folder_dirs(st, &dirs, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		found = strncmp(dirs[i], base, blen) == 0 && dirs[i][blen] == '.';
	free_strings(dirs, n);
	return found;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int maildir_mailbox_delete(struct store *st, const char *name)
{
	char *path, trash[4400];
	struct maildir_quota quota;
	uint64_t bytes, count;
	int children;

	if (is_inbox(name))
		return store_fail(st, STORE_ERR_PERM, "INBOX cannot be deleted");
	path = path_of(st, name);
	if (path == NULL)
		return -1;
	if (!maildir_is_mailbox(path, false)) {
		free(path);
		return store_fail(st, STORE_ERR_NOTFOUND, "no mailbox %s", name);
	}
	children = has_children(st, path);
	if (children != 0) {
		free(path);
		return children < 0 ? -1 :
			store_fail(st, STORE_ERR_PERM, "mailbox has children; delete them first");
	}
	/* Its messages leave the quota usage with it, under the quota lock so
	 * that no recount runs between the rename and the line. */
	if (maildir_quota_begin(st, &quota) < 0)
		log_warn("maildir: deleting %s without updating the quota usage", name);
	/* One rename takes it out of sight at once (no half-deleted mailbox
	 * is ever listed); the files go afterwards. */
	snprintf(trash, sizeof(trash), "%s/duomail-deleted.%d.%u", maildir_store(st)->dir,
		 (int)getpid(), maildir_next_counter());
	if (rename(path, trash) < 0) {
		store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
		maildir_quota_end(&quota);
		free(path);
		return -1;
	}
	free(path);
	maildir_fsync_dir(maildir_store(st)->dir);
	if (quota.lockfd >= 0 && maildir_quota_scan_folder(trash, &bytes, &count) == 0)
		maildir_quota_record(st, &quota, -(int64_t)bytes, -(int64_t)count);
	maildir_quota_end(&quota);
	if (nftw(trash, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		log_warn("maildir: could not remove all of %s: %s", trash, strerror(errno));
	return 0;
}

/* Moves every message of INBOX into the folder at dest (RFC 3501 §6.3.5). */
static int move_inbox(struct store *st, const char *dest)
{
	struct maildir_store *ms = maildir_store(st);
	static const char *const subs[] = { "new", "cur" };
	int ret = 0;

	for (int k = 0; k < 2; k++) {
		char dir[4200], from[4600], to[4600];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/%s", ms->dir, subs[k]);
		d = opendir(dir);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
			snprintf(to, sizeof(to), "%s/%s/%s", dest, subs[k], de->d_name);
			if (rename(from, to) < 0 && errno != ENOENT)
				ret = store_fail(st, maildir_errno(errno), "%s: %s", from,
						 strerror(errno));
		}
		closedir(d);
	}
	return ret;
}

int maildir_mailbox_rename(struct store *st, const char *old_name, const char *new_name)
{
	struct maildir_store *ms = maildir_store(st);
	char *from = NULL, *to = NULL, **dirs = NULL;
	size_t n = 0, flen, tlen;
	int ret = -1;

	if (is_inbox(new_name))
		return store_fail(st, STORE_ERR_EXISTS, "INBOX exists");
	from = is_inbox(old_name) ? xstrdup(ms->dir) : path_of(st, old_name);
	to = path_of(st, new_name);
	if (from == NULL || to == NULL)
		goto out;
	if (!maildir_is_mailbox(from, is_inbox(old_name))) {
		store_fail(st, STORE_ERR_NOTFOUND, "no mailbox %s", old_name);
		goto out;
	}
	if (exists(to)) {
		store_fail(st, STORE_ERR_EXISTS, "mailbox %s exists", new_name);
		goto out;
	}
	flen = strlen(from);
	tlen = strlen(to);
	if (tlen > flen && strncmp(to, from, flen) == 0 && to[flen] == '.') {
		store_fail(st, STORE_ERR_INVALID, "cannot rename a mailbox into itself");
		goto out;
	}
	if (create_parents(st, new_name) < 0)
		goto out;
	if (is_inbox(old_name)) {
		if (maildir_make(to, false) < 0) {
			store_fail(st, maildir_errno(errno), "%s: %s", to, strerror(errno));
			goto out;
		}
		ret = move_inbox(st, to);
		goto out;
	}
	/* The children first: ".old.x" -> ".new.x". */
	if (folder_dirs(st, &dirs, &n) < 0)
		goto out;
	{
		const char *obase = strrchr(from, '/') + 1, *nbase = strrchr(to, '/') + 1;
		size_t olen = strlen(obase);

		for (size_t i = 0; i < n; i++) {
			char a[4600], b[4600];

			if (strncmp(dirs[i], obase, olen) != 0 || dirs[i][olen] != '.')
				continue;
			snprintf(a, sizeof(a), "%s/%s", ms->dir, dirs[i]);
			snprintf(b, sizeof(b), "%s/%s%s", ms->dir, nbase, dirs[i] + olen);
			if (rename(a, b) < 0) {
				store_fail(st, maildir_errno(errno), "%s: %s", a, strerror(errno));
				goto out;
			}
		}
	}
	if (rename(from, to) < 0) {
		store_fail(st, maildir_errno(errno), "%s: %s", from, strerror(errno));
		goto out;
	}
	maildir_fsync_dir(ms->dir);
	ret = 0;
out:
	free_strings(dirs, n);
	free(from);
	free(to);
	return ret;
}

int maildir_subscriptions(struct store *st, char ***names_r, size_t *count_r)
{
	char path[4200], *line = NULL;
	char **names = NULL;
	size_t count = 0, alloc = 0, cap = 0;
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", maildir_store(st)->dir, SUBSCRIPTIONS);
	*names_r = NULL;
	*count_r = 0;
	f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 :
			store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || strncmp(line, "V\t", 2) == 0)
			continue;
		if (count == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[count++] = xstrdup(line);
	}
	free(line);
	fclose(f);
	*names_r = names;
	*count_r = count;
	return 0;
}

int maildir_subscription_set(struct store *st, const char *name, bool subscribed)
{
	const char *dir = maildir_store(st)->dir;
	char **names;
	size_t n;
	bool found = false;
	struct buf b;
	int ret = 0, lockfd;

	if (strpbrk(name, "\r\n") != NULL || name[0] == '\0')
		return store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	/* Read, change, replace: under INBOX's lock, or two sessions could
	 * each drop the other's change. */
	lockfd = maildir_lock(st, dir);
	if (lockfd < 0)
		return -1;
	if (maildir_subscriptions(st, &names, &n) < 0) {
		maildir_unlock(&lockfd);
		return -1;
	}
	buf_init(&b, (size_t)-1);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			found = true;
			if (!subscribed)
				continue;
		}
		buf_printf(&b, "%s\n", names[i]);
	}
	if (subscribed && !found)
		buf_printf(&b, "%s\n", name);
	ret = maildir_replace_file(st, dir, SUBSCRIPTIONS, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	maildir_unlock(&lockfd);
	free_strings(names, n);
	return ret;
}

void maildir_create_special(struct store *st)
{
	for (int use = STORE_USE_SENT; use <= STORE_USE_ARCHIVE; use++) {
		const char *name = store_special_name((enum store_special_use)use);
		const char *text;

		/* Subscribed too: many clients show only subscribed folders. */
		if (maildir_mailbox_create(st, name) < 0 ||
		    maildir_subscription_set(st, name, true) < 0) {
			store_last_error(st, &text);
			log_warn("maildir %s: cannot set up %s: %s", maildir_store(st)->dir, name,
				 text);
		}
	}
	st->error = STORE_OK;
	st->error_text[0] = '\0';
}
