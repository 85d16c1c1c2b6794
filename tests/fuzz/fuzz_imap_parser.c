/*
 * The IMAP command parser (imap/imap_parser.c), driven as a session drives
 * it: lines and literals, with the session's own limits.  The same input
 * goes through a second parser with tiny limits, so the limit paths (too
 * long, too deep, too many arguments, literals too big) are reached by
 * short inputs too.
 */
#include "fuzz_imap_drive.h"
#include "imap/imap.h"

static const struct imap_parser_limits tiny_limits = {
	.max_command = 300,
	.max_literal = 200,
	.max_nonsync = 16,
	.max_depth = 3,
	.max_args = 12,
};

struct count {
	unsigned commands;
};

static void on_command(const struct imap_command *cmd, void *ctx)
{
	struct count *c = ctx;

	/* The tree is checked by the driver; here only that it can be
	 * walked again after the driver looked at it (arena still valid). */
	for (unsigned i = 0; i < cmd->nargs; i++)
		FUZZ_CHECK(cmd->args[i].type <= IMAP_ARG_LIST);
	c->commands++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct count session = { 0 }, tiny = { 0 };

	fuzz_imap_drive(&imap_session_limits, IMAP_MAX_LINE, data, size, on_command, &session);
	fuzz_imap_drive(&tiny_limits, 100, data, size, on_command, &tiny);
	return 0;
}
