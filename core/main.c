/* The duomail binary: dispatch to a subcommand (like git). */
#include "core/commands.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "serve", cmd_serve, "run the POP3/IMAP server in the foreground" },
	{ "deliver", cmd_deliver, "deliver one message from stdin to a user's INBOX" },
	{ "pw", cmd_pw, "hash a password read from stdin for the passwd-file" },
	{ "user", cmd_user, "add, change, delete or list users of the passwd-file" },
	{ "mailbox", cmd_mailbox, "list, create, delete, rename or show a user's mailboxes" },
	{ "expunge", cmd_store_expunge, "expunge the messages of a mailbox that match a SEARCH" },
	{ "check", cmd_store_check, "verify (and --repair) a user's metadata index" },
	{ "import", cmd_import, "import Dovecot or Courier Maildirs or an mbox, keeping UIDs and UIDLs" },
	{ "who", cmd_who, "list the live sessions of the running server" },
	{ "trace", cmd_trace, "follow one user's commands and replies live, both protocols" },
	{ "stats", cmd_stats, "the running server's counters and command latencies" },
	{ "compare", cmd_compare, "one user's INBOX side by side as POP3 and IMAP see it" },
	{ "dns", cmd_dns, "print the RFC 6186 SRV records to publish for a domain" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail COMMAND [--config FILE] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'duomail COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 64;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("duomail %s\n", DUOMAIL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "duomail: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 64;
}
