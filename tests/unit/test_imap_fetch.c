/*
 * FETCH and UID FETCH through the real IMAP session over loopback
 * (RFC 3501 §6.4.5, §6.4.8, §7.4.2): every item and macro, body sections
 * byte for byte against the stored files with CRLF line ends, partials,
 * implicit \Seen against BODY.PEEK and EXAMINE, UID FETCH, a message of
 * several MB streamed to a slow reader, messages expunged meanwhile
 * (RFC 5530 EXPUNGEISSUED), bad input, a client that leaves mid-FETCH, and
 * FETCH 1:* of metadata over many messages without one file opened.
 *
 * Responses are read as the protocol frames them: a line ending in {n}
 * is followed by exactly n bytes, so a literal whose announced length is
 * not what was sent throws the rest of the test off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <time.h>

#include "core/buf.h"
#include "imap/imap_format.h"
#include "imap/imap_session.h"
#include "store/message.h"
#include "store/store.h"
#include "loopback_server.h"

#define JAN12 1768212000	/* 12-Jan-2026 10:00:00 +0000 */
#define JAN05 1767596889	/*  5-Jan-2026 07:08:09 +0000 */

static char *rd;
static size_t rd_len, rd_cap;

static int setup(void **state)
{
	/* INTERNALDATE is in the server's zone: make it UTC here */
	setenv("TZ", "UTC", 1);
	tzset();
	lb_start(&imap_handler, "alice:{PLAIN}pw\n");
	rd_len = 0;
	return 0;
}

static int teardown(void **state)
{
	lb_stop();
	free(rd);
	rd = NULL;
	rd_len = rd_cap = 0;
	return 0;
}

/* ---- the client side ---- */

/* Runs the loop and reads what arrived, at most max bytes. */
static void pump(int fd, size_t max)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	uv_run(&lb_loop, UV_RUN_NOWAIT);
	if (poll(&p, 1, 1) != 1)
		return;
	if (rd_cap - rd_len < max + 1) {
		rd_cap = rd_len + max + 1;
		rd = realloc(rd, rd_cap);
	}
	n = read(fd, rd + rd_len, max);
	assert_true(n > 0);
	rd_len += (size_t)n;
	rd[rd_len] = '\0';
}

/* Does the line segment [s, s+len) end in a literal announcement "{n}"? */
static bool literal_at_end(const char *s, size_t len, size_t *n_r)
{
	size_t i = len, n = 0, mul = 1;

	if (len < 3 || s[len - 1] != '}')
		return false;
	for (i = len - 1; i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'; i--) {
		n += (size_t)(s[i - 1] - '0') * mul;
		mul *= 10;
	}
	if (i == len - 1 || i == 0 || s[i - 1] != '{')
		return false;
	*n_r = n;
	return true;
}

/* Reads through the tagged response of tag (reading at most chunk bytes
 * at a time) and returns everything up to it, NUL-terminated. */
static char *response(int fd, const char *tag, size_t chunk, size_t *len_r)
{
	size_t pos = 0, line_start = 0, tl = strlen(tag);

	for (int idle = 0; idle < 20000;) {
		char *eol = rd_len > pos ? memmem(rd + pos, rd_len - pos, "\r\n", 2) : NULL;
		size_t e, n;

		if (eol == NULL) {
			size_t before = rd_len;

			pump(fd, chunk);
			idle = rd_len == before ? idle + 1 : 0;
			continue;
		}
		e = (size_t)(eol - rd);
		if (literal_at_end(rd + pos, e - pos, &n)) {
			while (rd_len < e + 2 + n) {
				size_t before = rd_len;

				pump(fd, chunk);
				if (rd_len == before && ++idle >= 20000)
					fail_msg("timed out inside a literal of %zu", n);
			}
			pos = e + 2 + n;
			continue;
		}
		if (e - line_start > tl && strncmp(rd + line_start, tag, tl) == 0 &&
		    rd[line_start + tl] == ' ') {
			size_t total = e + 2;
			char *out = malloc(total + 1);

			memcpy(out, rd, total);
			out[total] = '\0';
			memmove(rd, rd + total, rd_len - total);
			rd_len -= total;
			*len_r = total;
			return out;
		}
		pos = line_start = e + 2;
	}
	fail_msg("timed out waiting for %s; have %zu bytes: %.300s", tag, rd_len, rd ? rd : "");
	return NULL;
}

static void send_all(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		assert_true(n > 0);
		off += (size_t)n;
		uv_run(&lb_loop, UV_RUN_NOWAIT);
	}
}

/* Sends "tag text" and returns the whole response. */
static char *cmd(int fd, const char *tag, const char *text)
{
	char line[1024];
	size_t len;

	snprintf(line, sizeof(line), "%s %s\r\n", tag, text);
	send_all(fd, line);
	return response(fd, tag, 65536, &len);
}

