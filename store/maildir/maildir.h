#ifndef DUOMAIL_MAILDIR_H
#define DUOMAIL_MAILDIR_H
/*
 * The Maildir++ backend (layout: CONTRACT.md).  Flags live in file names
 * ("base:2,FS"); the base name is fixed for the life of a message and is
 * what ties a file to its index entry and to its POP3 UIDL.
 *
 * duomail-index beside cur/new/tmp keeps UIDVALIDITY, the next UID and per
 * message: UID, sizes, POP3 retrieval time, base name.  It is rewritten
 * atomically under duomail-index.lock, and rebuilt from the directory if it
 * is missing or damaged.
 */
#include "store/store_private.h"

#include <stdbool.h>

#define MAILDIR_INDEX		"duomail-index"
#define MAILDIR_INDEX_LOCK	"duomail-index.lock"
#define MAILDIR_POP3_LOCK	"duomail-pop3.lock"
#define MAILDIR_POP3_LOGIN	"duomail-pop3-login"
#define MAILDIR_LOCK_WAIT_MS	10000

struct maildir_store {
	struct store base;
	char *dir;		/* ROOT/USER */
	int pop3_lock_fd;
};

struct maildir_msg_extra {
	char *base;		/* unique part of the file name */
	char *fname;		/* current name in cur/ (base + ":2,flags") */
};

struct maildir_box {
	struct mailbox base;
	char *path;		/* the folder directory */
	struct maildir_msg_extra *extra;	/* parallel to base.msgs */
};

/* ---- maildir_store.c ---- */
/* Makes path and its cur/, new/, tmp/ (existing ones are fine). */
int maildir_make(const char *path);
enum store_error maildir_errno(int err);
struct maildir_store *maildir_store(struct store *st);
/* The directory of mailbox name, or NULL with STORE_ERR_INVALID. */
char *maildir_folder_path(struct maildir_store *ms, const char *name);
/* Takes the folder's index lock (bounded wait).  Returns the fd or -1. */
int maildir_lock(struct store *st, const char *path);
void maildir_unlock(int fd);
int maildir_fsync_dir(const char *path);

/* ---- maildir_flags.c ---- */
unsigned maildir_flags_from_name(const char *fname);
/* Builds "base:2,LETTERS" keeping unknown letters of old_fname. */
char *maildir_name_with_flags(const char *base, const char *old_fname, unsigned flags);
/* The POP3 UIDL for a base name (RFC 1939 §7 limits). */
char *maildir_uidl(const char *base);
/* Size with CRLF line ends: from ",W=" in the name, else by reading. */
int maildir_vsize(const char *path, const char *fname, uint64_t psize, uint64_t *vsize_r);

/* ---- maildir_sync.c ---- */
/* Brings box's view up to date with disk; caller holds the index lock. */
int maildir_sync_locked(struct maildir_box *box);
/* Writes the index from box's view; caller holds the lock. */
int maildir_index_write(struct maildir_box *box);
void maildir_view_free(struct maildir_box *box);
/* Finds base's current file in cur/ (another process may have renamed it). */
char *maildir_find_base(const char *path, const char *base);

/* ---- maildir_mail.c and maildir_save.c: the store_ops entries ---- */
int maildir_msg_open(struct mailbox *box, uint32_t uid, struct msg_stream **stream_r);
ssize_t maildir_msg_read(struct msg_stream *stream, void *buf, size_t len);
void maildir_msg_close(struct msg_stream *stream);
int maildir_update_flags(struct mailbox *box, uint32_t uid, unsigned add, unsigned remove);
int maildir_expunge(struct mailbox *box, const uint32_t *uids, size_t count);
int maildir_set_pop3_retrieved(struct mailbox *box, const uint32_t *uids, size_t count,
			       time_t when);
int maildir_save_begin(struct store *st, const char *mailbox, time_t received, unsigned flags,
		       struct store_save **save_r);
int maildir_save_write(struct store_save *save, const void *data, size_t len);
int maildir_save_commit(struct store_save *save, uint32_t *uid_r);
void maildir_save_abort(struct store_save *save);

/* ---- maildir_folders.c ---- */
int maildir_mailbox_list(struct store *st, struct store_mailbox_info **list_r, size_t *count_r);
int maildir_mailbox_create(struct store *st, const char *name);
int maildir_mailbox_delete(struct store *st, const char *name);
int maildir_mailbox_rename(struct store *st, const char *old_name, const char *new_name);
int maildir_subscription_set(struct store *st, const char *name, bool subscribed);
int maildir_subscriptions(struct store *st, char ***names_r, size_t *count_r);

#endif
