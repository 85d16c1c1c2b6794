/*
 * Synchronising a Maildir folder with its index: take in what others
 * dropped into new/, give new files UIDs, forget files that are gone, and
 * rebuild the index from the directory when it is missing or damaged.
 * Callers hold the folder's index lock.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct index_entry {
	uint32_t uid;
	uint64_t vsize, psize;
	long long retrieved;
	char *base;
	bool seen;		/* matched by a file in this sync */
};

struct index {
	uint32_t uidvalidity, uidnext, first_recent;
	struct index_entry *entries;
	size_t count;
};

struct disk_file {
	char *fname;
	char *base;
	time_t mtime;
	uint64_t size;
};

static void index_free(struct index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		free(idx->entries[i].base);
	free(idx->entries);
	memset(idx, 0, sizeof(*idx));
}

/* 1 read, 0 missing, -1 damaged (idx->uidvalidity kept if the header was fine). */
static int index_read(const char *path, struct index *idx)
{
	char file[4096], *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;
	unsigned long long v, nx, fr = 0;
	FILE *f;
	int ret = 1, fields;

	memset(idx, 0, sizeof(*idx));
	snprintf(file, sizeof(file), "%s/%s", path, MAILDIR_INDEX);
	f = fopen(file, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	/* "duomail-index 1 UIDVALIDITY UIDNEXT [FIRST-RECENT-UID]" */
	if (getline(&line, &cap, f) < 0 ||
	    (fields = sscanf(line, "duomail-index 1 %llu %llu %llu", &v, &nx, &fr)) < 2 ||
	    v == 0 || v > UINT32_MAX || nx == 0 || nx > UINT32_MAX || fr > nx) {
		ret = -1;
		goto out;
	}
	idx->uidvalidity = (uint32_t)v;
	idx->uidnext = (uint32_t)nx;
	idx->first_recent = fields == 3 && fr > 0 ? (uint32_t)fr : (uint32_t)nx;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct index_entry e = { 0 };
		unsigned long long uid, vs, ps;
		int off = 0;

		if (line[n - 1] != '\n' ||
		    sscanf(line, "%llu %llu %llu %lld %n", &uid, &vs, &ps, &e.retrieved, &off) != 4 ||
		    off == 0 || uid == 0 || uid >= idx->uidnext || line[off] == '\n') {
			ret = -1;
			goto out;
		}
		line[n - 1] = '\0';
		e.uid = (uint32_t)uid;
		e.vsize = vs;
		e.psize = ps;
		e.base = xstrdup(line + off);
		if (idx->count == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			idx->entries = xrealloc(idx->entries, alloc * sizeof(*idx->entries));
		}
		idx->entries[idx->count++] = e;
	}
	if (ferror(f))
		ret = -1;
out:
	free(line);
	fclose(f);
	if (ret < 0) {
		for (size_t i = 0; i < idx->count; i++)
			free(idx->entries[i].base);
		free(idx->entries);
		idx->entries = NULL;
		idx->count = 0;
	}
	return ret;
}

int maildir_index_write(struct maildir_box *box)
{
	struct store *st = box->base.st;
	char file[4096], tmp[4200];
	FILE *f;

	snprintf(file, sizeof(file), "%s/%s", box->path, MAILDIR_INDEX);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", file, (int)getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		return store_fail(st, errno == ENOSPC || errno == EDQUOT ? STORE_ERR_NOSPACE :
				  STORE_ERR_TEMP, "%s: %s", tmp, strerror(errno));
	fprintf(f, "duomail-index 1 %u %u %u\n", box->base.uidvalidity, box->base.uidnext,
		box->base.first_recent_uid);
	for (unsigned i = 0; i < box->base.count; i++) {
		const struct store_msg *m = &box->base.msgs[i];

		fprintf(f, "%u %llu %llu %lld %s\n", m->uid, (unsigned long long)m->vsize,
			(unsigned long long)m->psize, (long long)m->pop3_retrieved,
			box->extra[i].base);
	}
	/* Crash safety: the new index is complete on disk before it replaces
	 * the old one, and the rename itself is made durable. */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int err = errno;

		fclose(f);
		unlink(tmp);
		return store_fail(st, err == ENOSPC || err == EDQUOT ? STORE_ERR_NOSPACE :
				  STORE_ERR_TEMP, "%s: %s", tmp, strerror(err));
	}
	fclose(f);
	if (rename(tmp, file) < 0) {
		unlink(tmp);
		return store_fail(st, STORE_ERR_TEMP, "%s: %s", file, strerror(errno));
	}
	maildir_fsync_dir(box->path);
	return 0;
}