/* Like cmd(), and the response must be exactly want. */
static void exchange(int fd, const char *tag, const char *text, const char *want)
{
	char *got = cmd(fd, tag, text);

	if (strcmp(got, want) != 0)
		fail_msg("%s %s:\n got: %s\nwant: %s", tag, text, got, want);
	free(got);
}

/* Like cmd(), and the tagged line must start with "tag status". */
static char *expect_status(int fd, const char *tag, const char *text, const char *status)
{
	char *got = cmd(fd, tag, text);
	char want[128];
	const char *last = got + strlen(got) - 2;

	while (last > got && last[-1] != '\n')
		last--;
	snprintf(want, sizeof(want), "%s %s", tag, status);
	if (strncmp(last, want, strlen(want)) != 0)
		fail_msg("%s %s: want '%s', got: %s", tag, text, want, got);
	return got;
}

static int login_select(const char *mailbox_cmd)
{
	int fd = lb_connect();
	size_t len;
	char *greeting;

	rd_len = 0;
	greeting = response(fd, "*", 4096, &len);	/* "* OK ..." is read as a "tagged" line */
	free(greeting);
	free(expect_status(fd, "l1", "LOGIN alice pw", "OK"));
	free(expect_status(fd, "l2", mailbox_cmd, "OK"));
	return fd;
}

/* The literal that follows "name {" in resp; its bytes and length. */
static const char *literal_of(const char *resp, const char *name, size_t *len_r)
{
	char key[256];
	const char *p;
	char *end;

	snprintf(key, sizeof(key), "%s {", name);
	p = strstr(resp, key);
	if (p == NULL)
		fail_msg("no '%s' literal in: %.400s", name, resp);
	p += strlen(key);
	*len_r = strtoul(p, &end, 10);
	assert_memory_equal(end, "}\r\n", 3);
	return end + 3;
}

/* ---- the store side ---- */

