/*
 * `duomail check --config FILE [--repair] [--json] USER [MAILBOX...]`:
 * verifies the metadata of USER's folders (every one, or those named)
 * against the mail (store/store_check.h) and prints each problem.  With
 * --repair it then rebuilds what is wrong, keeping every UID the index
 * still proves, and checks again.  Exit 0: nothing wrong (any more, after
 * a repair); 1: problems remain.
 */
#include "core/userdb.h"
#include "core/cmd_admin.h"
#include "core/commands.h"
#include "core/config.h"
#include "store/store.h"
#include "store/store_check.h"

#include <stdbool.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: duomail check --config FILE [--repair] [--json] USER [MAILBOX...]\n"
		"Verifies each folder's duomail-index against its files (missing and extra\n"
		"messages, bad or duplicate lines, sizes), its keyword names, and the quota\n"
		"record (maildirsize).  --repair rebuilds them, keeping every UID that can be\n"
		"kept.  Exit: 0 no problems (left), 1 problems, 64 usage, 2 bad config,\n"
		"66 no such mailbox, 67 no such user, 75 temporary failure.\n");
}

struct out {
	bool json, first;
	const char *phase;	/* "found" or "after repair" */
};

static void on_problem(void *ctx, const char *mailbox, const char *text)
{
	struct out *o = ctx;

	if (o->json) {
		printf("%s\n  {\"phase\": \"%s\", \"mailbox\": ", o->first ? "" : ",", o->phase);
		json_string(stdout, mailbox[0] != '\0' ? mailbox : "(account)");
		printf(", \"problem\": ");
		json_string(stdout, text);
		printf("}");
	} else {
		printf("%s%s: %s\n", o->phase[0] == 'a' ? "still " : "",
		       mailbox[0] != '\0' ? mailbox : "(account)", text);
	}
	o->first = false;
}

/* Problems in names (or every mailbox): count, or -(exit code). */
static int check_all(struct store *st, char **names, int nnames, struct out *o)
{
	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	int total = 0, r;

	if (nnames == 0 && store_mailbox_list(st, &list, &n) < 0)
		return -admin_store_error("check", st, "listing the mailboxes");
	for (size_t i = 0; i < (nnames > 0 ? (size_t)nnames : n); i++) {
		const char *name = nnames > 0 ? names[i] : list[i].name;

		r = store_check_mailbox(st, name, on_problem, o);
		if (r < 0) {
			store_mailbox_list_free(&list, n);
			return -admin_store_error("check", st, name);
		}
		total += r;
	}
	store_mailbox_list_free(&list, n);
	r = store_check_quota(st, on_problem, o);
	if (r < 0)
		return -admin_store_error("check", st, "the quota record");
	return total + r;
}

static int repair_all(struct store *st, char **names, int nnames)
{
	struct store_mailbox_info *list = NULL;
	size_t n = 0;

	if (nnames == 0 && store_mailbox_list(st, &list, &n) < 0)
		return admin_store_error("check", st, "listing the mailboxes");
	for (size_t i = 0; i < (nnames > 0 ? (size_t)nnames : n); i++) {
		const char *name = nnames > 0 ? names[i] : list[i].name;

		if (store_repair_mailbox(st, name) < 0) {
			store_mailbox_list_free(&list, n);
			return admin_store_error("check", st, name);
		}
	}
	store_mailbox_list_free(&list, n);
	if (store_repair_quota(st) < 0)
		return admin_store_error("check", st, "the quota record");
	return 0;
}

int cmd_store_check(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL;
	char *names[64];
	int nnames = 0;
	struct config *cfg = NULL;
	struct userdb *db = NULL;
	struct store *st = NULL;
	struct out o = { .first = true, .phase = "found" };
	bool repair = false;
	int ret, found;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if (strcmp(argv[i], "--json") == 0) {
			o.json = true;
		} else if (strcmp(argv[i], "--repair") == 0) {
			repair = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "duomail check: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else if (user == NULL) {
			user = argv[i];
		} else if (nnames < (int)(sizeof(names) / sizeof(names[0]))) {
			names[nnames++] = argv[i];
		} else {
			fprintf(stderr, "duomail check: too many mailboxes\n");
			return EX_USAGE;
		}
	}
	if (user == NULL) {
		usage(stderr);
		return EX_USAGE;
	}
	ret = admin_open("check", config_path, &cfg, &db);
	if (ret != 0)
		return ret;
	ret = admin_open_store("check", cfg, db, user, &st);
	if (ret != 0)
		goto out;
	if (o.json) {
		printf("{\"user\": ");
		json_string(stdout, user);
		printf(", \"problems\": [");
	}
	found = check_all(st, names, nnames, &o);
	if (found > 0 && repair) {
		ret = repair_all(st, names, nnames);
		if (ret == 0) {
			o.phase = "after repair";
			found = check_all(st, names, nnames, &o);
		}
	}
	if (ret == 0 && found < 0)
		ret = -found;
	if (o.json)
		printf("%s], \"repaired\": %s, \"ok\": %s}\n", o.first ? "" : "\n",
		       repair && ret == 0 && found == 0 && !o.first ? "true" : "false",
		       ret == 0 && found == 0 ? "true" : "false");
	else if (ret == 0 && found == 0)
		printf("%s: %s\n", user, o.first ? "no problems found" : "repaired, no problems left");
	if (ret == 0 && found > 0)
		ret = 1;
out:
	store_close(&st);
	userdb_close(&db);
	config_free(&cfg);
	return ret;
}
