#ifndef DUOMAIL_STORE_CHECK_H
#define DUOMAIL_STORE_CHECK_H
/*
 * Verifying a user's metadata against the mail (`duomail check`): each
 * folder's index against its files, its keyword names against the letters
 * in file names, and the account's quota record against a recount.  The
 * check only reads; the repair is what every process of the store does on
 * its own when it meets damage (a sync: the good index lines keep their
 * UIDs, store/maildir/maildir_index.c), done now, plus a recount of the
 * quota record.  Maildir backend.  Blocking (reads every folder).
 */
#include <stdbool.h>

struct store;

/* Called once per problem found ("UID 7: its file is gone", ...). */
typedef void store_check_cb(void *ctx, const char *mailbox, const char *problem);

/* Checks mailbox name; returns how many problems it found (0: none), or
 * -1 with the error on st (STORE_ERR_NOTFOUND: no such mailbox). */
int store_check_mailbox(struct store *st, const char *name, store_check_cb *cb, void *ctx);
/* Checks the quota record (maildirsize) against the folders: 0 or 1 problems, -1 error. */
int store_check_quota(struct store *st, store_check_cb *cb, void *ctx);
/* Repairs mailbox name's index (keeping every UID the index still proves)
 * and, with quota set, recounts the account's quota record.  0 or -1. */
int store_repair_mailbox(struct store *st, const char *name);
int store_repair_quota(struct store *st);

#endif