static char *file_text(const char *name, size_t *len_r)
{
	char path[512];
	FILE *f;
	long n;
	char *data;

	snprintf(path, sizeof(path), "%s/mime/%s", DUOMAIL_TEST_DATA, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return data;
}

static char *crlf(const char *s, size_t len, size_t *len_r)
{
	char *out = malloc(2 * len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = s[i];
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

static void deliver(const char *data, size_t len, time_t received, unsigned flags)
{
	struct store *st;
	struct store_save *save;
	enum store_error err;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(store_save_begin(st, "INBOX", received, flags, &save), 0);
	assert_int_equal(store_save_write(save, data, len), 0);
	assert_int_equal(store_save_commit(&save, NULL), 0);
	store_close(&st);
}

static void deliver_file(const char *name, time_t received, unsigned flags)
{
	size_t len;
	char *data = file_text(name, &len);

	deliver(data, len, received, flags);
	free(data);
}

/* The store's flags of uid, as another session would see them. */
static unsigned store_flags(uint32_t uid)
{
	struct store *st;
	struct mailbox *box;
	enum store_error err;
	unsigned flags;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	flags = mailbox_msg(box, (unsigned)mailbox_find_uid(box, uid))->flags;
	mailbox_close(&box);
	store_close(&st);
	return flags & ~MSG_FLAG_RECENT;
}

/* Removes every message file in cur/ behind the server's back; returns
 * how many there were. */
static unsigned unlink_files(void)
{
	char dir[256], path[600];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/alice/cur", lb_root);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(unlink(path), 0);
		n++;
	}
	closedir(d);
	return n;
}

/* Expunges uid as another session would. */
static void expunge_elsewhere(uint32_t uid)
{
	struct store *st;
	struct mailbox *box;
	enum store_error err;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_expunge(box, &uid, 1), 0);
	mailbox_close(&box);
	store_close(&st);
}

static void finish(int fd)
{
	free(expect_status(fd, "zz", "LOGOUT", "OK"));
	close(fd);
	lb_run_for(30);
	assert_int_equal(lb_srv.nconns, 0);
}

/* ---- tests ---- */

static void test_metadata(void **state)
{
	char *r;
	int fd;

	/* (the store numbers new mail in the order it was received) */
	deliver_file("header_only.eml", JAN05, MSG_FLAG_SEEN | MSG_FLAG_ANSWERED);
	deliver_file("simple.eml", JAN12, MSG_FLAG_FLAGGED);
	fd = login_select("SELECT INBOX");
	/* §7.4.2; date-time with a space-padded day (§9 date-day-fixed) */
	exchange(fd, "a1", "FETCH 2 (UID FLAGS INTERNALDATE RFC822.SIZE)",
		 "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) "
		 "INTERNALDATE \"12-Jan-2026 10:00:00 +0000\" RFC822.SIZE 521)\r\n"
		 "a1 OK Fetch completed.\r\n");
	exchange(fd, "a2", "FETCH 1 (INTERNALDATE FLAGS)",
		 "* 1 FETCH (INTERNALDATE \" 5-Jan-2026 07:08:09 +0000\" "
		 "FLAGS (\\Answered \\Seen \\Recent))\r\n"
		 "a2 OK Fetch completed.\r\n");
	/* one item without parentheses; a range; "*" */
	exchange(fd, "a3", "fetch 1:* uid",
		 "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\na3 OK Fetch completed.\r\n");
	exchange(fd, "a4", "FETCH 2,1 RFC822.SIZE",
		 "* 1 FETCH (RFC822.SIZE 44)\r\n* 2 FETCH (RFC822.SIZE 521)\r\n"
		 "a4 OK Fetch completed.\r\n");
	/* §6.4.5 macros */
	exchange(fd, "a5", "FETCH 2 FAST",
		 "* 2 FETCH (FLAGS (\\Flagged \\Recent) "
		 "INTERNALDATE \"12-Jan-2026 10:00:00 +0000\" RFC822.SIZE 521)\r\n"
		 "a5 OK Fetch completed.\r\n");
	exchange(fd, "a6", "FETCH 1 ALL",
		 "* 1 FETCH (FLAGS (\\Answered \\Seen \\Recent) "
		 "INTERNALDATE \" 5-Jan-2026 07:08:09 +0000\" RFC822.SIZE 44 "
		 "ENVELOPE (NIL \"nothing else\" ((NIL NIL \"r\" \"example.com\")) "
		 "((NIL NIL \"r\" \"example.com\")) ((NIL NIL \"r\" \"example.com\")) "
		 "NIL NIL NIL NIL NIL))\r\n"
		 "a6 OK Fetch completed.\r\n");
	exchange(fd, "a7", "FETCH 1 FULL",
		 "* 1 FETCH (FLAGS (\\Answered \\Seen \\Recent) "
		 "INTERNALDATE \" 5-Jan-2026 07:08:09 +0000\" RFC822.SIZE 44 "
		 "ENVELOPE (NIL \"nothing else\" ((NIL NIL \"r\" \"example.com\")) "
		 "((NIL NIL \"r\" \"example.com\")) ((NIL NIL \"r\" \"example.com\")) "
		 "NIL NIL NIL NIL NIL) "
		 "BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0))\r\n"
		 "a7 OK Fetch completed.\r\n");
	/* keywords (RFC 3501 §2.3.2) by name in FLAGS, also in the FLAGS an
	 * implicit \Seen adds */
	free(expect_status(fd, "k1", "STORE 2 +FLAGS.SILENT ($Forwarded)", "OK"));
	r = expect_status(fd, "k2", "FETCH 2 FLAGS", "OK");
	assert_non_null(strstr(r, "* 2 FETCH (FLAGS (\\Flagged \\Recent $Forwarded))\r\n"));
	free(r);
	r = expect_status(fd, "k3", "FETCH 2 BODY[]<0.6>", "OK");
	assert_non_null(strstr(r, "* 2 FETCH (BODY[]<0> {6}\r\nReturn "
			       "FLAGS (\\Flagged \\Seen \\Recent $Forwarded))\r\n"));
	free(r);
	finish(fd);
}

/* ENVELOPE, BODY and BODYSTRUCTURE are what imap_format.c makes of the
 * parsed file (its own tests check those against the RFC). */
static void test_structure(void **state)
{
	size_t len;
	char *data = file_text("nested.eml", &len);
	struct message_parser *p = message_parser_new();
	struct message_part *tree;
	struct buf want;
	char *got;
	int fd;

	deliver(data, len, JAN12, 0);
	message_parser_feed(p, data, len);
	tree = message_parser_finish(&p);
	buf_init(&want, (size_t)-1);
	buf_printf(&want, "* 1 FETCH (ENVELOPE ");
	imap_envelope(&want, tree);
	buf_printf(&want, " BODY ");
	imap_bodystructure(&want, tree, false);
	buf_printf(&want, " BODYSTRUCTURE ");
	imap_bodystructure(&want, tree, true);
	buf_printf(&want, ")\r\na1 OK Fetch completed.\r\n");

	fd = login_select("SELECT INBOX");
	exchange(fd, "a1", "FETCH 1 (ENVELOPE BODY BODYSTRUCTURE)", buf_ptr(&want));
	assert_non_null(strstr(buf_ptr(&want), "\"The complex example\""));
	assert_non_null(strstr(buf_ptr(&want), "\"mixed\" (\"boundary\" \"outer\")"));
	/* the file gone from disk (the view notices before the command):
	 * skipped (RFC 5530), for ENVELOPE as for the bytes */
	assert_int_equal(unlink_files(), 1);
	got = expect_status(fd, "a3", "FETCH 1 (ENVELOPE BODY.PEEK[1])", "NO [EXPUNGEISSUED]");
	assert_null(strstr(got, "* 1 FETCH"));
	free(got);
	buf_free(&want);
	message_part_free(&tree);
	free(data);
	finish(fd);
}

/* Checks that resp has item's literal equal to want[0..wlen). */
static void check_literal(const char *resp, const char *item, const char *want, size_t wlen)
{
	size_t len;
	const char *lit = literal_of(resp, item, &len);

	if (len != wlen || memcmp(lit, want, len) != 0)
		fail_msg("%s: %zu bytes, want %zu: '%.*s' vs '%.*s'", item, len, wlen,
			 (int)(len < 200 ? len : 200), lit, (int)(wlen < 200 ? wlen : 200), want);
}

static void test_body_sections(void **state)
{
	size_t slen, nlen, sv, nv;
	char *simple = file_text("simple.eml", &slen), *nested = file_text("nested.eml", &nlen);
	char *simple_crlf = crlf(simple, slen, &sv), *nested_crlf = crlf(nested, nlen, &nv);
	char *r, size[64];
	int fd;

	deliver(simple, slen, JAN12, 0);
	deliver(nested, nlen, JAN12, 0);
	fd = login_select("SELECT INBOX");

	/* BODY[] and RFC822: the stored message, CRLF line ends, byte for
	 * byte; its length is RFC822.SIZE (§2.3.4) */
	r = expect_status(fd, "b1", "FETCH 1:2 (RFC822.SIZE BODY.PEEK[])", "OK");
	check_literal(r, "BODY[]", simple_crlf, sv);
	snprintf(size, sizeof(size), "* 1 FETCH (RFC822.SIZE %zu BODY[] {%zu}", sv, sv);
	assert_non_null(strstr(r, size));
	check_literal(strstr(r, "* 2 FETCH"), "BODY[]", nested_crlf, nv);
	snprintf(size, sizeof(size), "* 2 FETCH (RFC822.SIZE %zu BODY[] {%zu}", nv, nv);
	assert_non_null(strstr(r, size));
	assert_true(nv > nlen);				/* it had bare LFs */
	free(r);

	r = expect_status(fd, "b2", "FETCH 2 RFC822", "OK");
	check_literal(r, "RFC822", nested_crlf, nv);
	free(r);

	/* headers, texts and parts, several literals in one response */
	r = expect_status(fd, "b3", "FETCH 2 (BODY.PEEK[HEADER] UID BODY.PEEK[TEXT] "
			  "BODY.PEEK[3.1] BODY.PEEK[4.2.2.2] BODY.PEEK[4.1.MIME] BODY.PEEK[9] "
			  "BODY.PEEK[HEADER.FIELDS (subject From)] FLAGS)", "OK");
	{
		const char *text = strstr(nested_crlf, "\r\n\r\n") + 4;
		size_t hlen = (size_t)(text - nested_crlf);

		check_literal(r, "BODY[HEADER]", nested_crlf, hlen);
		check_literal(r, "BODY[TEXT]", text, nv - hlen);
	}
	check_literal(r, "BODY[3.1]", "Part 3.1 text.", 14);
	check_literal(r, "BODY[4.2.2.2]", "<bold>Part 4.2.2.2 rich.</bold>", 31);
	{
		const char *mime = "Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n"
				   "Content-ID: <gif41@example.net>\r\n\r\n";

		check_literal(r, "BODY[4.1.MIME]", mime, strlen(mime));
	}
	/* §7.4.2: the section as asked; names as written */
	{
		const char *fields = "From: Carol <carol@example.net>\r\n"
				     "Subject: The complex example\r\n\r\n";

		check_literal(r, "BODY[HEADER.FIELDS (subject From)]", fields, strlen(fields));
	}
	assert_non_null(strstr(r, " BODY[9] NIL "));	/* no such part */
	assert_non_null(strstr(r, " UID 2 "));
	/* b2's RFC822 set \Seen (§6.4.5) */
	assert_non_null(strstr(r, " FLAGS (\\Seen \\Recent))\r\nb3 OK"));
	free(r);

	/* RFC822.HEADER and RFC822.TEXT under their own names */
	r = expect_status(fd, "b4", "FETCH 1 (RFC822.HEADER RFC822.TEXT)", "OK");
	{
		const char *text = strstr(simple_crlf, "\r\n\r\n") + 4;
		size_t hlen = (size_t)(text - simple_crlf);

		check_literal(r, "RFC822.HEADER", simple_crlf, hlen);
		check_literal(r, "RFC822.TEXT", text, sv - hlen);
	}
	free(r);
	free(simple);
	free(nested);
	free(simple_crlf);
	free(nested_crlf);
	finish(fd);
}

/* §6.4.5 partials: "<origin>" in the answer, cut at the end, empty past
 * it; on a file with CRLF already (stored offsets are sent offsets) and
 * one with bare LF (counted through). */
static void test_partial(void **state)
{
	static const char *const files[] = { "simple.eml", "nested.eml" };
	static const struct { unsigned origin, count; } cuts[] = {
		{ 0, 10 }, { 7, 100 }, { 500, 100000 }, { 0, 2048 }, { 1, 1 }, { 99999, 10 },
	};
	int fd;

	for (size_t i = 0; i < 2; i++)
		deliver_file(files[i], JAN12, 0);
	fd = login_select("SELECT INBOX");
	for (size_t i = 0; i < 2; i++) {
		size_t len, vlen;
		char *data = file_text(files[i], &len), *whole = crlf(data, len, &vlen);

		for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
			char text[128], name[64], *r;
			unsigned o = cuts[k].origin, c = cuts[k].count;
			size_t from = o < vlen ? o : vlen;
			size_t n = vlen - from < c ? vlen - from : c;

			snprintf(text, sizeof(text), "FETCH %zu BODY.PEEK[]<%u.%u>", i + 1, o, c);
			r = expect_status(fd, "p1", text, "OK");
			snprintf(name, sizeof(name), "BODY[]<%u>", o);
			if (n == 0) {
				snprintf(text, sizeof(text), "* %zu FETCH (%s \"\")\r\n", i + 1, name);
				assert_memory_equal(r, text, strlen(text));
			} else {
				check_literal(r, name, whole + from, n);
			}
			free(r);
		}
		free(data);
		free(whole);
	}
	/* a partial of a header subset counts after the subsetting (§6.4.5) */
	exchange(fd, "p2", "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]<9.5>",
		 "* 1 FETCH (BODY[HEADER.FIELDS (Subject)]<9> {5}\r\nLunch)\r\n"
		 "p2 OK Fetch completed.\r\n");
	exchange(fd, "p3", "FETCH 2 BODY.PEEK[4.2.2.1]<5.4>",
		 "* 2 FETCH (BODY[4.2.2.1]<5> {4}\r\n4.2.)\r\np3 OK Fetch completed.\r\n");
	exchange(fd, "p4", "FETCH 2 BODY.PEEK[77]<0.4>",
		 "* 2 FETCH (BODY[77]<0> NIL)\r\np4 OK Fetch completed.\r\n");
	finish(fd);
}

