#ifndef DUOMAIL_STORE_PRIVATE_H
#define DUOMAIL_STORE_PRIVATE_H
/*
 * What a store backend implements.  store.c dispatches every public call
 * through these tables, so a second backend (a server database) plugs in
 * here without the front ends noticing.  Backend objects embed the base
 * structs below as their first member.
 */
#include "store/store.h"

struct store_ops {
	const char *name;
	int (*open)(const char *root, const char *user, struct store **st_r,
		    enum store_error *err_r);
	/* The same for a store at its own place (a user's maildir=). */
	int (*open_dir)(const char *dir, struct store **st_r, enum store_error *err_r);
	void (*close)(struct store *st);
	int (*pop3_lock)(struct store *st);
	void (*pop3_unlock)(struct store *st);
	int (*pop3_login_stamp)(struct store *st, time_t now, time_t *prev_r);

	int (*mailbox_list)(struct store *st, struct store_mailbox_info **list_r, size_t *count_r);
	int (*mailbox_create)(struct store *st, const char *name);
	int (*mailbox_delete)(struct store *st, const char *name);
	int (*mailbox_rename)(struct store *st, const char *old_name, const char *new_name);
	int (*subscription_set)(struct store *st, const char *name, bool subscribed);
	int (*subscriptions)(struct store *st, char ***names_r, size_t *count_r);

	int (*mailbox_open)(struct store *st, const char *name, struct mailbox **box_r);
	void (*mailbox_close)(struct mailbox *box);
	int (*mailbox_sync)(struct mailbox *box);
	int (*watch_dirs)(const struct mailbox *box, char ***dirs_r, size_t *count_r);
	int (*claim_recent)(struct mailbox *box);
	int (*msg_open)(struct mailbox *box, uint32_t uid, struct msg_stream **stream_r);
	ssize_t (*msg_read)(struct msg_stream *stream, void *buf, size_t len);
	int (*msg_seek)(struct msg_stream *stream, uint64_t offset);
	void (*msg_close)(struct msg_stream *stream);
	int (*update_flags)(struct mailbox *box, uint32_t uid, unsigned add, unsigned remove,
			    uint32_t kw_add, uint32_t kw_remove);
	int (*update_flags_many)(struct mailbox *box, const uint32_t *uids, size_t count,
				 unsigned add, unsigned remove);
	int (*keyword_add)(struct mailbox *box, const char *name, unsigned *index_r);
	int (*expunge)(struct mailbox *box, const uint32_t *uids, size_t count);
	int (*set_pop3_retrieved)(struct mailbox *box, const uint32_t *uids, size_t count,
				  time_t when);
	int (*copy)(struct mailbox *box, const uint32_t *uids, size_t count, const char *dest,
		    bool for_move, struct store_copy_map *map_r);
	int (*set_pop3_hidden)(struct mailbox *box, const uint32_t *uids, size_t count);
	int (*quota_get)(struct store *st, struct store_quota *q_r);
	int (*quota_check)(struct store *st, uint64_t bytes, uint64_t messages);

	int (*save_begin)(struct store *st, const char *mailbox, time_t received, unsigned flags,
			  struct store_save **save_r);
	int (*save_write)(struct store_save *save, const void *data, size_t len);
	int (*save_keywords)(struct store_save *save, const char *const *names, size_t count);
	/* uidvalidity_r and uid_r may be NULL; uid_r NULL: no UID wanted */
	int (*save_commit)(struct store_save *save, uint32_t *uidvalidity_r, uint32_t *uid_r);
	void (*save_abort)(struct store_save *save);
};

struct store {
	const struct store_ops *ops;
	enum store_error error;
	char error_text[256];
	uint64_t quota_storage;		/* store_set_quota(); 0 = unlimited */
	uint64_t quota_messages;
};

/* The view every backend keeps: messages sorted by UID. */
struct mailbox {
	struct store *st;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t first_recent_uid;	/* messages from this UID on are \Recent */
	unsigned count;
	struct store_msg *msgs;
	char *keywords[STORE_MAX_KEYWORDS];	/* names; NULL past nkeywords */
	unsigned nkeywords;
	/* parsed MIME structures (mailbox_structure.c), of this UIDVALIDITY */
	struct message_cache *structures;
	uint32_t structures_uidvalidity;
};

struct msg_stream {
	struct store *st;
};

struct store_save {
	struct store *st;
	struct mailbox *recent_view;	/* store_save_claim_recent() */
};

/* Records a failure on st; returns -1 for "return store_fail(...)". */
int store_fail(struct store *st, enum store_error err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mailbox_structure.c: after a sync or expunge, forget the structures of
 * messages that left the view (all of them if UIDVALIDITY changed); on
 * close, all. */
void mailbox_structures_prune(struct mailbox *box);
void mailbox_structures_free(struct mailbox *box);

extern const struct store_ops maildir_store_ops;

#endif
