/*
 * `duomail expunge --config FILE [--dry-run] [--json] USER MAILBOX SEARCH...`:
 * removes the messages of MAILBOX that match an IMAP SEARCH (RFC 3501
 * §6.4.4), e.g. `duomail expunge bob INBOX before 1-Jan-2026 seen`.  The
 * words are put together into one SEARCH command line and read by the IMAP
 * parser and search code the server uses, so the language is exactly
 * IMAP's (quote a string with spaces: 'subject "big sale"').  The expunge
 * goes through the store, which tells running IMAP sessions (EXPUNGE) as
 * for any other writer, and the quota usage is updated.
 */
#include "core/userdb.h"
#include "core/buf.h"
#include "core/cmd_admin.h"
#include "core/commands.h"
#include "core/log.h"
#include "core/config.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: duomail expunge --config FILE [--dry-run] [--json] USER MAILBOX SEARCH...\n"
		"Expunges the messages of MAILBOX matching SEARCH, in IMAP SEARCH syntax\n"
		"(RFC 3501 6.4.4): e.g. 'before 1-Jan-2026 seen', 'from alice larger 1000000',\n"
		"'or deleted keyword Junk', 'uid 1:100', 'all'.  Prints how many were expunged\n"
		"(--dry-run: how many would be).  Exit: 0 done, 64 usage or a bad SEARCH,\n"
		"2 bad config, 66 no such mailbox, 67 no such user, 75 temporary failure.\n");
}

/* Words that the shell has split back into one IMAP line: a word with
 * white space and no IMAP specials of its own is quoted. */
static void add_word(struct buf *b, const char *w)
{
	bool plain = w[0] != '\0' && strpbrk(w, " \t") == NULL;

	if (buf_len(b) > 0)
		buf_append(b, " ", 1);
	if (plain || strpbrk(w, "\"()\\") != NULL) {
		buf_append(b, w, strlen(w));
		return;
	}
	buf_printf(b, "\"%s\"", w);
}

static int parse_search(char **words, int nwords, struct search_key **key_r)
{
	struct imap_parser_limits limits = {
		.max_command = 65536, .max_literal = 0, .max_nonsync = 0,
		.max_depth = 32, .max_args = 4096,
	};
	struct imap_parser *parser = imap_parser_new(&limits);
	const struct imap_command *cmd;
	struct buf b;
	char error[256];
	int ret = EX_USAGE;

	buf_init(&b, 65536);
	buf_append(&b, "x SEARCH", 8);
	for (int i = 0; i < nwords; i++)
		add_word(&b, words[i]);
	if (imap_parser_line(parser, buf_ptr(&b), buf_len(&b)) != IMAP_PARSE_DONE) {
		fprintf(stderr, "duomail expunge: bad SEARCH: %s\n",
			imap_parser_error(parser) != NULL ? imap_parser_error(parser)->text :
							    "a literal is not allowed here");
		goto out;
	}
	cmd = imap_parser_command(parser);
	switch (imap_search_parse(cmd->args, cmd->nargs, key_r, error, sizeof(error))) {
	case IMAP_SEARCH_OK:
		ret = 0;
		break;
	case IMAP_SEARCH_BADCHARSET:
		fprintf(stderr, "duomail expunge: bad SEARCH: charsets are %s\n",
			IMAP_SEARCH_CHARSETS);
		break;
	case IMAP_SEARCH_BAD:
		fprintf(stderr, "duomail expunge: bad SEARCH: %s\n", error);
		break;
	}
out:
	buf_free(&b);
	imap_parser_free(&parser);
	return ret;
}

static int run(struct store *st, const char *name, struct search_key *key, bool dry_run,
	       bool json)
{
	struct imap_search_run *sr;
	struct mailbox *box;
	uint32_t *uids;
	size_t n = 0;
	unsigned count;
	char error[256];
	int ret = 0;

	if (mailbox_open(st, name, &box) < 0)
		return admin_store_error("expunge", st, name);
	count = mailbox_count(box);
	if (imap_search_resolve(key, count, count ? mailbox_msg(box, count - 1)->uid :
					    mailbox_uidnext(box),
				error, sizeof(error)) < 0) {
		fprintf(stderr, "duomail expunge: bad SEARCH: %s\n", error);
		mailbox_close(&box);
		return EX_USAGE;
	}
	uids = xcalloc(count ? count : 1, sizeof(*uids));
	sr = imap_search_run_new(key, st);
	for (unsigned i = 0; i < count; i++) {
		const struct store_msg *m = mailbox_msg(box, i);
		int r = imap_search_run_match(sr, box, i + 1, m);

		if (r < 0) {
			ret = admin_store_error("expunge", st, name);
			goto out;
		}
		if (r > 0)
			uids[n++] = m->uid;
	}
	if (!dry_run && n > 0 && mailbox_expunge(box, uids, n) < 0) {
		ret = admin_store_error("expunge", st, name);
		goto out;
	}
	if (json) {
		printf("{\"mailbox\": ");
		json_string(stdout, name);
		printf(", \"matched\": %zu, \"expunged\": %zu}\n", n, dry_run ? 0 : n);
	} else if (dry_run)
		printf("%zu messages would be expunged from %s\n", n, name);
	else
		printf("expunged %zu messages from %s\n", n, name);
out:
	imap_search_run_free(&sr);
	free(uids);
	mailbox_close(&box);
	return ret;
}

int cmd_store_expunge(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL, *mailbox = NULL;
	struct config *cfg = NULL;
	struct userdb *db = NULL;
	struct store *st = NULL;
	struct search_key *key = NULL;
	bool dry_run = false, json = false;
	int i, ret;

	/* Options come first: the SEARCH may hold words that start with '-'. */
	for (i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry_run = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "duomail expunge: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else if (user == NULL) {
			user = argv[i];
		} else {
			mailbox = argv[i++];
			break;
		}
	}
	if (user == NULL || mailbox == NULL || i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	ret = parse_search(argv + i, argc - i, &key);
	if (ret != 0)
		return ret;
	ret = admin_open("expunge", config_path, &cfg, &db);
	if (ret != 0)
		goto out;
	ret = admin_open_store("expunge", cfg, db, user, &st);
	if (ret == 0)
		ret = run(st, mailbox, key, dry_run, json);
out:
	imap_search_key_free(&key);
	store_close(&st);
	userdb_close(&db);
	config_free(&cfg);
	return ret;
}
