/*
 * SEARCH and UID SEARCH in-process over loopback (RFC 3501 §6.4.4,
 * §6.4.8), against a small mailbox of realistic messages: encoded-word
 * headers (RFC 2047), quoted-printable and base64 bodies in Latin-1, UTF-8
 * and KOI8-R, a multipart with a PDF that must not match, a big message,
 * internal dates and Date: headers, flags set at delivery and by STORE.
 * Every key family, OR/NOT/lists, the UID forms, CHARSET (NO
 * [BADCHARSET]), bad input (BAD, the session goes on), a message expunged
 * by someone else while the view still counts it (RFC 3501 §7.4.1: no
 * EXPUNGE during SEARCH, and it matches nothing), and what evaluation
 * costs: keys on flags open no file, header keys read only the start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "core/buf.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_session.h"
#include "store/store.h"
#include "loopback_server.h"

/* Noon on a day, local time: the internal date's day is that day in
 * whatever zone the test runs (RFC 3501 §6.4.4 compares days). */
static time_t local_noon(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12,
			 .tm_isdst = -1 };

	return mktime(&tm);
}

static const char msg_latin1[] =
	"From: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@example.dk>\r\n"
	"To: alice@example.org\r\n"
	"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"	/* Grüße aus Köln */
	"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=E9 au lait, the meeting=\r\n"
	" is at noon.\r\n";

static const char msg_multipart[] =
	"From: Bob <bob@example.com>\r\n"
	"To: Alice <alice@example.org>\r\n"
	"Cc: carol@example.org\r\n"
	"Subject: Quarterly report\r\n"
	"Date: 1 Mar 2024 10:00:00 +0000\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"=_outer\"\r\n"
	"\r\n"
	"--=_outer\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	/* "Привет, мир! Отчёт готов." */
	"0J/RgNC40LLQtdGCLCDQvNC40YAhINCe0YLRh9GR0YIg0LPQvtGC0L7Qsi4=\r\n"
	"--=_outer\r\n"
	"Content-Type: application/pdf; name=report.pdf\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0d29yZA==\r\n"	/* "secretword" */
	"--=_outer--\r\n";

static const char msg_greek[] =
	"From: =?koi8-r?b?9qPM1NnK?= <yellow@example.ru>\r\n"	/* Жёлтый */
	"To: alice@example.org\r\n"
	"Bcc: dave@example.net\r\n"
	"X-Priority: 1\r\n"
	"Subject: =?utf-8?q?=CE=95=CE=BB=CE=BB=CE=B7=CE=BD=CE=B9=CE=BA=CE=AC?=\r\n"	/* Ελληνικά */
	"\r\n"
	"No date header here.\r\n"
	"TEXT only here\r\n";

static const char msg_short[] =
	"From: carol@example.org\r\n"
	"To: alice@example.org\r\n"
	"Subject: short\r\n"
	"Date: Wed, 31 Dec 2025 23:59:59 +1400\r\n"
	"\r\n"
	"ok\r\n";

static char *big_message(void)
{
	struct buf b;
	char *text;

	buf_init(&b, 1 << 20);
	buf_printf(&b, "From: robot@example.com\r\nTo: alice@example.org\r\nSubject: big\r\n"
		       "Date: Thu, 15 Jan 2026 08:00:00 +0100\r\n\r\n");
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "Lorem ipsum dolor sit amet, consectetur adipiscing elit %d.\r\n", i);
	buf_printf(&b, "The needle in the haystack.\r\n");
	text = strdup(buf_ptr(&b));
	buf_free(&b);
	return text;
}

static void save_msg(struct store *st, const char *text, time_t received, unsigned flags,
		     uint32_t *uid_r)
{
	struct store_save *save;

	assert_int_equal(store_save_begin(st, "INBOX", received, flags, &save), 0);
	assert_int_equal(store_save_write(save, text, strlen(text)), 0);
	assert_int_equal(store_save_commit(&save, uid_r), 0);
}

/* The mailbox: a first message expunged at once, so UIDs (2..6) differ
 * from sequence numbers (1..5). */
