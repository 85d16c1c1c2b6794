/* Helpers of the live admin subcommands.  See admin_cmd.h. */
#include "core/admin_cmd.h"
#include "core/userdb.h"
#include "core/commands.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

bool admin_opts_parse(int argc, char **argv, bool json_ok, int min_args, int max_args,
		      void (*usage)(FILE *), struct admin_opts *o, int *exit_r)
{
	memset(o, 0, sizeof(*o));
	o->config = ADMIN_DEFAULT_CONFIG;
	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &o->config);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			*exit_r = 0;
			return false;
		}
		if (arg == CMD_ARG_CONFIG)
			continue;
		if (json_ok && strcmp(argv[i], "--json") == 0) {
			o->json = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "duomail %s: unknown option '%s'\n", argv[0], argv[i]);
			usage(stderr);
			*exit_r = EXIT_USAGE;
			return false;
		} else if (o->nargs < max_args) {
			o->args[o->nargs++] = argv[i];
		} else {
			fprintf(stderr, "duomail %s: unexpected argument '%s'\n", argv[0], argv[i]);
			usage(stderr);
			*exit_r = EXIT_USAGE;
			return false;
		}
	}
	if (o->nargs < min_args) {
		usage(stderr);
		*exit_r = EXIT_USAGE;
		return false;
	}
	return true;
}

struct config *admin_load_config(const char *cmd, const struct admin_opts *o)
{
	struct config *cfg;
	char err[512];

	if (config_load(o->config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail %s: %s\n", cmd, err);
		return NULL;
	}
	return cfg;
}

int admin_check_user(const char *cmd, const struct config *cfg, const char *user)
{
	struct userdb_record rec;
	struct userdb *db;
	char err[512];
	int ret;

	if (userdb_open(cfg, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail %s: %s: %s\n", cmd, cfg->path, err);
		return EXIT_CONFIG;
	}
	ret = userdb_lookup(db, USERDB_USER, user, &rec);
	userdb_close(&db);
	if (ret < 0) {
		fprintf(stderr, "duomail %s: the user database cannot be read (see above)\n", cmd);
		return EXIT_UNAVAIL;
	}
	if (ret == 0) {
		fprintf(stderr, "duomail %s: no such user '%s'\n", cmd, user);
		return EXIT_NOUSER;
	}
	userdb_record_free(&rec);
	return 0;
}

int admin_query(const struct config *cfg, const char *request,
		void (*fn)(char **fields, size_t n, void *arg), void *arg, char *err,
		size_t errlen, int *exit_r)
{
	struct admin_reader r = { 0 };
	char line[16384];
	char *fields[32];
	int ret;

	r.fd = admin_client_open(cfg, request, err, errlen);
	if (r.fd < 0) {
		*exit_r = EXIT_UNAVAIL;
		return -1;
	}
	ret = admin_client_line(&r, line, sizeof(line), 10000, err, errlen);
	if (ret <= 0 || strcmp(line, "ok") != 0) {
		if (ret > 0 && strncmp(line, "error ", 6) == 0)
			snprintf(err, errlen, "the server says: %s", line + 6);
		else if (ret == 0)
			snprintf(err, errlen, "the server closed the admin connection");
		*exit_r = EXIT_PROTOCOL;
		close(r.fd);
		return -1;
	}
	for (;;) {
		ret = admin_client_line(&r, line, sizeof(line), 10000, err, errlen);
		if (ret <= 0) {
			if (ret == 0)
				snprintf(err, errlen, "the answer ended early");
			*exit_r = EXIT_PROTOCOL;
			close(r.fd);
			return -1;
		}
		if (strcmp(line, "end") == 0)
			break;
		fn(fields, admin_fields_split(line, fields, 32), arg);
	}
	close(r.fd);
	return 0;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void admin_format_time(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
}

void admin_format_session(uint64_t id, char *out, size_t size)
{
	snprintf(out, size, "w%llu.%llu", (unsigned long long)(id >> 40) - 1,
		 (unsigned long long)(id & ((1ull << 40) - 1)));
}
