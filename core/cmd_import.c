/*
 * `duomail import --from dovecot|courier|mbox --config FILE [--mailbox NAME]
 *  [--uidl-format FMT] [--json] SOURCE USER`: another server's mail into
 * an account that has none yet, keeping what clients remember (UIDVALIDITY,
 * UIDs, flags, keywords, subscriptions, POP3 UIDLs) so that no client
 * downloads anything again.  All or nothing (store/store_import.h).
 */
#include "core/userdb.h"
#include "core/cmd_admin.h"
#include "core/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "store/import.h"
#include "store/store.h"
#include "store/store_import.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: duomail import --from dovecot|courier|mbox --config FILE [--json] [--dry-run]\n"
		"                      [--mailbox NAME] [--uidl-format FMT] SOURCE USER\n"
		"Imports mail into USER's account, which must have no messages yet.\n"
		"  --from dovecot  SOURCE is a Dovecot Maildir++ (cur/ new/ .Folder/ ...): all\n"
		"                  folders with UIDVALIDITY and UIDs (dovecot-uidlist), flags,\n"
		"                  keywords (dovecot-keywords), subscriptions and POP3 UIDLs\n"
		"                  (the uidlist's P field, else --uidl-format, Dovecot's\n"
		"                  pop3_uidl_format: %%u UID, %%v UIDVALIDITY, %%f file name,\n"
		"                  widths and X for hex; default %%08Xu%%08Xv)\n"
		"  --from courier  SOURCE is a Courier Maildir++: UIDs (courierimapuiddb),\n"
		"                  POP3 UIDLs (courierpop3dsizelist), keywords\n"
		"                  (courierimapkeywords/), subscriptions (courierimapsubscribed)\n"
		"  --from mbox     SOURCE is an mbox file, into --mailbox NAME (INBOX)\n"
		"Nothing is written unless all of it can be (--dry-run: reads and builds it\n"
		"all, then writes nothing).  Exit: 0 imported, 64 usage,\n"
		"2 bad config, 65 corrupt source, 66 no such source, 67 no such user,\n"
		"73 the account has mail, 75 temporary failure.\n");
}

/* Are a and b one directory? */
static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int cmd_import(int argc, char **argv)
{
	const char *config_path = NULL, *from = NULL, *mailbox = "INBOX", *uidl_format = NULL;
	const char *source = NULL, *user = NULL;
	struct config *cfg = NULL;
	struct userdb *db = NULL;
	struct import_stats stats = { 0 };
	struct import_target to = { 0 };
	bool json = false;
	struct stat sb;
	char err[1024];
	char *account = NULL;
	int ret, r;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			to.dry_run = true;
		} else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
			from = argv[++i];
		} else if (strcmp(argv[i], "--mailbox") == 0 && i + 1 < argc) {
			mailbox = argv[++i];
		} else if (strcmp(argv[i], "--uidl-format") == 0 && i + 1 < argc) {
			uidl_format = argv[++i];
		} else if (argv[i][0] != '-' && source == NULL) {
			source = argv[i];
		} else if (argv[i][0] != '-' && user == NULL) {
			user = argv[i];
		} else {
			fprintf(stderr, "duomail import: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (from == NULL || source == NULL || user == NULL ||
	    (strcmp(from, "dovecot") != 0 && strcmp(from, "courier") != 0 &&
	     strcmp(from, "mbox") != 0)) {
		usage(stderr);
		return EX_USAGE;
	}
	ret = admin_open("import", config_path, &cfg, &db);
	if (ret != 0)
		return ret;
	ret = admin_account_dir("import", cfg, db, user, &account);
	if (ret != 0)
		goto out;
	if (stat(source, &sb) < 0) {
		fprintf(stderr, "duomail import: %s: %m\n", source);
		ret = EX_NOINPUT;
		goto out;
	}
	/* The source may be the account itself: a Dovecot or Courier Maildir
	 * that the store root already points at.  Then its mail is what is
	 * imported, unless duomail has numbered it already (its UIDs are then
	 * the ones clients know). */
	to.in_place = same_dir(source, account);
	if (to.in_place && (strcmp(from, "mbox") == 0 ||
			    store_account_has_index(account))) {
		fprintf(stderr, strcmp(from, "mbox") == 0 ?
				"duomail import: %s is the account's own directory\n" :
				"duomail import: %s has duomail's index already: its UIDs are "
				"duomail's now, and clients may have seen them; not importing\n",
			source);
		ret = EX_CANTCREAT;
		goto out;
	}
	r = to.in_place ? 0 : store_account_has_mail(account, err, sizeof(err));
	if (r != 0) {
		if (r > 0)
			fprintf(stderr, "duomail import: the account '%s' already has mail; "
					"import only into an account without messages\n", user);
		else
			fprintf(stderr, "duomail import: %s\n", err);
		ret = r > 0 ? EX_CANTCREAT : EX_TEMPFAIL;
		goto out;
	}
	to.account = account;
	/* Run as root (to read any source) for a server that runs as
	 * [server] user: the new account must be that user's. */
	if (cfg->user != NULL && geteuid() == 0) {
		struct passwd *pw = getpwnam(cfg->user);

		if (pw == NULL) {
			fprintf(stderr, "duomail import: [server] user: no such system user '%s'\n",
				cfg->user);
			ret = EXIT_CONFIG;
			goto out;
		}
		to.chown = true;
		to.uid = pw->pw_uid;
		to.gid = pw->pw_gid;
	}
	if (strcmp(from, "dovecot") == 0)
		r = import_dovecot(source, &to, uidl_format, &stats, err, sizeof(err));
	else if (strcmp(from, "courier") == 0)
		r = import_courier(source, &to, &stats, err, sizeof(err));
	else
		r = import_mbox(source, mailbox, &to, &stats, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "duomail import: %s; nothing was imported\n", err);
		/* A problem on our side names the staging directory; anything
		 * else is the source's. */
		ret = strstr(err, "already has mail") != NULL ? EX_CANTCREAT :
		      strstr(err, "/.duomail-import.") != NULL ? EX_TEMPFAIL : EX_DATAERR;
		goto out;
	}
	if (json) {
		printf("{\"user\": ");
		json_string(stdout, user);
		printf(", \"folders\": %u, \"messages\": %u, \"dry_run\": %s", stats.folders,
		       stats.messages, to.dry_run ? "true" : "false");
		if (stats.kept != NULL) {
			printf(", \"kept\": ");
			json_string(stdout, stats.kept);
		}
		printf("}\n");
	}
	else
		printf("%s %u messages in %u folders for %s\n",
		       to.dry_run ? "would import" : "imported", stats.messages, stats.folders,
		       user);
	if (stats.kept != NULL)
		fprintf(stderr, "duomail import: the old tree is kept at %s (the old server's "
				"files; see above if anything else); remove it when all is well\n",
			stats.kept);
	ret = 0;
out:
	free(account);
	free(stats.kept);
	userdb_close(&db);
	config_free(&cfg);
	return ret;
}