static void fill_mailbox(void)
{
	struct store *st;
	struct mailbox *box;
	enum store_error err;
	uint32_t uid;
	char *big = big_message();

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	save_msg(st, "Subject: gone\r\n\r\nx\r\n", 0, 0, &uid);
	assert_int_equal(uid, 1);
	save_msg(st, msg_latin1, local_noon(1994, 2, 8), MSG_FLAG_SEEN | MSG_FLAG_ANSWERED, &uid);
	save_msg(st, msg_multipart, local_noon(2024, 3, 1), 0, &uid);
	save_msg(st, msg_greek, local_noon(2025, 12, 31), MSG_FLAG_DRAFT, &uid);
	save_msg(st, big, local_noon(2026, 1, 15), 0, &uid);
	save_msg(st, msg_short, local_noon(2026, 1, 16), 0, &uid);
	assert_int_equal(uid, 6);
	free(big);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	uid = 1;
	assert_int_equal(mailbox_expunge(box, &uid, 1), 0);
	/* flags the fixture sets through the store API */
	assert_int_equal(mailbox_update_flags(box, 3, MSG_FLAG_FLAGGED, 0), 0);
	assert_int_equal(mailbox_update_flags(box, 4, MSG_FLAG_DELETED, 0), 0);
	/* keywords: $Label1 on message 2 (UID 3), Work on message 5 (UID 6) */
	unsigned label, work;
	assert_int_equal(mailbox_keyword_add(box, "$Label1", &label), 0);
	assert_int_equal(mailbox_keyword_add(box, "Work", &work), 0);
	assert_int_equal(mailbox_update_flags_keywords(box, 3, 0, 0, 1u << label, 0), 0);
	assert_int_equal(mailbox_update_flags_keywords(box, 6, 0, 0, 1u << work, 0), 0);
	mailbox_close(&box);
	store_close(&st);
}

static int setup(void **state)
{
	lb_start(&imap_handler, "alice:{PLAIN}s3cret\n");
	fill_mailbox();
	return 0;
}

static int setup_bob(void **state)
{
	lb_start(&imap_handler, "bob:{PLAIN}pw\n");
	return 0;
}

static int teardown(void **state)
{
	lb_stop();
	return 0;
}

static int tagno;

/* Sends "tN SEARCH args" (or UID SEARCH) and checks the whole SEARCH
 * response line and the tagged OK. */
static void search_cmd(int fd, const char *cmd, const char *args, const char *want)
{
	char line[4096], tag[16], expect[512];

	snprintf(tag, sizeof(tag), "t%d", ++tagno);
	snprintf(line, sizeof(line), "%s %s %s\r\n", tag, cmd, args);
	lb_send_slowly(fd, line);
	snprintf(expect, sizeof(expect), "* SEARCH%s%s\r\n", want[0] ? " " : "", want);
	lb_expect(fd, expect, false);
	snprintf(expect, sizeof(expect), "%s OK", tag);
	lb_expect(fd, expect, false);
}

#define SEARCH(fd, args, want)		search_cmd(fd, "SEARCH", args, want)
#define UID_SEARCH(fd, args, want)	search_cmd(fd, "UID SEARCH", args, want)

/* Sends a command and checks the start of its tagged response. */
static void tagged(int fd, const char *text, const char *want)
{
	char line[4096], tag[16], expect[256];

	snprintf(tag, sizeof(tag), "t%d", ++tagno);
	snprintf(line, sizeof(line), "%s %s\r\n", tag, text);
	lb_send_slowly(fd, line);
	snprintf(expect, sizeof(expect), "%s %s", tag, want);
	lb_expect(fd, expect, false);
}

static int login_select(void)
{
	int fd = lb_connect();

	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "a1 LOGIN alice s3cret\r\n");
	lb_expect(fd, "a1 OK", false);
	lb_send_slowly(fd, "a2 SELECT INBOX\r\n");
	lb_expect(fd, "* FLAGS", false);
	lb_expect(fd, "* OK [PERMANENTFLAGS", false);
	lb_expect(fd, "* 5 EXISTS", false);
	lb_expect(fd, "* ", false);		/* RECENT */
	lb_expect(fd, "* OK [UNSEEN 2]", false);
	lb_expect(fd, "* OK [UIDVALIDITY", false);
	lb_expect(fd, "* OK [UIDNEXT 7]", false);
	lb_expect(fd, "a2 OK [READ-WRITE]", false);
	return fd;
}

