/*
 * The shared abuse table (core/abuse_table.h): connection counts per key
 * and worker with limits, what a dead worker leaves behind, sharing across
 * fork(), address keys (IPv6 by /64), the failure penalty (growth, cap,
 * quiet period, reset), bounded size with LRU eviction, and the counters.
 * Also: an unverifiable stored password costs what a real check costs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/abuse_table.h"
#include "core/auth.h"

static const struct abuse_penalty_policy policy = {
	.initial_ms = 100, .max_ms = 1000, .reset_ms = 5000,
};

static struct abuse_table *make(unsigned nworkers, unsigned nentries)
{
	struct abuse_table *t;
	char err[200];

	assert_int_equal(abuse_table_create(nworkers, nentries, &policy, &t, err, sizeof(err)), 0);
	return t;
}

static void key_ip(struct abuse_table *t, const char *ip, struct abuse_key *k)
{
	assert_int_equal(abuse_key_ip(t, ip, k), 0);
}

static void test_limit_across_workers(void **state)
{
	struct abuse_table *t = make(2, 1024);
	struct abuse_key k, other;
	unsigned n;

	key_ip(t, "192.0.2.7", &k);
	key_ip(t, "192.0.2.8", &other);
	assert_int_equal(abuse_conn_open(t, 0, &k, 3, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(abuse_conn_open(t, 1, &k, 3, &n), 1);
	assert_int_equal(abuse_conn_open(t, 0, &k, 3, &n), 1);
	assert_int_equal(n, 3);
	/* the fourth, on either worker, is over the limit and not counted */
	assert_int_equal(abuse_conn_open(t, 1, &k, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(abuse_conn_open(t, 0, &k, 3, &n), 0);
	/* another address is not affected */
	assert_int_equal(abuse_conn_open(t, 0, &other, 3, &n), 1);
	assert_int_equal(n, 1);
	/* one closes: one more fits again */
	abuse_conn_close(t, 1, &k);
	assert_int_equal(abuse_conn_open(t, 0, &k, 3, &n), 1);
	assert_int_equal(n, 3);
	/* 0 = unlimited */
	assert_int_equal(abuse_conn_open(t, 0, &k, 0, &n), 1);
	assert_int_equal(n, 4);
	abuse_table_destroy(&t);
	assert_null(t);
}

static void test_worker_gone(void **state)
{
	struct abuse_table *t = make(3, 1024);
	struct abuse_key k;
	unsigned n;

	key_ip(t, "198.51.100.1", &k);
	assert_int_equal(abuse_conn_open(t, 0, &k, 4, &n), 1);
	assert_int_equal(abuse_conn_open(t, 2, &k, 4, &n), 1);
	assert_int_equal(abuse_conn_open(t, 2, &k, 4, &n), 1);
	assert_int_equal(abuse_conn_open(t, 2, &k, 4, &n), 1);
	assert_int_equal(abuse_conn_open(t, 1, &k, 4, &n), 0);
	/* worker 2 crashed: its three connections no longer count */
	abuse_table_worker_gone(t, 2);
	assert_int_equal(abuse_conn_open(t, 1, &k, 4, &n), 1);
	assert_int_equal(n, 2);
	/* a late close from the dead worker's slot does not go below zero */
	abuse_conn_close(t, 2, &k);
	assert_int_equal(abuse_conn_open(t, 1, &k, 4, &n), 1);
	assert_int_equal(n, 3);
	/* out-of-range workers are refused, not written past the entry */
	assert_int_equal(abuse_conn_open(t, 3, &k, 4, &n), -1);
	abuse_table_worker_gone(t, 99);
	abuse_table_destroy(&t);
}

/* What one worker process counts, the others see; a worker killed with its
 * connections open leaves counts that worker_gone() takes back. */
static void test_shared_across_fork(void **state)
{
	struct abuse_table *t = make(2, 1024);
	struct abuse_key k;
	unsigned n;
	int status;
	pid_t pid;
	int ready[2];
	char c;

	key_ip(t, "203.0.113.5", &k);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned m;

		for (int i = 0; i < 5; i++)
			if (abuse_conn_open(t, 1, &k, 0, &m) != 1)
				_exit(1);
		(void)write(ready[1], "x", 1);
		pause();	/* killed below, mid-session */
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(abuse_conn_open(t, 0, &k, 6, &n), 1);
	assert_int_equal(n, 6);
	assert_int_equal(abuse_conn_open(t, 0, &k, 6, &n), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	abuse_table_worker_gone(t, 1);
	assert_int_equal(abuse_conn_open(t, 0, &k, 6, &n), 1);
	assert_int_equal(n, 2);
	close(ready[0]);
	close(ready[1]);
	abuse_table_destroy(&t);
}

/* A worker killed at any moment, inside the lock too, neither blocks the
 * others (robust mutex: the next locker takes it over) nor leaves counts
 * that worker_gone() cannot take back.  A deadlock would hit the alarm. */
static void test_killed_inside_lock(void **state)
{
	struct abuse_table *t = make(2, 1024);
	struct abuse_key k;
	unsigned n;

	key_ip(t, "203.0.113.9", &k);
	alarm(60);
	for (int round = 0; round < 30; round++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			unsigned m;

			for (;;) {
				(void)abuse_conn_open(t, 1, &k, 0, &m);
				(void)abuse_penalty_fail(t, &k, 1);
				abuse_conn_close(t, 1, &k);
			}
		}
		usleep(1000 + (useconds_t)(round % 7) * 700);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		abuse_table_worker_gone(t, 1);
		assert_int_equal(abuse_conn_open(t, 0, &k, 0, &n), 1);
		assert_int_equal(n, 1);
		abuse_conn_close(t, 0, &k);
	}
	alarm(0);
	abuse_table_destroy(&t);
}

static bool same_key(const struct abuse_key *a, const struct abuse_key *b)
{
	return memcmp(a->id, b->id, sizeof(a->id)) == 0 && a->bucket_hash == b->bucket_hash;
}

static void test_keys(void **state)
{
	struct abuse_table *t = make(1, 1024), *t2 = make(1, 1024);
	struct abuse_key a, b, u;

	/* IPv6 counts by /64 */
	key_ip(t, "2001:db8:1:2::1", &a);
	key_ip(t, "2001:db8:1:2:ffff:ffff:ffff:ffff", &b);
	assert_true(same_key(&a, &b));
	key_ip(t, "2001:db8:1:3::1", &b);
	assert_false(same_key(&a, &b));
	/* IPv4 by the address; a v4-mapped address is the IPv4 one */
	key_ip(t, "127.0.0.1", &a);
	key_ip(t, "::ffff:127.0.0.1", &b);
	assert_true(same_key(&a, &b));
	key_ip(t, "127.0.0.2", &b);
	assert_false(same_key(&a, &b));
	/* not an address */
	assert_int_equal(abuse_key_ip(t, "unix", &b), -1);
	assert_int_equal(abuse_key_ip(t, "", &b), -1);
	/* a user never shares an entry with an address */
	abuse_key_user(t, "127.0.0.1", &u);
	assert_false(same_key(&a, &u));
	/* keys are keyed by the table's secret: another server, other keys */
	key_ip(t2, "127.0.0.1", &b);
	assert_false(same_key(&a, &b));
	abuse_table_destroy(&t);
	abuse_table_destroy(&t2);
}

static void test_penalty(void **state)
{
	struct abuse_table *t = make(1, 1024);
	struct abuse_key k, other;
	uint64_t now = 1000000;
	unsigned failures;
	static const unsigned expect[] = { 100, 200, 400, 800, 1000, 1000, 1000 };

	key_ip(t, "192.0.2.50", &k);
	key_ip(t, "192.0.2.51", &other);
	assert_int_equal(abuse_penalty_delay(t, &k, now, &failures), 0);
	assert_int_equal(failures, 0);
	for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		assert_int_equal(abuse_penalty_fail(t, &k, now), i + 1);
		now += 1000;	/* well inside the quiet period */
		assert_int_equal(abuse_penalty_delay(t, &k, now, &failures), expect[i]);
		assert_int_equal(failures, i + 1);
	}
	assert_int_equal(abuse_penalty_delay(t, &other, now, NULL), 0);
	/* a success forgets them */
	abuse_penalty_clear(t, &k);
	assert_int_equal(abuse_penalty_delay(t, &k, now, NULL), 0);
	/* so does a quiet period without failures: 4999 ms is not enough */
	abuse_penalty_fail(t, &k, now);
	abuse_penalty_fail(t, &k, now);
	assert_int_equal(abuse_penalty_delay(t, &k, now + 4999, NULL), 200);
	assert_int_equal(abuse_penalty_delay(t, &k, now + 5000, NULL), 0);
	/* and a failure after it starts from one again */
	assert_int_equal(abuse_penalty_fail(t, &k, now + 6000), 1);
	abuse_table_destroy(&t);
}

