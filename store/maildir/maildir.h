#ifndef DUOMAIL_MAILDIR_H
#define DUOMAIL_MAILDIR_H
/*
 * The Maildir++ backend (layout: CONTRACT.md).  Flags live in file names
 * ("base:2,FS"); the base name is fixed for the life of a message and is
 * what ties a file to its index entry and to its POP3 UIDL.
 *
 * duomail-index beside cur/new/tmp keeps UIDVALIDITY, the next UID and per
 * message: UID, sizes, POP3 retrieval time, UIDL, base name.  It is replaced
 * atomically under duomail-index.lock (an OFD lock, so several worker
 * processes, `duomail deliver` and admin commands can share one Maildir), and
 * rebuilt from the directory if it is missing or damaged.  The index is a
 * cache of what the directory says plus the UID assignment: it never decides
 * which messages exist.
 *
 * Who may do what without the index lock: anyone may rename a file in cur/
 * (flag changes, ours and foreign MUAs'), and foreign programs deliver into
 * new/ at any time.  Scanning must therefore expect files to vanish and move.
 */
#include "store/store_private.h"

#include <stdbool.h>

#define MAILDIR_INDEX		"duomail-index"
#define MAILDIR_INDEX_TMP	"duomail-index.tmp"
#define MAILDIR_INDEX_LOCK	"duomail-index.lock"
#define MAILDIR_POP3_LOCK	"duomail-pop3.lock"
#define MAILDIR_POP3_LOGIN	"duomail-pop3-login"
#define MAILDIR_LOCK_WAIT_MS	10000
/* Extra directory reads before an indexed message counts as gone: readdir
 * may miss a file that another process renames while we read. */
#define MAILDIR_RESCANS		2
/* ... and at most this many while the directory keeps changing meanwhile. */
#define MAILDIR_RESCANS_BUSY	12
/* Mailbox folder names must fit one directory entry (".a.b"). */
#define MAILDIR_NAME_MAX	250

struct maildir_store {
	struct store base;
	char *dir;		/* ROOT/USER */
	int pop3_lock_fd;
};

struct maildir_msg_extra {
	char *base;		/* unique part of the file name (up to ':') */
	char *fname;		/* its name in cur/ when last seen */
	uint8_t lent;		/* MAILDIR_LENT_*: names the view does not free
				 * (box->lender's, or a UIDL that is the base) */
};
#define MAILDIR_LENT_UIDL	1u	/* the store_msg's uidl */
#define MAILDIR_LENT_BASE	2u
#define MAILDIR_LENT_FNAME	4u
#define MAILDIR_LENT_ALL	7u

/* What the folder's directories and index looked like at the last sync. */
struct maildir_stamp {
	bool valid;
	struct timespec cur, new, index, taken;
	ino_t index_ino;
	off_t index_size;
};

#define MAILDIR_NOTIFY_RING	256	/* events kept per folder (maildir_notify.c) */

/* Where a change was seen (maildir_notify.c). */
enum {
	MAILDIR_NOTIFY_DIR,	/* the folder directory: index, keywords, POP3 files */
	MAILDIR_NOTIFY_CUR,
	MAILDIR_NOTIFY_NEW,
	MAILDIR_NOTIFY_WHERE
};

/* An event a view's own change causes. */
struct maildir_notify_expect {
	uint8_t where;
	uint32_t mask;		/* IN_MOVED_FROM, IN_MOVED_TO, ... */
	uint64_t hash;		/* of the name */
};

struct maildir_notify_folder;
struct maildir_view_copy;

struct maildir_box {
	struct mailbox base;
	char *path;		/* the folder directory (holds cur/ new/ tmp/ and the index) */
	struct maildir_msg_extra *extra;	/* parallel to base.msgs */
	const struct maildir_view_copy *lender;	/* whose names the view borrows */
	struct maildir_stamp stamp;
	int lockfd;		/* the index lock of the last sync; valid while it is held */
	int curfd;		/* cur/ (O_PATH) once a message was read: -1 before */
	unsigned last_open;	/* view position of the last message opened */
	bool claim_in_sync;	/* the next sync also claims \Recent (RFC 3501 §2.3.2) */
	/* maildir_notify.c: the view is current as of event nf_seq of its
	 * folder's record when nf_valid, apart from the events in expect. */
	struct maildir_notify_folder *nf;	/* NULL: not watched (stamps only) */
	bool nf_valid, nf_in_sync;
	/* nf_listed: the view's names are cur/'s as of event nf_seq, but for
	 * the changes in the record after it (valid or not since). */
	bool nf_listed;
	uint64_t nf_seq, nf_sync_from;
	struct maildir_notify_expect *expect;
	size_t nexpect, expect_alloc;
};

