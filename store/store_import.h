#ifndef DUOMAIL_STORE_IMPORT_H
#define DUOMAIL_STORE_IMPORT_H
/*
 * Building a whole account from another server's mail (`duomail import`),
 * keeping what clients remember of it: each folder's UIDVALIDITY and
 * UIDNEXT, every message's UID, flags, keywords and POP3 UIDL, and the
 * subscriptions (RFC 3501 §2.3.1.1: with the same UIDVALIDITY and UIDs a
 * client's cache stays valid; RFC 1939 §7: the same UIDLs, so a POP3
 * client downloads nothing again).
 *
 * All or nothing: the account is built in a staging directory beside the
 * real one and swapped in with one atomic rename at commit, so a failure
 * (or a crash) at any point leaves the target as it was.  The target must
 * have no mail (a new account, or one with only empty folders); mail that
 * is delivered to it while the import runs is moved into the new INBOX.
 * Maildir backend only.  Blocking (copies every message): a command-line
 * tool's job.  Errors come back as one line in err.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct store_import;

/* What the importer knows of one message. */
struct store_import_msg {
	uint32_t uid;		/* > the previous one, < the folder's uidnext */
	unsigned flags;		/* MSG_FLAG_* (no RECENT) */
	uint32_t keywords;	/* bit i: the folder's keyword i (store_import_keyword) */
	time_t received;	/* INTERNALDATE; 0 = now */
	const char *base;	/* a Maildir base name to keep, or NULL for a new one */
	const char *uidl;	/* the POP3 UIDL to keep, or NULL: made from the base name */
};

/* Starts building the account whose directory is account (ROOT/USER, or
 * the user's own maildir), staged beside it.  Fails (-1) if the account
 * already has mail, unless in_place: then that mail is what is being
 * imported (a Dovecot Maildir at ROOT/USER itself), its messages come in as
 * hard links (store_import_msg_link(), no copy), and at commit the old tree
 * is not deleted but kept aside, whole, at *kept_r (a new string; the
 * admin removes it once happy: it may hold more than mail, a home
 * directory's files say). */
int store_import_begin(const char *account, bool in_place, struct store_import **imp_r,
		       char *err, size_t errlen);
/* Starts folder name (IMAP form, "a/b"; "INBOX" first or not at all, each
 * at most once).  uidvalidity 0: a new one. */
int store_import_folder(struct store_import *imp, const char *name, uint32_t uidvalidity,
			uint32_t uidnext, char *err, size_t errlen);
/* Adds a keyword name to the current folder: its index, or -1 (err) when
 * the folder has STORE_MAX_KEYWORDS already or the name is unusable. */
int store_import_keyword(struct store_import *imp, const char *name, char *err, size_t errlen);
/* A new message in the current folder: write its bytes to *fd_r, then
 * store_import_msg_end() (which closes the fd). */
int store_import_msg_begin(struct store_import *imp, int *fd_r, char *err, size_t errlen);
int store_import_msg_end(struct store_import *imp, const struct store_import_msg *m, char *err,
			 size_t errlen);
/* The owner every file of the new account gets at commit (an import run
 * as root for a server that runs as another user); not called: ours. */
void store_import_set_owner(struct store_import *imp, uid_t uid, gid_t gid);
/* A new message in the current folder that is the file at src_path (a
 * hard link to it, same file system; in_place imports). */
int store_import_msg_link(struct store_import *imp, const char *src_path,
			  const struct store_import_msg *m, char *err, size_t errlen);
/* Subscribes name (whether or not it is imported). */
void store_import_subscribe(struct store_import *imp, const char *name);
/* Makes it all durable and swaps it in.  *imp is freed either way.  With
 * in_place, *kept_r names where the old tree went (free it), else NULL. */
int store_import_commit(struct store_import **imp, char **kept_r, char *err, size_t errlen);
void store_import_abort(struct store_import **imp);

/* Has duomail indexed any folder of the account at directory account (a
 * duomail-index)?  1 yes, 0 no. */
int store_account_has_index(const char *account);
/* Does the account at directory account hold any message?  1 yes, 0 no
 * (or no account), -1 error (err). */
int store_account_has_mail(const char *account, char *err, size_t errlen);

#endif
