/*
 * APPEND in-process over loopback (RFC 3501 §6.3.11): synchronising
 * literals get "+" only once the mailbox is known to exist (§7.5), LITERAL+
 * ones none (RFC 7888); flags and the date-time (§9) become the message's
 * flags and internal date; APPENDUID (RFC 4315 §3); a missing mailbox is
 * NO [TRYCREATE] without its octets being read (sync) or with them dropped
 * (LITERAL+); over the limit is NO [TOOBIG] before any octet (RFC 7888 §4);
 * empty and malformed ones refused; a multi-MB message streams to disk
 * while it arrives and lands byte for byte; a client that leaves halfway
 * leaves nothing behind; disk trouble is NO [OVERQUOTA] (RFC 5530);
 * appending to the selected mailbox reports EXISTS before the tagged OK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>

#include "imap/imap.h"
#include "imap/imap_append.h"
#include "imap/imap_session.h"
#include "store/store.h"
#include "imap_fixture.h"

/* Files in alice's folder ("" is INBOX) sub/ directory; the path of the
 * last one in path_r. */
static int files_in(const char *folder, const char *sub, char *path_r, size_t len)
{
	char dir[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/alice/%s/%s", lb_root, folder, sub);
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (path_r != NULL)
			snprintf(path_r, len, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	return n;
}

static int messages_in(const char *folder)
{
	return files_in(folder, "cur", NULL, 0) + files_in(folder, "new", NULL, 0);
}

static off_t file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/* The one message in INBOX, compared with want byte for byte. */
static void assert_stored(const char *folder, const char *want, size_t len)
{
	char path[1024];
	char *got = malloc(len + 1);
	FILE *f;

	assert_int_equal(messages_in(folder), 1);
	if (files_in(folder, "new", path, sizeof(path)) == 0)
		files_in(folder, "cur", path, sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, len + 1, f), len);
	fclose(f);
	assert_memory_equal(got, want, len);
	free(got);
}

static uint32_t uidvalidity_of(const char *name)
{
	struct store *st;
	struct mailbox *box;
	enum store_error err;
	uint32_t v;

	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, name, &box), 0);
	v = mailbox_uidvalidity(box);
	mailbox_close(&box);
	store_close(&st);
	return v;
}

/* A message of len octets: header, then lines of every byte value but NUL
 * (RFC 3501 §4.3: a literal is CHAR8), CRLF-ended. */
static char *big_message(size_t len)
{
	char *m = malloc(len);
	uint32_t x = 2463534242u;
	size_t i = (size_t)snprintf(m, len, "Subject: big\r\n\r\n");

	for (; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		m[i] = (char)(1 + x % 255);
		if (i % 77 == 75 && i + 1 < len) {
			m[i] = '\r';
			m[++i] = '\n';
		}
	}
	return m;
}

static void test_append_sync_literal(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nHello Joe.\r\n";
	char line[512], want[128];
	int fd = login();

	snprintf(line, sizeof(line), "a1 APPEND INBOX {%zu}\r\n", strlen(msg));
	lb_send_slowly(fd, line);
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, msg);
	lb_send_slowly(fd, "\r\n");
	lb_line(fd, line, sizeof(line));
	/* RFC 4315 §3: APPENDUID uidvalidity uid */
	snprintf(want, sizeof(want), "a1 OK [APPENDUID %u 1] ", uidvalidity_of("INBOX"));
	assert_int_equal(strncmp(line, want, strlen(want)), 0);
	assert_stored("", msg, strlen(msg));
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);

	/* the mailbox name may be a literal too (RFC 3501 §4.3 astring) */
	lb_send_slowly(fd, "a2 APPEND {6}\r\n");
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "Drafts {5}\r\n");
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "x\r\n\r\n\r\n");
	lb_expect(fd, "a2 OK [APPENDUID", false);
	assert_stored(".Drafts", "x\r\n\r\n", 5);
	logout(fd);
}

static void test_append_literal_plus(void **state)
{
	char line[512];
	int fd = login();

	/* RFC 7888 §3: no continuation; the next command right behind it */
	lb_send_slowly(fd, "b1 APPEND INBOX {5+}\r\nhello\r\nb2 NOOP\r\n");
	lb_line(fd, line, sizeof(line));
	assert_int_equal(strncmp(line, "b1 OK [APPENDUID ", 17), 0);
	lb_expect(fd, "b2 OK", false);
	assert_stored("", "hello", 5);
	logout(fd);
}

