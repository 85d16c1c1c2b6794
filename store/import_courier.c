/*
 * Importing a Courier Maildir++ (store/import.h; the folder walk and the
 * copying are store/import_maildir.c's).  Per folder:
 *
 * courierimapuiddb: IMAP UIDs, "1 UIDVALIDITY NEXTUID" then "UID FILENAME"
 *   lines (the format Dovecot's uidlist version 1 shares).
 * courierpop3dsizelist: what Courier's pop3d told clients.  A header
 *   "/VERSION NEXTUID UIDVALIDITY", then "FILENAME SIZE UID:UIDV[:UTF8]"
 *   lines (versions 2 and 3), "FILENAME SIZE UID" (version 1), or, with no
 *   header, "FILENAME SIZE" (version 0).  Its UIDL for a message is
 *   "UID<uid>-<uidv>" ("UID<uid>" when uidv is 0), or for version 0 lines
 *   the file name's base with bytes outside 0x21..0x7E and ' " + written
 *   as +XX.
 * courierimapkeywords/: ":list" names the keywords, one a line up to a
 *   blank line, then "FILENAME:N N ..." gives a message keywords by
 *   number; a file FILENAME or .N.FILENAME in that directory (the highest
 *   N; a plain FILENAME wins) lists a message's keywords by name instead,
 *   a change not yet folded into :list.
 * courierimapsubscribed (at the top): subscribed folders, "INBOX.a.b".
 * Letters a-z in Courier's file names are not keywords, so they are left
 * out.
 */
#include "store/import.h"
#include "store/import_maildir.h"
#include "store/maildir/maildir.h"
#include "store/store_import.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* Courier's version 0 UIDL: the base name, odd bytes as +XX. */
static char *escaped_base(const char *base)
{
	char *out = xmalloc(strlen(base) * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)base; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e || *p == '\'' || *p == '"' || *p == '+')
			o += sprintf(o, "+%02X", *p);
		else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

static int read_sizelist(const char *dir, struct src_folder *sf, char *err, size_t errlen)
{
	char *path = xasprintf("%s/courierpop3dsizelist", dir);
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0, version = 0;
	int ret = -1;

	if (f == NULL) {
		ret = errno == ENOENT ? 0 : import_fail(err, errlen, "%s: %s", path,
							strerror(errno));
		free(path);
		return ret;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *last, *size, *base;
		const char *p;
		uint32_t uid = 0, uidv = 0, v;
		struct src_file *hit;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (lineno == 1 && line[0] == '/') {
			if (!import_parse_u32(line + 1, &p, &v) || v < 1 || v > 3 || *p != ' ') {
				import_fail(err, errlen, "%s:1: not a courierpop3dsizelist header "
					    "(/1 to /3)", path);
				goto out;
			}
			version = v;
			continue;
		}
		if (line[0] == '\0')
			continue;
		/* From the right: the file name may hold spaces, the rest not. */
		last = strrchr(line, ' ');
		if (last == NULL)
			goto bad;
		*last++ = '\0';
		if (version == 0) {
			size = last;
		} else {
			size = strrchr(line, ' ');
			if (size == NULL)
				goto bad;
			*size++ = '\0';
			if (!import_parse_u32(last, &p, &uid) ||
			    (version >= 2 && (*p != ':' || !import_parse_u32(p + 1, &p, &uidv) ||
					      (*p != '\0' && *p != ':'))) ||
			    (version == 1 && *p != '\0'))
				goto bad;
		}
		if (!import_parse_u32(size, &p, &v) || *p != '\0' || line[0] == '\0')
			goto bad;
		base = maildir_base_of(line);
		hit = import_find(sf, base);
		if (hit != NULL) {
			free(hit->uidl);
			if (uid == 0)
				hit->uidl = escaped_base(base);
			else if (uidv != 0)
				hit->uidl = xasprintf("UID%" PRIu32 "-%" PRIu32, uid, uidv);
			else
				hit->uidl = xasprintf("UID%" PRIu32, uid);
		}
		free(base);
		continue;
bad:
		import_fail(err, errlen, "%s:%u: expected 'FILENAME SIZE%s'", path, lineno,
			    version == 0 ? "" : version == 1 ? " UID" : " UID:UIDVALIDITY");
		goto out;
	}
	ret = 0;
out:
	free(line);
	fclose(f);
	free(path);
	return ret;
}

/* The index of keyword name in sf, adding it; -1 if there is no room. */
static int keyword_index(struct src_folder *sf, const char *name)
{
	int i;

	for (i = 0; i < STORE_MAX_KEYWORDS && sf->kw[i] != NULL; i++)
		if (strcasecmp(sf->kw[i], name) == 0)
			return i;
	if (i == STORE_MAX_KEYWORDS)
		return -1;
	sf->kw[i] = xstrdup(name);
	return i;
}

/* A pending change: the file's keyword names replace what :list says. */
static void read_update(const char *kwdir, const char *fname, const char *base,
			struct src_folder *sf)
{
	char *path = xasprintf("%s/%s", kwdir, fname);
	FILE *f = fopen(path, "re");
	struct src_file *hit = import_find(sf, base);
	char *line = NULL;
	size_t cap = 0;

