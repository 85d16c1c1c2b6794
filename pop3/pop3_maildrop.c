/*
 * The POP3 maildrop under an account policy (core/policy.h): which folders
 * POP3 sees, merged into one RFC 1939 numbering, and what a committed
 * deletion does to a message (expunge, hide from POP3, move to Trash).
 * Everything goes through store.h; the maildrop lock (store_pop3_lock(),
 * taken before any of this) covers the whole account, so all its folders.
 */
#include "pop3/pop3.h"

#include "core/log.h"
#include "store/store.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UIDL_MAX 70	/* RFC 1939 §7 */

char *pop3_folder_uidl(const char *folder, const char *uidl)
{
	unsigned char digest[20];
	char *joined, *hex;
	size_t len;
	bool ok;

	if (strcmp(folder, "INBOX") == 0)
		return xstrdup(uidl);
	/* The folder makes it unique: a file name may well be in two
	 * folders (a copy made by hand), a UIDL must not be (RFC 1939 §7). */
	joined = xasprintf("%s/%s", folder, uidl);
	len = strlen(joined);
	ok = len <= UIDL_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)joined[i] >= 0x21 && (unsigned char)joined[i] <= 0x7e;
	if (ok)
		return joined;
	/* Too long, or the folder name has spaces: a digest of the same
	 * words, just as fixed.  40 hex digits never hold a '/', so it
	 * cannot meet a short form; an INBOX UIDL would have to be a SHA-1
	 * preimage of it. */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, joined, len, digest) < 0)
		fatal("gnutls_hash_fast(SHA1) failed");
	free(joined);
	hex = xmalloc(41);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return hex;
}

void pop3_maildrop_free(struct pop3_maildrop *drop)
{
	for (unsigned i = 0; i < drop->nfolders; i++) {
		mailbox_close(&drop->folders[i].box);
		free(drop->folders[i].name);
	}
	free(drop->folders);
	for (unsigned i = 0; i < drop->nmsgs; i++)
		free(drop->msgs[i].uidl);
	free(drop->msgs);
	memset(drop, 0, sizeof(*drop));
}

static void log_store_error(struct store *st, const char *what, const char *folder)
{
	const char *text;

	store_last_error(st, &text);
	log_error("pop3: %s %s: %s", what, folder, text);
}

/* Moves the messages to Trash: copy, then expunge here.  If the expunge
 * fails, the copies of what is still here are taken back, so no message
 * ends up in both. */
static int move_to_trash(struct store *st, struct pop3_folder *f, const uint32_t *uids,
			 size_t count)
{
	const char *trash = store_special_name(STORE_USE_TRASH);
	struct store_copy_map map;
	int ret;

	ret = mailbox_copy_for_move(f->box, uids, count, trash, &map);
	if (ret < 0 && store_last_error(st, NULL) == STORE_ERR_NOTFOUND) {
		/* Deleted by the user, or an account older than special-use
		 * folders: made again, as the policy needs it. */
		store_copy_map_free(&map);
		if (store_mailbox_create(st, trash) < 0 &&
		    store_last_error(st, NULL) != STORE_ERR_EXISTS) {
			log_store_error(st, "cannot create", trash);
			return -1;
		}
		if (store_subscription_set(st, trash, true) < 0)
			log_store_error(st, "cannot subscribe", trash);
		ret = mailbox_copy_for_move(f->box, uids, count, trash, &map);
	}
	if (ret < 0) {
		log_store_error(st, "cannot move messages to Trash from", f->name);
		store_copy_map_free(&map);
		return -1;
	}
	ret = map.count == 0 ? 0 : mailbox_expunge(f->box, map.src_uids, map.count);
	if (ret < 0) {
		struct mailbox *t = NULL;
		uint32_t *back = xcalloc(map.count, sizeof(*back));
		size_t nback = 0;

		log_store_error(st, "cannot expunge after moving to Trash from", f->name);
		for (size_t i = 0; i < map.count; i++)
			if (mailbox_find_uid(f->box, map.src_uids[i]) >= 0)
				back[nback++] = map.dest_uids[i];
		if (nback > 0 && (mailbox_open(st, trash, &t) < 0 ||
				  mailbox_expunge(t, back, nback) < 0))
			log_error("pop3: %zu messages of %s are now in Trash too", nback, f->name);
		mailbox_close(&t);
		free(back);
	}
	store_copy_map_free(&map);
	return ret;
}

/* Deletes uids of folder f as the policy says. */
static int delete_in_folder(struct store *st, const struct account_policy *policy,
			    struct pop3_folder *f, const uint32_t *uids, size_t count)
{
	enum pop3_delete_mode mode = policy->pop3_delete;

	if (count == 0)
		return 0;
	/* Out of Trash itself, "to Trash" can only mean for good. */
	if (mode == POP3_DELETE_TRASH &&
	    strcmp(f->name, store_special_name(STORE_USE_TRASH)) == 0)
		mode = POP3_DELETE_EXPUNGE;
	switch (mode) {
	case POP3_DELETE_EXPUNGE:
		if (mailbox_expunge(f->box, uids, count) == 0)
			return 0;
		log_store_error(st, "cannot expunge in", f->name);
		return -1;
	case POP3_DELETE_HIDE:
		if (mailbox_set_pop3_hidden(f->box, uids, count) == 0)
			return 0;
		log_store_error(st, "cannot hide messages in", f->name);
		return -1;
	case POP3_DELETE_TRASH:
		return move_to_trash(st, f, uids, count);
	}
	return -1;
}