void maildir_view_free(struct maildir_box *box)
{
	for (unsigned i = 0; i < box->base.count; i++) {
		free((char *)box->base.msgs[i].uidl);
		free(box->extra[i].base);
		free(box->extra[i].fname);
	}
	free(box->base.msgs);
	free(box->extra);
	box->base.msgs = NULL;
	box->extra = NULL;
	box->base.count = 0;
}

static bool name_usable(const char *name)
{
	/* Hidden files are not mail; a line break would corrupt the index. */
	return name[0] != '.' && strpbrk(name, "\r\n") == NULL;
}

/* new/X -> cur/X:2, (RFC-less but universal Maildir practice). */
static void move_new_to_cur(const char *path)
{
	char dir[4096], from[4600], to[4600];
	struct dirent *de;
	bool moved = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/new", path);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!name_usable(de->d_name))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		snprintf(to, sizeof(to), "%s/cur/%s%s", path, de->d_name,
			 strstr(de->d_name, ":2,") ? "" : ":2,");
		/* ENOENT: another process took it first; fine. */
		if (rename(from, to) == 0)
			moved = true;
	}
	closedir(d);
	if (moved) {
		snprintf(dir, sizeof(dir), "%s/cur", path);
		maildir_fsync_dir(dir);
	}
}

static int cmp_entry_base(const void *a, const void *b)
{
	return strcmp(((const struct index_entry *)a)->base, ((const struct index_entry *)b)->base);
}

static int cmp_file_age(const void *a, const void *b)
{
	const struct disk_file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->fname, y->fname);
}

