/*
 * `duomail deliver --config FILE [-f SENDER] [-a ADDRESS] USER`: one message
 * on stdin into USER's INBOX, for an MTA's pipe transport.  Exit codes are
 * sysexits.h, which Postfix and Exim map to a bounce (67, 65) or a retry
 * later (75).  Exit 0 only after the message is durable (core/deliver.c,
 * shared with LMTP: store_save_commit fsyncs file and dir).
 *
 * The message is stored byte for byte: LF or CRLF line ends stay as they
 * came (the store computes the CRLF size itself).  -f and -a add the
 * Return-Path and Delivered-To lines LMTP adds; without them nothing is
 * added, as an MTA's pipe usually adds those itself (Postfix local(8)
 * prepends both to mailbox_command input).  It streams to disk, so its
 * size costs no memory; whether it looks like a message is decided from
 * what went by, and a rejected message is removed again.
 */
#include "core/userdb.h"
#include "core/commands.h"
#include "core/config.h"
#include "core/deliver.h"
#include "core/log.h"
#include "core/privilege.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* Larger input is refused as unusable: a retry would not make it fit. */
#define DELIVER_MAX_SIZE (100u * 1024 * 1024)
/* RFC 5322 §2.1.1: a line is at most 998 characters plus CRLF. */
#define FIRST_LINE_MAX 1000
/* -f / -a: twice RFC 5321 §4.5.3.1.3's path limit, as LMTP accepts. */
#define ADDRESS_MAX 512

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
	fprintf(f, "usage: duomail deliver --config FILE [-f SENDER] [-a ADDRESS] USER < message\n"
		   "Delivers one RFC 5322 message to USER's INBOX.\n"
		   "-f adds Return-Path: <SENDER> (\"\" for <>), -a adds Delivered-To: ADDRESS.\n"
		   "Exit: 0 delivered, 67 no such user, 75 temporary failure, 65 unusable input,\n"
		   "64 usage error, 2 bad config.\n");
}

/* Every store problem is worth a retry, over quota included (CONTRACT.md):
 * mail must not bounce because a disk was full for a while. */
static int status_exit(enum deliver_status status)
{
	switch (status) {
	case DELIVER_OK:
		return EX_OK;
	case DELIVER_NOUSER:
		return EX_NOUSER;
	case DELIVER_TEMPFAIL:
	case DELIVER_NOSPACE:
	case DELIVER_OVERQUOTA:
		break;
	}
	return EX_TEMPFAIL;
}

/* -f and -a values: printable ASCII (a quoted local part may hold
 * spaces), at most ADDRESS_MAX; <> around them are dropped. */
static const char *address_arg(const char *opt, const char *value, char *copy, size_t size)
{
	size_t len = strlen(value);

	if (len >= 2 && value[0] == '<' && value[len - 1] == '>') {
		value++;
		len -= 2;
	}
	if (len >= size || len > ADDRESS_MAX) {
		fprintf(stderr, "duomail deliver: %s: address too long\n", opt);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e) {
			fprintf(stderr, "duomail deliver: %s: not a printable ASCII address\n", opt);
			return NULL;
		}
	}
	memcpy(copy, value, len);
	copy[len] = '\0';
	return copy;
}

/* Copies stdin into the delivery.  0, or an exit code. */
static int copy_stdin(struct delivery *d, const char *user, struct shape *sh)
{
	char buf[65536];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		enum deliver_status status;

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
		status = delivery_write(d, buf, (size_t)n);
		if (status != DELIVER_OK)
			return status_exit(status);
	}
}

int cmd_deliver(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL;
	char sender[ADDRESS_MAX + 1], recipient[ADDRESS_MAX + 1];
	struct deliver_env env = { 0 };
	struct config *cfg = NULL;
	struct userdb *db = NULL;
	struct userdb_record rec = { 0 };
	struct delivery *d = NULL;
	struct shape sh = { .line_empty = true };
	enum deliver_status status;
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_CONFIG) {
			continue;
		} else if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-a") == 0) &&
			   i + 1 < argc) {
			bool f = argv[i][1] == 'f';
			const char *v = address_arg(argv[i], argv[i + 1], f ? sender : recipient,
						    ADDRESS_MAX + 1);

			if (v == NULL)
				return EX_USAGE;
			if (f)
				env.return_path = v;
			else
				env.delivered_to = v;
			i++;
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
	/* Run as root (an admin, a script): the user list is read as root, as
	 * the server's master reads it, and the mail is written as [server]
	 * user, as the workers write it; with no user, root refuses. */
	if (privilege_check(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s\n", err);
		ret = EXIT_CONFIG;
		goto out;
	}
	if (userdb_open(cfg, &db, err, sizeof(err)) < 0) {
		log_error("deliver: %s", err);
		ret = EX_TEMPFAIL;
		goto out;
	}
	if (privilege_drop(cfg, err, sizeof(err)) < 0) {
		log_error("deliver: %s", err);
		ret = EX_TEMPFAIL;
		goto out;
	}
	/* No such user is 67; the user database down, an account over quota,
	 * a bad setting or a store problem is 75, so the MTA keeps the mail
	 * and retries. */
	switch (userdb_lookup(db, USERDB_USER, user, &rec)) {
	case 1:
		if (!rec.invalid)
			break;
		ret = EX_TEMPFAIL;	/* logged by the lookup */
		goto out;
	case 0:
		log_info("deliver: no such user %s", user);
		ret = EX_NOUSER;
		goto out;
	default:
		ret = EX_TEMPFAIL;
		goto out;
	}
	status = delivery_begin(cfg, user, &rec.settings, &env, &d);
	if (status != DELIVER_OK) {
		ret = status_exit(status);
		goto out;
	}
	ret = copy_stdin(d, user, &sh);
	if (ret != 0)
		goto out;
	if (!shape_usable(&sh)) {
		log_error("deliver to %s: %s", user,
			  sh.content ? "input does not look like a message" : "empty message");
		ret = EX_DATAERR;
		goto out;
	}
	ret = status_exit(delivery_commit(&d));
out:
	delivery_abort(&d);
	userdb_record_free(&rec);
	userdb_close(&db);
	config_free(&cfg);
	return ret;
}
