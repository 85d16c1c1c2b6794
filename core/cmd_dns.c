/* `duomail dns DOMAIN`: the RFC 6186 SRV records (and the autoconfig host)
 * to publish for DOMAIN, as zone-file lines, from the config alone. */
#include "core/admin_cmd.h"
#include "core/autoconfig.h"
#include "core/commands.h"

#include <stdlib.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail dns [--config FILE] DOMAIN\n"
		   "Prints the DNS records that let mail clients find this server for DOMAIN\n"
		   "(RFC 6186 SRV records for IMAP and POP3, TLS preferred; the autoconfig host when\n"
		   "[listen] http is on), as zone-file lines.  The server need not run.\n");
}

int cmd_dns(int argc, char **argv)
{
	struct admin_opts o;
	struct config *cfg;
	char *text;
	int ret;

	if (!admin_opts_parse(argc, argv, false, 1, 1, usage, &o, &ret))
		return ret;
	cfg = admin_load_config("dns", &o);
	if (cfg == NULL)
		return EXIT_CONFIG;
	if (autoconfig_dns(cfg, o.args[0], &text) < 0) {
		fprintf(stderr, "duomail dns: '%s' is not a domain name\n", o.args[0]);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	fputs(text, stdout);
	free(text);
	config_free(&cfg);
	return 0;
}