static void logout(int fd)
{
	lb_send_slowly(fd, "z LOGOUT\r\n");
	lb_expect(fd, "* BYE", false);
	lb_expect(fd, "z OK", false);
	close(fd);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, 0);
}

/* Sequence numbers 1..5 are UIDs 2..6:
 *   1 latin1 (Seen Answered), 2 multipart (Flagged), 3 greek (Draft Deleted,
 *   no Date:), 4 big, 5 short. */
static void test_flags_and_sets(void **state)
{
	int fd = login_select();

	SEARCH(fd, "ALL", "1 2 3 4 5");
	SEARCH(fd, "SEEN", "1");
	SEARCH(fd, "UNSEEN", "2 3 4 5");
	SEARCH(fd, "ANSWERED", "1");
	SEARCH(fd, "UNANSWERED", "2 3 4 5");
	SEARCH(fd, "FLAGGED", "2");
	SEARCH(fd, "UNFLAGGED", "1 3 4 5");
	SEARCH(fd, "DELETED", "3");
	SEARCH(fd, "UNDELETED", "1 2 4 5");
	SEARCH(fd, "DRAFT", "3");
	SEARCH(fd, "UNDRAFT", "1 2 4 5");
	/* this SELECT claimed them all (RFC 3501 §2.3.2) */
	SEARCH(fd, "RECENT", "1 2 3 4 5");
	SEARCH(fd, "NEW", "2 3 4 5");		/* RECENT UNSEEN */
	SEARCH(fd, "OLD", "");
	/* keywords, by name in any case; one the mailbox never had is in no
	 * message */
	SEARCH(fd, "KEYWORD $label1", "2");
	SEARCH(fd, "UNKEYWORD $Label1", "1 3 4 5");
	SEARCH(fd, "OR KEYWORD work KEYWORD $Label1", "2 5");
	SEARCH(fd, "KEYWORD Nosuch", "");
	SEARCH(fd, "UNKEYWORD Nosuch", "1 2 3 4 5");
	/* sizes: RFC822.SIZE */
	SEARCH(fd, "LARGER 100000", "4");
	SEARCH(fd, "SMALLER 100000", "1 2 3 5");
	SEARCH(fd, "LARGER 4294967295", "");
	/* sets: message numbers, "*" the last; UIDs with "*" the highest */
	SEARCH(fd, "2,4:5", "2 4 5");
	SEARCH(fd, "*", "5");
	SEARCH(fd, "5:3", "3 4 5");
	SEARCH(fd, "UID 3:4", "2 3");
	SEARCH(fd, "UID 1", "");		/* expunged long ago: no error (§6.4.8) */
	SEARCH(fd, "UID 9999:*", "5");		/* "*" is UID 6, whatever the order */
	/* a flag set by STORE in this session counts at once */
	tagged(fd, "STORE 4 +FLAGS.SILENT (\\Flagged)", "OK");
	SEARCH(fd, "FLAGGED", "2 4");
	tagged(fd, "STORE 4 -FLAGS.SILENT (\\Flagged)", "OK");
	SEARCH(fd, "FLAGGED", "2");
	logout(fd);
}

static void test_dates(void **state)
{
	int fd = login_select();

	/* internal dates: 1994-02-08, 2024-03-01, 2025-12-31, 2026-01-15, -16 */
	SEARCH(fd, "BEFORE 1-Mar-2024", "1");
	SEARCH(fd, "ON 1-Mar-2024", "2");
	SEARCH(fd, "SINCE 1-Mar-2024", "2 3 4 5");
	SEARCH(fd, "ON \"8-feb-1994\"", "1");
	SEARCH(fd, "SINCE 16-Jan-2026", "5");
	SEARCH(fd, "BEFORE 8-Feb-1994", "");
	/* Date: headers, time and zone disregarded (§6.4.4): 7 Feb 1994 at
	 * 21:52 -0800 is the 7th, though it was the 8th in UTC */
	SEARCH(fd, "SENTON 7-Feb-1994", "1");
	SEARCH(fd, "SENTBEFORE 8-Feb-1994", "1");
	SEARCH(fd, "SENTON 31-Dec-2025", "5");
	SEARCH(fd, "SENTSINCE 1-Mar-2024", "2 4 5");
	/* no Date: header matches no SENT* key */
	SEARCH(fd, "NOT SENTSINCE 1-Jan-1900", "3");
	SEARCH(fd, "SENTSINCE 1-Jan-2026 SINCE 1-Jan-2026", "4");
	logout(fd);
}