static void test_penalty_for(void **state)
{
	struct abuse_penalty_policy off = { .initial_ms = 1000, .max_ms = 0, .reset_ms = 1 };
	struct abuse_penalty_policy big = { .initial_ms = 60000, .max_ms = 60000, .reset_ms = 1 };

	assert_int_equal(abuse_penalty_for(&off, 5), 0);
	assert_int_equal(abuse_penalty_for(&policy, 0), 0);
	assert_int_equal(abuse_penalty_for(&policy, 1), 100);
	/* no overflow however many failures */
	assert_int_equal(abuse_penalty_for(&policy, 4000000000u), 1000);
	assert_int_equal(abuse_penalty_for(&big, 4000000000u), 60000);
}

/* One bucket of eight: failure history is evicted oldest first, entries
 * with open connections never; a full bucket of them leaves a new key
 * untracked, and that is counted. */
static void test_bounded_eviction(void **state)
{
	struct abuse_table *t = make(1, ABUSE_TABLE_WAYS);
	struct abuse_key k[ABUSE_TABLE_WAYS + 2];
	struct abuse_stats st;
	char ip[32];
	unsigned n;

	for (int i = 0; i < ABUSE_TABLE_WAYS + 2; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		key_ip(t, ip, &k[i]);
	}
	for (int i = 0; i < ABUSE_TABLE_WAYS; i++)
		abuse_penalty_fail(t, &k[i], 1000 + i);
	/* k[0] is touched again, so k[1] is now the least recently used */
	assert_int_equal(abuse_penalty_delay(t, &k[0], 2000, NULL), 100);
	abuse_penalty_fail(t, &k[ABUSE_TABLE_WAYS], 2000);
	assert_int_equal(abuse_penalty_delay(t, &k[1], 2000, NULL), 0);
	assert_int_equal(abuse_penalty_delay(t, &k[0], 2000, NULL), 100);
	assert_int_equal(abuse_penalty_delay(t, &k[ABUSE_TABLE_WAYS], 2000, NULL), 100);
	abuse_table_destroy(&t);

	t = make(1, ABUSE_TABLE_WAYS);
	for (int i = 0; i < ABUSE_TABLE_WAYS + 2; i++) {
		snprintf(ip, sizeof(ip), "10.0.1.%d", i + 1);
		key_ip(t, ip, &k[i]);
	}
	for (int i = 0; i < ABUSE_TABLE_WAYS; i++)
		assert_int_equal(abuse_conn_open(t, 0, &k[i], 1, &n), 1);
	assert_int_equal(abuse_conn_open(t, 0, &k[ABUSE_TABLE_WAYS], 1, &n), -1);
	abuse_stats_get(t, &st);
	assert_int_equal(st.untracked, 1);
	/* the live counts survived */
	assert_int_equal(abuse_conn_open(t, 0, &k[3], 1, &n), 0);
	/* a closed entry with no failures frees its place */
	abuse_conn_close(t, 0, &k[3]);
	assert_int_equal(abuse_conn_open(t, 0, &k[ABUSE_TABLE_WAYS], 1, &n), 1);
	abuse_table_destroy(&t);
}

