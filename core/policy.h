#ifndef DUOMAIL_POLICY_H
#define DUOMAIL_POLICY_H
/*
 * An account's policy: what POP3 does to its mail and how much mail it may
 * hold.  Each setting has a global default in the config ([pop3] delete,
 * folders, retr_sets_seen; [quota] storage, messages) that a user's line in
 * the passwd-file may override in its extra field (core/user_extra.c).
 * account_policy_resolve() merges the two; POP3, IMAP, LMTP and deliver read
 * only the result.  No I/O here: pure values and their parsers, so the
 * config loader and the user database share one spelling of every value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a POP3 DELE means once QUIT commits it (RFC 1939 §6 UPDATE). */
enum pop3_delete_mode {
	POP3_DELETE_EXPUNGE = 0,	/* removed for good: classic POP3 */
	POP3_DELETE_HIDE,		/* POP3 no longer lists it; IMAP keeps it */
	POP3_DELETE_TRASH,		/* moved to the Trash folder */
};

/* Folder names POP3 merges into its maildrop: IMAP names (modified UTF-7,
 * "/" between levels), "INBOX" spelt so.  INBOX, when listed, comes first;
 * the others keep the order given. */
struct policy_folders {
	char **names;
	size_t count;
};

/* What a user's extra field says; a setting it leaves out has its bit
 * clear in set and is taken from the config. */
enum {
	USER_SET_POP3_DELETE	= 1u << 0,
	USER_SET_POP3_FOLDERS	= 1u << 1,
	USER_SET_POP3_RETR_SEEN	= 1u << 2,
	USER_SET_QUOTA_STORAGE	= 1u << 3,
	USER_SET_QUOTA_MESSAGES	= 1u << 4,
	USER_SET_PROTOCOLS	= 1u << 5,
	USER_SET_MAILDIR	= 1u << 6,
};

/* The protocols a user may log in with (protocols=imap,pop3). */
enum {
	POLICY_PROTO_POP3	= 1u << 0,
	POLICY_PROTO_IMAP	= 1u << 1,
	POLICY_PROTO_ALL	= POLICY_PROTO_POP3 | POLICY_PROTO_IMAP,
};

struct user_settings {
	unsigned set;			/* USER_SET_* */
	enum pop3_delete_mode pop3_delete;
	struct policy_folders pop3_folders;
	bool pop3_retr_seen;
	uint64_t quota_storage;		/* bytes, 0 = unlimited */
	uint64_t quota_messages;	/* 0 = unlimited */
	unsigned protocols;		/* POLICY_PROTO_*; all when not set */
	char *maildir;			/* the user's Maildir (absolute, no ".."), or
					 * NULL for [store] root/USER */
};

/* The merged result for one login or delivery. */
struct account_policy {
	enum pop3_delete_mode pop3_delete;
	struct policy_folders pop3_folders;	/* never empty */
	bool pop3_retr_seen;
	uint64_t quota_storage;
	uint64_t quota_messages;
};

struct config;

/* ---- value parsers: 0, or -1 with a short reason in err ---- */
int policy_parse_delete(const char *value, enum pop3_delete_mode *mode_r);
const char *policy_delete_name(enum pop3_delete_mode mode);
/* "yes" or "no". */
int policy_parse_bool(const char *value, bool *b_r);
/* Bytes: digits with an optional suffix K, M, G or T (powers of 1024,
 * either case, as Dovecot reads them).  unit is what a bare number counts
 * in (1 for duomail's keys, 1024 for Dovecot's quota_rule storage=). */
int policy_parse_size(const char *value, uint64_t unit, uint64_t *bytes_r, char *err,
		      size_t errlen);
/* A plain count of messages. */
int policy_parse_count(const char *value, uint64_t *n_r, char *err, size_t errlen);
/* "INBOX, Junk": comma-separated, spaces around names ignored.  Names must
 * be printable ASCII (the IMAP name, modified UTF-7), without the IMAP
 * wildcards '*' and '%' and without an empty level; listed once each. */
int policy_folders_parse(const char *value, struct policy_folders *f_r, char *err,
			 size_t errlen);
/* "imap,pop3" (commas or spaces between, either case; "none" for no
 * login at all, say for a delivery-only account). */
int policy_parse_protocols(const char *value, unsigned *protocols_r, char *err, size_t errlen);
const char *policy_protocol_name(unsigned protocol);
/* A Maildir path: absolute, no "." or ".." component, no control
 * characters; "maildir:" in front (Dovecot's mail location) is dropped.
 * *dir_r is a new string.  Whether it may lie outside [store] root is
 * account_open()'s question (it knows the config). */
int policy_parse_maildir(const char *value, char **dir_r, char *err, size_t errlen);
/* Is dir inside root (root itself excluded)?  Both already validated. */
bool policy_path_inside(const char *root, const char *dir);
void policy_folders_copy(struct policy_folders *dst, const struct policy_folders *src);
void policy_folders_free(struct policy_folders *f);

void user_settings_free(struct user_settings *us);
void user_settings_copy(struct user_settings *dst, const struct user_settings *src);

/* The user's settings over the config's defaults; us may be NULL (no
 * overrides).  Free the result with account_policy_free(). */
void account_policy_resolve(const struct config *cfg, const struct user_settings *us,
			    struct account_policy *policy_r);
void account_policy_copy(struct account_policy *dst, const struct account_policy *src);
void account_policy_free(struct account_policy *policy);

/* ---- core/user_extra.c: the passwd-file's extra field ----
 *
 * Space-separated key=value pairs, as Dovecot writes them.  duomail's keys,
 * each also accepted with Dovecot's "userdb_" prefix:
 *   pop3_delete=expunge|hide|trash   pop3_folders=INBOX,Junk
 *   pop3_retr_seen=yes|no            quota_storage=SIZE   quota_messages=N
 *   protocols=imap,pop3|none         maildir=/abs/path/to/Maildir
 * and, so that a Dovecot file keeps its limits, Dovecot's own
 *   quota_rule=*:storage=SIZE:bytes=SIZE:messages=N   (storage= counts KiB)
 *   quota_storage_size=SIZE   quota_message_count=N  (Dovecot 2.4)
 * duomail's quota_storage/quota_messages win over Dovecot's spellings.
 * Anything else (Dovecot's userdb_mail=, nopassword, quota_rule2=...) is
 * not duomail's and is passed to unknown (if not NULL) and skipped.
 *
 * Returns 0, or -1 with "key: problem" in err for a value duomail cannot
 * honour: the caller then refuses the user rather than guess. */
int user_extra_parse(const char *extra, struct user_settings *us_r,
		     void (*unknown)(const char *key, size_t len, void *ctx), void *ctx,
		     char *err, size_t errlen);

/* The same keys as separate key/value pairs (a user database row: column
 * name, value; a NULL value is a column left empty and skipped). */
int user_extra_parse_pairs(size_t n, const char *const keys[], const char *const values[],
			   struct user_settings *us_r,
			   void (*unknown)(const char *key, size_t len, void *ctx), void *ctx,
			   char *err, size_t errlen);

#endif