static void test_strings(void **state)
{
	int fd = login_select();

	/* header fields with encoded words decoded, any case */
	SEARCH(fd, "FROM keld", "1");
	SEARCH(fd, "FROM \"J\xc3\x98RN\"", "1");		/* jørn, quoted 8-bit */
	lb_send_slowly(fd, "l1 SEARCH CHARSET UTF-8 FROM {12+}\r\n\xd0\x96\xd0\x81\xd0\x9b\xd0\xa2\xd0\xab\xd0\x99\r\n");
	lb_expect(fd, "* SEARCH 3\r\n", false);		/* ЖЁЛТЫЙ vs KOI8-R Жёлтый */
	lb_expect(fd, "l1 OK", false);
	SEARCH(fd, "FROM bob", "2");
	SEARCH(fd, "TO alice", "1 2 3 4 5");
	SEARCH(fd, "CC carol", "2");
	SEARCH(fd, "BCC dave", "3");
	SEARCH(fd, "CC dave", "");
	SEARCH(fd, "SUBJECT \"gr\xc3\xbc\xc3\x9f" "e aus\"", "1");
	SEARCH(fd, "CHARSET UTF-8 SUBJECT \"\xce\x95\xce\x9b\xce\x9b\xce\x97\xce\x9d\xce\x99\xce\x9a\xce\x86\"",
	       "3");					/* ΕΛΛΗΝΙΚΆ */
	SEARCH(fd, "SUBJECT =?utf-8", "");		/* the raw form does not count */
	SEARCH(fd, "SUBJECT \"\"", "1 2 3 4 5");
	/* HEADER: what comes after the colon; "" needs the field */
	SEARCH(fd, "HEADER X-Priority \"\"", "3");
	SEARCH(fd, "HEADER x-priority 1", "3");
	SEARCH(fd, "HEADER Date \"\"", "1 2 4 5");
	SEARCH(fd, "HEADER Content-Type multipart", "2");
	/* bodies: QP in Latin-1, base64 in UTF-8, soft line breaks undone */
	SEARCH(fd, "BODY \"caf\xc3\xa9 au lait\"", "1");
	SEARCH(fd, "BODY \"meeting is at noon\"", "1");
	SEARCH(fd, "CHARSET UTF-8 BODY \"\xd0\x9e\xd0\xa2\xd0\xa7\xd0\x81\xd0\xa2\"", "2");	/* ОТЧЁТ */
	SEARCH(fd, "BODY secretword", "");		/* application/pdf is not text */
	SEARCH(fd, "BODY needle", "4");
	SEARCH(fd, "BODY quarterly", "");		/* a header is not the body */
	SEARCH(fd, "TEXT quarterly", "2");		/* TEXT is header or body */
	SEARCH(fd, "TEXT \"only here\"", "3");
	SEARCH(fd, "TEXT \"x-priority: 1\"", "3");
	SEARCH(fd, "BODY \"\"", "1 2 3 4 5");
	SEARCH(fd, "CHARSET US-ASCII TEXT keld", "1");
	logout(fd);
}

