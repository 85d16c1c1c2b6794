#ifndef DUOMAIL_IMPORT_MAILDIR_H
#define DUOMAIL_IMPORT_MAILDIR_H
/*
 * What the readers of other servers' Maildir++ trees share (Dovecot's,
 * Courier's; store/import.h): walking the folders, matching metadata lines
 * to files by base name (the part before ':', which both servers key
 * on), copying the messages into the store_import.h account.  Each reader
 * only parses its own metadata files.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"

struct import_stats;
struct store_import;

struct src_file {
	char *path;	/* DIR/cur/NAME or DIR/new/NAME */
	char *name;
	char *base;
	time_t mtime;
	uint32_t uid;	/* 0: none yet, gets the next one */
	char *uidl;	/* the source's POP3 UIDL, NULL: the reader's default */
	uint32_t kw;	/* bit i: the folder's keyword kw[i] */
};

struct src_folder {
	struct src_file *files;
	size_t count;
	uint32_t uidvalidity;	/* 0: the source kept none (a new one) */
	uint32_t uidnext;	/* 0: the source kept none */
	char *kw[STORE_MAX_KEYWORDS];
};

struct import_source {
	const char *what;	/* "dovecot": for messages */
	/* Reads dir's metadata into sf, whose files are listed already
	 * (sorted by base, for import_find()).  0, or -1 with err. */
	int (*read_folder)(const char *dir, struct src_folder *sf, void *ctx, char *err,
			   size_t errlen);
	/* The UIDL of a message the metadata gave none: a new string in
	 * *uidl_r (NULL: duomail's own, from the base name).  0 or -1 (err). */
	int (*default_uidl)(const struct src_folder *sf, const struct src_file *f, void *ctx,
			    char **uidl_r, char *err, size_t errlen);
	/* The subscriptions of the tree at source. */
	void (*subscriptions)(struct store_import *imp, const char *source, void *ctx);
	void *ctx;
};

/* Imports the Maildir++ tree at source (INBOX and every .Folder) as user's
 * account, all or nothing. */
struct import_target;
int import_maildir_tree(const char *source, const struct import_target *to,
			const struct import_source *src, struct import_stats *stats, char *err,
			size_t errlen);
/* store_import_begin() for to, with its owner set. */
int import_begin(const struct import_target *to, struct store_import **imp_r, char *err,
		 size_t errlen);

/* The file of base name base, or NULL. */
struct src_file *import_find(struct src_folder *sf, const char *base);
/* A decimal uint32 at s; *end_r after it.  false if none or too big. */
bool import_parse_u32(const char *s, const char **end_r, uint32_t *v_r);
/* A "1 UIDVALIDITY NEXTUID" / "UID FILENAME" file (Courier's
 * courierimapuiddb, Dovecot's dovecot-uidlist before 1.1) or, with
 * v3_ok, Dovecot's version 3 (see import_dovecot.c); P extensions become
 * UIDLs.  A missing file is no data (0).  A broken one: -1 with err naming
 * path and line. */
int import_read_uidlist(const char *path, struct src_folder *sf, bool v3_ok, char *err,
			size_t errlen);
/* Subscriptions "a.b" (Maildir++ names, '.' or a tab between levels, an
 * "INBOX." prefix optional) as duomail's "a/b". */
void import_subscribe_maildir_name(struct store_import *imp, char *name);
int import_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
