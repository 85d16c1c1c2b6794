/*
 * `duomail check` for Maildir (store/store_check.h): compares a folder's
 * duomail-index with the files in cur/ and new/, and the letters in file
 * names with dovecot-keywords; compares maildirsize with a recount.
 */
#include "store/maildir/maildir.h"
#include "store/store_check.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct report {
	store_check_cb *cb;
	void *ctx;
	const char *mailbox;
	int problems;
};

static void __attribute__((format(printf, 2, 3))) problem(struct report *r, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r->cb(r->ctx, r->mailbox, text);
	r->problems++;
}

struct file {
	char *name;
	char *base;
	off_t size;
	bool in_cur;	/* else in new/, where mail without a UID yet is normal */
	bool matched;
};

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->base, ((const struct file *)b)->base);
}

static int list_files(const char *dir, bool in_cur, struct file **files_r, size_t *count_r,
		      size_t *alloc)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (de->d_name[0] == '.' || strpbrk(de->d_name, "\r\n") != NULL ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (*count_r == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 64;
			*files_r = xrealloc(*files_r, *alloc * sizeof(**files_r));
		}
		(*files_r)[*count_r].name = xstrdup(de->d_name);
		(*files_r)[*count_r].base = maildir_base_of(de->d_name);
		(*files_r)[*count_r].size = sb.st_size;
		(*files_r)[*count_r].in_cur = in_cur;
		(*files_r)[*count_r].matched = false;
		(*count_r)++;
	}
	closedir(d);
	return 0;
}

/* Which keyword indexes dovecot-keywords names; problems with its lines. */
static uint32_t check_keywords(const char *path, struct report *r)
{
	char *kw = xasprintf("%s/%s", path, MAILDIR_KEYWORDS);
	FILE *f = fopen(kw, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	uint32_t named = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			problem(r, "%s: %s", kw, strerror(errno));
		free(kw);
		return 0;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *end;
		unsigned long idx;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		idx = strtoul(line, &end, 10);
		if (end == line || *end != ' ' || end[1] == '\0' || idx >= STORE_MAX_KEYWORDS) {
			problem(r, "%s:%u: not an 'INDEX NAME' line (ignored)", kw, lineno);
			continue;
		}
		if (named & (1u << idx))
			problem(r, "%s:%u: keyword %lu named twice (the first counts)", kw, lineno,
				idx);
		named |= 1u << idx;
	}
	free(line);
	fclose(f);
	free(kw);
	return named;
}

/* duomail-pop3-uidls (maildir_uidls.c): lines the store would skip. */
static void check_uidls(const char *path, struct report *r)
{
	char *file = xasprintf("%s/%s", path, MAILDIR_POP3_UIDLS);
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			problem(r, "%s: %s", file, strerror(errno));
		free(file);
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *sp;

		lineno++;
		if (line[n - 1] != '\n') {
			problem(r, "%s:%u: cut short (not repaired: that message's POP3 UIDL "
				"is the one made from its file name now)", file, lineno);
			break;
		}
		line[--n] = '\0';
		if (lineno == 1) {
			if (strcmp(line, MAILDIR_POP3_UIDLS " 1") != 0) {
				problem(r, "%s:1: not a %s header (not repaired: the file is not "
					"used)", file, MAILDIR_POP3_UIDLS);
				break;
			}
			continue;
		}
		sp = strchr(line, ' ');
		if (sp != NULL)
			*sp = '\0';
		if (sp == NULL || sp[1] == '\0' || strpbrk(sp + 1, "/:\r") != NULL ||
		    !maildir_uidl_ok(line))
			problem(r, "%s:%u: not a 'UIDL BASE' line (not repaired: that message's "
				"POP3 UIDL is the one made from its file name now)", file, lineno);
	}
	free(line);
	fclose(f);
	free(file);
}