static void test_logic_and_uid(void **state)
{
	int fd = login_select();

	/* §6.4.4 example shape: implicit AND */
	SEARCH(fd, "UNSEEN FROM example SINCE 1-Jan-2026", "4 5");
	SEARCH(fd, "OR FLAGGED DRAFT", "2 3");
	SEARCH(fd, "NOT SEEN", "2 3 4 5");
	SEARCH(fd, "(SEEN ANSWERED)", "1");
	SEARCH(fd, "OR (FROM bob) (SUBJECT \"gr\xc3\xbc\xc3\x9f" "e\")", "1 2");
	SEARCH(fd, "NOT (OR SEEN FLAGGED)", "3 4 5");
	SEARCH(fd, "NOT NOT BODY needle", "4");
	SEARCH(fd, "OR BODY needle OR DRAFT SUBJECT short", "3 4 5");
	SEARCH(fd, "1:3 NOT 2", "1 3");
	/* UID SEARCH answers UIDs; its sets keep their meaning (§6.4.8) */
	UID_SEARCH(fd, "FLAGGED", "3");
	UID_SEARCH(fd, "ALL", "2 3 4 5 6");
	UID_SEARCH(fd, "1:2", "2 3");			/* message numbers */
	UID_SEARCH(fd, "UID 4:*", "4 5 6");
	/* §6.4.8's example, in a mailbox of 5: UIDs in the range that do
	 * not exist are no error */
	UID_SEARCH(fd, "1:5 UID 5:557", "5 6");
	/* but message numbers past the end are (§9 seq-number) */
	tagged(fd, "UID SEARCH 1:100 UID 443:557", "BAD Invalid message sequence number.");
	logout(fd);
}

static void test_bad_input(void **state)
{
	int fd = login_select();

	/* §6.4.4: an unknown charset is NO with BADCHARSET, not BAD */
	tagged(fd, "SEARCH CHARSET ISO-8859-1 ALL", "NO [BADCHARSET (UTF-8 US-ASCII)]");
	tagged(fd, "SEARCH FROBNICATE", "BAD Unknown search key.");
	tagged(fd, "SEARCH", "BAD Missing search keys.");
	tagged(fd, "SEARCH FROM", "BAD FROM needs a string.");
	tagged(fd, "SEARCH SINCE 32-Jan-2020", "BAD Invalid date");
	tagged(fd, "SEARCH SINCE 2020-01-01", "BAD Invalid date");
	tagged(fd, "SEARCH LARGER big", "BAD LARGER needs a number.");
	tagged(fd, "SEARCH 1:x", "BAD Invalid sequence set");
	tagged(fd, "SEARCH 0", "BAD Invalid sequence number 0");
	/* §9 seq-number: past the last message is BAD, for SEARCH too */
	tagged(fd, "SEARCH 6", "BAD Invalid message sequence number.");
	tagged(fd, "SEARCH 4:7", "BAD Invalid message sequence number.");
	tagged(fd, "SEARCH OR SEEN", "BAD OR needs two search keys.");
	tagged(fd, "SEARCH ()", "BAD Empty list");
	/* unbalanced parentheses: the command parser's BAD */
	tagged(fd, "SEARCH (SEEN", "BAD");
	tagged(fd, "SEARCH SEEN)", "BAD");
	char deep[1024] = "SEARCH ";
	for (int i = 0; i < 70; i++)
		strcat(deep, "NOT ");
	strcat(deep, "SEEN");
	tagged(fd, deep, "BAD Search keys nested too deeply.");
	tagged(fd, "UID SEARCH BOGUS", "BAD Unknown search key.");
	/* and the session goes on */
	SEARCH(fd, "SEEN", "1");
	tagged(fd, "NOOP", "OK");
	logout(fd);

	/* not in the authenticated state */
	fd = lb_connect();
	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "b1 LOGIN alice s3cret\r\n");
	lb_expect(fd, "b1 OK", false);
	lb_send_slowly(fd, "b2 SEARCH ALL\r\n");
	lb_expect(fd, "b2 BAD", false);
	logout(fd);
}

/* Someone else expunges message 4 while we have the mailbox selected: the
 * view keeps counting it until EXPUNGE may be sent (not during SEARCH,
 * RFC 3501 §7.4.1), and it matches nothing meanwhile. */