static void test_append_flags_and_date(void **state)
{
	struct store *st;
	struct mailbox *box;
	enum store_error err;
	int fd = login();

	/* RFC 3501 §6.3.11: flags and keywords (§2.3.2) set on the message,
	 * date-time its INTERNALDATE; \Recent is not the client's to set */
	lb_send_slowly(fd, "c1 APPEND Sent (\\Seen \\Draft $Forwarded \\Recent) "
		       "\"17-Jul-1996 02:44:25 -0700\" {5}\r\n");
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "one\r\n\r\n");
	lb_expect(fd, "c1 OK [APPENDUID", false);
	lb_send_slowly(fd, "c2 APPEND Sent \" 7-Feb-1994 21:52:25 +0100\" {3+}\r\ntwo\r\n");
	lb_expect(fd, "c2 OK [APPENDUID", false);
	lb_send_slowly(fd, "c3 APPEND Sent () {5+}\r\nthree\r\n");
	lb_expect(fd, "c3 OK [APPENDUID", false);
	assert_int_equal(store_open(lb_root, "alice", &st, &err), 0);
	assert_int_equal(mailbox_open(st, "Sent", &box), 0);
	assert_int_equal(mailbox_count(box), 3);
	assert_int_equal(mailbox_msg(box, 0)->flags, MSG_FLAG_SEEN | MSG_FLAG_DRAFT);
	assert_int_equal(mailbox_keyword_count(box), 1);
	assert_string_equal(mailbox_keyword(box, 0), "$Forwarded");
	assert_int_equal(mailbox_msg(box, 0)->keywords, 1u);
	assert_int_equal(mailbox_msg(box, 0)->received, 837596665);	/* 09:44:25 UTC */
	assert_int_equal(mailbox_msg(box, 1)->flags, 0);
	assert_int_equal(mailbox_msg(box, 1)->received, 760654345);	/* 20:52:25 UTC */
	assert_int_equal(mailbox_msg(box, 2)->flags, 0);
	assert_true(mailbox_msg(box, 2)->received > 1700000000);	/* none given: now */
	mailbox_close(&box);
	store_close(&st);

	/* bad arguments are refused before the literal is asked for */
	lb_send_slowly(fd, "c4 APPEND Sent \"30-Feb-2020 10:00:00 +0000\" {5}\r\n");
	lb_expect(fd, "c4 BAD", false);
	lb_send_slowly(fd, "c5 APPEND Sent (\\Bogus) {5}\r\n");
	lb_expect(fd, "c5 BAD", false);
	lb_send_slowly(fd, "c6 APPEND Sent (\\Seen) \"17-Jul-1996 02:44:25 -0700\" extra {5}\r\n");
	lb_expect(fd, "c6 BAD", false);
	/* ... and a refused LITERAL+ one is read and dropped, answered once */
	lb_send_slowly(fd, "c7 APPEND Sent \"bogus\" {5+}\r\nfive!\r\nc8 NOOP\r\n");
	lb_expect(fd, "c7 BAD", false);
	lb_expect(fd, "c8 OK", false);
	assert_int_equal(messages_in(".Sent"), 3);
	logout(fd);
}

static void test_append_trycreate(void **state)
{
	int fd = login();

	/* RFC 3501 §6.3.11: TRYCREATE, and the mailbox is not made.  The
	 * client gets no "+", so its next line is a command. */
	lb_send_slowly(fd, "d1 APPEND Nosuch {10}\r\n");
	lb_expect(fd, "d1 NO [TRYCREATE]", false);
	lb_send_slowly(fd, "d2 NOOP\r\n");
	lb_expect(fd, "d2 OK", false);
	/* LITERAL+: the octets come anyway; they are dropped, not run */
	lb_send_slowly(fd, "d3 APPEND Nosuch {12+}\r\nd4 LOGOUT\r\n\r\nd5 NOOP\r\n");
	lb_expect(fd, "d3 NO [TRYCREATE]", false);
	lb_expect(fd, "d5 OK", false);
	lb_send_slowly(fd, "d6 LIST \"\" Nosuch\r\n");
	lb_expect(fd, "d6 OK", false);		/* not listed: it was not created */
	assert_int_equal(messages_in(""), 0);
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);
	logout(fd);
}

