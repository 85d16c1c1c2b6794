/*
 * Who owns a view's names (each message's UIDL, base and file name).
 *
 * A view made from the process's copy of the folder (maildir_viewcache.c:
 * an open with nothing changed, an adopted re-sync) borrows the copy's
 * names instead of copying three strings a message: a SELECT of 100,000
 * messages spent a third of its time in malloc and free.  The view holds
 * the copy (box->lender, refcounted) until it is freed, and each name it
 * changes later (a flag rename, a kept UIDL) is its own, marked so in
 * extra->lent.  A UIDL that is the entry's own base is the same string,
 * marked lent too (not freed apart from the base).  Names are set and
 * freed through these functions only.
 */
#include "store/maildir/maildir.h"

#include <stdlib.h>
#include <string.h>

void maildir_extra_init(struct store_msg *m, struct maildir_msg_extra *x, char *base,
			char *fname, char *uidl)
{
	x->base = base;
	x->fname = fname;
	x->lent = 0;
	m->uidl = uidl;
	/* Most UIDLs are the base itself (maildir_uidl()): one string, and
	 * the UIDL is not freed apart from it. */
	if (uidl != NULL && base != NULL && strcmp(uidl, base) == 0) {
		free(uidl);
		m->uidl = base;
		x->lent = MAILDIR_LENT_UIDL;
	}
}

void maildir_extra_free(struct store_msg *m, struct maildir_msg_extra *x)
{
	if (!(x->lent & MAILDIR_LENT_UIDL))
		free((char *)m->uidl);
	if (!(x->lent & MAILDIR_LENT_BASE))
		free(x->base);
	if (!(x->lent & MAILDIR_LENT_FNAME))
		free(x->fname);
	m->uidl = NULL;
	x->base = x->fname = NULL;
	x->lent = 0;
}

void maildir_extra_set_fname(struct maildir_msg_extra *x, char *fname)
{
	if (!(x->lent & MAILDIR_LENT_FNAME))
		free(x->fname);
	x->fname = fname;
	x->lent &= (uint8_t)~MAILDIR_LENT_FNAME;
}

void maildir_extra_set_uidl(struct store_msg *m, struct maildir_msg_extra *x, char *uidl)
{
	if (!(x->lent & MAILDIR_LENT_UIDL))
		free((char *)m->uidl);
	m->uidl = uidl;
	x->lent &= (uint8_t)~MAILDIR_LENT_UIDL;
}

void maildir_view_free(struct maildir_box *box)
{
	for (unsigned i = 0; i < box->base.count; i++)
		maildir_extra_free(&box->base.msgs[i], &box->extra[i]);
	free(box->base.msgs);
	free(box->extra);
	box->base.msgs = NULL;
	box->extra = NULL;
	box->base.count = 0;
	maildir_viewcache_return(&box->lender);
}