static void test_expunged_in_view(void **state)
{
	int fd = login_select();
	struct store *st;
	struct mailbox *box;
	enum store_error err;
	uint32_t uid = 5;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_expunge(box, &uid, 1), 0);
	mailbox_close(&box);
	store_close(&st);
	lb_run_for(100);			/* the directory watch notices */
	/* the re-read before SEARCH may not tell EXPUNGE */
	SEARCH(fd, "ALL", "1 2 3 5");
	SEARCH(fd, "4", "");			/* still a valid number, no match */
	SEARCH(fd, "NOT BODY nothing-like-this", "1 2 3 5");
	lb_send_slowly(fd, "n1 NOOP\r\n");
	lb_expect(fd, "* 4 EXPUNGE", false);
	lb_expect(fd, "n1 OK", false);
	SEARCH(fd, "ALL", "1 2 3 4");
	UID_SEARCH(fd, "ALL", "2 3 4 6");
	logout(fd);
}

/* Pipelined commands wait for SEARCH's job and come out in order; a
 * client that leaves while a search runs on the thread pool leaves
 * nothing behind (ASan checks the leak, the loop its handles). */
static void test_pipelining_and_leaving(void **state)
{
	int fd = login_select();
	static const char pipelined[] =
		"p1 SEARCH BODY needle\r\np2 UID SEARCH SEEN\r\np3 SEARCH 2:3 UNDRAFT\r\n";

	assert_int_equal(write(fd, pipelined, strlen(pipelined)), (ssize_t)strlen(pipelined));
	lb_expect(fd, "* SEARCH 4\r\n", false);
	lb_expect(fd, "p1 OK", false);
	lb_expect(fd, "* SEARCH 2\r\n", false);
	lb_expect(fd, "p2 OK", false);
	lb_expect(fd, "* SEARCH 2\r\n", false);
	lb_expect(fd, "p3 OK", false);
	lb_send_slowly(fd, "q1 SEARCH TEXT nothing-matches-this\r\n");
	close(fd);
	for (int i = 0; i < 5000 && lb_srv.nconns > 0; i++)
		lb_run_for(1);
	assert_int_equal(lb_srv.nconns, 0);
}

/* A result too big for the output queue (some 400 KB for 60000 messages)
 * to a client that reads slowly: written with back-pressure, complete and
 * in order. */
static void test_big_result(void **state)
{
	enum { N = 60000 };
	struct store *st;
	enum store_error err;
	char path[256];
	int fd, rcvbuf = 4096;

	assert_int_equal(store_open(lb_root, "bob", &st, &err), 0);
	store_close(&st);
	/* dropped straight into the Maildir, as another MDA would */
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/bob/cur/%d.test:2,S", lb_root, 1000000 + i);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("Subject: many\r\n\r\nx\r\n", f);
		fclose(f);
	}
	fd = lb_connect();
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "a1 LOGIN bob pw\r\n");
	lb_expect(fd, "a1 OK", false);
	lb_send_slowly(fd, "a2 EXAMINE INBOX\r\n");
	lb_expect(fd, "* FLAGS", false);
	lb_expect(fd, "* OK [PERMANENTFLAGS", false);
	lb_expect(fd, "* 60000 EXISTS", false);
	lb_expect(fd, "* 60000 RECENT", false);
	lb_expect(fd, "* OK [UIDVALIDITY", false);
	lb_expect(fd, "* OK [UIDNEXT", false);
	lb_expect(fd, "a2 OK", false);
	lb_send_slowly(fd, "a3 SEARCH SEEN SUBJECT \"\" NOT 7\r\n");
	lb_run_for(300);		/* the server fills what it may, then waits */

	/* read it all, checking each number as it comes */
	char want[32], got[32];
	size_t glen = 0;
	unsigned next = 1;
	bool prefix = false;
	static const char head[] = "* SEARCH";
	size_t hpos = 0;

	if (lb_rlen > 0)
		fail_msg("unexpected output before SEARCH: %s", lb_rbuf);
	for (int spins = 0; spins < 30000; spins++) {
		char chunk[8192];
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		uv_run(&lb_loop, UV_RUN_NOWAIT);
		if (poll(&p, 1, 1) != 1)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++) {
			char c = chunk[i];

			if (!prefix) {
				assert_int_equal(c, head[hpos]);
				if (++hpos == sizeof(head) - 1)
					prefix = true;
				continue;
			}
			if (c == ' ' || c == '\r') {
				if (glen > 0) {
					if (next == 7)
						next++;
					snprintf(want, sizeof(want), "%u", next++);
					got[glen] = '\0';
					assert_string_equal(got, want);
					glen = 0;
				}
				if (c == '\r') {
					assert_int_equal(next, N + 1);
					/* the rest: "\n", then the tagged OK */
					memcpy(lb_rbuf, chunk + i + 1, (size_t)(n - i - 1));
					lb_rlen = (size_t)(n - i - 1);
					lb_rbuf[lb_rlen] = '\0';
					goto done;
				}
			} else {
				assert_true(glen < sizeof(got) - 1);
				got[glen++] = c;
			}
		}
	}
	fail_msg("SEARCH result incomplete at %u", next);