static void test_append_refusals(void **state)
{
	char line[128];
	int fd = lb_connect();

	lb_expect(fd, "* OK", false);
	/* not logged in: refused before the literal */
	lb_send_slowly(fd, "e1 APPEND INBOX {5}\r\n");
	lb_expect(fd, "e1 BAD", false);
	lb_send_slowly(fd, "e2 LOGIN alice s3cret\r\n");
	lb_expect(fd, "e2 OK", false);
	/* over IMAP_MAX_LITERAL: NO [TOOBIG] before any octet (RFC 7888 §4) */
	snprintf(line, sizeof(line), "e3 APPEND INBOX {%u}\r\n", IMAP_MAX_LITERAL + 1);
	lb_send_slowly(fd, line);
	lb_expect(fd, "e3 NO [TOOBIG]", false);
	lb_send_slowly(fd, "e4 NOOP\r\n");
	lb_expect(fd, "e4 OK", false);
	/* an empty message is not saved */
	lb_send_slowly(fd, "e5 APPEND INBOX {0}\r\n");
	lb_expect(fd, "e5 NO", false);
	lb_send_slowly(fd, "e6 APPEND INBOX {0+}\r\n\r\n");
	lb_expect(fd, "e6 NO", false);
	/* ~{n} is BINARY (RFC 3516), which is not offered */
	lb_send_slowly(fd, "e7 APPEND INBOX ~{5}\r\n");
	lb_expect(fd, "e7 BAD", false);
	/* no message literal at all */
	lb_send_slowly(fd, "e8 APPEND INBOX\r\n");
	lb_expect(fd, "e8 BAD", false);
	lb_send_slowly(fd, "e9 APPEND INBOX \"not a literal\"\r\n");
	lb_expect(fd, "e9 BAD", false);
	/* two messages: MULTIAPPEND (RFC 3502) is not offered */
	lb_send_slowly(fd, "f1 APPEND INBOX {1+}\r\na {1+}\r\nb\r\n");
	lb_expect(fd, "f1 BAD", false);
	lb_send_slowly(fd, "f2 NOOP\r\n");
	lb_expect(fd, "f2 OK", false);
	/* ... and the second one synchronising: no "+" for it either */
	lb_send_slowly(fd, "f3 APPEND INBOX {1+}\r\na {1}\r\n");
	lb_expect(fd, "f3 BAD", false);
	lb_send_slowly(fd, "f4 NOOP\r\n");
	lb_expect(fd, "f4 OK", false);
	assert_int_equal(messages_in(""), 0);
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);
	logout(fd);
}

/* A message of several MB is on disk while it arrives, and ends up there
 * byte for byte. */
static void test_append_big_streamed(void **state)
{
	const size_t len = (5u << 20) + 12345;
	char *msg = big_message(len), line[512], tmpfile[1024];
	int fd = login();

	snprintf(line, sizeof(line), "g1 APPEND INBOX {%zu}\r\n", len);
	lb_send_slowly(fd, line);
	lb_expect(fd, "+ ", false);
	lb_send_all(fd, msg, 1u << 20);
	lb_run_for(100);
	/* streamed: already in tmp/, and not yet a message */
	assert_int_equal(files_in("", "tmp", tmpfile, sizeof(tmpfile)), 1);
	assert_true(file_size(tmpfile) >= (off_t)APPEND_CHUNK);
	assert_int_equal(messages_in(""), 0);
	lb_send_all(fd, msg + (1u << 20), len - (1u << 20));
	lb_send_slowly(fd, "\r\n");
	lb_expect(fd, "g1 OK [APPENDUID", false);
	assert_stored("", msg, len);
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);
	free(msg);
	logout(fd);
}