static void test_implicit_seen(void **state)
{
	int fd, ro;
	char *r;

	for (int i = 0; i < 5; i++)
		deliver_file("simple.eml", JAN12, 0);
	fd = login_select("SELECT INBOX");

	/* §6.4.5: BODY[] sets \Seen, and the changed FLAGS come along */
	r = expect_status(fd, "s1", "FETCH 1 BODY[TEXT]", "OK");
	assert_non_null(strstr(r, "Alice\r\n FLAGS (\\Seen \\Recent))\r\n"));
	free(r);
	exchange(fd, "s2", "FETCH 1 FLAGS",
		 "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\ns2 OK Fetch completed.\r\n");
	assert_int_equal(store_flags(1), MSG_FLAG_SEEN);
	/* already seen: nothing changes, no FLAGS added */
	r = expect_status(fd, "s3", "FETCH 1 BODY[1]", "OK");
	assert_null(strstr(r, "FLAGS"));
	free(r);

	/* BODY.PEEK and RFC822.HEADER leave it */
	r = expect_status(fd, "s4", "FETCH 2 (BODY.PEEK[] RFC822.HEADER BODY.PEEK[1]<0.3>)", "OK");
	assert_null(strstr(r, "FLAGS"));
	free(r);
	exchange(fd, "s5", "FETCH 2 FLAGS",
		 "* 2 FETCH (FLAGS (\\Recent))\r\ns5 OK Fetch completed.\r\n");
	assert_int_equal(store_flags(2), 0);

	/* RFC822.TEXT and RFC822 set it */
	r = expect_status(fd, "s6", "FETCH 2 RFC822.TEXT", "OK");
	assert_non_null(strstr(r, " FLAGS (\\Seen \\Recent))\r\n"));
	free(r);
	r = expect_status(fd, "s7", "FETCH 3 RFC822", "OK");
	assert_non_null(strstr(r, " FLAGS (\\Seen \\Recent))\r\n"));
	free(r);

	/* FLAGS asked for: it shows \Seen already, and only once */
	r = expect_status(fd, "s8", "FETCH 4 (FLAGS BODY[HEADER.FIELDS (Subject)])", "OK");
	assert_memory_equal(r, "* 4 FETCH (FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (Subject)] {",
			    strlen("* 4 FETCH (FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (Subject)] {"));
	assert_null(strstr(strstr(r, "FLAGS") + 1, "FLAGS"));
	free(r);
	/* a partial sets it too */
	r = expect_status(fd, "s9", "FETCH 5 BODY[]<0.4>", "OK");
	assert_non_null(strstr(r, "BODY[]<0> {4}\r\nRetu FLAGS (\\Seen \\Recent))\r\n"));
	free(r);
	finish(fd);

	/* EXAMINE is read-only: nothing is set, nothing added (§6.3.2) */
	deliver_file("simple.eml", JAN12, 0);
	ro = login_select("EXAMINE INBOX");
	r = expect_status(ro, "e1", "FETCH 6 (BODY[] RFC822.TEXT)", "OK");
	assert_null(strstr(r, "FLAGS"));
	free(r);
	/* No \Seen; but the new message is \Recent to the EXAMINE session too,
	 * which must not take that from anyone (§6.3.2); Dovecot agrees. */
	exchange(ro, "e2", "FETCH 6 FLAGS",
		 "* 6 FETCH (FLAGS (\\Recent))\r\ne2 OK Fetch completed.\r\n");
	exchange(ro, "e3", "SEARCH RECENT", "* SEARCH 6\r\ne3 OK Search completed.\r\n");
	assert_int_equal(store_flags(6), 0);
	finish(ro);
}