/* ---- maildir_store.c: the user's store, folders' paths, locks ---- */
struct maildir_store *maildir_store(struct store *st);
struct maildir_box *maildir_box(struct mailbox *box);
/* Makes path and its cur/, new/, tmp/ (mode 0700; existing ones are fine,
 * but not symbolic links: -1 with ELOOP, unless top_may_link and it is path
 * itself, the user's directory, which the admin may put elsewhere). */
int maildir_make(const char *path, bool top_may_link);
enum store_error maildir_errno(int err);
/* The directory of mailbox name, or NULL if the name is not allowed. */
char *maildir_folder_path(struct maildir_store *ms, const char *name);
/* Takes the folder's index lock, waiting up to MAILDIR_LOCK_WAIT_MS.
 * Returns the lock's fd (closing it releases the lock), or -1 with the
 * error recorded on st (STORE_ERR_TEMP on timeout). */
int maildir_lock(struct store *st, const char *path);
/* The same for the lock file at lockpath itself. */
int maildir_lock_file(struct store *st, const char *lockpath);
void maildir_unlock(int *fd);
/* Is the lock on fd the one on path: not deleted or replaced (by an admin
 * cleaning up) since it was taken?  If not, another process may hold the
 * lock on the file now at path at the same time. */
bool maildir_lock_is_current(int fd, const char *path);
int maildir_fsync_dir(const char *path);
/* A process-wide counter for unique names; the only mutable global. */
unsigned maildir_next_counter(void);
/* A view of the folder at path (taking path); not yet synced. */
struct maildir_box *maildir_box_new(struct store *st, char *path);
void maildir_box_free(struct maildir_box **box);

/* Is path a mailbox whose directories are all real ones: the folder
 * directory itself (unless inbox: the user's directory, which the admin
 * may link elsewhere) and its cur/, new/ and tmp/?  A symbolic link among
 * them is never followed (it could lead out of the user's Maildir, into
 * another user's mail), and is logged once.  Checked when a mailbox is
 * listed, opened or saved into. */
bool maildir_is_mailbox(const char *path, bool inbox);

/* ---- maildir_once.c: problems with one file logged once ---- */
/* True the first time this process asks about (folder, name, kind): then
 * the caller logs the problem; later it stays quiet. */
bool maildir_once(const char *folder, const char *name, const char *kind);

/* ---- maildir_tmp.c: leftovers of interrupted writers ---- */
#define MAILDIR_TMP_STALE	(36 * 3600)	/* the Maildir convention */
/* Removes the files in folder/tmp that were last read, written and changed
 * before older_than.  Problems are logged, not returned. */
void maildir_tmp_clean(const char *folder, time_t older_than);

/* ---- maildir_replace.c: our small files, replaced crash-safely ---- */
/* Makes dir/name hold exactly data (temp file, fsync, rename, fsync dir).
 * 0, or -1 with the error recorded on st.  Caller holds the file's lock. */
int maildir_replace_file(struct store *st, const char *dir, const char *name,
			 const char *data, size_t len);
/* write() until all of data is written (EINTR retried): 0, or -1 with errno. */
int maildir_write_all(int fd, const char *data, size_t len);

/* ---- maildir_viewcache.c: the process's last synced view of big folders ---- */
/* A copy of a folder's view, never changed once made. */
struct maildir_view_copy {
	unsigned count;
	struct store_msg *msgs;	/* without \Recent */
	struct maildir_msg_extra *extra;
};
/* Fills box's view from this process's copy of the folder's last synced
 * view if nothing on disk changed since; returns whether it did (else the
 * caller syncs).  Does not lock. */
bool maildir_viewcache_get(struct maildir_box *box);
/* Keeps a copy of box's freshly synced view; call under the index lock,
 * before anything changes the view.  with_stamp: box->stamp is this
 * view's, so maildir_viewcache_get may hand the copy out as current. */
void maildir_viewcache_put(const struct maildir_box *box, bool with_stamp);
/* After a sync whose view the change record shows current (under the
 * index lock, after maildir_notify_sync_end): a copy other views of this
 * process can adopt while nothing changes. */
