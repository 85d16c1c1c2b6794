/* The store's public API: dispatch to the backend and error bookkeeping. */
#include "store/store_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int store_fail(struct store *st, enum store_error err, const char *fmt, ...)
{
	va_list ap;

	st->error = err;
	va_start(ap, fmt);
	vsnprintf(st->error_text, sizeof(st->error_text), fmt, ap);
	va_end(ap);
	return -1;
}

const char *store_strerror(enum store_error err)
{
	switch (err) {
	case STORE_OK: return "no error";
	case STORE_ERR_TEMP: return "temporary failure";
	case STORE_ERR_NOSPACE: return "out of disk space or quota";
	case STORE_ERR_NOTFOUND: return "no such mailbox";
	case STORE_ERR_EXISTS: return "mailbox exists";
	case STORE_ERR_EXPUNGED: return "message was expunged";
	case STORE_ERR_INUSE: return "in use by another session";
	case STORE_ERR_PERM: return "permission denied";
	case STORE_ERR_INVALID: return "invalid name or argument";
	case STORE_ERR_OVERQUOTA: return "over quota";
	}
	return "unknown error";
}

int store_open(const char *root, const char *user, struct store **st_r, enum store_error *err_r)
{
	/* One backend today; the choice will come from the config. */
	return maildir_store_ops.open(root, user, st_r, err_r);
}

int store_open_dir(const char *dir, struct store **st_r, enum store_error *err_r)
{
	return maildir_store_ops.open_dir(dir, st_r, err_r);
}

void store_close(struct store **stp)
{
	if (*stp == NULL)
		return;
	(*stp)->ops->close(*stp);
	*stp = NULL;
}

enum store_error store_last_error(const struct store *st, const char **text_r)
{
	if (text_r != NULL)
		*text_r = st->error_text[0] ? st->error_text : store_strerror(st->error);
	return st->error;
}

int store_pop3_lock(struct store *st) { return st->ops->pop3_lock(st); }
void store_pop3_unlock(struct store *st) { st->ops->pop3_unlock(st); }

int store_pop3_login_stamp(struct store *st, time_t now, time_t *prev_r)
{
	return st->ops->pop3_login_stamp(st, now, prev_r);
}

int store_mailbox_list(struct store *st, struct store_mailbox_info **list_r, size_t *count_r)
{
	return st->ops->mailbox_list(st, list_r, count_r);
}

void store_mailbox_list_free(struct store_mailbox_info **listp, size_t count)
{
	if (*listp == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*listp)[i].name);
	free(*listp);
	*listp = NULL;
}

int store_mailbox_create(struct store *st, const char *name)
{
	return st->ops->mailbox_create(st, name);
}

int store_mailbox_delete(struct store *st, const char *name)
{
	return st->ops->mailbox_delete(st, name);
}

int store_mailbox_rename(struct store *st, const char *old_name, const char *new_name)
{
	return st->ops->mailbox_rename(st, old_name, new_name);
}

int store_subscription_set(struct store *st, const char *name, bool subscribed)
{
	return st->ops->subscription_set(st, name, subscribed);
}

int store_subscriptions(struct store *st, char ***names_r, size_t *count_r)
{
	return st->ops->subscriptions(st, names_r, count_r);
}

int mailbox_open(struct store *st, const char *name, struct mailbox **box_r)
{
	return st->ops->mailbox_open(st, name, box_r);
}

void mailbox_close(struct mailbox **boxp)
{
	if (*boxp == NULL)
		return;
	mailbox_structures_free(*boxp);
	(*boxp)->st->ops->mailbox_close(*boxp);
	*boxp = NULL;
}

int mailbox_sync(struct mailbox *box)
{
	int ret = box->st->ops->mailbox_sync(box);

	mailbox_structures_prune(box);
	return ret;
}

int mailbox_watch_dirs(const struct mailbox *box, char ***dirs_r, size_t *count_r)
{
	return box->st->ops->watch_dirs(box, dirs_r, count_r);
}
int mailbox_claim_recent(struct mailbox *box) { return box->st->ops->claim_recent(box); }

unsigned mailbox_recent_count(const struct mailbox *box)
{
	unsigned n = 0;

	for (unsigned i = 0; i < box->count; i++)
		n += box->msgs[i].uid >= box->first_recent_uid ||
		     (box->msgs[i].flags & MSG_FLAG_RECENT) != 0;
	return n;
}
void mailbox_show_recent(struct mailbox *box)
{
	for (unsigned i = 0; i < box->count; i++)
		if (box->msgs[i].uid >= box->first_recent_uid)
			box->msgs[i].flags |= MSG_FLAG_RECENT;
}

uint32_t mailbox_uidvalidity(const struct mailbox *box) { return box->uidvalidity; }
uint32_t mailbox_uidnext(const struct mailbox *box) { return box->uidnext; }
unsigned mailbox_count(const struct mailbox *box) { return box->count; }

const struct store_msg *mailbox_msg(const struct mailbox *box, unsigned i)
{
	return i < box->count ? &box->msgs[i] : NULL;
}

