/*
 * The shared part of importing another server's Maildir++ tree
 * (store/import_maildir.h): the folders are INBOX (the top directory) and
 * each ".a.b" directory with a cur/ (IMAP "a/b"); a folder's files in cur/
 * and new/ are its messages, matched to the reader's metadata by base name;
 * files the metadata does not know (mail that arrived after the old server
 * last looked) get the next UIDs, oldest first, as that server would have
 * given them; metadata lines whose file is gone were expunged.
 */
#include "store/import.h"
#include "store/import_maildir.h"
#include "store/maildir/maildir.h"
#include "store/store_import.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int import_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void folder_free(struct src_folder *sf)
{
	for (size_t i = 0; i < sf->count; i++) {
		free(sf->files[i].path);
		free(sf->files[i].name);
		free(sf->files[i].base);
		free(sf->files[i].uidl);
	}
	free(sf->files);
	for (int i = 0; i < STORE_MAX_KEYWORDS; i++)
		free(sf->kw[i]);
	memset(sf, 0, sizeof(*sf));
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(((const struct src_file *)a)->base, ((const struct src_file *)b)->base);
}

static int cmp_order(const void *a, const void *b)
{
	const struct src_file *x = a, *y = b;

	/* Listed ones by UID, then the new ones by age, then name. */
	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

struct src_file *import_find(struct src_folder *sf, const char *base)
{
	struct src_file key = { .base = (char *)base };

	return sf->count == 0 ? NULL :
		bsearch(&key, sf->files, sf->count, sizeof(*sf->files), cmp_base);
}

bool import_parse_u32(const char *s, const char **end_r, uint32_t *v_r)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*end_r = p;
	*v_r = (uint32_t)v;
	return true;
}

static int scan_dir(const char *folder, const char *sub, struct src_folder *sf, size_t *alloc,
		    char *err, size_t errlen)
{
	char *dir = xasprintf("%s/%s", folder, sub);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		int e = errno;

		free(dir);
		return e == ENOENT ? 0 :
			import_fail(err, errlen, "%s/%s: %s", folder, sub, strerror(e));
	}
	while ((de = readdir(d)) != NULL) {
		struct src_file *f;
		struct stat sb;
		char *path;

		if (de->d_name[0] == '.' || strpbrk(de->d_name, "\r\n") != NULL)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			free(path);
			continue;
		}
		if (sf->count == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 64;
			sf->files = xrealloc(sf->files, *alloc * sizeof(*sf->files));
		}
		f = &sf->files[sf->count++];
		memset(f, 0, sizeof(*f));
		f->path = path;
		f->name = xstrdup(de->d_name);
		f->base = maildir_base_of(de->d_name);
		f->mtime = sb.st_mtime;
	}
	closedir(d);
	free(dir);
	return 0;
}

