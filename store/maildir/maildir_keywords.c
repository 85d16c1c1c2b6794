/*
 * Keyword names of a Maildir folder, in Dovecot's format so a Dovecot
 * Maildir moves over with its keywords: the file dovecot-keywords holds one
 * "INDEX NAME" line per keyword, and a message has keyword INDEX when its
 * file name's info holds the letter 'a' + INDEX.  Names are only ever added
 * (a letter, once given out, keeps its meaning); the file is replaced
 * atomically under the folder's index lock.
 */
#include "store/maildir/maildir.h"
#include "core/buf.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KEYWORD_MAX_LEN 200

void maildir_keywords_free(struct maildir_box *box)
{
	for (unsigned i = 0; i < STORE_MAX_KEYWORDS; i++)
		xfree(&box->base.keywords[i]);
	box->base.nkeywords = 0;
}

/* A name we can keep: printable ASCII, no space, not too long.  (The IMAP
 * layer checks the atom syntax; this keeps the file parseable.) */
static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > KEYWORD_MAX_LEN)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

void maildir_keywords_load(struct maildir_box *box)
{
	char *path = xasprintf("%s/%s", box->path, MAILDIR_KEYWORDS);
	FILE *f = fopen(path, "r");
	char line[KEYWORD_MAX_LEN + 32];

	maildir_keywords_free(box);
	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("maildir %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end, *name;
		unsigned long idx = strtoul(line, &end, 10);

		line[strcspn(line, "\r\n")] = '\0';
		if (end == line || *end != ' ' || idx >= STORE_MAX_KEYWORDS)
			continue;	/* not ours to understand: skip the line */
		name = end + 1;
		if (!name_ok(name) || box->base.keywords[idx] != NULL)
			continue;
		box->base.keywords[idx] = xstrdup(name);
	}
	fclose(f);
	free(path);
	/* Dovecot numbers densely; a gap would still keep its letter. */
	for (unsigned i = 0; i < STORE_MAX_KEYWORDS; i++)
		if (box->base.keywords[i] != NULL)
			box->base.nkeywords = i + 1;
	for (unsigned i = 0; i < box->base.nkeywords; i++)
		if (box->base.keywords[i] == NULL)
			box->base.keywords[i] = xasprintf("$Unknown%c", 'a' + i);
}

static int write_keywords(struct maildir_box *box)
{
	struct buf b;
	int ret;

	buf_init(&b, (size_t)-1);
	for (unsigned i = 0; i < box->base.nkeywords; i++)
		buf_printf(&b, "%u %s\n", i, box->base.keywords[i]);
	ret = maildir_replace_file(box->base.st, box->path, MAILDIR_KEYWORDS, buf_ptr(&b),
				   buf_len(&b));
	buf_free(&b);
	return ret;
}

int maildir_keyword_add(struct mailbox *mbox, const char *name, unsigned *index_r)
{
	struct maildir_box *box = maildir_box(mbox);
	int lockfd, ret;

	if (!name_ok(name))
		return store_fail(mbox->st, STORE_ERR_INVALID, "invalid keyword");
	lockfd = maildir_lock(mbox->st, box->path);
	if (lockfd < 0)
		return -1;
	ret = maildir_keyword_add_locked(box, name, index_r);
	maildir_unlock(&lockfd);
	return ret;
}

int maildir_keyword_add_locked(struct maildir_box *box, const char *name, unsigned *index_r)
{
	struct mailbox *mbox = &box->base;
	int found, ret = 0;

	if (!name_ok(name))
		return store_fail(mbox->st, STORE_ERR_INVALID, "invalid keyword");
	/* Another session may have added names since we read the file. */
	maildir_keywords_load(box);
	found = mailbox_keyword_find(mbox, name);
	if (found >= 0) {
		*index_r = (unsigned)found;
	} else if (box->base.nkeywords == STORE_MAX_KEYWORDS) {
		ret = store_fail(mbox->st, STORE_ERR_NOSPACE, "no room for more keywords");
	} else {
		box->base.keywords[box->base.nkeywords++] = xstrdup(name);
		ret = write_keywords(box);
		if (ret < 0)
			xfree(&box->base.keywords[--box->base.nkeywords]);
		else
			*index_r = box->base.nkeywords - 1;
	}
	return ret;
}
