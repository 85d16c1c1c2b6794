/*
 * Stored POP3 UIDLs: messages that came from another server (`duomail
 * import`) keep the UIDL that server gave them, so a POP3 client that
 * leaves mail on the server downloads nothing again (RFC 1939 §7: a UIDL
 * must never change for the life of a message).
 *
 *   duomail-pop3-uidls 1
 *   UIDL BASE
 *   ...
 *
 * A file of its own beside the index, keyed by the Maildir base name, for
 * the reason duomail-pop3-hidden is (maildir_hidden.c): the index may be
 * lost and rebuilt at any time, base names stay.  Messages without a line
 * get the UIDL made from their base name (maildir_uidl()).  Written once,
 * whole, by the importer; read at every full sync.  Lines of expunged
 * messages stay (they name nothing any more, and a base is never reused).
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uidl_pair {
	char *base;
	char *uidl;
};

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct uidl_pair *)a)->base, ((const struct uidl_pair *)b)->base);
}

bool maildir_uidl_ok(const char *uidl)
{
	size_t len = strlen(uidl);

	if (len < 1 || len > 70)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uidl[i] < 0x21 || (unsigned char)uidl[i] > 0x7e)
			return false;
	return true;
}

void maildir_uidls_apply(struct maildir_box *box)
{
	char *path = xasprintf("%s/%s", box->path, MAILDIR_POP3_UIDLS);
	struct uidl_pair *v = NULL;
	size_t count = 0, alloc = 0, cap = 0;
	char *line = NULL;
	ssize_t len;
	bool first = true;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (errno != ENOENT)
			log_error("maildir %s: %s (imported messages get new POP3 UIDLs now)", path,
				  strerror(errno));
		free(path);
		return;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		char *sp;

		if (line[len - 1] != '\n')
			break;	/* torn: never written by us */
		line[--len] = '\0';
		if (first) {
			first = false;
			if (strcmp(line, MAILDIR_POP3_UIDLS " 1") != 0) {
				if (maildir_once(box->path, MAILDIR_POP3_UIDLS, "bad header"))
					log_error("maildir %s: not a %s file", path,
						  MAILDIR_POP3_UIDLS);
				break;
			}
			continue;
		}
		sp = strchr(line, ' ');
		if (sp == NULL || sp[1] == '\0' || strpbrk(sp + 1, "/:\r") != NULL)
			continue;
		*sp = '\0';
		if (!maildir_uidl_ok(line))
			continue;
		if (count == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[count].base = xstrdup(sp + 1);
		v[count].uidl = xstrdup(line);
		count++;
	}
	free(line);
	fclose(f);
	free(path);
	if (count > 1)
		qsort(v, count, sizeof(*v), cmp_pair);
	for (unsigned i = 0; i < box->base.count && count > 0; i++) {
		struct uidl_pair key = { .base = box->extra[i].base }, *p;

		p = bsearch(&key, v, count, sizeof(*v), cmp_pair);
		if (p != NULL) {
			maildir_extra_set_uidl(&box->base.msgs[i], &box->extra[i], p->uidl);
			p->uidl = NULL;	/* taken; a base is in the view once */
		}
	}
	for (size_t i = 0; i < count; i++) {
		free(v[i].base);
		free(v[i].uidl);
	}
	free(v);
}