static int parse_header(char *line, const char *path, struct src_folder *sf, bool v3_ok,
			int *version_r, char *err, size_t errlen)
{
	const char *p;
	uint32_t version;

	if (!import_parse_u32(line, &p, &version) || (version != 1 && (version != 3 || !v3_ok)) ||
	    *p != ' ')
		return import_fail(err, errlen, "%s:1: not a %s header (version %s)", path,
				   v3_ok ? "dovecot-uidlist" : "UID list", v3_ok ? "1 or 3" : "1");
	*version_r = (int)version;
	if (version == 1) {
		if (!import_parse_u32(p + 1, &p, &sf->uidvalidity) || *p != ' ' ||
		    !import_parse_u32(p + 1, &p, &sf->uidnext) || *p != '\0')
			return import_fail(err, errlen, "%s:1: expected '1 UIDVALIDITY NEXTUID'",
					   path);
	} else {
		char *save = NULL;

		for (char *tok = strtok_r(line + 2, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			uint32_t *dst = tok[0] == 'V' ? &sf->uidvalidity :
					tok[0] == 'N' ? &sf->uidnext : NULL;

			if (dst != NULL && (!import_parse_u32(tok + 1, &p, dst) || *p != '\0'))
				return import_fail(err, errlen, "%s:1: bad %c field '%s'", path,
						   tok[0], tok);
		}
	}
	if (sf->uidvalidity == 0 || sf->uidnext == 0)
		return import_fail(err, errlen, "%s:1: no UIDVALIDITY or next UID", path);
	return 0;
}

int import_read_uidlist(const char *path, struct src_folder *sf, bool v3_ok, char *err,
			size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int version = 0, ret = -1;
	uint32_t last = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : import_fail(err, errlen, "%s: %s", path,
							 strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		const char *p;
		char *fname, *base, *save = NULL;
		uint32_t uid;
		struct src_file *hit;

		lineno++;
		if (n == 0 || line[n - 1] != '\n') {
			import_fail(err, errlen, "%s:%u: line cut short", path, lineno);
			goto out;
		}
		line[--n] = '\0';
		if (lineno == 1) {
			if (parse_header(line, path, sf, v3_ok, &version, err, errlen) < 0)
				goto out;
			continue;
		}
		if (!import_parse_u32(line, &p, &uid) || uid == 0 || *p != ' ') {
			import_fail(err, errlen, "%s:%u: expected a UID", path, lineno);
			goto out;
		}
		if (uid <= last || uid == UINT32_MAX) {
			import_fail(err, errlen, "%s:%u: UID %" PRIu32 " not ascending", path, lineno,
				    uid);
			goto out;
		}
		last = uid;
		/* Dovecot appends lines without rewriting the header, whose
		 * next UID then lags behind them (Courier's likewise). */
		if (uid >= sf->uidnext)
			sf->uidnext = uid + 1;
		if (version == 3) {
			fname = strstr(p, " :");
			if (fname == NULL) {
				import_fail(err, errlen, "%s:%u: no ':FILENAME'", path, lineno);
				goto out;
			}
			*fname = '\0';
			fname += 2;
		} else {
			fname = (char *)p + 1;
		}
		if (fname[0] == '\0' || strchr(fname, '/') != NULL) {
			import_fail(err, errlen, "%s:%u: bad file name", path, lineno);
			goto out;
		}
		base = maildir_base_of(fname);
		hit = import_find(sf, base);
		free(base);
		if (hit == NULL)
			continue;	/* expunged since */
		hit->uid = uid;
		/* Version 3 extensions: " P<uidl>", " W<vsize>", " G<guid>", ...;
		 * only P (the stored POP3 UIDL) matters here. */
		for (char *ext = strtok_r((char *)p, " ", &save); version == 3 && ext != NULL;
		     ext = strtok_r(NULL, " ", &save)) {
			if (ext[0] == 'P' && ext[1] != '\0') {
				if (!maildir_uidl_ok(ext + 1)) {
					import_fail(err, errlen, "%s:%u: unusable POP3 UIDL", path,
						    lineno);
					goto out;
				}
				free(hit->uidl);
				hit->uidl = xstrdup(ext + 1);
			}
		}
	}
	if (ferror(f)) {
		import_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (lineno == 0) {
		import_fail(err, errlen, "%s:1: empty file", path);
		goto out;
	}
	ret = 0;
out:
	free(line);
	fclose(f);
	return ret;
}

static int copy_file(const char *path, int to, char *err, size_t errlen)
{
	char buf[65536];
	int from = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (from < 0)
		return import_fail(err, errlen, "%s: %s", path, strerror(errno));
	while ((n = read(from, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));

			if (w < 0) {
				close(from);
				return import_fail(err, errlen, "writing a copy of %s: %s", path,
						   strerror(errno));
			}
			off += w;
		}
	}
	close(from);
	if (n < 0)
		return import_fail(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

static int send_message(struct store_import *imp, const struct import_source *src,
			bool in_place, struct src_folder *sf, struct src_file *f, const int *kwmap,
			char *err, size_t errlen)
{
	struct store_import_msg m = {
		.uid = f->uid,
		.flags = maildir_flags_from_name(f->name),
		.received = f->mtime,
		.base = f->base,
		.uidl = f->uidl,
	};
	char *made = NULL;
	int fd, ret;

	for (int k = 0; k < STORE_MAX_KEYWORDS; k++)
		if ((f->kw & (1u << k)) && kwmap[k] >= 0)
			m.keywords |= 1u << kwmap[k];
	if (m.uidl == NULL && src->default_uidl != NULL) {
		if (src->default_uidl(sf, f, src->ctx, &made, err, errlen) < 0)
			return -1;
		m.uidl = made;
	}
	if (in_place) {
		ret = store_import_msg_link(imp, f->path, &m, err, errlen);
		free(made);
		return ret;
	}
	if (store_import_msg_begin(imp, &fd, err, errlen) < 0) {
		free(made);
		return -1;
	}
	if (copy_file(f->path, fd, err, errlen) < 0) {
		struct store_import_msg none = { 0 };
		char ignored[8];

		store_import_msg_end(imp, &none, ignored, sizeof(ignored));
		free(made);
		return -1;
	}
	ret = store_import_msg_end(imp, &m, err, errlen);
	free(made);
	return ret;
}

static int import_folder(struct store_import *imp, const char *dir, const char *name,
			 const struct import_source *src, bool in_place, struct import_stats *stats,
			 char *err, size_t errlen)
{
	struct src_folder sf = { 0 };
	int kwmap[STORE_MAX_KEYWORDS];
	size_t alloc = 0;
	int ret = -1;

	if (scan_dir(dir, "cur", &sf, &alloc, err, errlen) < 0 ||
	    scan_dir(dir, "new", &sf, &alloc, err, errlen) < 0)
		goto out;
	if (sf.count > 1)
		qsort(sf.files, sf.count, sizeof(*sf.files), cmp_base);
	/* One message in cur/ and new/ at once (a crash of the old server
	 * mid-rename, a copy by hand): which file is it?  Not ours to guess. */
	for (size_t i = 1; i < sf.count; i++) {
		if (strcmp(sf.files[i - 1].base, sf.files[i].base) == 0) {
			import_fail(err, errlen, "%s and %s are one message (same base name); "
				    "remove one", sf.files[i - 1].path, sf.files[i].path);
			goto out;
		}
	}
	if (src->read_folder(dir, &sf, src->ctx, err, errlen) < 0)
		goto out;
	if (sf.uidnext == 0) {
		sf.uidnext = 1;
		if (sf.count > 0)
			log_warn("import: %s has no %s UID list: its messages get new UIDs", dir,
				 src->what);
	}
	if (sf.count > 1)
		qsort(sf.files, sf.count, sizeof(*sf.files), cmp_order);
	for (size_t i = 0; i < sf.count; i++) {
		if (sf.files[i].uid != 0)
			continue;
		if (sf.uidnext == UINT32_MAX) {
			import_fail(err, errlen, "%s: out of UIDs", dir);
			goto out;
		}
		sf.files[i].uid = sf.uidnext++;
	}
	if (store_import_folder(imp, name, sf.uidvalidity, sf.uidnext, err, errlen) < 0)
		goto out;
	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		kwmap[i] = -1;
		if (sf.kw[i] != NULL &&
		    (kwmap[i] = store_import_keyword(imp, sf.kw[i], err, errlen)) < 0)
			goto out;
	}
	for (size_t i = 0; i < sf.count; i++) {
		if (send_message(imp, src, in_place, &sf, &sf.files[i], kwmap, err, errlen) < 0)
			goto out;
		stats->messages++;
	}
	stats->folders++;
	ret = 0;
out:
	folder_free(&sf);
	return ret;
}

/* ".a.b" -> "a/b" (Maildir++ with '.' between levels). */
static char *folder_name(const char *dirname)
{
	char *name = xstrdup(dirname + 1);

	for (char *p = name; *p != '\0'; p++)
		if (*p == '.')
			*p = '/';
	return name;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void import_subscribe_maildir_name(struct store_import *imp, char *name)
{
	for (char *p = name; *p != '\0'; p++)
		if (*p == '.' || *p == '\t')
			*p = '/';
	if (strncasecmp(name, "INBOX/", 6) == 0)
		name += 6;
	store_import_subscribe(imp, name);
}

int import_begin(const struct import_target *to, struct store_import **imp_r, char *err,
		 size_t errlen)
{
	if (store_import_begin(to->account, to->in_place, imp_r, err, errlen) < 0)
		return -1;
	if (to->chown)
		store_import_set_owner(*imp_r, to->uid, to->gid);
	return 0;
}

int import_maildir_tree(const char *source, const struct import_target *to,
			const struct import_source *src, struct import_stats *stats, char *err,
			size_t errlen)
{
	struct store_import *imp;
	char **subdirs = NULL;
	size_t nsub = 0;
	struct dirent *de;
	struct stat sb;
	char *cur;
	DIR *d;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	cur = xasprintf("%s/cur", source);
	if (stat(cur, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		import_fail(err, errlen, "%s: not a Maildir (no cur/)", source);
		free(cur);
		return -1;
	}
	free(cur);
	d = opendir(source);
	if (d == NULL)
		return import_fail(err, errlen, "%s: %s", source, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s/cur", source, de->d_name);
		if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			subdirs = xrealloc(subdirs, (nsub + 1) * sizeof(*subdirs));
			subdirs[nsub++] = xstrdup(de->d_name);
		}
		free(p);
	}
	closedir(d);
	if (nsub > 1)
		qsort(subdirs, nsub, sizeof(*subdirs), cmp_str);
	if (import_begin(to, &imp, err, errlen) < 0)
		goto out;
	if (import_folder(imp, source, "INBOX", src, to->in_place, stats, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < nsub; i++) {
		char *dir = xasprintf("%s/%s", source, subdirs[i]);
		char *name = folder_name(subdirs[i]);
		int r = import_folder(imp, dir, name, src, to->in_place, stats, err, errlen);

		free(dir);
		free(name);
		if (r < 0)
			goto fail;
	}
	src->subscriptions(imp, source, src->ctx);
	if (to->dry_run) {
		store_import_abort(&imp);	/* all of it would have gone in */
		ret = 0;
	} else {
		ret = store_import_commit(&imp, &stats->kept, err, errlen);
	}
	goto out;
fail:
	store_import_abort(&imp);
out:
	for (size_t i = 0; i < nsub; i++)
		free(subdirs[i]);
	free(subdirs);
	return ret;
}
