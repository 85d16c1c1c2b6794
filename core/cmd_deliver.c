/*
 * `duomail deliver --config FILE USER`: one message on stdin into USER's
 * INBOX, for an MTA's pipe transport.  Exit codes are sysexits.h, which
 * Postfix and Exim map to bounce (67, 65) or retry later (75).  Exit 0 only
 * after the message is durable (store_save_commit fsyncs file and dir).
 */
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

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail deliver --config FILE USER < message\n"
		   "Delivers one RFC 5322 message to USER's INBOX.\n"
		   "Exit: 0 delivered, 67 no such user, 75 temporary failure, 65 unusable input.\n");
}

/* Does the input start like a message: a header field or an mbox "From " line? */
static bool looks_like_message(const char *p, size_t len)
{
	size_t i;

	if (len >= 5 && memcmp(p, "From ", 5) == 0)
		return true;
	for (i = 0; i < len && p[i] != ':'; i++) {
		/* RFC 5322 §2.2: field names are printable ASCII but ':'. */
		if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127)
			return false;
	}
	return i > 0 && i < len;
}

static int store_exit(struct store *st, const char *user)
{
	const char *text;
	enum store_error err = store_last_error(st, &text);

	log_error("deliver to %s failed: %s", user, text);
	return err == STORE_ERR_NOTFOUND || err == STORE_ERR_INVALID ? EX_SOFTWARE : EX_TEMPFAIL;
}

int cmd_deliver(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL;
	struct config *cfg = NULL;
	struct auth_db *db = NULL;
	struct store *st = NULL;
	struct store_save *save = NULL;
	enum store_error serr;
	char err[512], buf[65536];
	size_t total = 0;
	int ret = EX_TEMPFAIL, exists;

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
		log_error("%s", err);
		ret = EX_TEMPFAIL;
		goto out;
	}
	exists = auth_db_user_exists(db, user);
	if (exists <= 0) {
		log_error("deliver: no such user: %s", user);
		ret = exists == 0 ? EX_NOUSER : EX_TEMPFAIL;
		goto out;
	}
	if (store_open(cfg->store_root, user, &st, &serr) < 0) {
		log_error("deliver: cannot open the store of %s: %s", user, store_strerror(serr));
		ret = EX_TEMPFAIL;
		goto out;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("deliver: reading stdin: %s", strerror(errno));
			ret = EX_TEMPFAIL;
			goto out;
		}
		if (n == 0)
			break;
		if (total == 0) {
			if (!looks_like_message(buf, (size_t)n)) {
				log_error("deliver: input does not start like a message");
				ret = EX_DATAERR;
				goto out;
			}
			if (store_save_begin(st, "INBOX", 0, 0, &save) < 0) {
				ret = store_exit(st, user);
				goto out;
			}
		}
		total += (size_t)n;
		if (store_save_write(save, buf, (size_t)n) < 0) {
			ret = store_exit(st, user);
			goto out;
		}
	}
	if (total == 0) {
		log_error("deliver: empty message");
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