/* RFC 2449 §6.7: retrieved messages older than the period go. */
static unsigned expire_folder(struct store *st, const struct account_policy *policy,
			      struct pop3_folder *f, int expire_days, time_t now)
{
	unsigned n = mailbox_count(f->box), count = 0;
	time_t limit = (time_t)expire_days * 86400;
	uint32_t *uids;

	if (expire_days <= 0 || n == 0)
		return 0;
	uids = xcalloc(n, sizeof(*uids));
	for (unsigned i = 0; i < n; i++) {
		const struct store_msg *m = mailbox_msg(f->box, i);

		if (!m->pop3_hidden && m->pop3_retrieved != 0 && now - m->pop3_retrieved >= limit)
			uids[count++] = m->uid;
	}
	/* The store leaves the view without them (or marks them hidden). */
	if (delete_in_folder(st, policy, f, uids, count) < 0)
		count = 0;
	free(uids);
	return count;
}

int pop3_maildrop_open(struct store *st, const struct account_policy *policy, int expire_days,
		       time_t now, struct pop3_maildrop *drop, unsigned *expired_r)
{
	size_t nfolders = policy->pop3_folders.count;

	memset(drop, 0, sizeof(*drop));
	*expired_r = 0;
	drop->folders = xcalloc(nfolders ? nfolders : 1, sizeof(*drop->folders));
	for (size_t k = 0; k < nfolders; k++) {
		const char *name = policy->pop3_folders.names[k];
		struct pop3_folder *f = &drop->folders[drop->nfolders];
		enum store_error err;

		if (mailbox_open(st, name, &f->box) < 0) {
			err = store_last_error(st, NULL);
			/* A folder the account does not have (yet): nothing to see.
			 * INBOX always exists; failing to open it is a failure. */
			if (err == STORE_ERR_NOTFOUND && strcmp(name, "INBOX") != 0) {
				log_debug("pop3: folder %s skipped: the account has none", name);
				continue;
			}
			/* A name the store refuses is the admin's mistake: said
			 * every time, but the rest of the maildrop still works. */
			if (err == STORE_ERR_INVALID && strcmp(name, "INBOX") != 0) {
				log_warn("pop3: folder %s skipped: not a valid folder name", name);
				continue;
			}
			log_store_error(st, "cannot open", name);
			pop3_maildrop_free(drop);
			return -1;
		}
		f->name = xstrdup(name);
		drop->nfolders++;
		*expired_r += expire_folder(st, policy, f, expire_days, now);
		drop->msgs = xrealloc(drop->msgs, (drop->nmsgs + mailbox_count(f->box) + 1) *
				      sizeof(*drop->msgs));
		/* The RFC 1939 snapshot: numbering stays fixed for the session. */
		for (unsigned i = 0; i < mailbox_count(f->box); i++) {
			const struct store_msg *m = mailbox_msg(f->box, i);
			struct pop3_msg *pm;

			if (m->pop3_hidden)
				continue;
			pm = &drop->msgs[drop->nmsgs++];
			memset(pm, 0, sizeof(*pm));
			pm->uid = m->uid;
			pm->folder = drop->nfolders - 1;
			pm->vsize = m->vsize;
			pm->uidl = pop3_folder_uidl(name, m->uidl);
		}
	}
	return 0;
}

void pop3_maildrop_commit(struct store *st, const struct account_policy *policy,
			  struct pop3_maildrop *drop, bool expire_retrieved, time_t now,
			  struct pop3_commit_result *r)
{
	uint32_t *del = xcalloc(drop->nmsgs ? drop->nmsgs : 1, sizeof(*del));
	uint32_t *seen = xcalloc(drop->nmsgs ? drop->nmsgs : 1, sizeof(*seen));

	memset(r, 0, sizeof(*r));
	for (unsigned k = 0; k < drop->nfolders; k++) {
		struct pop3_folder *f = &drop->folders[k];
		size_t ndel = 0, nseen = 0;

		for (unsigned i = 0; i < drop->nmsgs; i++) {
			const struct pop3_msg *m = &drop->msgs[i];
			bool gone = m->deleted || (expire_retrieved && m->retrieved);

			if (m->folder != k)
				continue;
			if (gone)
				del[ndel++] = m->uid;
			/* Expunged anyway: no flags needed.  Hidden or moved:
			 * IMAP still shows it, as read if POP3 fetched it. */
			if (m->retrieved && (!gone || policy->pop3_delete != POP3_DELETE_EXPUNGE))
				seen[nseen++] = m->uid;
		}
		/* Flags first, so a message moved to Trash takes them along. */
		if (policy->pop3_retr_seen && nseen > 0 &&
		    mailbox_update_flags_many(f->box, seen, nseen, MSG_FLAG_SEEN, 0) < 0)
			r->record_failed = true;
		if (nseen > 0 && mailbox_set_pop3_retrieved(f->box, seen, nseen, now) < 0)
			r->record_failed = true;
		if (delete_in_folder(st, policy, f, del, ndel) < 0)
			r->delete_failed = true;
		r->deleted += ndel;
		r->retrieved += nseen;
	}
	free(del);
	free(seen);
}
