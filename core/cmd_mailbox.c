/*
 * `duomail mailbox list|create|delete|rename|status --config FILE [--json]
 * USER [NAME...]`: a user's mailboxes through the store, as an IMAP client would
 * see them (names in IMAP's modified UTF-7, "a/b" for a folder in a
 * folder).  Changes reach running IMAP sessions like any other writer's.
 */
#include "core/userdb.h"
#include "core/cmd_admin.h"
#include "core/commands.h"
#include "core/config.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: duomail mailbox list   --config FILE [--json] USER\n"
		"       duomail mailbox status --config FILE [--json] USER [NAME...]\n"
		"       duomail mailbox create --config FILE USER NAME\n"
		"       duomail mailbox delete --config FILE USER NAME\n"
		"       duomail mailbox rename --config FILE USER NAME NEWNAME\n"
		"NAME as in IMAP (modified UTF-7, '/' between levels).  status shows\n"
		"messages, unseen, recent, uidnext, uidvalidity and size (octets as POP3 and\n"
		"IMAP count them) of each NAME, or of every mailbox.  delete removes the\n"
		"mailbox and its mail (not INBOX, not one with children); rename takes its\n"
		"children along (INBOX: its messages move, RFC 3501 6.3.5).  Exit: 0 done,\n"
		"64 usage, 2 bad config, 65 bad name, 66 no such mailbox, 67 no such user,\n"
		"73 exists, 75 temporary failure.\n");
}

struct status {
	unsigned messages, unseen, recent;
	uint32_t uidnext, uidvalidity;
	uint64_t size;
};

static int get_status(struct store *st, const char *name, struct status *s)
{
	struct mailbox *box;

	if (mailbox_open(st, name, &box) < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->messages = mailbox_count(box);
	s->recent = mailbox_recent_count(box);
	s->uidnext = mailbox_uidnext(box);
	s->uidvalidity = mailbox_uidvalidity(box);
	for (unsigned i = 0; i < s->messages; i++) {
		const struct store_msg *m = mailbox_msg(box, i);

		s->unseen += !(m->flags & MSG_FLAG_SEEN);
		s->size += m->vsize;
	}
	mailbox_close(&box);
	return 0;
}

static void print_status(const char *name, const struct status *s, bool json, bool first)
{
	if (json) {
		printf("%s\n  {\"name\": ", first ? "" : ",");
		json_string(stdout, name);
		printf(", \"messages\": %u, \"unseen\": %u, \"recent\": %u, \"uidnext\": %" PRIu32
		       ", \"uidvalidity\": %" PRIu32 ", \"size\": %" PRIu64 "}",
		       s->messages, s->unseen, s->recent, s->uidnext, s->uidvalidity, s->size);
	} else {
		printf("%s messages=%u unseen=%u recent=%u uidnext=%" PRIu32
		       " uidvalidity=%" PRIu32 " size=%" PRIu64 "\n",
		       name, s->messages, s->unseen, s->recent, s->uidnext, s->uidvalidity,
		       s->size);
	}
}

static int do_list(struct store *st, bool json)
{
	struct store_mailbox_info *list;
	char **subs;
	size_t n, nsubs;

	if (store_mailbox_list(st, &list, &n) < 0)
		return admin_store_error("mailbox", st, "listing the mailboxes");
	if (store_subscriptions(st, &subs, &nsubs) < 0) {
		store_mailbox_list_free(&list, n);
		return admin_store_error("mailbox", st, "reading the subscriptions");
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		bool subscribed = false;

		for (size_t k = 0; k < nsubs && !subscribed; k++)
			subscribed = strcmp(subs[k], list[i].name) == 0;
		if (json) {
			printf("%s\n  {\"name\": ", i == 0 ? "" : ",");
			json_string(stdout, list[i].name);
			printf(", \"subscribed\": %s}", subscribed ? "true" : "false");
		} else {
			printf("%s%s\n", list[i].name, subscribed ? "" : " (not subscribed)");
		}
	}
	if (json)
		printf("%s]\n", n == 0 ? "" : "\n");
	for (size_t k = 0; k < nsubs; k++)
		free(subs[k]);
	free(subs);
	store_mailbox_list_free(&list, n);
	return 0;
}

static int do_status(struct store *st, char **names, int nnames, bool json)
{
	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	struct status s;
	int ret = 0;

	if (nnames == 0 && store_mailbox_list(st, &list, &n) < 0)
		return admin_store_error("mailbox", st, "listing the mailboxes");
	if (json)
		printf("[");
	for (size_t i = 0; i < (nnames > 0 ? (size_t)nnames : n); i++) {
		const char *name = nnames > 0 ? names[i] : list[i].name;

		if (get_status(st, name, &s) < 0) {
			if (json)
				printf("\n]\n");
			ret = admin_store_error("mailbox", st, name);
			goto out;
		}
		print_status(name, &s, json, i == 0);
	}
	if (json)
		printf("\n]\n");
out:
	store_mailbox_list_free(&list, n);
	return ret;
}

int cmd_mailbox(int argc, char **argv)
{
	const char *config_path = NULL, *action = NULL, *user = NULL;
	char *names[64];
	int nnames = 0;
	struct config *cfg = NULL;
	struct userdb *db = NULL;
	struct store *st = NULL;
	bool json = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "duomail mailbox: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else if (action == NULL) {
			action = argv[i];
		} else if (user == NULL) {
			user = argv[i];
		} else if (nnames < (int)(sizeof(names) / sizeof(names[0]))) {
			names[nnames++] = argv[i];
		} else {
			fprintf(stderr, "duomail mailbox: too many names\n");
			return EX_USAGE;
		}
	}
	if (action == NULL || user == NULL ||
	    !((strcmp(action, "list") == 0 && nnames == 0) || strcmp(action, "status") == 0 ||
	      ((strcmp(action, "create") == 0 || strcmp(action, "delete") == 0) && nnames == 1) ||
	      (strcmp(action, "rename") == 0 && nnames == 2))) {
		usage(stderr);
		return EX_USAGE;
	}
	ret = admin_open("mailbox", config_path, &cfg, &db);
	if (ret != 0)
		return ret;
	ret = admin_open_store("mailbox", cfg, db, user, &st);
	if (ret != 0)
		goto out;
	if (strcmp(action, "list") == 0) {
		ret = do_list(st, json);
	} else if (strcmp(action, "status") == 0) {
		ret = do_status(st, names, nnames, json);
	} else if (strcmp(action, "create") == 0) {
		if (store_mailbox_create(st, names[0]) < 0 ||
		    store_subscription_set(st, names[0], true) < 0)
			ret = admin_store_error("mailbox", st, names[0]);
		else
			printf("created %s\n", names[0]);
	} else if (strcmp(action, "rename") == 0) {
		/* The subscription follows the name, as a client's RENAME
		 * leaves it to the client; here the admin is the client. */
		if (store_mailbox_rename(st, names[0], names[1]) < 0)
			ret = admin_store_error("mailbox", st, names[0]);
		else if (store_subscription_set(st, names[0], false) < 0 ||
			 store_subscription_set(st, names[1], true) < 0)
			ret = admin_store_error("mailbox", st, names[1]);
		else
			printf("renamed %s to %s\n", names[0], names[1]);
	} else {
		if (store_mailbox_delete(st, names[0]) < 0 ||
		    store_subscription_set(st, names[0], false) < 0)
			ret = admin_store_error("mailbox", st, names[0]);
		else
			printf("deleted %s\n", names[0]);
	}
out:
	store_close(&st);
	userdb_close(&db);
	config_free(&cfg);
	return ret;
}