void maildir_viewcache_put_current(const struct maildir_box *box);
/* Replaces box's view with such a copy if nothing changed since it was
 * made (keeping box's \Recent claims); returns whether it did. */
bool maildir_viewcache_adopt(struct maildir_box *box);
/* For a view that has none yet (an open): such a copy from an earlier place
 * of the record, if the record still reaches back there.  The view is then
 * not current, but its sync lists cur/ from the record, without a readdir
 * (maildir_notify_replay); returns whether it did. */
bool maildir_viewcache_adopt_listed(struct maildir_box *box);
/* The last copy of the folder at path, however old, or NULL: its names,
 * times and sizes spare a sync the stats (maildir_sync.c).  Give it back
 * with maildir_viewcache_return (which sets *view to NULL). */
const struct maildir_view_copy *maildir_viewcache_lend(const char *path);
void maildir_viewcache_return(const struct maildir_view_copy **view);

/* ---- maildir_notify.c: is a view current, without a look at the disk ---- */
/* Watches box's folder (once per process, however many views); a view
 * of an unwatched folder (inotify's limits) relies on stamps. */
void maildir_notify_attach(struct maildir_box *box);
/* Off: views opened from now on rely on stamps (tests of the stamps). */
void maildir_notify_enable(bool on);
void maildir_notify_detach(struct maildir_box *box);
/* True if every change to the folder since box's last sync is box's own
 * (so its view is current); false if there were others or nobody knows. */
bool maildir_notify_current(struct maildir_box *box);
/* Around a sync and what follows it under the index lock (with_lock's
 * fn, an expunge): begin once the lock is held, end before it is let go.
 * view_current: the caller found the view current and skips the scan. */
void maildir_notify_sync_begin(struct maildir_box *box, bool view_current);
void maildir_notify_sync_end(struct maildir_box *box);
void maildir_notify_sync_failed(struct maildir_box *box);
/* Where box's names were cur/'s listing (box->nf_listed), in *from_r;
 * false if unknown. */
bool maildir_notify_listed_at(const struct maildir_box *box, uint64_t *from_r);
/* box's view is a copy that listed cur/ as of event seq (not current). */
void maildir_notify_listed(struct maildir_box *box, uint64_t seq);
/* Calls fn for every name created in (added) or removed from cur/ since
 * event from, in order; false if the record does not go back that far or
 * was lost (then what fn was told is no listing).  name is valid during
 * the call only. */
bool maildir_notify_replay(struct maildir_box *box, uint64_t from,
			   void (*fn)(void *ctx, const char *name, bool added), void *ctx);
/* The folder's identity and its record's head now (after reading what the
 * kernel queued); false if box's folder is not watched or lost events. */
bool maildir_notify_position(const struct maildir_box *box, uint64_t *id_r, uint64_t *seq_r);
/* Box's view was replaced by one current as of seq (maildir_viewcache.c). */
void maildir_notify_adopted(struct maildir_box *box, uint64_t seq);
/* Box caused an event (where, mask, name) / renamed cur/from to cur/to. */
void maildir_notify_expect(struct maildir_box *box, int where, uint32_t mask, const char *name);
void maildir_notify_rename(struct maildir_box *box, const char *from, const char *to);

/* ---- maildir_stamp.c: skipping a sync when nothing changed ---- */
/* Reads the directories' and index's times now (cur/ and new/ only when
 * dirs is true).  -1 if any cannot be read: then sync. */
int maildir_stamp_take(const char *path, bool dirs, struct maildir_stamp *st);
/* May a sync be skipped: nothing differs from the stamp, and the stamp is
 * old enough that a change in the same clock tick cannot hide behind it? */
bool maildir_stamp_unchanged(const struct maildir_stamp *then, const struct maildir_stamp *now);

/* ---- maildir_index.c: the duomail-index file ---- */
struct maildir_index_entry {
	uint32_t uid;
	uint64_t vsize, psize;
	time_t retrieved;
	char *base;
};

struct maildir_index {
	uint32_t uidvalidity, uidnext, first_recent;
	struct maildir_index_entry *entries;
	size_t count;
	size_t lost;		/* MAILDIR_INDEX_PARTIAL: entry lines that were bad */
};