static void test_sizes_and_stats(void **state)
{
	struct abuse_table *t;
	struct abuse_stats st;
	struct abuse_key k;
	char err[200];

	assert_int_equal(abuse_table_size_for(1, 1), 1024);
	assert_int_equal(abuse_table_size_for(2, 10000), 40000);
	/* 256 workers of a million connections: bounded by 64 MiB */
	assert_true(abuse_table_size_for(256, 1000000) < (64u << 20) / 512);
	assert_int_equal(abuse_table_create(0, 100, &policy, &t, err, sizeof(err)), -1);
	assert_null(t);
	assert_non_null(strstr(err, "worker"));

	t = make(1, 1024);
	key_ip(t, "192.0.2.1", &k);
	abuse_penalty_fail(t, &k, 1);
	abuse_count(t, ABUSE_EV_LOGIN_FAILED);
	abuse_count(t, ABUSE_EV_LOGIN_DELAYED);
	abuse_count(t, ABUSE_EV_IP_LIMIT);
	abuse_count(t, ABUSE_EV_USER_LIMIT);
	abuse_count(t, ABUSE_EV_USER_LIMIT);
	abuse_count(t, ABUSE_EV_BAD_COMMANDS);
	abuse_stats_get(t, &st);
	assert_int_equal(st.logins_failed, 2);
	assert_int_equal(st.logins_delayed, 1);
	assert_int_equal(st.ip_limit_refused, 1);
	assert_int_equal(st.user_limit_refused, 2);
	assert_int_equal(st.bad_command_disconnects, 1);
	assert_int_equal(st.untracked, 0);
	abuse_table_destroy(&t);
}