static void test_uid_fetch(void **state)
{
	int fd;
	char *r;

	for (int i = 0; i < 4; i++)
		deliver_file("simple.eml", JAN12, 0);
	expunge_elsewhere(2);		/* UIDs 1 3 4 are left: seqs 1 2 3 */
	fd = login_select("SELECT INBOX");
	/* §6.4.8: UID is in every answer, asked or not; sequence numbers */
	exchange(fd, "u1", "UID FETCH 3 FLAGS",
		 "* 2 FETCH (UID 3 FLAGS (\\Recent))\r\nu1 OK Fetch completed.\r\n");
	exchange(fd, "u2", "UID FETCH 1:* (RFC822.SIZE UID)",
		 "* 1 FETCH (UID 1 RFC822.SIZE 521)\r\n* 2 FETCH (UID 3 RFC822.SIZE 521)\r\n"
		 "* 3 FETCH (UID 4 RFC822.SIZE 521)\r\nu2 OK Fetch completed.\r\n");
	/* UIDs not there are ignored: not an error */
	exchange(fd, "u3", "UID FETCH 2,99 FLAGS", "u3 OK Fetch completed.\r\n");
	exchange(fd, "u4", "UID FETCH 4:99 UID", "* 3 FETCH (UID 4)\r\nu4 OK Fetch completed.\r\n");
	r = expect_status(fd, "u5", "UID FETCH 4 BODY[HEADER.FIELDS (SUBJECT)]", "OK");
	{
		/* "Subject: Lunch on Friday?" CRLF CRLF */
		const char *want = "* 3 FETCH (UID 4 BODY[HEADER.FIELDS (SUBJECT)] {29}\r\n"
				   "Subject: Lunch on Friday?\r\n\r\n FLAGS (\\Seen \\Recent))\r\n";

		assert_memory_equal(r, want, strlen(want));
	}
	free(r);
	/* an expunged message is left out without a word (§6.4.8).  If the
	 * change was seen before the command, EXPUNGE came first (allowed
	 * before a UID command, §7.4.1) and numbers moved down; if not, the
	 * message is still counted and its file is gone. */
	expunge_elsewhere(3);
	r = expect_status(fd, "u6", "UID FETCH 1:4 BODY.PEEK[1]<0.2>", "OK");
	assert_non_null(strstr(r, "* 1 FETCH (UID 1 "));
	assert_non_null(strstr(r, strstr(r, "* 2 EXPUNGE\r\n") ? "* 2 FETCH (UID 4 " :
				  "* 3 FETCH (UID 4 "));
	assert_null(strstr(r, "UID 3"));
	free(r);
	free(expect_status(fd, "u7", "UID FETCH 0:x FLAGS", "BAD"));
	finish(fd);
}

