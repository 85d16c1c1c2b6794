/*
 * `duomail compare USER`: USER's mail side by side as each protocol sees
 * it.  One row per message of the folders POP3 merges (INBOX, and what
 * [pop3] folders / pop3_folders= add): IMAP's UID, flags, size,
 * INTERNALDATE and decoded Subject next to POP3's number, UIDL, size and
 * state (listed, hidden by pop3_delete=hide, or DELE pending in a live POP3
 * session, which only QUIT commits).  Then the folders IMAP has and POP3
 * cannot see.
 *
 * The store is read directly (as a login would open it), so this works
 * with the server stopped; the pending deletions come from the admin
 * socket (core/admin.h) when the server runs.  The POP3 numbers are those
 * a POP3 login would give now; a live session keeps the numbering it
 * logged in with (RFC 1939), and its pending deletions are matched by
 * UIDL, not by number.  EXPIRE, which a POP3 login applies, is not.
 */
#include "core/account.h"
#include "core/admin_cmd.h"
#include "core/userdb.h"
#include "core/buf.h"
#include "core/commands.h"
#include "core/live.h"
#include "core/log.h"
#include "core/privilege.h"
#include "pop3/pop3.h"		/* pop3_folder_uidl(): the UIDLs POP3 shows */
#include "store/message.h"
#include "store/message_decode.h"
#include "store/store.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBJECT_SHOWN 40

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail compare [--config FILE] [--json] USER\n"
		   "Shows USER's messages as POP3 sees them (number, UIDL, size, hidden, DELE pending\n"
		   "in a live session) next to how IMAP sees them (UID, flags, size, date, subject),\n"
		   "and the folders only IMAP can see.  Reads the store; asks the running server (if\n"
		   "any) for pending POP3 deletions.  Run as root, it works as [server] user.\n"
		   "Exit: 0, 2 bad config, 64 usage, 67 no such user, 75 store unavailable.\n");
}

struct row {
	const char *folder;
	uint32_t uid;
	char flags[200];
	uint64_t size;
	time_t internaldate;
	char *subject;
	unsigned pop3_number;	/* 0: not listed */
	char *uidl;
	bool hidden;
	bool pending;
};

struct live_pop3 {
	bool server;		/* the admin socket answered */
	char why[512];		/* if not */
	bool session;
	char id[32], peer[64], since[32];
	unsigned long long pending_count;
	uint64_t *hashes;
	size_t nhashes;
};

static void collect_live(char **f, size_t n, void *arg)
{
	struct live_pop3 *l = arg;
	char *p;

	/* session ID PID PROTO TLS SINCE LAST_AT USER PEER CLIENT MAILBOX CMD PENDING HASHES */
	if (n < 14 || strcmp(f[0], "session") != 0 || strcmp(f[3], "pop3") != 0)
		return;
	l->session = true;
	admin_format_session(strtoull(f[1], NULL, 10), l->id, sizeof(l->id));
	snprintf(l->peer, sizeof(l->peer), "%s", f[8]);
	admin_format_time(strtoll(f[5], NULL, 10), l->since, sizeof(l->since));
	l->pending_count += strtoull(f[12], NULL, 10);
	for (p = f[13]; *p != '\0';) {
		char *end;
		uint64_t h = strtoull(p, &end, 16);

		if (end == p)
			break;
		l->hashes = xrealloc(l->hashes, (l->nhashes + 1) * sizeof(*l->hashes));
		l->hashes[l->nhashes++] = h;
		p = *end == ',' ? end + 1 : end;
	}
}

static void format_flags(const struct mailbox *box, const struct store_msg *m, char *out,
			 size_t size)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ MSG_FLAG_SEEN, "\\Seen" }, { MSG_FLAG_ANSWERED, "\\Answered" },
		{ MSG_FLAG_FLAGGED, "\\Flagged" }, { MSG_FLAG_DELETED, "\\Deleted" },
		{ MSG_FLAG_DRAFT, "\\Draft" },
	};
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (m->flags & names[i].bit)
			n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
					      n ? " " : "", names[i].name);
	for (unsigned k = 0; k < mailbox_keyword_count(box) && n < size; k++)
		if (m->keywords & (1u << k))
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "",
					      mailbox_keyword(box, k));
	if (n >= size)
		out[size - 1] = '\0';
}

