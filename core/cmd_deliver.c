/*
 * `duomail deliver --config FILE USER`: one message on stdin into USER's
 * INBOX, for an MTA's pipe transport.  Exit codes are sysexits.h, which
 * Postfix and Exim map to a bounce (67, 65) or a retry later (75, also for
 * an account over its quota: CONTRACT.md).  Exit 0
 * only after the message is durable (store_save_commit fsyncs file and dir).
 *
 * The message is stored byte for byte: LF or CRLF line ends stay as they
 * came (the store computes the CRLF size itself).  It streams to disk, so
 * its size costs no memory; whether it looks like a message is decided from
 * what went by, and a rejected message is removed again.
 */
#include "core/account.h"
#include "core/auth.h"
#include "core/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* Larger input is refused as unusable: a retry would not make it fit. */
#define DELIVER_MAX_SIZE (100u * 1024 * 1024)
/* RFC 5322 §2.1.1: a line is at most 998 characters plus CRLF. */
#define FIRST_LINE_MAX 1000

/* What the input looked like, learnt one chunk at a time. */
struct shape {
	char first[FIRST_LINE_MAX];
	size_t first_len;
	bool first_done;	/* the first line ended (or grew too long) */
	bool line_empty;	/* the current line has nothing but CR so far */
	bool separator;		/* an empty line: the header/body separator */
	bool content;		/* anything but white space */
};

static void shape_feed(struct shape *sh, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			sh->content = true;
		if (!sh->first_done) {
			if (c == '\n' || sh->first_len == sizeof(sh->first))
				sh->first_done = true;
			else
				sh->first[sh->first_len++] = c;
		}
		if (c == '\n') {
			/* Even as the first line: no header fields at all is
			 * still a header section (RFC 5322 §3.5). */
			if (sh->line_empty)
				sh->separator = true;
			sh->line_empty = true;
		} else if (c != '\r') {
			sh->line_empty = false;
		}
	}
}

/* RFC 5322 §3.6.8 field-name (printable ASCII but ':'), then ':', with the
 * obsolete white space before it allowed (§4.5). */
static bool header_like(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (unsigned char)line[i] > 32 && (unsigned char)line[i] < 127 &&
	       line[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':';
}

/* Unusable: empty, or neither a header/body separator nor a first line
 * that looks like a header field. */
static bool shape_usable(const struct shape *sh)
{
	return sh->content && (sh->separator || header_like(sh->first, sh->first_len));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail deliver --config FILE USER < message\n"
		   "Delivers one RFC 5322 message to USER's INBOX.\n"
		   "Exit: 0 delivered, 67 no such user, 75 temporary failure, 65 unusable input,\n"
		   "64 usage error, 2 bad config.\n");
}

/* Anything the store says is worth a retry: mail must not bounce because a
 * disk was full or a permission was wrong for a while. */
static int store_exit(struct store *st, const char *user)
{
	const char *text;

	store_last_error(st, &text);
	log_error("deliver to %s failed: %s", user, text);
	return EX_TEMPFAIL;
}

/* Copies stdin into save.  0, or an exit code. */
static int copy_stdin(struct store *st, struct store_save *save, const char *user,
		      struct shape *sh)
{
	char buf[65536];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("deliver to %s: reading stdin: %s", user, strerror(errno));
			return EX_TEMPFAIL;
		}
		if (n == 0)
			return 0;
		total += (size_t)n;
		if (total > DELIVER_MAX_SIZE) {
			log_error("deliver to %s: message larger than %u bytes", user,
				  DELIVER_MAX_SIZE);
			return EX_DATAERR;
		}
		shape_feed(sh, buf, (size_t)n);
		if (store_save_write(save, buf, (size_t)n) < 0)
			return store_exit(st, user);
	}
}

int cmd_deliver(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL;
	struct config *cfg = NULL;
	struct auth_db *db = NULL;
	struct store *st = NULL;
	struct store_save *save = NULL;
	struct shape sh = { .line_empty = true };
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if (argv[i][0] != '-' && user == NULL) {
			user = argv[i];
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (config_path == NULL || user == NULL) {
		usage(stderr);
		return EX_USAGE;
	}
	if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s\n", err);
		return EXIT_CONFIG;
	}
	if (auth_db_open(cfg->passwd_file, &db, err, sizeof(err)) < 0) {
		log_error("deliver: %s", err);
		ret = EX_TEMPFAIL;
		goto out;
	}
	/* The account with its quota set: over quota is a temporary failure
	 * (75), so the MTA keeps the message and retries. */
	switch (account_open(cfg, db, user, &st, NULL)) {
	case ACCOUNT_OK:
		break;
	case ACCOUNT_NOUSER:
		log_error("deliver: no such user: %s", user);
		ret = EX_NOUSER;
		goto out;
	case ACCOUNT_TEMPFAIL:
		ret = EX_TEMPFAIL;
		goto out;
	}
	if (store_save_begin(st, "INBOX", 0, 0, &save) < 0) {
		ret = store_exit(st, user);
		goto out;
	}
	ret = copy_stdin(st, save, user, &sh);
	if (ret != 0)
		goto out;
	if (!shape_usable(&sh)) {
		log_error("deliver to %s: %s", user,
			  sh.content ? "input does not look like a message" : "empty message");
		ret = EX_DATAERR;
		goto out;
	}
	if (store_save_commit(&save, NULL) < 0) {
		ret = store_exit(st, user);
		goto out;
	}
	ret = EX_OK;
out:
	store_save_abort(&save);
	store_close(&st);
	auth_db_close(&db);
	config_free(&cfg);
	return ret;
}