done:
	lb_expect(fd, "\na3 OK", false);
	logout(fd);
}

/* Runs SEARCH args straight against the store; the matches as a bit set
 * of sequence numbers (bit 0 = message 1), the reads in *opened_r. */
static unsigned run_search(struct store *st, struct mailbox *box, const char *args,
			   unsigned *opened_r, uint64_t *bytes_r)
{
	struct imap_parser_limits limits = { 1 << 20, 1 << 20, 4096, 32, 100000 };
	struct imap_parser *p = imap_parser_new(&limits);
	struct search_key *key;
	struct imap_search_run *run;
	char line[4096], err_text[128];
	unsigned got = 0, opened;
	uint64_t bytes;

	snprintf(line, sizeof(line), "t SEARCH %s", args);
	assert_int_equal(imap_parser_line(p, line, strlen(line)), IMAP_PARSE_DONE);
	const struct imap_command *cmd = imap_parser_command(p);
	if (imap_search_parse(cmd->args, cmd->nargs, &key, err_text, sizeof(err_text)) !=
	    IMAP_SEARCH_OK)
		fail_msg("SEARCH %s: %s", args, err_text);
	assert_int_equal(imap_search_resolve(key, mailbox_count(box),
					     mailbox_msg(box, mailbox_count(box) - 1)->uid,
					     err_text, sizeof(err_text)), 0);
	run = imap_search_run_new(key, st);
	for (unsigned i = 0; i < mailbox_count(box); i++) {
		int r = imap_search_run_match(run, box, i + 1, mailbox_msg(box, i));

		assert_true(r >= 0);
		if (r)
			got |= 1u << i;
	}
	imap_search_run_stats(run, &opened, &bytes);
	if (opened_r != NULL)
		*opened_r = opened;
	if (bytes_r != NULL)
		*bytes_r = bytes;
	imap_search_run_free(&run);
	assert_null(run);
	imap_search_key_free(&key);
	imap_parser_free(&p);
	return got;
}

static const char *const logic_leaves[] = {
	"SEEN", "FLAGGED", "DRAFT", "UNDELETED", "RECENT", "KEYWORD Work", "UID 3:5",
	"2:4", "LARGER 1000", "SINCE 1-Jan-2026", "SENTBEFORE 1-Jan-2025", "SENTON 1-Mar-2024",
	"FROM example.org", "SUBJECT \"gr\xc3\xbc\"", "HEADER X-Priority \"\"",
	"BODY needle", "BODY \"caf\xc3\xa9\"", "TEXT quarterly", "TEXT dave", "BODY lorem",
};
#define NLEAVES (sizeof(logic_leaves) / sizeof(logic_leaves[0]))
#define ALL5 ((1u << 5) - 1)

/* Writes a random expression of at most depth d to b and returns the set
 * it must match, by set algebra over what each leaf matches alone. */