/* A message of several MB, with bare LF lines, to a client that reads
 * 16 KB at a time: it streams, with conn_output_full() pausing it. */
static void test_big_message(void **state)
{
	size_t len = 6u << 20, vlen, rlen, lit_len;
	char *data = malloc(len), *whole, *r;
	const char *lit;
	int fd;

	memcpy(data, "Subject: big\n\n", 14);
	for (size_t i = 14; i < len; i++)
		data[i] = (i % 77 == 76) ? '\n' : (char)('a' + (i % 26));
	whole = crlf(data, len, &vlen);
	deliver(data, len, JAN12, 0);
	fd = login_select("SELECT INBOX");
	send_all(fd, "g1 FETCH 1 (RFC822.SIZE BODY.PEEK[] UID)\r\n");
	r = response(fd, "g1", 16384, &rlen);
	lit = literal_of(r, "BODY[]", &lit_len);
	assert_int_equal(lit_len, vlen);
	assert_memory_equal(lit, whole, vlen);
	assert_string_equal(lit + vlen, " UID 1)\r\ng1 OK Fetch completed.\r\n");
	free(r);
	/* far into it: counted through the bare LFs */
	send_all(fd, "g2 FETCH 1 BODY.PEEK[TEXT]<5000000.100>\r\n");
	r = response(fd, "g2", 65536, &rlen);
	lit = literal_of(r, "BODY[TEXT]<5000000>", &lit_len);
	assert_int_equal(lit_len, 100);
	assert_memory_equal(lit, whole + 15 + 5000000 + 1, 100);
	free(r);
	free(data);
	free(whole);
	finish(fd);
}