static double seconds_of(const char *stored, const char *password)
{
	struct timespec a, b;
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_false(password_verify(stored, password));
		clock_gettime(CLOCK_MONOTONIC, &b);
		double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (s < best)
			best = s;
	}
	return best;
}

/* A stored value that can never match (unknown scheme, empty or damaged
 * hash) must not answer at once: that would tell the account exists.  The
 * bound is loose (a quarter of a SHA512-CRYPT check; an instant answer is
 * a thousand times faster), so a loaded machine does not make it flake. */
static void test_unverifiable_costs_a_hash(void **state)
{
	const char *real = "{SHA512-CRYPT}$6$0gxurAd2UhLDpSuZ$m/lHA4sYREKjYHbNpdgzU2dGIf/VI9cgvc1"
			   "c38GkYpegnnX.mwb5Q6ENvm82BcmF3H/GxX./hQOxb4O77.W5o1";
	double wrong = seconds_of(real, "wrong");

	assert_true(seconds_of("{ROT13}nopqr", "wrong") > wrong / 4);
	assert_true(seconds_of("{SHA512-CRYPT}", "wrong") > wrong / 4);
	assert_true(seconds_of("{SHA512-CRYPT}$6$", "wrong") > wrong / 4);
	assert_true(seconds_of("{CRYPT}*", "wrong") > wrong / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_across_workers),
		cmocka_unit_test(test_worker_gone),
		cmocka_unit_test(test_shared_across_fork),
		cmocka_unit_test(test_killed_inside_lock),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_penalty_for),
		cmocka_unit_test(test_bounded_eviction),
		cmocka_unit_test(test_sizes_and_stats),
		cmocka_unit_test(test_unverifiable_costs_a_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
