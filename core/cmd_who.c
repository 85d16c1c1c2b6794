/*
 * `duomail who [USER]`: the live sessions, from the running server's admin
 * socket (core/admin.h): user, protocol, client address, TLS, the IMAP
 * client's ID, the selected mailbox, since when, the last command.
 */
#include "core/admin_cmd.h"
#include "core/commands.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail who [--config FILE] [--json] [USER]\n"
		   "Lists the live POP3, IMAP and LMTP sessions of the running server (of USER only,\n"
		   "if given): user, protocol, client address, TLS, IMAP client ID, selected mailbox,\n"
		   "since when, last command.  --config defaults to " ADMIN_DEFAULT_CONFIG ".\n"
		   "Exit: 0, 2 bad config, 64 usage, 67 no such user, 69 server not reachable.\n");
}

struct who_row {
	char *f[15];
};

struct who_list {
	struct who_row *rows;
	size_t n;
	unsigned long long untracked;
};

static void collect(char **fields, size_t n, void *arg)
{
	struct who_list *l = arg;

	if (n == 2 && strcmp(fields[0], "untracked") == 0) {
		l->untracked = strtoull(fields[1], NULL, 10);
		return;
	}
	if (n < 14 || strcmp(fields[0], "session") != 0)
		return;
	l->rows = xrealloc(l->rows, (l->n + 1) * sizeof(*l->rows));
	for (size_t i = 0; i < 15; i++)
		l->rows[l->n].f[i] = xstrdup(i < n ? fields[i] : "");
	l->n++;
}

/* fields: session ID PID PROTO TLS SINCE LAST_AT USER PEER CLIENT_ID MAILBOX LAST_CMD
 *         PENDING_COUNT HASHES */
enum { F_ID = 1, F_PID, F_PROTO, F_TLS, F_SINCE, F_LAST_AT, F_USER, F_PEER, F_CLIENT,
       F_MAILBOX, F_CMD, F_PENDING };

static void print_json(const struct who_list *l)
{
	printf("{\"sessions\":[");
	for (size_t i = 0; i < l->n; i++) {
		char *const *f = l->rows[i].f;
		char sid[32];

		admin_format_session(strtoull(f[F_ID], NULL, 10), sid, sizeof(sid));
		printf("%s{\"id\":", i ? "," : "");
		json_string(stdout, sid);
		printf(",\"user\":");
		json_string(stdout, f[F_USER]);
		printf(",\"protocol\":");
		json_string(stdout, f[F_PROTO]);
		printf(",\"client\":");
		json_string(stdout, f[F_PEER]);
		printf(",\"tls\":%s,\"client_id\":", strcmp(f[F_TLS], "yes") == 0 ? "true" : "false");
		json_string(stdout, f[F_CLIENT]);
		printf(",\"mailbox\":");
		json_string(stdout, f[F_MAILBOX]);
		printf(",\"since\":%s,\"last_command\":", f[F_SINCE]);
		json_string(stdout, f[F_CMD]);
		printf(",\"last_command_at\":%s,\"pending_pop3_deletions\":%s,\"worker_pid\":%s}",
		       f[F_LAST_AT], f[F_PENDING], f[F_PID]);
	}
	printf("],\"untracked\":%llu}\n", l->untracked);
}

static void print_table(const struct who_list *l)
{
	int w_user = 4, w_peer = 6, w_client = 9, w_box = 7;
	time_t now = time(NULL);

	for (size_t i = 0; i < l->n; i++) {
		char *const *f = l->rows[i].f;
		int n;

		if ((n = (int)strlen(f[F_USER])) > w_user)
			w_user = n;
		if ((n = (int)strlen(f[F_PEER])) > w_peer)
			w_peer = n;
		if ((n = (int)strlen(f[F_CLIENT])) > w_client)
			w_client = n;
		if ((n = (int)strlen(f[F_MAILBOX])) > w_box)
			w_box = n;
	}
	printf("%-8s %-*s %-5s %-*s %-3s %-*s %-*s %-19s %s\n", "SESSION", w_user, "USER", "PROTO",
	       w_peer, "CLIENT", "TLS", w_client, "CLIENT-ID", w_box, "MAILBOX", "SINCE",
	       "LAST COMMAND");
	for (size_t i = 0; i < l->n; i++) {
		char *const *f = l->rows[i].f;
		char since[32], sid[32], last[64];
		long long at = strtoll(f[F_LAST_AT], NULL, 10);

		admin_format_session(strtoull(f[F_ID], NULL, 10), sid, sizeof(sid));
		admin_format_time(strtoll(f[F_SINCE], NULL, 10), since, sizeof(since));
		if (f[F_CMD][0] == '\0')
			snprintf(last, sizeof(last), "-");
		else
			snprintf(last, sizeof(last), "%s (%llds ago)", f[F_CMD],
				 (long long)now - at > 0 ? (long long)now - at : 0);
		printf("%-8s %-*s %-5s %-*s %-3s %-*s %-*s %-19s %s", sid, w_user,
		       f[F_USER][0] ? f[F_USER] : "-", f[F_PROTO], w_peer, f[F_PEER], f[F_TLS],
		       w_client, f[F_CLIENT][0] ? f[F_CLIENT] : "-", w_box,
		       f[F_MAILBOX][0] ? f[F_MAILBOX] : "-", since, last);
		if (strcmp(f[F_PENDING], "0") != 0)
			printf(", %s DELE pending", f[F_PENDING]);
		printf("\n");
	}
	if (l->untracked > 0)
		printf("(%llu more sessions: no free record to show them)\n", l->untracked);
	if (l->n == 0 && l->untracked == 0)
		printf("(no sessions)\n");
}

int cmd_who(int argc, char **argv)
{
	struct admin_opts o;
	struct who_list l = { 0 };
	struct config *cfg;
	char req[300], err[512];
	int ret;

	if (!admin_opts_parse(argc, argv, true, 0, 1, usage, &o, &ret))
		return ret;
	cfg = admin_load_config("who", &o);
	if (cfg == NULL)
		return EXIT_CONFIG;
	if (o.nargs == 1 && (ret = admin_check_user("who", cfg, o.args[0])) != 0) {
		config_free(&cfg);
		return ret;
	}
	snprintf(req, sizeof(req), "who%s%.200s", o.nargs ? " " : "", o.nargs ? o.args[0] : "");
	if (admin_query(cfg, req, collect, &l, err, sizeof(err), &ret) < 0) {
		fprintf(stderr, "duomail who: %s\n", err);
	} else {
		ret = 0;
		if (o.json)
			print_json(&l);
		else
			print_table(&l);
	}
	for (size_t i = 0; i < l.n; i++)
		for (size_t k = 0; k < 15; k++)
			free(l.rows[i].f[k]);
	free(l.rows);
	config_free(&cfg);
	return ret;
}
