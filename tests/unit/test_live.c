/*
 * The live state (core/live.c) and counters (core/stats.c) within one
 * process: the worker's writes as the admin process reads them, the trace
 * ring and its redaction-free contract (only what the protocol passed),
 * overruns reported as lost, pending deletions, the OpenMetrics text, the
 * admin wire format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/admin.h"
#include "core/live.h"
#include "core/stats.h"

static int setup(void **state)
{
	assert_int_equal(live_create(2, 4), 0);
	live_worker_begin(0);
	return 0;
}

struct seen {
	struct live_info infos[8];
	size_t n;
};

static void collect(const struct live_info *in, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->infos[s->n++] = *in;
}

static void test_sessions(void **state)
{
	struct live_session *a = live_session_open(LIVE_POP3, "127.0.0.1:1000");
	struct live_session *b = live_session_open(LIVE_IMAP, "[::1]:2000");
	struct seen s = { 0 };

	live_session_tls(b);
	live_session_command(b, "LOGIN", "a1 LOGIN alice <redacted>");
	live_session_login(b, "alice", true);
	live_session_reply(b, "a1 OK Logged in.");
	live_session_mailbox(b, "INBOX");
	live_session_client_id(b, "Mutt 2.2");
	live_session_command(a, "USER", "USER bob");
	assert_int_equal(live_sessions(NULL, collect, &s), 0);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof(s));
	live_sessions("alice", collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.infos[0].proto, LIVE_IMAP);
	assert_true(s.infos[0].tls);
	assert_string_equal(s.infos[0].peer, "[::1]:2000");
	assert_string_equal(s.infos[0].mailbox, "INBOX");
	assert_string_equal(s.infos[0].client_id, "Mutt 2.2");
	assert_string_equal(s.infos[0].last_cmd, "LOGIN");
	live_session_mailbox(b, NULL);
	memset(&s, 0, sizeof(s));
	live_sessions("alice", collect, &s);
	assert_string_equal(s.infos[0].mailbox, "");

	/* pending POP3 deletions: by UIDL hash, cleared by RSET/QUIT */
	live_session_login(a, "bob", true);
	live_session_pending_add(a, "uidl-1");
	live_session_pending_add(a, "uidl-3");
	memset(&s, 0, sizeof(s));
	live_sessions("bob", collect, &s);
	assert_int_equal(s.infos[0].pending_count, 2);
	assert_int_equal(s.infos[0].pending[1], live_uidl_hash("uidl-3"));
	assert_true(live_uidl_hash("uidl-1") != live_uidl_hash("uidl-3"));
	live_session_pending_clear(a);
	memset(&s, 0, sizeof(s));
	live_sessions("bob", collect, &s);
	assert_int_equal(s.infos[0].pending_count, 0);

	live_session_close(&a);
	live_session_close(&b);
	assert_null(a);
	memset(&s, 0, sizeof(s));
	live_sessions(NULL, collect, &s);
	assert_int_equal(s.n, 0);
	live_session_close(&a);		/* NULL: nothing */
	live_session_command(NULL, "X", "x");
}

