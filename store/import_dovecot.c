/*
 * Importing a Dovecot Maildir++ (store/import.h).
 *
 * dovecot-uidlist, version 3 (Dovecot 1.1 on):
 *   3 V<uidvalidity> N<nextuid> G<guid> ...      header, fields in any order
 *   <uid> [<ext>...] :<file name base>          ext: a letter and a value,
 *                                               P<pop3 uidl>, W<vsize>, G<guid>
 * and version 1 (Courier's courierimapuiddb format, Dovecot 1.0):
 *   1 <uidvalidity> <nextuid>
 *   <uid> <file name>
 * Dovecot matches a line to a file by the part of its name before ':';
 * so do we.  Files the list does not know yet (new mail Dovecot has not
 * seen) get the next UIDs, oldest first, as Dovecot would give them;
 * lines whose file is gone were expunged.  Keyword letters follow the
 * folder's dovecot-keywords, which duomail keeps in the same format.
 */
#include "store/import.h"
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

struct src_file {
	char *path;	/* dir/cur/name or dir/new/name */
	char *name;
	char *base;
	time_t mtime;
	uint32_t uid;	/* from the uidlist, 0 = none yet */
	char *uidl;	/* its P extension */
};

struct src_folder {
	struct src_file *files;
	size_t count;
	uint32_t uidvalidity, uidnext;
	char *kw[STORE_MAX_KEYWORDS];
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
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

static int scan_dir(const char *folder, const char *sub, struct src_folder *sf, size_t *alloc,
		    char *err, size_t errlen)
{
	char *dir = xasprintf("%s/%s", folder, sub);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		int e = errno;

		free(dir);
		return e == ENOENT ? 0 : fail(err, errlen, "%s/%s: %s", folder, sub, strerror(e));
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

static bool parse_u32(const char *s, const char **end_r, uint32_t *v_r)
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

static int parse_header(char *line, const char *path, struct src_folder *sf, int *version_r,
			char *err, size_t errlen)
{
	const char *p;
	uint32_t version;

	if (!parse_u32(line, &p, &version) || (version != 1 && version != 3) || *p != ' ')
		return fail(err, errlen, "%s:1: not a dovecot-uidlist header (version 1 or 3)",
			    path);
	*version_r = (int)version;
	if (version == 1) {
		if (!parse_u32(p + 1, &p, &sf->uidvalidity) || *p != ' ' ||
		    !parse_u32(p + 1, &p, &sf->uidnext) || *p != '\0')
			return fail(err, errlen, "%s:1: expected '1 UIDVALIDITY NEXTUID'", path);
	} else {
		for (char *tok = strtok(line + 2, " "); tok != NULL; tok = strtok(NULL, " ")) {
			uint32_t *dst = tok[0] == 'V' ? &sf->uidvalidity :
					tok[0] == 'N' ? &sf->uidnext : NULL;

			if (dst != NULL && (!parse_u32(tok + 1, &p, dst) || *p != '\0'))
				return fail(err, errlen, "%s:1: bad %c field '%s'", path, tok[0],
					    tok);
		}
	}
	if (sf->uidvalidity == 0 || sf->uidnext == 0)
		return fail(err, errlen, "%s:1: no UIDVALIDITY or next UID", path);
	return 0;
}

/* Reads dovecot-uidlist into sf's files (sorted by base meanwhile).  0 when
 * there is none (Dovecot never opened the folder). */
static int read_uidlist(const char *folder, struct src_folder *sf, char *err, size_t errlen)
{
	char *path = xasprintf("%s/dovecot-uidlist", folder);
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int version = 0, ret = -1;
	uint32_t last = 0;

	if (f == NULL) {
		ret = errno == ENOENT ? 0 : fail(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	if (sf->count > 1)
		qsort(sf->files, sf->count, sizeof(*sf->files), cmp_base);
	while ((n = getline(&line, &cap, f)) >= 0) {
		const char *p;
		char *fname;
		uint32_t uid;
		struct src_file key, *hit;

		lineno++;
		if (n == 0 || line[n - 1] != '\n') {
			fail(err, errlen, "%s:%u: line cut short", path, lineno);
			goto out;
		}
		line[--n] = '\0';
		if (lineno == 1) {
			if (parse_header(line, path, sf, &version, err, errlen) < 0)
				goto out;
			continue;
		}
		if (!parse_u32(line, &p, &uid) || uid == 0 || *p != ' ') {
			fail(err, errlen, "%s:%u: expected a UID", path, lineno);
			goto out;
		}
		if (uid <= last || uid == UINT32_MAX) {
			fail(err, errlen, "%s:%u: UID %" PRIu32 " not ascending", path, lineno, uid);
			goto out;
		}
		last = uid;
		/* Dovecot appends lines without rewriting the header, whose
		 * next UID then lags behind them. */
		if (uid >= sf->uidnext)
			sf->uidnext = uid + 1;
		if (version == 3) {
			fname = strstr(p, " :");
			if (fname == NULL) {
				fail(err, errlen, "%s:%u: no ':FILENAME'", path, lineno);
				goto out;
			}
			*fname = '\0';
			fname += 2;
		} else {
			fname = (char *)p + 1;
		}
		if (fname[0] == '\0' || strchr(fname, '/') != NULL) {
			fail(err, errlen, "%s:%u: bad file name", path, lineno);
			goto out;
		}
		key.base = maildir_base_of(fname);
		hit = sf->count == 0 ? NULL :
			bsearch(&key, sf->files, sf->count, sizeof(*sf->files), cmp_base);
		free(key.base);
		if (hit == NULL)
			continue;	/* expunged since */
		hit->uid = uid;
		/* Extensions: " P<uidl>", " W<vsize>", ...; only P matters here. */
		for (char *ext = strtok((char *)p, " "); version == 3 && ext != NULL;
		     ext = strtok(NULL, " ")) {
			if (ext[0] == 'P' && ext[1] != '\0') {
				if (!maildir_uidl_ok(ext + 1)) {
					fail(err, errlen, "%s:%u: unusable POP3 UIDL", path, lineno);
					goto out;
				}
				free(hit->uidl);
				hit->uidl = xstrdup(ext + 1);
			}
		}
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (lineno == 0) {
		fail(err, errlen, "%s:1: empty file", path);
		goto out;
	}
	ret = 0;
out:
	free(line);
	fclose(f);
	free(path);
	return ret;
}

static int read_keywords(const char *folder, struct src_folder *sf, char *err, size_t errlen)
{
	char *path = xasprintf("%s/dovecot-keywords", folder);
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;

	if (f == NULL) {
		int e = errno;

		free(path);
		return e == ENOENT ? 0 : fail(err, errlen, "%s/dovecot-keywords: %s", folder,
					      strerror(e));
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		const char *p;
		uint32_t idx;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (!parse_u32(line, &p, &idx) || *p != ' ' || p[1] == '\0' ||
		    idx >= STORE_MAX_KEYWORDS) {
			fail(err, errlen, "%s:%u: expected 'INDEX NAME' (index below %d)", path,
			     lineno, STORE_MAX_KEYWORDS);
			free(line);
			fclose(f);
			free(path);
			return -1;
		}
		free(sf->kw[idx]);
		sf->kw[idx] = xstrdup(p + 1);
	}
	free(line);
	fclose(f);
	free(path);
	return 0;
}

/* Dovecot's pop3_uidl_format, the variables we can know. */
static char *format_uidl(const char *fmt, uint32_t uid, uint32_t uidvalidity, const char *base,
			 char *err, size_t errlen)
{
	char out[256];
	size_t o = 0;

	for (const char *p = fmt; *p != '\0' && o < sizeof(out) - 1; p++) {
		char piece[128];
		int width = 0;
		bool zero = false, hex = false;

		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		p++;
		if (*p == '%') {
			out[o++] = '%';
			continue;
		}
		if (*p == '0')
			zero = true;
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		if (*p == 'X' || *p == 'x') {
			hex = true;
			p++;
		}
		if (*p == 'u' || *p == 'v') {
			uint32_t v = *p == 'u' ? uid : uidvalidity;

			/* Dovecot's X modifier writes hex in lower case
			 * (%08Xu%08Xv gives 000000016b0ea0e5, as its POP3
			 * server says). */
			if (hex)
				snprintf(piece, sizeof(piece), zero ? "%0*" PRIx32 : "%*" PRIx32,
					 width, v);
			else
				snprintf(piece, sizeof(piece), zero ? "%0*" PRIu32 : "%*" PRIu32,
					 width, v);
		} else if (*p == 'f') {
			snprintf(piece, sizeof(piece), "%s", base);
		} else {
			fail(err, errlen, "--uidl-format: %%%c is not supported (%%u %%v %%f %%%%)",
			     *p ? *p : ' ');
			return NULL;
		}
		for (const char *q = piece; *q != '\0' && o < sizeof(out) - 1; q++)
			out[o++] = *q;
		if (*p == '\0')
			break;
	}
	out[o] = '\0';
	if (!maildir_uidl_ok(out)) {
		fail(err, errlen, "--uidl-format gives an unusable UIDL '%s'", out);
		return NULL;
	}
	return xstrdup(out);
}

static int copy_file(const char *path, int to, char *err, size_t errlen)
{
	char buf[65536];
	int from = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (from < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	while ((n = read(from, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));

			if (w < 0) {
				close(from);
				return fail(err, errlen, "writing a copy of %s: %s", path,
					    strerror(errno));
			}
			off += w;
		}
	}
	close(from);
	if (n < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

static int import_folder(struct store_import *imp, const char *dir, const char *name,
			 const char *uidl_format, struct import_stats *stats, char *err,
			 size_t errlen)
{
	struct src_folder sf = { 0 };
	int kwmap[STORE_MAX_KEYWORDS];
	size_t alloc = 0;
	bool listed;
	int ret = -1;

	if (scan_dir(dir, "cur", &sf, &alloc, err, errlen) < 0 ||
	    scan_dir(dir, "new", &sf, &alloc, err, errlen) < 0 ||
	    read_uidlist(dir, &sf, err, errlen) < 0 || read_keywords(dir, &sf, err, errlen) < 0)
		goto out;
	listed = sf.uidnext != 0;
	if (!listed) {
		sf.uidnext = 1;
		log_warn("import: %s has no dovecot-uidlist: its messages get new UIDs", dir);
	}
	if (sf.count > 1)
		qsort(sf.files, sf.count, sizeof(*sf.files), cmp_order);
	for (size_t i = 0; i < sf.count; i++)
		if (sf.files[i].uid == 0)
			sf.files[i].uid = sf.uidnext++;
	if (store_import_folder(imp, name, sf.uidvalidity, sf.uidnext, err, errlen) < 0)
		goto out;
	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		kwmap[i] = -1;
		if (sf.kw[i] != NULL &&
		    (kwmap[i] = store_import_keyword(imp, sf.kw[i], err, errlen)) < 0)
			goto out;
	}
	for (size_t i = 0; i < sf.count; i++) {
		struct src_file *f = &sf.files[i];
		struct store_import_msg m = {
			.uid = f->uid,
			.flags = maildir_flags_from_name(f->name),
			.received = f->mtime,
			.base = f->base,
			.uidl = f->uidl,
		};
		uint32_t letters = maildir_keywords_from_name(f->name);
		char *made = NULL;
		int fd;

		for (int k = 0; k < STORE_MAX_KEYWORDS; k++)
			if ((letters & (1u << k)) && kwmap[k] >= 0)
				m.keywords |= 1u << kwmap[k];
		if (m.uidl == NULL) {
			made = format_uidl(uidl_format ? uidl_format : "%08Xu%08Xv", f->uid,
					   sf.uidvalidity, f->base, err, errlen);
			if (made == NULL)
				goto out;
			m.uidl = made;
		}
		if (store_import_msg_begin(imp, &fd, err, errlen) < 0) {
			free(made);
			goto out;
		}
		if (copy_file(f->path, fd, err, errlen) < 0) {
			char ignored[64];

			free(made);
			store_import_msg_end(imp, &m, ignored, 0);
			goto out;
		}
		ret = store_import_msg_end(imp, &m, err, errlen);
		free(made);
		if (ret < 0)
			goto out;
		ret = -1;
		stats->messages++;
	}
	stats->folders++;
	ret = 0;
out:
	folder_free(&sf);
	return ret;
}

/* ".a.b" -> "a/b" (Maildir++ with Dovecot's default '.' separator). */
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

static void import_subscriptions(struct store_import *imp, const char *source)
{
	char *path = xasprintf("%s/subscriptions", source);
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	free(path);
	if (f == NULL)
		return;
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *name = line;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || strncmp(line, "V\t", 2) == 0)
			continue;
		/* Hierarchy separators: '.' (Maildir++) or a tab (version 2
		 * files); a namespace prefix "INBOX." names the same folders. */
		for (char *p = name; *p != '\0'; p++)
			if (*p == '.' || *p == '\t')
				*p = '/';
		if (strncasecmp(name, "INBOX/", 6) == 0)
			name += 6;
		store_import_subscribe(imp, name);
	}
	free(line);
	fclose(f);
}

int import_dovecot(const char *source, const char *root, const char *user,
		   const char *uidl_format, struct import_stats *stats, char *err, size_t errlen)
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
		fail(err, errlen, "%s: not a Maildir (no cur/)", source);
		free(cur);
		return -1;
	}
	free(cur);
	d = opendir(source);
	if (d == NULL)
		return fail(err, errlen, "%s: %s", source, strerror(errno));
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
	if (store_import_begin(root, user, &imp, err, errlen) < 0)
		goto out;
	if (import_folder(imp, source, "INBOX", uidl_format, stats, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < nsub; i++) {
		char *dir = xasprintf("%s/%s", source, subdirs[i]);
		char *name = folder_name(subdirs[i]);
		int r = import_folder(imp, dir, name, uidl_format, stats, err, errlen);

		free(dir);
		free(name);
		if (r < 0)
			goto fail;
	}
	import_subscriptions(imp, source);
	ret = store_import_commit(&imp, err, errlen);
	goto out;
fail:
	store_import_abort(&imp);
out:
	for (size_t i = 0; i < nsub; i++)
		free(subdirs[i]);
	free(subdirs);
	return ret;
}