static void test_expunged_meanwhile(void **state)
{
	int fd;
	char *r;

	for (int i = 0; i < 3; i++)
		deliver_file("simple.eml", JAN12, 0);
	fd = login_select("SELECT INBOX");
	expunge_elsewhere(2);
	/* RFC 3501 §7.4.1: no EXPUNGE during FETCH; the others are sent,
	 * then NO [EXPUNGEISSUED] (RFC 5530) */
	r = expect_status(fd, "x1", "FETCH 1:3 BODY.PEEK[HEADER.FIELDS (Subject)]",
			  "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
	assert_non_null(strstr(r, "* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {29}"));
	assert_non_null(strstr(r, "* 3 FETCH (BODY[HEADER.FIELDS (Subject)] {29}"));
	assert_null(strstr(r, "* 2 FETCH"));
	assert_null(strstr(r, "EXPUNGE\r\n"));
	free(r);
	/* the session goes on */
	free(expect_status(fd, "x2", "FETCH 1 UID", "OK"));
	finish(fd);
}

static void test_bad_input(void **state)
{
	int fd = lb_connect();
	size_t len;
	char *r;

	rd_len = 0;
	lb_expect(fd, "* OK [CAPABILITY ", false);
	/* byte by byte, the loop running between bytes */
	lb_send_slowly(fd, "n1 LOGIN alice pw\r\n");
	r = response(fd, "n1", 4096, &len);
	assert_memory_equal(r, "n1 OK", 5);
	free(r);
	/* not in SELECTED state */
	free(expect_status(fd, "n2", "FETCH 1 FLAGS", "BAD"));
	deliver_file("simple.eml", JAN12, 0);
	free(expect_status(fd, "n3", "SELECT INBOX", "OK"));
	free(expect_status(fd, "n4", "FETCH 1 FOO", "BAD Unknown FETCH item"));
	free(expect_status(fd, "n5", "FETCH 1", "BAD Usage: FETCH"));
	free(expect_status(fd, "n6", "FETCH 1 FLAGS UID", "BAD"));
	free(expect_status(fd, "n7", "FETCH 0 FLAGS", "BAD"));
	free(expect_status(fd, "n8", "FETCH 2 FLAGS", "BAD"));	/* above EXISTS */
	free(expect_status(fd, "n9", "FETCH x FLAGS", "BAD"));
	free(expect_status(fd, "o1", "FETCH 1 BODY[1.]", "BAD"));
	free(expect_status(fd, "o2", "FETCH 1 BODY[]<0.0>", "BAD"));
	free(expect_status(fd, "o3", "FETCH 1 BODY[MIME]", "BAD"));
	free(expect_status(fd, "o4", "FETCH 1 (ALL)", "BAD"));
	free(expect_status(fd, "o5", "FETCH 1 ()", "BAD"));
	free(expect_status(fd, "o6", "FETCH 1 BODY[HEADER.FIELDS ()]", "BAD"));
	/* and it still works */
	r = expect_status(fd, "o7", "FETCH 1 (UID)", "OK");
	assert_string_equal(r, "* 1 FETCH (UID 1)\r\no7 OK Fetch completed.\r\n");
	free(r);
	finish(fd);
}

/* The client leaves in the middle of a big FETCH: everything is freed
 * (ASan's leak check at exit), the connection is gone. */
static void test_disconnect_mid_fetch(void **state)
{
	size_t len = 8u << 20;
	char *data = malloc(len);
	int fd;

	memcpy(data, "Subject: big\n\n", 14);
	for (size_t i = 14; i < len; i++)
		data[i] = (i % 60 == 59) ? '\n' : 'x';
	deliver(data, len, JAN12, 0);
	free(data);
	fd = login_select("SELECT INBOX");
	send_all(fd, "d1 FETCH 1 (BODY[] BODYSTRUCTURE)\r\n");
	for (int i = 0; i < 200 && rd_len < 100000; i++)
		pump(fd, 16384);
	assert_true(rd_len > 0);
	close(fd);
	lb_run_for(300);
	assert_int_equal(lb_srv.nconns, 0);

	/* and again while a batch is on the thread pool */
	fd = login_select("SELECT INBOX");
	send_all(fd, "d2 FETCH 1 BODY.PEEK[TEXT]<7000000.10>\r\n");
	uv_run(&lb_loop, UV_RUN_NOWAIT);
	close(fd);
	lb_run_for(300);
	assert_int_equal(lb_srv.nconns, 0);
}

/* Bytes and read calls this process made so far (/proc/self/io counts
 * every thread: the server's loop and pool and the test's client). */
static void io_counts(unsigned long long *rchar_r, unsigned long long *syscr_r)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "rchar: %llu", rchar_r);
		sscanf(line, "syscr: %llu", syscr_r);
	}
	fclose(f);
}

/* FETCH 1:* of metadata over many messages reads no message file (20000
 * messages would be at least 20000 reads), and is quick. */