static void test_slots_run_out(void **state)
{
	struct live_session *ls[6];
	struct seen s = { 0 };

	for (int i = 0; i < 6; i++)
		ls[i] = live_session_open(LIVE_IMAP, "x");
	/* 4 records per worker: the others are counted, not shown */
	assert_int_equal(live_sessions(NULL, collect, &s), 2);
	assert_int_equal(s.n, 4);
	for (int i = 0; i < 6; i++)
		live_session_close(&ls[i]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(live_sessions(NULL, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

struct events {
	char text[64][LIVE_TRACE_TEXT];
	char dir[64];
	size_t n;
};

static void on_event(const struct live_event *ev, void *arg)
{
	struct events *e = arg;

	if (e->n < 64) {
		e->dir[e->n] = ev->dir;
		strcpy(e->text[e->n++], ev->text);
	}
}

static void test_trace(void **state)
{
	struct live_session *a = live_session_open(LIVE_POP3, "p");
	struct live_session *b = live_session_open(LIVE_POP3, "p");
	struct live_trace_cursor cur;
	struct events ev = { 0 };

	live_session_login(b, "bob", true);
	/* nobody traces: nothing is written */
	live_session_command(a, "USER", "USER alice");
	assert_int_equal(live_trace_start("alice"), 0);
	live_trace_cursor_init(&cur);
	/* The login command, sent before anyone knew whose it was, is
	 * traced once the login names the user. */
	live_session_command(a, "PASS", "PASS <redacted>");
	live_session_login(a, "alice", true);
	live_session_reply(a, "+OK Logged in.");
	live_session_command(b, "STAT", "STAT");	/* bob: not traced */
	live_session_command(a, "RETR", "RETR 1");
	live_session_reply(a, "+OK 10 octets");
	live_session_close(&a);
	assert_int_equal(live_trace_read(&cur, "alice", on_event, &ev), 0);
	assert_int_equal(ev.n, 5);
	assert_string_equal(ev.text[0], "PASS <redacted>");
	assert_int_equal(ev.dir[0], 'C');
	assert_string_equal(ev.text[1], "+OK Logged in.");
	assert_int_equal(ev.dir[1], 'S');
	assert_string_equal(ev.text[2], "RETR 1");
	assert_string_equal(ev.text[4], "disconnected");
	assert_int_equal(ev.dir[4], '*');

	/* a reader that falls behind the ring loses the oldest, and says so */
	a = live_session_open(LIVE_IMAP, "p");
	live_session_login(a, "alice", true);
	for (int i = 0; i < LIVE_TRACE_RING + 10; i++)
		live_session_command(a, "NOOP", "a NOOP");
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(live_trace_read(&cur, "alice", on_event, &ev), 10);
	live_trace_stop("alice");
	memset(&ev, 0, sizeof(ev));
	live_session_command(a, "NOOP", "a NOOP");
	live_trace_read(&cur, "alice", on_event, &ev);
	assert_int_equal(ev.n, 0);
	live_session_close(&a);
	live_session_close(&b);
}

static void test_trace_table_full(void **state)
{
	char name[16];

	for (int i = 0; i < LIVE_TRACE_USERS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(live_trace_start(name), 0);
	}
	assert_int_equal(live_trace_start("one-more"), -1);
	assert_int_equal(live_trace_start("u3"), 0);	/* a second reader of u3 */
	for (int i = 0; i < LIVE_TRACE_USERS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		live_trace_stop(name);
	}
	live_trace_stop("u3");
	assert_int_equal(live_trace_start("one-more"), 0);
	live_trace_stop("one-more");
	/* a new admin process: the old one's readers are gone */
	for (int i = 0; i < LIVE_TRACE_USERS; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		assert_int_equal(live_trace_start(name), 0);
	}
	live_trace_reset();
	assert_int_equal(live_trace_start("after-reset"), 0);
	live_trace_stop("after-reset");
}

static void test_restarted_worker(void **state)
{
	struct live_session *a = live_session_open(LIVE_POP3, "p");
	struct seen s = { 0 };

	assert_int_equal(live_sessions(NULL, collect, &s), 0);
	assert_int_equal(s.n, 1);
	/* The worker dies (its session with it) and a new one starts in
	 * its part: the old record is gone, the counters go on. */
	free(a);
	live_worker_begin(0);
	memset(&s, 0, sizeof(s));
	live_sessions(NULL, collect, &s);
	assert_int_equal(s.n, 0);
	a = live_session_open(LIVE_POP3, "q");
	memset(&s, 0, sizeof(s));
	live_sessions(NULL, collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.infos[0].peer, "q");
	live_session_close(&a);
}

static void test_counters_and_openmetrics(void **state)
{
	struct stats_snapshot *snap = malloc(sizeof(*snap));
	struct live_session *a = live_session_open(LIVE_IMAP, "p");
	char *text;

	live_stats(snap);
	assert_int_equal(snap->workers, 2);
	assert_int_equal(snap->workers_alive, 1);	/* worker 1 never started */
	assert_int_equal(snap->sessions[LIVE_IMAP], 1);
	live_session_login(a, "x", false);
	live_session_command(a, "FETCH", "a FETCH 1 BODY[]");
	live_session_reply(a, "a OK");
	stats_observe(LIVE_IMAP, "FETCH", 2000000);	/* 2 s */
	stats_observe(LIVE_IMAP, "FETCH", 20000000);	/* 20 s: past the last bound */
	stats_add(STAT_BYTES_OUT_IMAP, 12345);
	live_stats(snap);
	assert_true(snap->counters[STAT_AUTH_FAIL_IMAP] >= 1);
	assert_true(snap->counters[STAT_BYTES_OUT_IMAP] >= 12345);
	text = stats_openmetrics(snap);
	assert_non_null(strstr(text, "# TYPE duomail_auth counter\n"));
	assert_non_null(strstr(text, "duomail_auth_total{protocol=\"imap\",result=\"failure\"} "));
	assert_non_null(strstr(text, "# TYPE duomail_command_duration_seconds histogram\n"));
	assert_non_null(strstr(text, "duomail_command_duration_seconds_bucket{protocol=\"imap\","
				     "command=\"FETCH\",le=\"10\"} 2\n"));
	assert_non_null(strstr(text, "duomail_command_duration_seconds_bucket{protocol=\"imap\","
				     "command=\"FETCH\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text, "duomail_command_duration_seconds_count{protocol=\"imap\","
				     "command=\"FETCH\"} 3\n"));
	assert_non_null(strstr(text, "duomail_sessions{protocol=\"imap\"} 1\n"));
	/* every family is declared once, and the text ends with # EOF */
	assert_null(strstr(strstr(text, "# TYPE duomail_auth ") + 1, "# TYPE duomail_auth "));
	assert_string_equal(text + strlen(text) - 6, "# EOF\n");
	free(text);
	live_session_close(&a);
	free(snap);
}

static void test_wire(void **state)
{
	char line[256] = "", *f[8];

	admin_field_put(line, sizeof(line), "event");
	admin_field_put(line, sizeof(line), "a\tb\\c\nd");
	admin_field_put(line, sizeof(line), "");
	admin_field_put(line, sizeof(line), "last");
	assert_string_equal(line, "event\ta\\tb\\\\c\\nd\t\tlast");
	assert_int_equal(admin_fields_split(line, f, 8), 4);
	assert_string_equal(f[1], "a\tb\\c\nd");
	assert_string_equal(f[2], "");
	assert_string_equal(f[3], "last");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_slots_run_out),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_trace_table_full),
		cmocka_unit_test(test_restarted_worker),
		cmocka_unit_test(test_counters_and_openmetrics),
		cmocka_unit_test(test_wire),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