	free(path);
	if (f == NULL || hit == NULL) {
		if (f != NULL)
			fclose(f);
		return;
	}
	hit->kw = 0;
	while (getline(&line, &cap, f) > 0) {
		int k;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		k = keyword_index(sf, line);
		if (k < 0)
			log_warn("import: %s: more than %d keywords; '%s' left out", kwdir,
				 STORE_MAX_KEYWORDS, line);
		else
			hit->kw |= 1u << k;
	}
	free(line);
	fclose(f);
}

/* A file in courierimapkeywords/ other than :list. */
struct pending {
	char *fname;
	char *base;
	uint32_t num;	/* .N.; UINT32_MAX for a plain FILENAME */
};

/* By base name, the newest first. */
static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	if (c != 0)
		return c;
	return x->num > y->num ? -1 : x->num < y->num;
}

static int read_keywords(const char *dir, struct src_folder *sf, char *err, size_t errlen)
{
	char *kwdir = xasprintf("%s/courierimapkeywords", dir);
	char *path = xasprintf("%s/:list", kwdir);
	FILE *f = fopen(path, "re");
	char *names[256] = { NULL };
	unsigned nnames = 0, lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	bool in_names = true;
	struct pending *pending = NULL;
	size_t npending = 0;
	struct dirent *de;
	DIR *d;
	int ret = -1;

	if (f == NULL && errno != ENOENT) {
		import_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (f != NULL && getline(&line, &cap, f) >= 0) {
		char *colon, *save = NULL, *base;
		struct src_file *hit;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (in_names) {
			if (line[0] == '\0')
				in_names = false;
			else if (nnames < sizeof(names) / sizeof(names[0]))
				names[nnames++] = xstrdup(line);
			continue;
		}
		colon = strrchr(line, ':');
		if (colon == NULL) {
			import_fail(err, errlen, "%s:%u: expected 'FILENAME:N N ...'", path, lineno);
			goto out;
		}
		*colon = '\0';
		base = maildir_base_of(line);
		hit = import_find(sf, base);
		free(base);
		for (char *t = strtok_r(colon + 1, " ", &save); t != NULL;
		     t = strtok_r(NULL, " ", &save)) {
			const char *p;
			uint32_t idx;
			int k;

			if (!import_parse_u32(t, &p, &idx) || *p != '\0' || idx >= nnames) {
				import_fail(err, errlen, "%s:%u: keyword number '%s' not in the list",
					    path, lineno, t);
				goto out;
			}
			if (hit == NULL)
				continue;
			k = keyword_index(sf, names[idx]);
			if (k < 0)
				log_warn("import: %s: more than %d keywords; '%s' left out", path,
					 STORE_MAX_KEYWORDS, names[idx]);
			else
				hit->kw |= 1u << k;
		}
	}
	/* Changes not folded into :list yet: the newest per message wins. */
	d = opendir(kwdir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		const char *base = de->d_name, *p;
		uint32_t num = UINT32_MAX;	/* a plain FILENAME: above any .N. */

		if (strcmp(base, ":list") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
			continue;
		if (base[0] == '.') {
			if (!import_parse_u32(base + 1, &p, &num) || *p != '.' ||
			    num == UINT32_MAX)
				continue;
			base = p + 1;
		}
		pending = xrealloc(pending, (npending + 1) * sizeof(*pending));
		pending[npending].fname = xstrdup(de->d_name);
		pending[npending].base = xstrdup(base);
		pending[npending].num = num;
		npending++;
	}
	if (d != NULL)
		closedir(d);
	if (npending > 1)
		qsort(pending, npending, sizeof(*pending), cmp_pending);
	for (size_t i = 0; i < npending; i++)
		if (i == 0 || strcmp(pending[i - 1].base, pending[i].base) != 0)
			read_update(kwdir, pending[i].fname, pending[i].base, sf);
	ret = 0;
out:
	for (size_t i = 0; i < npending; i++) {
		free(pending[i].fname);
		free(pending[i].base);
	}
	free(pending);
	for (unsigned i = 0; i < nnames; i++)
		free(names[i]);
	free(line);
	if (f != NULL)
		fclose(f);
	free(path);
	free(kwdir);
	return ret;
}

static int read_folder(const char *dir, struct src_folder *sf, void *ctx, char *err,
		       size_t errlen)
{
	char *path = xasprintf("%s/courierimapuiddb", dir);
	int ret = import_read_uidlist(path, sf, false, err, errlen);

	free(path);
	if (ret < 0 || read_sizelist(dir, sf, err, errlen) < 0 ||
	    read_keywords(dir, sf, err, errlen) < 0)
		return -1;
	return 0;
}

static void subscriptions(struct store_import *imp, const char *source, void *ctx)
{
	char *path = xasprintf("%s/courierimapsubscribed", source);
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	free(path);
	if (f == NULL)
		return;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0')
			import_subscribe_maildir_name(imp, line);
	}
	free(line);
	fclose(f);
}

int import_courier(const char *source, const struct import_target *to,
		   struct import_stats *stats, char *err, size_t errlen)
{
	struct import_source src = {
		.what = "courierimapuiddb",
		.read_folder = read_folder,
		.default_uidl = NULL,	/* never shown by Courier: ours is as good */
		.subscriptions = subscriptions,
	};

	return import_maildir_tree(source, to, &src, stats, err, errlen);
}
