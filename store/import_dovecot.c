/*
 * Importing a Dovecot Maildir++ (store/import.h; the folder walk and the
 * copying are store/import_maildir.c's).
 *
 * dovecot-uidlist, version 3 (Dovecot 1.1 on):
 *   3 V<uidvalidity> N<nextuid> G<guid> ...      header, fields in any order
 *   <uid> [<ext>...] :<file name base>          ext: a letter and a value,
 *                                               P<pop3 uidl>, W<vsize>, G<guid>
 * and version 1 (Dovecot 1.0, Courier's courierimapuiddb format):
 *   1 <uidvalidity> <nextuid>
 *   <uid> <file name>
 * Keyword letters in file names follow the folder's dovecot-keywords
 * ("INDEX NAME" lines), which duomail keeps in the same format; the
 * subscriptions file is read as Maildir++ names.  A message without a
 * stored UIDL (P) gets the one Dovecot's pop3_uidl_format made for it.
 */
#include "store/import.h"
#include "store/import_maildir.h"
#include "store/maildir/maildir.h"
#include "store/store_import.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		return e == ENOENT ? 0 : import_fail(err, errlen, "%s/dovecot-keywords: %s", folder,
					      strerror(e));
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		const char *p;
		uint32_t idx;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (!import_parse_u32(line, &p, &idx) || *p != ' ' || p[1] == '\0' ||
		    idx >= STORE_MAX_KEYWORDS) {
			import_fail(err, errlen, "%s:%u: expected 'INDEX NAME' (index below %d)", path,
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
			import_fail(err, errlen, "--uidl-format: %%%c is not supported (%%u %%v %%f %%%%)",
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
		import_fail(err, errlen, "--uidl-format gives an unusable UIDL '%s'", out);
		return NULL;
	}
	return xstrdup(out);
}


static int read_folder(const char *dir, struct src_folder *sf, void *ctx, char *err,
		       size_t errlen)
{
	char *path = xasprintf("%s/dovecot-uidlist", dir);
	int ret = import_read_uidlist(path, sf, true, err, errlen);

	free(path);
	if (ret < 0 || read_keywords(dir, sf, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sf->count; i++)
		sf->files[i].kw = maildir_keywords_from_name(sf->files[i].name);
	return 0;
}

static int default_uidl(const struct src_folder *sf, const struct src_file *f, void *ctx,
			char **uidl_r, char *err, size_t errlen)
{
	const char *fmt = ctx;

	*uidl_r = format_uidl(fmt != NULL ? fmt : "%08Xu%08Xv", f->uid, sf->uidvalidity, f->base,
			      err, errlen);
	return *uidl_r != NULL ? 0 : -1;
}

static void subscriptions(struct store_import *imp, const char *source, void *ctx)
{
	char *path = xasprintf("%s/subscriptions", source);
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	free(path);
	if (f == NULL)
		return;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		/* "V\t2" and a blank line head version 2 files. */
		if (line[0] != '\0' && strncmp(line, "V\t", 2) != 0)
			import_subscribe_maildir_name(imp, line);
	}
	free(line);
	fclose(f);
}

int import_dovecot(const char *source, const struct import_target *to, const char *uidl_format,
		   struct import_stats *stats, char *err, size_t errlen)
{
	struct import_source src = {
		.what = "dovecot-uidlist",
		.read_folder = read_folder,
		.default_uidl = default_uidl,
		.subscriptions = subscriptions,
		.ctx = (void *)uidl_format,
	};
	char probe[256];

	/* A bad format is the user's mistake: say so before copying anything. */
	if (uidl_format != NULL) {
		char *u = format_uidl(uidl_format, 1, 1, "x", probe, sizeof(probe));

		if (u == NULL)
			return import_fail(err, errlen, "%s", probe);
		free(u);
	}
	return import_maildir_tree(source, to, &src, stats, err, errlen);
}