static unsigned random_expr(struct buf *b, int d, unsigned *seed, const unsigned *leaf_sets)
{
	unsigned x, y;
	int choice = d == 0 ? 3 : (int)(rand_r(seed) % 4);

	switch (choice) {
	case 0:
		buf_printf(b, "OR (");
		x = random_expr(b, d - 1, seed, leaf_sets);
		buf_printf(b, ") (");
		y = random_expr(b, d - 1, seed, leaf_sets);
		buf_printf(b, ")");
		return x | y;
	case 1:		/* a list: implicit AND */
		buf_printf(b, "(");
		x = random_expr(b, d - 1, seed, leaf_sets);
		buf_printf(b, " ");
		y = random_expr(b, d - 1, seed, leaf_sets);
		buf_printf(b, ")");
		return x & y;
	case 2:
		buf_printf(b, "NOT ");
		return ALL5 & ~random_expr(b, d - 1, seed, leaf_sets);
	default: {
		size_t l = rand_r(seed) % NLEAVES;

		buf_printf(b, "%s", logic_leaves[l]);
		return leaf_sets[l];
	}
	}
}

/* Random trees of keys that the index, the header and the body decide,
 * against set algebra: stopping early (a NO decides an AND, a YES an OR,
 * MAYBE waits for more of the message) never changes a result. */
static void test_logic_random(void **state)
{
	unsigned leaf_sets[NLEAVES], seed = 6444;
	struct store *st;
	struct mailbox *box;
	enum store_error err;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);
	assert_int_equal(mailbox_claim_recent(box), 0);
	for (size_t i = 0; i < NLEAVES; i++)
		leaf_sets[i] = run_search(st, box, logic_leaves[i], NULL, NULL);
	assert_int_equal(leaf_sets[15], 1u << 3);	/* BODY needle: message 4 */
	assert_int_equal(leaf_sets[5], 1u << 4);	/* KEYWORD Work: message 5 */

	for (int round = 0; round < 400; round++) {
		struct buf b;
		unsigned want;

		buf_init(&b, 4000);
		want = random_expr(&b, 1 + round % 4, &seed, leaf_sets);
		if (rand_r(&seed) % 2) {	/* and the top level's implicit AND */
			buf_printf(&b, " ");
			want &= random_expr(&b, 2, &seed, leaf_sets);
		}
		unsigned got = run_search(st, box, buf_ptr(&b), NULL, NULL);
		if (got != want)
			fail_msg("SEARCH %s: got %#x, want %#x", buf_ptr(&b), got, want);
		buf_free(&b);
	}
	mailbox_close(&box);
	store_close(&st);
}

/* What evaluation reads, straight against the store: keys the index
 * answers open no file; header keys stop early; body keys read it all. */
static void test_cost(void **state)
{
	struct store *st;
	struct mailbox *box;
	enum store_error err;
	uint64_t bytes;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, "INBOX", &box), 0);

	static const struct {
		const char *args;
		const char *matches;
		unsigned opened;	/* messages read */
		uint64_t max_bytes;
	} cases[] = {
		{ "OR FLAGGED (UNSEEN LARGER 1000) UID 2:* SINCE 1-Jan-1990 NOT 3", "24", 0, 0 },
		{ "KEYWORD x BODY needle", "", 0, 0 },		/* decided without reading */
		{ "KEYWORD Work OR UNSEEN BODY x", "5", 0, 0 },
		{ "SEEN SUBJECT gr", "1", 1, 8192 },		/* only message 1 is opened */
		{ "SUBJECT big", "4", 5, 5 * 8192 },		/* headers only */
		{ "SENTBEFORE 1-Jan-2000", "1", 5, 5 * 8192 },
		{ "LARGER 100000 BODY needle", "4", 1, 400000 },	/* all of it */
		{ "OR BODY lorem SUBJECT big", "4", 5, 5 * 8192 },	/* found early */
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned opened, set = run_search(st, box, cases[c].args, &opened, &bytes);
		char got[8] = "";

		for (unsigned i = 0; i < 5; i++)
			if (set & (1u << i))
				got[strlen(got)] = (char)('1' + i);
		if (strcmp(got, cases[c].matches) != 0 || opened != cases[c].opened ||
		    bytes > cases[c].max_bytes)
			fail_msg("SEARCH %s: matched %s, read %u messages, %llu bytes", cases[c].args,
				 got, opened, (unsigned long long)bytes);
	}
	mailbox_close(&box);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flags_and_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logic_and_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunged_in_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelining_and_leaving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logic_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_result, setup_bob, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
