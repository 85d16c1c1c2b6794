#ifndef DUOMAIL_IMPORT_H
#define DUOMAIL_IMPORT_H
/*
 * Readers of other servers' mail for `duomail import` (core/cmd_import.c):
 * each reads its source and builds the account through store_import.h, so
 * all of it lands at once or not at all.  A problem with the source (a
 * corrupt dovecot-uidlist, an mbox that is not one) is one line in err
 * naming the file and line; nothing is written then.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct import_stats {
	unsigned folders, messages;
	char *kept;	/* in_place: where the old tree went (free it) */
};

/* Where the mail goes: the account's directory (ROOT/USER or the user's
 * maildir); with chown, every file of it is given uid:gid (an import run
 * as root for a server that runs as [server] user).  in_place: the source
 * is that directory itself (Maildir readers only; store/store_import.h). */
struct import_target {
	const char *account;
	bool in_place;
	bool dry_run;	/* read and build everything, then throw it away */
	bool chown;
	uid_t uid;
	gid_t gid;
};

/* A Dovecot Maildir++ (source: the directory holding cur/, new/, the
 * .Folder directories, dovecot-uidlist, dovecot-keywords, subscriptions).
 * UIDVALIDITY, UIDNEXT and UIDs from dovecot-uidlist (version 1 or 3),
 * POP3 UIDLs from its P extension, else made by uidl_format (Dovecot's
 * pop3_uidl_format: %u UID, %v UIDVALIDITY, %f file name base, %% , with
 * an optional 0-padded width and X for hex, in lower case as Dovecot
 * writes it; NULL: "%08Xu%08Xv", Dovecot's default). */
int import_dovecot(const char *source, const struct import_target *to, const char *uidl_format,
		   struct import_stats *stats, char *err, size_t errlen);

/* A Courier Maildir++: UIDVALIDITY and UIDs from courierimapuiddb, POP3
 * UIDLs from courierpop3dsizelist (as Courier's pop3d wrote them),
 * keywords from courierimapkeywords/, subscriptions from
 * courierimapsubscribed (store/import_courier.c has the formats). */
int import_courier(const char *source, const struct import_target *to,
		   struct import_stats *stats, char *err, size_t errlen);

/* An mbox file (From_ lines; >From unquoted the mboxrd way; Status and
 * X-Status flags; UW/Dovecot X-IMAPbase, X-UID and X-Keywords kept as
 * UIDVALIDITY, UIDs and keywords) into folder mailbox. */
int import_mbox(const char *source, const char *mailbox, const struct import_target *to,
		struct import_stats *stats, char *err, size_t errlen);

#endif