/* RFC 3501 §6.3.11 says nothing of half messages; we promise none. */
static void test_append_disconnect(void **state)
{
	const size_t len = 3u << 20;
	char *msg = big_message(len), line[512];
	int fd = login();

	snprintf(line, sizeof(line), "h1 APPEND INBOX {%zu}\r\n", len);
	lb_send_slowly(fd, line);
	lb_expect(fd, "+ ", false);
	lb_send_all(fd, msg, 700000);
	lb_run_for(100);
	assert_int_equal(files_in("", "tmp", NULL, 0), 1);
	close(fd);
	lb_run_for(200);
	assert_int_equal(lb_srv.nconns, 0);
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);
	assert_int_equal(messages_in(""), 0);

	/* the same for LITERAL+, cut off before the save is even open */
	fd = login();
	snprintf(line, sizeof(line), "h2 APPEND INBOX {%zu+}\r\n", len);
	lb_send_slowly(fd, line);
	lb_send_all(fd, msg, 300000);
	close(fd);
	lb_run_for(200);
	assert_int_equal(lb_srv.nconns, 0);
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);
	assert_int_equal(messages_in(""), 0);
	free(msg);
}

/* Disk trouble while writing (here the file size limit: EFBIG, as a full
 * quota) is NO [OVERQUOTA] (RFC 5530) once the command is complete, and
 * nothing stays behind. */
static void test_append_overquota(void **state)
{
	const size_t len = 1u << 20;
	char *msg = big_message(len), line[512];
	struct rlimit old, small = { .rlim_cur = 300000, .rlim_max = RLIM_INFINITY };
	int fd = login();

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	snprintf(line, sizeof(line), "i1 APPEND INBOX {%zu}\r\n", len);
	lb_send_slowly(fd, line);
	lb_expect(fd, "+ ", false);
	lb_send_all(fd, msg, len);
	lb_send_slowly(fd, "\r\n");
	lb_expect(fd, "i1 NO [OVERQUOTA]", false);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(files_in("", "tmp", NULL, 0), 0);
	assert_int_equal(messages_in(""), 0);
	lb_send_slowly(fd, "i2 APPEND INBOX {5+}\r\nfine!\r\n");
	lb_expect(fd, "i2 OK", false);
	free(msg);
	logout(fd);
}

/* RFC 3501 §6.3.11: appending to the selected mailbox, the server SHOULD
 * say so with EXISTS; here it comes before the tagged OK. */
static void test_append_selected(void **state)
{
	int fd = login();

	lb_send_slowly(fd, "j1 SELECT INBOX\r\n");
	lb_expect(fd, "* FLAGS", false);
	lb_expect(fd, "* OK [PERMANENTFLAGS", false);
	lb_expect(fd, "* 0 EXISTS", false);
	lb_expect(fd, "* 0 RECENT", false);
	lb_expect(fd, "* OK [UIDVALIDITY", false);
	lb_expect(fd, "* OK [UIDNEXT 1]", false);
	lb_expect(fd, "j1 OK [READ-WRITE]", false);
	lb_send_slowly(fd, "j2 APPEND INBOX (\\Flagged) {5}\r\n");
	lb_expect(fd, "+ ", false);
	lb_send_slowly(fd, "hello\r\n");
	lb_expect(fd, "* 1 EXISTS", false);
	lb_expect(fd, "* 1 RECENT", false);	/* \Recent to us: selected read-write */
	lb_expect(fd, "j2 OK [APPENDUID", false);
	/* elsewhere: nothing to report here */
	lb_send_slowly(fd, "j3 APPEND Trash {5+}\r\nhello\r\n");
	lb_expect(fd, "j3 OK [APPENDUID", false);
	lb_send_slowly(fd, "j4 APPEND INBOX {5+}\r\nagain\r\n");
	lb_expect(fd, "* 2 EXISTS", false);
	lb_expect(fd, "* 2 RECENT", false);
	lb_expect(fd, "j4 OK [APPENDUID", false);
	lb_send_slowly(fd, "j5 NOOP\r\n");
	lb_expect(fd, "j5 OK", false);
	/* a keyword new to the mailbox is announced before it is used
	 * (RFC 3501 §7.2.6) */
	lb_send_slowly(fd, "j6 APPEND INBOX ($Label1) {5+}\r\nlabel\r\n");
	lb_expect(fd, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)", false);
	lb_expect(fd, "* OK [PERMANENTFLAGS (", false);
	lb_expect(fd, "* 3 EXISTS", false);
	lb_expect(fd, "* 3 RECENT", false);
	lb_expect(fd, "j6 OK [APPENDUID", false);
	logout(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_sync_literal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_literal_plus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_flags_and_date, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_trycreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_big_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_overquota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_selected, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