static int cmp_msg_uid(const void *a, const void *b)
{
	const struct store_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int scan_cur(const char *path, struct disk_file **files_r, size_t *count_r)
{
	char dir[4096], file[4600];
	struct disk_file *files = NULL;
	size_t count = 0, alloc = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cur", path);
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		const char *colon;

		if (!name_usable(de->d_name))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		if (stat(file, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;	/* vanished meanwhile, or not a message */
		if (count == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			files = xrealloc(files, alloc * sizeof(*files));
		}
		colon = strchr(de->d_name, ':');
		files[count].fname = xstrdup(de->d_name);
		files[count].base = colon ? xstrndup(de->d_name, colon - de->d_name) :
					    xstrdup(de->d_name);
		files[count].mtime = sb.st_mtime;
		files[count].size = (uint64_t)sb.st_size;
		count++;
	}
	closedir(d);
	*files_r = files;
	*count_r = count;
	return 0;
}

int maildir_sync_locked(struct maildir_box *box)
{
	struct store *st = box->base.st;
	struct index idx;
	struct disk_file *files = NULL, *fresh;
	size_t nfiles = 0, nfresh = 0, nview = 0;
	struct store_msg *msgs;
	struct maildir_msg_extra *extra;
	bool changed = false;
	int r = index_read(box->path, &idx);

	if (r <= 0) {
		uint32_t old = r < 0 && idx.uidvalidity ? idx.uidvalidity : box->base.uidvalidity;
		uint32_t now = (uint32_t)time(NULL);

		if (r < 0)
			log_warn("maildir %s: damaged index, rebuilding it", box->path);
		/* A rebuilt index starts a new UID epoch (RFC 3501 §2.3.1.1). */
		idx.uidvalidity = now > old ? now : old + 1;
		idx.uidnext = 1;
		idx.first_recent = 1;	/* a new UID epoch: everything is new */
		changed = true;
	}
	move_new_to_cur(box->path);
	if (scan_cur(box->path, &files, &nfiles) < 0) {
		index_free(&idx);
		return store_fail(st, STORE_ERR_TEMP, "%s/cur: %s", box->path, strerror(errno));
	}
	if (idx.count > 0)
		qsort(idx.entries, idx.count, sizeof(*idx.entries), cmp_entry_base);

	msgs = xcalloc(nfiles, sizeof(*msgs));
	extra = xcalloc(nfiles, sizeof(*extra));
	fresh = xcalloc(nfiles, sizeof(*fresh));
	for (size_t i = 0; i < nfiles; i++) {
		struct index_entry key = { .base = files[i].base };
		struct index_entry *e = idx.count == 0 ? NULL :
			bsearch(&key, idx.entries, idx.count, sizeof(*idx.entries), cmp_entry_base);

		if (e == NULL) {
			fresh[nfresh++] = files[i];
			continue;
		}
		if (e->seen) {
			/* Two files with one base name: keep the first only. */
			free(files[i].fname);
			free(files[i].base);
			continue;
		}
		e->seen = true;
		msgs[nview].uid = e->uid;
		msgs[nview].vsize = e->vsize;
		msgs[nview].psize = files[i].size;
		msgs[nview].received = files[i].mtime;
		msgs[nview].pop3_retrieved = (time_t)e->retrieved;
		msgs[nview].flags = maildir_flags_from_name(files[i].fname);
		msgs[nview].uidl = maildir_uidl(files[i].base);
		extra[nview].base = files[i].base;
		extra[nview].fname = files[i].fname;
		nview++;
	}
	for (size_t i = 0; i < idx.count; i++)
		changed |= !idx.entries[i].seen;

	/* New files get UIDs in arrival order. */
	if (nfresh > 0)
		qsort(fresh, nfresh, sizeof(*fresh), cmp_file_age);
	for (size_t i = 0; i < nfresh; i++) {
		char path[4600];
		uint64_t vsize;

		snprintf(path, sizeof(path), "%s/cur/%s", box->path, fresh[i].fname);
		if (maildir_vsize(path, fresh[i].fname, fresh[i].size, &vsize) < 0) {
			free(fresh[i].fname);	/* vanished: next sync decides */
			free(fresh[i].base);
			continue;
		}
		msgs[nview].uid = idx.uidnext++;
		msgs[nview].vsize = vsize;
		msgs[nview].psize = fresh[i].size;
		msgs[nview].received = fresh[i].mtime;
		msgs[nview].flags = maildir_flags_from_name(fresh[i].fname);
		msgs[nview].uidl = maildir_uidl(fresh[i].base);
		extra[nview].base = fresh[i].base;
		extra[nview].fname = fresh[i].fname;
		nview++;
		changed = true;
	}
	free(fresh);
	free(files);
	box->base.uidvalidity = idx.uidvalidity;
	box->base.uidnext = idx.uidnext;
	box->base.first_recent_uid = idx.first_recent;
	index_free(&idx);

	/* Sort the view by UID, carrying the extras along. */
	{
		struct { struct store_msg m; struct maildir_msg_extra x; } *pairs;

		pairs = xcalloc(nview ? nview : 1, sizeof(*pairs));
		for (size_t i = 0; i < nview; i++) {
			pairs[i].m = msgs[i];
			pairs[i].x = extra[i];
		}
		if (nview > 0)
			qsort(pairs, nview, sizeof(*pairs), cmp_msg_uid);
		for (size_t i = 0; i < nview; i++) {
			msgs[i] = pairs[i].m;
			extra[i] = pairs[i].x;
		}
		free(pairs);
	}
	/* This view's \Recent claims outlive the resync (same UIDs only). */
	for (size_t i = 0, k = 0; i < nview && k < box->base.count;) {
		if (msgs[i].uid == box->base.msgs[k].uid) {
			msgs[i].flags |= box->base.msgs[k].flags & MSG_FLAG_RECENT;
			i++;
			k++;
		} else if (msgs[i].uid < box->base.msgs[k].uid) {
			i++;
		} else {
			k++;
		}
	}
	maildir_view_free(box);
	box->base.msgs = msgs;
	box->extra = extra;
	box->base.count = (unsigned)nview;
	if (changed)
		return maildir_index_write(box);
	return 0;
}

char *maildir_find_base(const char *path, const char *base)
{
	char dir[4096];
	size_t blen = strlen(base);
	struct dirent *de;
	char *found = NULL;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cur", path);
	d = opendir(dir);
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) == 0 &&
		    (de->d_name[blen] == ':' || de->d_name[blen] == '\0')) {
			found = xstrdup(de->d_name);
			break;
		}
	}
	closedir(d);
	return found;
}