enum maildir_index_state {
	MAILDIR_INDEX_OK,
	MAILDIR_INDEX_MISSING,
	/* The header is good, some entries are not (version 3, see
	 * maildir_index.c): the good ones and the UID epoch stay. */
	MAILDIR_INDEX_PARTIAL,
	/* Nothing to trust; idx->uidvalidity is kept if the header was
	 * readable (versions 1 and 2; a version 3 header must check out). */
	MAILDIR_INDEX_DAMAGED,
	MAILDIR_INDEX_IOERR,	/* errno says why; nothing is to be rebuilt */
};

/* Reads dir's index.  With MAILDIR_INDEX_OK or _PARTIAL the entries are
 * sorted by base name (for lookups), with unique bases and UIDs below
 * uidnext. */
enum maildir_index_state maildir_index_read(const char *dir, struct maildir_index *idx);
/* Replaces dir's index with idx (entries in UID order) crash-safely:
 * temp file, fsync, rename, fsync dir.  Caller holds the index lock on
 * lockfd; if that lock file was deleted meanwhile, nothing is replaced
 * (-1, STORE_ERR_TEMP): another process may be writing too. */
int maildir_index_write(struct store *st, const char *dir, const struct maildir_index *idx,
			int lockfd);
void maildir_index_free(struct maildir_index *idx);

/* ---- maildir_indexcache.c: the last parsed index of each folder ---- */
/* Fills idx with a copy of what dir's index parsed to, if bytes[0..len) are
 * the bytes it was parsed from; false otherwise. */
bool maildir_indexcache_get(const char *dir, const char *bytes, size_t len,
			    struct maildir_index *idx);
/* Keeps a copy of idx, parsed (MAILDIR_INDEX_OK) from bytes[0..len). */
void maildir_indexcache_put(const char *dir, const char *bytes, size_t len,
			    const struct maildir_index *idx);
/* A UIDVALIDITY for a rebuilt index: strictly above known and above any
 * value handed out before in this folder (remembered in the lock file). */
uint32_t maildir_index_new_uidvalidity(int lockfd, uint32_t known);

/* ---- maildir_sync.c: directory <-> index <-> view ---- */
/* Brings box's view up to date with disk: new/ -> cur/, UIDs for new
 * files, vanished files forgotten, flags re-read.  Caller holds lockfd. */
int maildir_sync_locked(struct maildir_box *box, int lockfd);
/* A view's own change written without a sync: call only under the index
 * lock and when maildir_notify_current(box) said the view is current.
 * Drops the messages marked in gone (parallel to the view) / adds cur/fname
 * with the next UID (returned; 0: not written, then sync).  -1/0 with the
 * error on the store if the index cannot be written. */
int maildir_view_drop_locked(struct maildir_box *box, int lockfd, const bool *gone);
/* Writes the index from box's view, which the caller knows is current and
 * has changed itself (its POP3 retrieval times). */
int maildir_view_write_locked(struct maildir_box *box, int lockfd);
uint32_t maildir_view_add_locked(struct maildir_box *box, int lockfd, const char *fname,
				 uint64_t psize, uint64_t vsize, time_t received);
/* How many such syncs this process has made (tests: was a sync skipped?). */
uint64_t maildir_sync_scans(void);
/* Of those, the ones that listed cur/ from the change record, not readdir. */
uint64_t maildir_sync_listed_scans(void);
/* Writes the index from box's view; caller holds the lock it last synced
 * box with (box->lockfd). */
int maildir_box_write_index(struct maildir_box *box);

/* ---- maildir_view.c: who owns a view's names ---- */
/* A new entry's names, all owned by the view (NULLs allowed). */
void maildir_extra_init(struct store_msg *m, struct maildir_msg_extra *x, char *base,
			char *fname, char *uidl);
/* Frees the entry's names that are the view's own. */
void maildir_extra_free(struct store_msg *m, struct maildir_msg_extra *x);
/* Replace one name; the view owns the new one. */
void maildir_extra_set_fname(struct maildir_msg_extra *x, char *fname);
void maildir_extra_set_uidl(struct store_msg *m, struct maildir_msg_extra *x, char *uidl);
/* Frees the view's messages and gives back the copy it borrows from. */
void maildir_view_free(struct maildir_box *box);
/* \Recent is the view's (RFC 3501 §2.3.2): carries old's marks (UID epoch
 * old_validity) over to msgs (epoch validity) for the same UIDs, as every
 * re-sync and adopted copy must; both lists ascend by UID. */