static char *subject_of(struct mailbox *box, uint32_t uid)
{
	const struct message_part *part;
	const char *raw;
	struct buf b;
	char *s;

	if (mailbox_msg_structure(box, uid, &part) < 0)
		return xstrdup("");
	raw = part->env[ENV_SUBJECT];
	if (raw == NULL)
		return xstrdup("");
	buf_init(&b, 4096);
	message_decode_header(raw, strlen(raw), &b);
	s = xstrndup(buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* Characters on screen of UTF-8 s (continuation bytes take no column). */
static int utf8_width(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = '\0';
}

/* As root, work as the server's user (and group), so files the store
 * rewrites (its index) keep the owner the server needs; root with no user
 * refuses, as the server does (core/privilege.h). */
static int become_server_user(const struct config *cfg)
{
	char err[512];

	if (privilege_check(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail compare: %s\n", err);
		return -1;
	}
	if (privilege_drop(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail compare: %s\n", err);
		return -1;
	}
	return 0;
}

static bool is_pop3_folder(const struct account_policy *p, const char *name)
{
	for (size_t k = 0; k < p->pop3_folders.count; k++)
		if (strcmp(p->pop3_folders.names[k], name) == 0)
			return true;
	return false;
}

static void print_text(const char *user, const struct account_policy *policy,
		       const struct row *rows, size_t nrows, const struct store_mailbox_info *boxes,
		       size_t nboxes, const unsigned *box_counts, const struct live_pop3 *live)
{
	int w_folder = 6, w_flags = 5, w_subject = 7, w_uidl = 4;
	char folders[512] = "";
	size_t n = 0;

	for (size_t k = 0; k < policy->pop3_folders.count && n < sizeof(folders); k++)
		n += (size_t)snprintf(folders + n, sizeof(folders) - n, "%s%s", k ? "," : "",
				      policy->pop3_folders.names[k]);
	printf("%s: POP3 delete=%s folders=%s\n", user, policy_delete_name(policy->pop3_delete),
	       folders);
	if (!live->server)
		printf("live: %s; pending POP3 deletions unknown\n", live->why);
	else if (!live->session)
		printf("live: no POP3 session open\n");
	else
		printf("live: POP3 session %s from %s since %s, %llu DELE pending until QUIT\n",
		       live->id, live->peer, live->since, live->pending_count);
	printf("\n");
	for (size_t i = 0; i < nrows; i++) {
		int l;

		if ((l = (int)strlen(rows[i].folder)) > w_folder)
			w_folder = l;
		if ((l = (int)strlen(rows[i].flags)) > w_flags)
			w_flags = l;
		if ((l = utf8_width(rows[i].subject)) > w_subject)
			w_subject = l;
		if ((l = (int)strlen(rows[i].uidl)) > w_uidl)
			w_uidl = l;
	}
	printf("%-*s %6s %-*s %9s %-19s %-*s | %5s %-*s %9s %s\n", w_folder, "FOLDER", "UID",
	       w_flags, "FLAGS", "SIZE", "INTERNALDATE", w_subject, "SUBJECT", "POP3", w_uidl,
	       "UIDL", "SIZE", "POP3 STATE");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		char date[32], num[16];

		admin_format_time(r->internaldate, date, sizeof(date));
		if (r->pop3_number > 0)
			snprintf(num, sizeof(num), "%u", r->pop3_number);
		else
			snprintf(num, sizeof(num), "-");
		/* %-*s pads bytes; the subject is padded by characters. */
		printf("%-*s %6u %-*s %9llu %-19s %s%*s | %5s %-*s %9llu %s\n", w_folder, r->folder,
		       r->uid, w_flags, r->flags[0] ? r->flags : "-", (unsigned long long)r->size,
		       date, r->subject, w_subject - utf8_width(r->subject), "", num, w_uidl, r->uidl,
		       (unsigned long long)r->size,
		       r->hidden ? "hidden (POP3 deleted it, delete=hide)" :
		       r->pending ? "DELE pending (live session)" : "listed");
	}
	if (nrows == 0)
		printf("(no messages)\n");
	printf("\nfolders only IMAP sees:");
	n = 0;
	for (size_t k = 0; k < nboxes; k++) {
		if (is_pop3_folder(policy, boxes[k].name))
			continue;
		printf("%s %s (%u)", n++ ? "," : "", boxes[k].name, box_counts[k]);
	}
	printf("%s\n", n ? "" : " none");
}

static void print_json(const char *user, const struct account_policy *policy,
		       const struct row *rows, size_t nrows, const struct store_mailbox_info *boxes,
		       size_t nboxes, const unsigned *box_counts, const struct live_pop3 *live)
{
	bool first = true;

	printf("{\"user\":");
	json_string(stdout, user);
	printf(",\"pop3_policy\":{\"delete\":\"%s\",\"folders\":[",
	       policy_delete_name(policy->pop3_delete));
	for (size_t k = 0; k < policy->pop3_folders.count; k++) {
		printf("%s", k ? "," : "");
		json_string(stdout, policy->pop3_folders.names[k]);
	}
	printf("]},\"live\":{\"server\":%s", live->server ? "true" : "false");
	if (live->session) {
		printf(",\"pop3_session\":{\"id\":");
		json_string(stdout, live->id);
		printf(",\"client\":");
		json_string(stdout, live->peer);
		printf(",\"pending_deletions\":%llu}", live->pending_count);
	} else {
		printf(",\"pop3_session\":null");
	}
	printf("},\"messages\":[");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		printf("%s{\"folder\":", i ? "," : "");
		json_string(stdout, r->folder);
		printf(",\"imap\":{\"uid\":%u,\"flags\":[", r->uid);
		{
			/* the flags, split again at their spaces */
			char tmp[sizeof(r->flags)], *save = NULL;
			bool f1 = true;

			snprintf(tmp, sizeof(tmp), "%s", r->flags);
			for (char *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
				printf("%s", f1 ? "" : ",");
				json_string(stdout, w);
				f1 = false;
			}
		}
		printf("],\"size\":%llu,\"internaldate\":%lld,\"subject\":",
		       (unsigned long long)r->size, (long long)r->internaldate);
		json_string(stdout, r->subject);
		printf("},\"pop3\":{\"number\":");
		if (r->pop3_number > 0)
			printf("%u", r->pop3_number);
		else
			printf("null");
		printf(",\"uidl\":");
		json_string(stdout, r->uidl);
		printf(",\"size\":%llu,\"hidden\":%s,\"pending_delete\":%s}}",
		       (unsigned long long)r->size, r->hidden ? "true" : "false",
		       r->pending ? "true" : "false");
	}
	printf("],\"imap_only_folders\":[");
	for (size_t k = 0; k < nboxes; k++) {
		if (is_pop3_folder(policy, boxes[k].name))
			continue;
		printf("%s{\"name\":", first ? "" : ",");
		json_string(stdout, boxes[k].name);
		printf(",\"messages\":%u}", box_counts[k]);
		first = false;
	}
	printf("]}\n");
}

int cmd_compare(int argc, char **argv)
{
	struct admin_opts o;
	struct config *cfg;
	struct userdb *db = NULL;
	struct userdb_record rec = { 0 };
	bool have_rec = false;
	struct store *st = NULL;
	struct account_policy policy;
	struct live_pop3 live = { 0 };
	struct store_mailbox_info *boxes = NULL;
	size_t nboxes = 0, nrows = 0;
	struct row *rows = NULL;
	struct mailbox **open_boxes = NULL;
	unsigned *box_counts = NULL, pop3_number = 0;
	char err[512], req[300];
	const char *user;
	int ret, ignored;

	if (!admin_opts_parse(argc, argv, true, 1, 1, usage, &o, &ret))
		return ret;
	user = o.args[0];
	cfg = admin_load_config("compare", &o);
	if (cfg == NULL)
		return EXIT_CONFIG;
	log_set_level(LOG_LEVEL_WARN);
	if ((ret = admin_check_user("compare", cfg, user)) != 0)
		goto out;
	if (userdb_open(cfg, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail compare: %s: %s\n", cfg->path, err);
		ret = EXIT_CONFIG;
		goto out;
	}
	/* The user's own settings (POP3 policy): the user database's say. */
	ret = userdb_lookup(db, USERDB_USER, user, &rec);
	if (ret <= 0 || rec.invalid) {
		fprintf(stderr, "duomail compare: %s\n", ret == 0 ? "no such user" :
			ret < 0 ? "the user database cannot be read (see above)" :
			"the user's settings are invalid (see above)");
		have_rec = ret > 0;
		ret = ret == 0 ? EXIT_NOUSER : 75;
		goto out;
	}
	have_rec = true;
	/* The live part first: who USER answers from memory at once. */
	snprintf(req, sizeof(req), "who %.200s", user);
	live.server = admin_query(cfg, req, collect_live, &live, live.why, sizeof(live.why),
				  &ignored) == 0;
	if (!live.server) {
		live.session = false;
		live.pending_count = 0;
	}
	if (become_server_user(cfg) < 0) {
		ret = EXIT_CONFIG;
		goto out;
	}
	if (account_open(cfg, user, &rec.settings, &st, &policy) != ACCOUNT_OK) {
		fprintf(stderr, "duomail compare: cannot open the account of %s (see above)\n", user);
		ret = 75;
		goto out;
	}
	if (store_mailbox_list(st, &boxes, &nboxes) < 0) {
		fprintf(stderr, "duomail compare: cannot list the folders of %s\n", user);
		ret = 75;
		goto out_policy;
	}
	open_boxes = xcalloc(nboxes + 1, sizeof(*open_boxes));
	box_counts = xcalloc(nboxes + 1, sizeof(*box_counts));
	for (size_t k = 0; k < nboxes; k++) {
		if (mailbox_open(st, boxes[k].name, &open_boxes[k]) == 0)
			box_counts[k] = mailbox_count(open_boxes[k]);
	}
	/* POP3's maildrop: its folders in the policy's order (as
	 * pop3_maildrop_open() merges them), each in UID order. */
	for (size_t f = 0; f < policy.pop3_folders.count; f++) {
		const char *name = policy.pop3_folders.names[f];
		struct mailbox *box = NULL;

		for (size_t k = 0; k < nboxes; k++)
			if (strcmp(boxes[k].name, name) == 0)
				box = open_boxes[k];
		if (box == NULL)
			continue;	/* a folder the account does not have */
		for (unsigned i = 0; i < mailbox_count(box); i++) {
			const struct store_msg *m = mailbox_msg(box, i);
			struct row *r;
			uint64_t h;

			rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
			r = &rows[nrows++];
			memset(r, 0, sizeof(*r));
			r->folder = name;
			r->uid = m->uid;
			r->size = m->vsize;
			r->internaldate = m->received;
			r->hidden = m->pop3_hidden;
			r->uidl = pop3_folder_uidl(name, m->uidl);
			format_flags(box, m, r->flags, sizeof(r->flags));
			r->subject = subject_of(box, m->uid);
			if (!o.json)
				cut_utf8(r->subject, SUBJECT_SHOWN);
			if (!r->hidden)
				r->pop3_number = ++pop3_number;
			h = live_uidl_hash(r->uidl);
			for (size_t k = 0; k < live.nhashes && !r->hidden; k++)
				if (live.hashes[k] == h)
					r->pending = true;
		}
	}
	if (o.json)
		print_json(user, &policy, rows, nrows, boxes, nboxes, box_counts, &live);
	else
		print_text(user, &policy, rows, nrows, boxes, nboxes, box_counts, &live);
	ret = 0;
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].subject);
		free(rows[i].uidl);
	}
	free(rows);
	for (size_t k = 0; k < nboxes; k++)
		mailbox_close(&open_boxes[k]);
	free(open_boxes);
	free(box_counts);
	store_mailbox_list_free(&boxes, nboxes);
out_policy:
	account_policy_free(&policy);
out:
	store_close(&st);
	if (have_rec)
		userdb_record_free(&rec);
	userdb_close(&db);
	free(live.hashes);
	config_free(&cfg);
	return ret;
}
