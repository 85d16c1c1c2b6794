/* The options every subcommand shares.  See commands.h. */
#include "core/commands.h"

#include <string.h>

enum cmd_arg cmd_common_arg(int argc, char **argv, int *i, const char **config_r)
{
	const char *a = argv[*i];

	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return CMD_ARG_HELP;
	if (strcmp(a, "--config") == 0 && *i + 1 < argc) {
		*config_r = argv[++*i];
		return CMD_ARG_CONFIG;
	}
	if (strncmp(a, "--config=", 9) == 0) {
		*config_r = a + 9;
		return CMD_ARG_CONFIG;
	}
	return CMD_ARG_OTHER;
}