void maildir_view_keep_recent(struct store_msg *msgs, unsigned n, uint32_t validity,
			      const struct store_msg *old, unsigned n_old, uint32_t old_validity);
/* Sets (on) or clears the view's \Recent marks of UIDs from `from` on. */
void maildir_view_mark_recent(struct maildir_box *box, uint32_t from, bool on);
/* base's current name in dir/cur (another process may have renamed it), or NULL. */
char *maildir_find_base(const char *dir, const char *base);

/* ---- maildir_quota.c: the account's usage (Maildir++ maildirsize) ---- */
#define MAILDIR_QUOTA_FILE	"maildirsize"
#define MAILDIR_QUOTA_LOCK	"duomail-quota.lock"

/* A change to the usage in progress (between begin and end). */
struct maildir_quota {
	int lockfd;		/* -1: nothing is tracked (no limits, no maildirsize) */
	int64_t bytes, messages;	/* the usage, as read or recounted */
	time_t mtime;		/* of maildirsize when read */
	bool exists, header_ok, recounted;
};

/* Takes the quota lock and reads the usage, recounting when the record
 * needs it (see the file's comment).  0 with q->lockfd -1 when nothing is
 * tracked; -1 with the error on st. */
int maildir_quota_begin(struct store *st, struct maildir_quota *q);
/* Do bytes more in messages more messages fit st's limits?  0 yes, -1 with
 * STORE_ERR_OVERQUOTA no (after one recount of a stale record). */
int maildir_quota_fits(struct store *st, struct maildir_quota *q, uint64_t bytes,
		       uint64_t messages);
/* Bytes left under the storage limit (UINT64_MAX: no limit). */
uint64_t maildir_quota_room(const struct store *st, const struct maildir_quota *q);
/* Records a change that has happened on disk.  A failure is logged (a
 * later recount repairs it): the change itself stands. */
void maildir_quota_record(struct store *st, struct maildir_quota *q, int64_t bytes,
			  int64_t messages);
void maildir_quota_end(struct maildir_quota *q);
/* What a message counts for: the ",S=" of its name, else its size. */
uint64_t maildir_quota_size(const char *fname, uint64_t size_on_disk);
/* The messages in dir's cur/ and new/ (a folder about to be deleted). */
int maildir_quota_scan_folder(const char *dir, uint64_t *bytes_r, uint64_t *count_r);
int maildir_quota_get(struct store *st, struct store_quota *q_r);
int maildir_quota_check(struct store *st, uint64_t bytes, uint64_t messages);

/* ---- maildir_hidden.c: POP3's hide marks (duomail-pop3-hidden) ---- */
#define MAILDIR_POP3_HIDDEN	"duomail-pop3-hidden"
/* Sets pop3_hidden in box's view from the folder's list, and drops from
 * the list the messages that are gone.  Caller holds the index lock. */
void maildir_hidden_apply(struct maildir_box *box);
/* Adds bases to the list, durably.  Caller holds the index lock. */
int maildir_hidden_add_locked(struct maildir_box *box, char *const *bases, size_t count);
int maildir_set_pop3_hidden(struct mailbox *box, const uint32_t *uids, size_t count);

/* ---- maildir_account.c: a whole account directory ---- */
/* Calls fn for the account directory (INBOX) and each ".folder" directory
 * in it until fn returns non-zero, which is returned (-1 with errno if the
 * account cannot be read; 0 for no account). */
int maildir_each_folder(const char *account, int (*fn)(const char *dir, void *ctx), void *ctx);
/* rm -rf path (no links followed).  0, or -1 with errno. */
int maildir_rm_tree(const char *path);
/* chown -R (no links followed).  0, or -1 with errno. */
int maildir_chown_tree(const char *path, uid_t uid, gid_t gid);

/* ---- maildir_uidls.c: POP3 UIDLs kept from another server (import) ---- */
#define MAILDIR_POP3_UIDLS	"duomail-pop3-uidls"
/* Gives the view's messages listed in the folder's file their stored UIDL
 * (store_msg.uidl).  Caller holds the index lock. */
void maildir_uidls_apply(struct maildir_box *box);
/* 1..70 characters in 0x21..0x7E (RFC 1939 §7). */
bool maildir_uidl_ok(const char *uidl);

