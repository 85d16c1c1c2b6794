/*
 * Importing an mbox file (store/import.h) into one folder.
 *
 * A message starts at each line beginning "From " (the From_ line, whose
 * date becomes the INTERNALDATE); the blank line before it belongs to the
 * file, not to the message.  Body lines ">From ", ">>From ", ... lose one
 * '>' (the mboxrd convention, which also undoes mboxo's quoting).  Headers
 * that are the mbox's own metadata are read and dropped, as Dovecot and
 * UW-IMAP do: Status (R \Seen), X-Status (A \Answered, F \Flagged,
 * T \Draft, D \Deleted), X-Keywords, X-UID, X-IMAPbase (UIDVALIDITY,
 * UIDNEXT), X-IMAP and Content-Length.  UW-IMAP's pseudo message (with
 * X-IMAP) is not mail and is skipped.  The UIDs are kept when every message
 * has an X-UID, ascending and below UIDNEXT; else they are 1, 2, ... under
 * a new UIDVALIDITY.  Two passes: the first learns the UIDs and keywords,
 * which the folder needs first, the second copies.
 */
#define _XOPEN_SOURCE 700
#include "store/import.h"
#include "store/import_maildir.h"
#include "store/store.h"
#include "store/store_import.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct mbox_msg {
	uint32_t uid;
	unsigned flags;
	time_t received;
	char **kw;
	size_t nkw;
	bool pseudo;
};