int mailbox_find_uid(const struct mailbox *box, uint32_t uid)
{
	unsigned lo = 0, hi = box->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (box->msgs[mid].uid == uid)
			return (int)mid;
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int mailbox_find_uid_at(const struct mailbox *box, uint32_t uid, unsigned hint)
{
	if (hint < box->count && box->msgs[hint].uid == uid)
		return (int)hint;
	return mailbox_find_uid(box, uid);
}

int mailbox_msg_open(struct mailbox *box, uint32_t uid, struct msg_stream **stream_r)
{
	return box->st->ops->msg_open(box, uid, stream_r);
}

ssize_t msg_stream_read(struct msg_stream *stream, void *buf, size_t len)
{
	return stream->st->ops->msg_read(stream, buf, len);
}

int msg_stream_seek(struct msg_stream *stream, uint64_t offset)
{
	return stream->st->ops->msg_seek(stream, offset);
}

void msg_stream_close(struct msg_stream **streamp)
{
	if (*streamp == NULL)
		return;
	(*streamp)->st->ops->msg_close(*streamp);
	*streamp = NULL;
}

int mailbox_update_flags(struct mailbox *box, uint32_t uid, unsigned add, unsigned remove)
{
	return box->st->ops->update_flags(box, uid, add, remove, 0, 0);
}

int mailbox_update_flags_many(struct mailbox *box, const uint32_t *uids, size_t count,
			      unsigned add, unsigned remove)
{
	return box->st->ops->update_flags_many(box, uids, count, add, remove);
}

int mailbox_update_flags_keywords(struct mailbox *box, uint32_t uid, unsigned add,
				  unsigned remove, uint32_t kw_add, uint32_t kw_remove)
{
	return box->st->ops->update_flags(box, uid, add, remove, kw_add, kw_remove);
}

unsigned mailbox_keyword_count(const struct mailbox *box) { return box->nkeywords; }

const char *mailbox_keyword(const struct mailbox *box, unsigned i)
{
	return i < box->nkeywords ? box->keywords[i] : NULL;
}

int mailbox_keyword_find(const struct mailbox *box, const char *name)
{
	for (unsigned i = 0; i < box->nkeywords; i++)
		if (strcasecmp(box->keywords[i], name) == 0)
			return (int)i;
	return -1;
}

int mailbox_keyword_add(struct mailbox *box, const char *name, unsigned *index_r)
{
	int i = mailbox_keyword_find(box, name);

	if (i >= 0) {
		*index_r = (unsigned)i;
		return 0;
	}
	return box->st->ops->keyword_add(box, name, index_r);
}

int mailbox_expunge(struct mailbox *box, const uint32_t *uids, size_t count)
{
	int ret = box->st->ops->expunge(box, uids, count);

	mailbox_structures_prune(box);
	return ret;
}

int mailbox_copy(struct mailbox *box, const uint32_t *uids, size_t count, const char *dest,
		 struct store_copy_map *map_r)
{
	memset(map_r, 0, sizeof(*map_r));
	return box->st->ops->copy(box, uids, count, dest, false, map_r);
}

int mailbox_copy_for_move(struct mailbox *box, const uint32_t *uids, size_t count,
			  const char *dest, struct store_copy_map *map_r)
{
	memset(map_r, 0, sizeof(*map_r));
	return box->st->ops->copy(box, uids, count, dest, true, map_r);
}

int mailbox_set_pop3_hidden(struct mailbox *box, const uint32_t *uids, size_t count)
{
	return box->st->ops->set_pop3_hidden(box, uids, count);
}

void store_set_quota(struct store *st, uint64_t storage, uint64_t messages)
{
	st->quota_storage = storage;
	st->quota_messages = messages;
}

int store_quota_get(struct store *st, struct store_quota *q_r)
{
	memset(q_r, 0, sizeof(*q_r));
	q_r->storage_limit = st->quota_storage;
	q_r->messages_limit = st->quota_messages;
	return st->ops->quota_get(st, q_r);
}

int store_quota_check(struct store *st, uint64_t bytes, uint64_t messages)
{
	if (st->quota_storage == 0 && st->quota_messages == 0)
		return 0;
	return st->ops->quota_check(st, bytes, messages);
}

void store_copy_map_free(struct store_copy_map *map)
{
	free(map->src_uids);
	free(map->dest_uids);
	memset(map, 0, sizeof(*map));
}

/* In the order of enum store_special_use, from STORE_USE_SENT on. */
static const char *const special_names[STORE_USE_COUNT] = {
	"Sent", "Drafts", "Trash", "Junk", "Archive",
};

enum store_special_use store_special_use(const char *name)
{
	for (int i = 0; i < STORE_USE_COUNT; i++)
		if (strcmp(name, special_names[i]) == 0)
			return (enum store_special_use)(STORE_USE_SENT + i);
	return STORE_USE_NONE;
}

const char *store_special_name(enum store_special_use use)
{
	if (use < STORE_USE_SENT || use > STORE_USE_ARCHIVE)
		return NULL;
	return special_names[use - STORE_USE_SENT];
}

int mailbox_set_pop3_retrieved(struct mailbox *box, const uint32_t *uids, size_t count, time_t when)
{
	return box->st->ops->set_pop3_retrieved(box, uids, count, when);
}

int store_save_begin(struct store *st, const char *mailbox, time_t received, unsigned flags,
		     struct store_save **save_r)
{
	return st->ops->save_begin(st, mailbox, received, flags, save_r);
}

int store_save_write(struct store_save *save, const void *data, size_t len)
{
	return save->st->ops->save_write(save, data, len);
}

int store_save_keywords(struct store_save *save, const char *const *names, size_t count)
{
	return save->st->ops->save_keywords(save, names, count);
}

void store_save_claim_recent(struct store_save *save, struct mailbox *view)
{
	save->recent_view = view;
}

int store_save_commit(struct store_save **savep, uint32_t *uid_r)
{
	struct store_save *save = *savep;

	*savep = NULL;
	return save->st->ops->save_commit(save, NULL, uid_r);
}

int store_save_commit_uid(struct store_save **savep, uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	struct store_save *save = *savep;

	*savep = NULL;
	*uidvalidity_r = 0;
	*uid_r = 0;
	return save->st->ops->save_commit(save, uidvalidity_r, uid_r);
}

void store_save_abort(struct store_save **savep)
{
	if (*savep == NULL)
		return;
	(*savep)->st->ops->save_abort(*savep);
	*savep = NULL;
}