/* ---- maildir_flags.c: file-name info, UIDLs, sizes ---- */
unsigned maildir_flags_from_name(const char *fname);
/* "base:2,LETTERS" with flags set, keeping unknown letters of old_fname. */
char *maildir_name_with_flags(const char *base, const char *old_fname, unsigned flags);
/* The same with the keyword letters a-z set from keywords. */
char *maildir_name_with_flags_kw(const char *base, const char *old_fname, unsigned flags,
				 uint32_t keywords);
/* Keyword bits from the letters a-z of fname's info. */
uint32_t maildir_keywords_from_name(const char *fname);
/* The base name: fname up to ':' (new string). */
char *maildir_base_of(const char *fname);
/* The POP3 UIDL for a base name (RFC 1939 §7 limits).  New string. */
char *maildir_uidl(const char *base);
/* The size with CRLF line ends: from ",W=" in the name, else by reading
 * the file (at dirfd/fname).  -1 with errno if the file cannot be read. */
int maildir_vsize(int dirfd, const char *fname, uint64_t *vsize_r);
/* Counts bare LFs in data; *prev_cr carries state between chunks. */
uint64_t maildir_count_bare_lf(const void *data, size_t len, bool *prev_cr);

/* ---- maildir_msg.c: reading messages ---- */
int maildir_msg_open(struct mailbox *box, uint32_t uid, struct msg_stream **stream_r);
ssize_t maildir_msg_read(struct msg_stream *stream, void *buf, size_t len);
int maildir_msg_seek(struct msg_stream *stream, uint64_t offset);
void maildir_msg_close(struct msg_stream *stream);

/* ---- maildir_keywords.c: the folder's keyword names (dovecot-keywords) ---- */
#define MAILDIR_KEYWORDS	"dovecot-keywords"
/* (Re)reads the names into box->base.keywords; a missing file is no names. */
void maildir_keywords_load(struct maildir_box *box);
void maildir_keywords_free(struct maildir_box *box);
int maildir_keyword_add(struct mailbox *box, const char *name, unsigned *index_r);
/* The same for a caller that holds the folder's index lock (COPY). */
int maildir_keyword_add_locked(struct maildir_box *box, const char *name, unsigned *index_r);

/* ---- maildir_update.c: flags, expunge, POP3 retrieval times ---- */
int maildir_update_flags(struct mailbox *box, uint32_t uid, unsigned add, unsigned remove,
			 uint32_t kw_add, uint32_t kw_remove);
int maildir_update_flags_many(struct mailbox *box, const uint32_t *uids, size_t count,
			      unsigned add, unsigned remove);
int maildir_expunge(struct mailbox *box, const uint32_t *uids, size_t count);
int maildir_set_pop3_retrieved(struct mailbox *box, const uint32_t *uids, size_t count,
			       time_t when);

/* ---- maildir_save.c: new messages ---- */
int maildir_save_begin(struct store *st, const char *mailbox, time_t received, unsigned flags,
		       struct store_save **save_r);
int maildir_save_write(struct store_save *save, const void *data, size_t len);
int maildir_save_keywords(struct store_save *save, const char *const *names, size_t count);
int maildir_save_commit(struct store_save *save, uint32_t *uidvalidity_r, uint32_t *uid_r);
/* A new Maildir unique name, <time>.M<usec>P<pid>Q<counter>.<host>
 * (cr.yp.to/proto/maildir.html, in Dovecot's form). */
char *maildir_unique_name(void);

/* ---- maildir_copy.c: COPY and MOVE ---- */
int maildir_copy(struct mailbox *box, const uint32_t *uids, size_t count, const char *dest,
		 bool for_move, struct store_copy_map *map_r);
void maildir_save_abort(struct store_save *save);

/* ---- maildir_folders.c: the mailbox list and subscriptions ---- */
int maildir_mailbox_list(struct store *st, struct store_mailbox_info **list_r, size_t *count_r);
int maildir_mailbox_create(struct store *st, const char *name);
int maildir_mailbox_delete(struct store *st, const char *name);
int maildir_mailbox_rename(struct store *st, const char *old_name, const char *new_name);
int maildir_subscription_set(struct store *st, const char *name, bool subscribed);
int maildir_subscriptions(struct store *st, char ***names_r, size_t *count_r);
/* A new account's special-use folders (store.h), made and subscribed;
 * failures are logged, not returned: the account works without them. */
void maildir_create_special(struct store *st);

#endif