static void test_many_messages(void **state)
{
	enum { N = 20000 };
	unsigned long long rchar0, syscr0, rchar1, syscr1;
	char dir[256], path[600], *r;
	struct timespec t0, t1;
	size_t count = 0, len;
	int fd;

	/* a foreign delivery into new/: fast, no fsync per message */
	deliver_file("simple.eml", JAN12, 0);	/* makes the Maildir */
	snprintf(dir, sizeof(dir), "%s/alice/new", lb_root);
	for (int i = 1; i < N; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/1768212000.M%dP1.unit", dir, i);
		f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "Subject: %d\n\nbody %d\n", i, i);
		fclose(f);
	}
	fd = login_select("SELECT INBOX");
	io_counts(&rchar0, &syscr0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_all(fd, "m1 FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n");
	r = response(fd, "m1", 1 << 20, &len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	io_counts(&rchar1, &syscr1);
	for (const char *p = r; (p = strstr(p, " FETCH (UID ")) != NULL; p++)
		count++;
	assert_int_equal(count, N);
	assert_non_null(strstr(r, "m1 OK Fetch completed."));
	assert_non_null(strstr(r, "* 20000 FETCH (UID 20000 FLAGS (\\Recent) RFC822.SIZE "));
	if (syscr1 - syscr0 >= N / 2)
		fail_msg("%llu reads for %d messages", syscr1 - syscr0, N);
	/* generous for a sanitizer build on a busy machine */
	assert_true(t1.tv_sec - t0.tv_sec < 20);
	free(r);
	/* ENVELOPE does read them, once each */
	io_counts(&rchar0, &syscr0);
	r = expect_status(fd, "m2", "FETCH 1:* ENVELOPE", "OK");
	io_counts(&rchar1, &syscr1);
	assert_true(syscr1 - syscr0 >= N);
	free(r);
	finish(fd);
}

/* A header fetch reads only the header; the parsed structure is cached:
 * a second BODYSTRUCTURE of a 2 MB message reads nothing of it. */
static void test_structure_cached(void **state)
{
	size_t len = 2u << 20;
	char *data = malloc(len + 1);
	unsigned long long rchar0, syscr0, rchar1, syscr1;
	char *first, *second;
	int fd;

	strcpy(data, "Subject: cache\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n");
	for (size_t i = strlen(data); i < len - 6; i++)
		data[i] = (i % 70 == 69) ? '\n' : 'c';
	memcpy(data + len - 6, "\n--b--", 6);
	deliver(data, len, JAN12, 0);
	free(data);
	fd = login_select("SELECT INBOX");
	/* the top-level header and its fields: only the header is read
	 * (64 KB of 2 MB at most: one chunk twice, plus the response) */
	io_counts(&rchar0, &syscr0);
	first = expect_status(fd, "c0", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)] RFC822.HEADER)",
			      "OK");
	io_counts(&rchar1, &syscr1);
	if (rchar1 - rchar0 >= 256 * 1024)
		fail_msg("a header fetch read %llu bytes", rchar1 - rchar0);
	assert_non_null(strstr(first, "{18}\r\nSubject: cache\r\n\r\n "));
	free(first);

	io_counts(&rchar0, &syscr0);
	first = expect_status(fd, "c1", "FETCH 1 BODYSTRUCTURE", "OK");
	io_counts(&rchar1, &syscr1);
	assert_true(rchar1 - rchar0 >= len);
	io_counts(&rchar0, &syscr0);
	second = expect_status(fd, "c2", "FETCH 1 BODYSTRUCTURE", "OK");
	io_counts(&rchar1, &syscr1);
	if (rchar1 - rchar0 >= 65536)
		fail_msg("the second BODYSTRUCTURE read %llu bytes", rchar1 - rchar0);
	first[strlen(first) - strlen("c1 OK Fetch completed.\r\n")] = '\0';
	assert_memory_equal(first, second, strlen(first));
	free(first);
	free(second);
	finish(fd);
}

/* Truncates every message file in cur/ to len bytes behind the store. */
static void truncate_files(off_t len)
{
	char dir[256], path[600];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/alice/cur", lb_root);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(truncate(path, len), 0);
	}
	closedir(d);
}

/* A file shorter than the size the store knows (damaged behind its back):
 * the literal still has the announced length, padded, so the client stays
 * in step and the session goes on. */
static void test_short_file(void **state)
{
	size_t len, vlen, lit_len;
	char *data = file_text("simple.eml", &len), *whole = crlf(data, len, &vlen), *r;
	const char *lit;
	int fd;

	deliver(data, len, JAN12, 0);
	fd = login_select("SELECT INBOX");
	truncate_files(100);
	r = expect_status(fd, "t1", "FETCH 1 (BODY.PEEK[] UID)", "OK");
	lit = literal_of(r, "BODY[]", &lit_len);
	assert_int_equal(lit_len, vlen);
	assert_memory_equal(lit, whole, 100);
	for (size_t i = 100; i < vlen; i++)
		assert_int_equal(lit[i], ' ');
	assert_memory_equal(lit + vlen, " UID 1)\r\nt1 OK", 14);
	free(r);
	free(expect_status(fd, "t2", "NOOP", "OK"));
	free(data);
	free(whole);
	finish(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_implicit_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uid_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunged_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_mid_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structure_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