int store_check_mailbox(struct store *st, const char *name, store_check_cb *cb, void *ctx)
{
	struct maildir_store *ms = maildir_store(st);
	char *path = maildir_folder_path(ms, name), *cur = NULL, *new = NULL;
	struct report r = { .cb = cb, .ctx = ctx, .mailbox = name };
	struct maildir_index idx = { 0 };
	enum maildir_index_state state;
	struct file *files = NULL;
	size_t nfiles = 0, alloc = 0;
	uint32_t named, used = 0;
	struct stat sb;
	int lockfd = -1, ret = -1;

	if (path == NULL)
		return store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	cur = xasprintf("%s/cur", path);
	new = xasprintf("%s/new", path);
	if (stat(cur, &sb) < 0) {
		store_fail(st, errno == ENOENT ? STORE_ERR_NOTFOUND : STORE_ERR_TEMP, "%s: %s", cur,
			   strerror(errno));
		goto out;
	}
	/* Under the folder's lock, as a sync reads: what another process is
	 * in the middle of (a file moved to cur/, its UID not written yet)
	 * is not a finding. */
	lockfd = maildir_lock(st, path);
	if (lockfd < 0)
		goto out;
	state = maildir_index_read(path, &idx);
	if (list_files(cur, true, &files, &nfiles, &alloc) < 0) {
		store_fail(st, STORE_ERR_TEMP, "%s: %s", cur, strerror(errno));
		goto out;
	}
	if (list_files(new, false, &files, &nfiles, &alloc) < 0) {
		store_fail(st, STORE_ERR_TEMP, "%s: %s", new, strerror(errno));
		goto out;
	}
	switch (state) {
	case MAILDIR_INDEX_OK:
		break;
	case MAILDIR_INDEX_MISSING:
		if (nfiles > 0)
			problem(&r, "%s is missing: a repair numbers the messages anew (new "
				"UIDVALIDITY; POP3 UIDLs stay)", MAILDIR_INDEX);
		break;
	case MAILDIR_INDEX_DAMAGED:
		problem(&r, "%s is damaged (its header line or an old-format line): a repair "
			"numbers the messages anew (new UIDVALIDITY; POP3 UIDLs stay)",
			MAILDIR_INDEX);
		break;
	case MAILDIR_INDEX_PARTIAL:
		problem(&r, "%s has %zu bad lines (CRC, syntax, UID at or above UIDNEXT, a UID "
			"or file listed twice): a repair gives those messages new UIDs, the "
			"others keep theirs", MAILDIR_INDEX, idx.lost);
		break;
	case MAILDIR_INDEX_IOERR:
		store_fail(st, STORE_ERR_TEMP, "%s/%s: %s", path, MAILDIR_INDEX, strerror(errno));
		goto out;
	}
	if (nfiles > 1)
		qsort(files, nfiles, sizeof(*files), cmp_file);
	for (size_t i = 0; i < idx.count; i++) {
		struct maildir_index_entry *e = &idx.entries[i];
		struct file key = { .base = e->base }, *f;

		f = nfiles ? bsearch(&key, files, nfiles, sizeof(*files), cmp_file) : NULL;
		if (f == NULL) {
			/* Renamed (a flag change) while we read?  Look once more. */
			char *now = maildir_find_base(path, e->base);

			if (now == NULL)
				problem(&r, "UID %" PRIu32 " (%s): its file is gone; a repair drops it",
					e->uid, e->base);
			free(now);
			continue;
		}
		f->matched = true;
		if ((uint64_t)f->size != e->psize)
			problem(&r, "UID %" PRIu32 " (%s): %" PRIu64 " bytes in the index, %lld on "
				"disk; a repair measures it again", e->uid, e->base, e->psize,
				(long long)f->size);
	}
	for (size_t i = 0; i < nfiles; i++) {
		used |= maildir_keywords_from_name(files[i].name);
		if (!files[i].matched && files[i].in_cur && state == MAILDIR_INDEX_OK)
			problem(&r, "%s is in cur/ but has no UID; a repair gives it one",
				files[i].name);
	}
	named = check_keywords(path, &r);
	check_uidls(path, &r);
	for (int k = 0; k < STORE_MAX_KEYWORDS; k++)
		if ((used & (1u << k)) && !(named & (1u << k)))
			problem(&r, "keyword letter '%c' is used by messages but %s does not name "
				"it (not repaired: name it or remove the letter)", 'a' + k,
				MAILDIR_KEYWORDS);
	ret = r.problems;
out:
	maildir_unlock(&lockfd);
	for (size_t i = 0; i < nfiles; i++) {
		free(files[i].name);
		free(files[i].base);
	}
	free(files);
	maildir_index_free(&idx);
	free(cur);
	free(new);
	free(path);
	return ret;
}

int store_check_quota(struct store *st, store_check_cb *cb, void *ctx)
{
	struct maildir_store *ms = maildir_store(st);
	struct report r = { .cb = cb, .ctx = ctx, .mailbox = "" };
	struct store_mailbox_info *list;
	char *path = xasprintf("%s/%s", ms->dir, MAILDIR_QUOTA_FILE);
	char *line = NULL;
	size_t cap = 0, n;
	long long bytes = 0, count = 0;
	uint64_t real_bytes = 0, real_count = 0;
	unsigned lineno = 0;
	bool bad = false;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		free(path);
		return 0;	/* none: counted when needed */
	}
	while (getline(&line, &cap, f) > 0) {
		long long b, c;

		if (++lineno == 1)
			continue;	/* the limits */
		if (sscanf(line, "%lld %lld", &b, &c) != 2) {
			bad = true;
			break;
		}
		bytes += b;
		count += c;
	}
	free(line);
	fclose(f);
	if (maildir_mailbox_list(st, &list, &n) < 0) {
		free(path);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char *dir = maildir_folder_path(ms, list[i].name);
		uint64_t b, c;

		if (dir != NULL && maildir_quota_scan_folder(dir, &b, &c) == 0) {
			real_bytes += b;
			real_count += c;
		}
		free(dir);
	}
	store_mailbox_list_free(&list, n);
	if (bad)
		problem(&r, "%s: line %u does not parse; a repair recounts it", path, lineno);
	else if (bytes < 0 || count < 0 || (uint64_t)bytes != real_bytes ||
		 (uint64_t)count != real_count)
		problem(&r, "%s says %lld bytes in %lld messages, the folders hold %" PRIu64
			" bytes in %" PRIu64 "; a repair recounts it", path, bytes, count,
			real_bytes, real_count);
	free(path);
	return r.problems;
}

int store_repair_mailbox(struct store *st, const char *name)
{
	struct mailbox *box;

	/* Opening syncs under the lock, which is the repair: see the top. */
	if (mailbox_open(st, name, &box) < 0)
		return -1;
	mailbox_close(&box);
	return 0;
}

int store_repair_quota(struct store *st)
{
	char *path = xasprintf("%s/%s", maildir_store(st)->dir, MAILDIR_QUOTA_FILE);
	struct store_quota q;
	int ret = 0;

	/* Gone, it is recounted under its lock by the next reader. */
	if (unlink(path) < 0 && errno != ENOENT)
		ret = store_fail(st, maildir_errno(errno), "%s: %s", path, strerror(errno));
	free(path);
	if (ret == 0)
		ret = store_quota_get(st, &q);
	return ret;
}