struct mbox {
	const char *path;
	struct mbox_msg *msgs;
	size_t count, alloc;
	uint32_t uidvalidity, uidnext;
	bool uids_ok;
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

static bool is_blank(const char *line, ssize_t n)
{
	return (n == 1 && line[0] == '\n') || (n == 2 && line[0] == '\r' && line[1] == '\n');
}

/* "Name:" at the start of line (case-insensitive): the value, or NULL. */
static const char *header_value(const char *line, const char *name)
{
	size_t len = strlen(name);

	if (strncasecmp(line, name, len) != 0 || line[len] != ':')
		return NULL;
	line += len + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

static bool dropped_header(const char *line)
{
	static const char *const names[] = { "Status", "X-Status", "X-Keywords", "X-UID",
					     "X-IMAPbase", "X-IMAP", "Content-Length" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (header_value(line, names[i]) != NULL)
			return true;
	return false;
}

static time_t from_line_date(const char *line)
{
	const char *p = strchr(line + 5, ' ');
	struct tm tm;

	if (p == NULL)
		return 0;
	while (*p == ' ')
		p++;
	memset(&tm, 0, sizeof(tm));
	tm.tm_isdst = -1;
	if (strptime(p, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return mktime(&tm);
}

static void msg_free(struct mbox_msg *m)
{
	for (size_t i = 0; i < m->nkw; i++)
		free(m->kw[i]);
	free(m->kw);
}

/* Header facts of the current message (first pass). */
static void learn_header(struct mbox *mb, struct mbox_msg *m, char *line)
{
	const char *v;

	line[strcspn(line, "\r\n")] = '\0';
	if ((v = header_value(line, "Status")) != NULL) {
		if (strchr(v, 'R') != NULL)
			m->flags |= MSG_FLAG_SEEN;
	} else if ((v = header_value(line, "X-Status")) != NULL) {
		m->flags |= (strchr(v, 'A') ? MSG_FLAG_ANSWERED : 0) |
			    (strchr(v, 'F') ? MSG_FLAG_FLAGGED : 0) |
			    (strchr(v, 'T') ? MSG_FLAG_DRAFT : 0) |
			    (strchr(v, 'D') ? MSG_FLAG_DELETED : 0);
	} else if ((v = header_value(line, "X-UID")) != NULL) {
		char *end;
		unsigned long long u = strtoull(v, &end, 10);

		m->uid = end != v && u > 0 && u < UINT32_MAX ? (uint32_t)u : 0;
	} else if (((v = header_value(line, "X-IMAPbase")) != NULL ||
		    (v = header_value(line, "X-IMAP")) != NULL) &&
		   (mb->count == 1 || (mb->count == 2 && mb->msgs[0].pseudo))) {
		/* Dovecot: "X-IMAPbase: UIDVALIDITY UIDNEXT [keywords]" in the
		 * first message; UW-IMAP: "X-IMAP: UIDVALIDITY LAST-UID" in a
		 * pseudo message of its own, which is not mail. */
		bool uw = strncasecmp(line, "X-IMAP:", 7) == 0;
		unsigned long long a, b;

		if (uw)
			m->pseudo = true;
		if (sscanf(v, "%llu %llu", &a, &b) == 2 && a > 0 && a <= UINT32_MAX &&
		    b + uw > 0 && b + uw <= UINT32_MAX) {
			mb->uidvalidity = (uint32_t)a;
			mb->uidnext = (uint32_t)(b + uw);
		}
	} else if (header_value(line, "X-IMAP") != NULL) {
		m->pseudo = true;
	} else if ((v = header_value(line, "X-Keywords")) != NULL) {
		char *copy = xstrdup(v), *save = NULL;

		for (char *t = strtok_r(copy, " ,\t", &save); t != NULL;
		     t = strtok_r(NULL, " ,\t", &save)) {
			m->kw = xrealloc(m->kw, (m->nkw + 1) * sizeof(*m->kw));
			m->kw[m->nkw++] = xstrdup(t);
		}
		free(copy);
	}
}

static int write_all(int fd, const char *p, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0)
			return fail(err, errlen, "writing a message: %s", strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The second pass: each message's bytes go through imp, message index
 * (1-based, into mb->msgs) being the one written now (fd; -1 for a pseudo
 * message, which is skipped). */
struct pass2 {
	struct store_import *imp;
	int fd;
	size_t index;
};

static int finish(struct mbox *mb, struct pass2 *p2, char *err, size_t errlen);

/* Blank lines are held back (the last one before a From_ line is the
 * file's, not the message's); written out, they end as the last one read. */
static int write_blanks(struct pass2 *p2, size_t count, bool crlf, char *err, size_t errlen)
{
	for (size_t i = 0; p2->fd >= 0 && i < count; i++)
		if (write_all(p2->fd, crlf ? "\r\n" : "\n", crlf ? 2 : 1, err, errlen) < 0)
			return -1;
	return 0;
}

/* One pass over the file: the first (p2 NULL) fills mb->msgs from the
 * From_ lines and the metadata headers; the second writes the messages. */
static int walk(struct mbox *mb, FILE *f, struct pass2 *p2, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0, blanks = 0;
	ssize_t n;
	unsigned lineno = 0;
	bool in_msg = false, in_header = false, dropping = false;
	bool crlf = false;	/* the blank lines held back end in CRLF */
	int ret = -1;

	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (strncmp(line, "From ", 5) == 0) {
			/* The blank line before a From_ line is the file's. */
			if (blanks > 0)
				blanks--;
			if (in_msg && p2 != NULL && write_blanks(p2, blanks, crlf, err, errlen) < 0)
				goto out;
			blanks = 0;
			if (in_msg && p2 != NULL && finish(mb, p2, err, errlen) < 0)
				goto out;
			in_msg = in_header = true;
			dropping = false;
			if (p2 == NULL) {
				struct mbox_msg *m;

				if (mb->count == mb->alloc) {
					mb->alloc = mb->alloc ? mb->alloc * 2 : 64;
					mb->msgs = xrealloc(mb->msgs, mb->alloc * sizeof(*mb->msgs));
				}
				m = &mb->msgs[mb->count++];
				memset(m, 0, sizeof(*m));
				m->received = from_line_date(line);
			} else {
				p2->index++;
				if (!mb->msgs[p2->index - 1].pseudo &&
				    store_import_msg_begin(p2->imp, &p2->fd, err, errlen) < 0)
					goto out;
			}
			continue;
		}
		if (!in_msg) {
			if (is_blank(line, n))
				continue;
			fail(err, errlen, "%s:%u: not an mbox (no From_ line before the first "
			     "message)", mb->path, lineno);
			goto out;
		}
		if (in_header) {
			if (is_blank(line, n)) {
				in_header = false;
			} else if ((line[0] == ' ' || line[0] == '\t') && dropping) {
				continue;	/* continuation of a dropped field */
			} else {
				dropping = dropped_header(line);
				if (dropping) {
					if (p2 == NULL)
						learn_header(mb, &mb->msgs[mb->count - 1], line);
					continue;
				}
			}
			if (p2 != NULL && p2->fd >= 0 &&
			    write_all(p2->fd, line, (size_t)n, err, errlen) < 0)
				goto out;
			continue;
		}
		if (p2 == NULL)
			continue;
		if (is_blank(line, n)) {
			blanks++;
			crlf = n == 2;
			continue;
		}
		if (write_blanks(p2, blanks, crlf, err, errlen) < 0)
			goto out;
		blanks = 0;
		if (p2->fd >= 0) {
			const char *p = line;
			size_t len = (size_t)n;

			if (line[0] == '>') {
				size_t q = strspn(line, ">");

				if (strncmp(line + q, "From ", 5) == 0) {
					p++;
					len--;
				}
			}
			if (write_all(p2->fd, p, len, err, errlen) < 0)
				goto out;
		}
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", mb->path, strerror(errno));
		goto out;
	}
	if (p2 != NULL && in_msg) {
		/* The last message keeps its blank lines but one. */
		if (blanks > 0)
			blanks--;
		if (write_blanks(p2, blanks, crlf, err, errlen) < 0 ||
		    finish(mb, p2, err, errlen) < 0)
			goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

/* Ends the message being written (p2->index): its flags, keywords, UID. */
static int finish(struct mbox *mb, struct pass2 *p2, char *err, size_t errlen)
{
	struct mbox_msg *m = &mb->msgs[p2->index - 1];
	struct store_import_msg im = { .uid = m->uid, .flags = m->flags, .received = m->received };
	int r;

	if (p2->fd < 0)
		return 0;	/* a pseudo message */
	for (size_t k = 0; k < m->nkw; k++) {
		int idx = store_import_keyword(p2->imp, m->kw[k], err, errlen);

		if (idx < 0)
			log_warn("import: %s: message %zu: %s; keyword left out", mb->path,
				 p2->index, err);
		else
			im.keywords |= 1u << idx;
	}
	r = store_import_msg_end(p2->imp, &im, err, errlen);
	p2->fd = -1;
	return r;
}

int import_mbox(const char *source, const char *mailbox, const struct import_target *to,
		struct import_stats *stats, char *err, size_t errlen)
{
	struct mbox mb = { .path = source, .uids_ok = true };
	struct store_import *imp = NULL;
	struct pass2 p2 = { .fd = -1 };
	uint32_t last = 0, next;
	FILE *f;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	f = fopen(source, "re");
	if (f == NULL)
		return fail(err, errlen, "%s: %s", source, strerror(errno));
	if (walk(&mb, f, NULL, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < mb.count; i++) {
		if (mb.msgs[i].pseudo)
			continue;
		if (mb.msgs[i].uid <= last || mb.uidnext == 0 || mb.msgs[i].uid >= mb.uidnext)
			mb.uids_ok = false;
		last = mb.msgs[i].uid;
	}
	if (!mb.uids_ok) {
		mb.uidvalidity = 0;
		next = 1;
		for (size_t i = 0; i < mb.count; i++)
			if (!mb.msgs[i].pseudo)
				mb.msgs[i].uid = next++;
		mb.uidnext = next;
	}
	if (import_begin(to, &imp, err, errlen) < 0 ||
	    (strcasecmp(mailbox, "INBOX") != 0 &&
	     store_import_folder(imp, "INBOX", 0, 1, err, errlen) < 0) ||
	    store_import_folder(imp, mailbox, mb.uidvalidity, mb.uidnext, err, errlen) < 0)
		goto out;
	store_import_subscribe(imp, mailbox);
	rewind(f);
	p2.imp = imp;
	if (walk(&mb, f, &p2, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < mb.count; i++)
		stats->messages += !mb.msgs[i].pseudo;
	stats->folders = 1;
	if (to->dry_run) {
		store_import_abort(&imp);	/* all of it would have gone in */
		ret = 0;
	} else {
		ret = store_import_commit(&imp, &stats->kept, err, errlen);
	}
	goto done;
out:
	if (p2.fd >= 0) {
		char ignored[8];
		struct store_import_msg none = { 0 };

		store_import_msg_end(imp, &none, ignored, sizeof(ignored));
	}
done:
	for (size_t i = 0; i < mb.count; i++)
		msg_free(&mb.msgs[i]);
	free(mb.msgs);
	fclose(f);
	store_import_abort(&imp);
	return ret;
}
