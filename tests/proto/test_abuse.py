"""Brute-force and abuse defence against the real server (issue 5): the
per-IP failure penalty (grows, caps, shared by IMAP and POP3 and every way
of logging in, other addresses untouched, reset by a success and by a quiet
period), one answer for an unknown user and a wrong password in both
protocols (same bytes, same cost), the per-IP connection limit counted over
two workers (and what a killed worker leaves), the per-user session limit
over IMAP and POP3, the failed-command limit of IMAP, POP3 and LMTP, and a
log that names the remote address but never the password.

Clients pick their source address: 127.0.0.1, 127.0.0.2 and 127.0.0.3 all
reach the server's 127.0.0.1 listener on Linux, and the server sees them as
different clients.  Delays are measured with generous bounds (at least the
penalty; at most the cap plus slack): they check a behaviour, not speed."""
import base64
import os
import shutil
import signal
import socket
import time
import unittest

import duotest
from duoimap import RawImap
from test_one_account import children, worker_of
from test_pop3 import Pop3Client

SLACK = 1.0     # seconds beyond a configured delay that a loaded machine may add


def imap_from(srv, src, kind="imap", timeout=20):
    """A RawImap whose connection comes from source address src."""
    c = RawImap.__new__(RawImap)
    c.sock = socket.create_connection(("127.0.0.1", srv.port(kind)), timeout=timeout,
                                      source_address=(src, 0))
    c.buf = b""
    c.n = 0
    c.greeting = c.line()
    return c


def pop3_from(srv, src, timeout=20):
    c = Pop3Client.__new__(Pop3Client)
    c.sock = socket.create_connection(("127.0.0.1", srv.port("pop3")), timeout=timeout,
                                      source_address=(src, 0))
    c.buf = b""
    c.greeting = c.line()
    return c


def b64(text):
    return base64.b64encode(text.encode()).decode()


def timed(fn):
    t0 = time.monotonic()
    result = fn()
    return time.monotonic() - t0, result


def on_worker(srv, worker, connect):
    """connect() with every other worker stopped, so worker accepts it."""
    others = [w for w in children(srv.proc.pid) if w != worker]
    for w in others:
        os.kill(w, signal.SIGSTOP)
    try:
        return connect()
    finally:
        for w in others:
            os.kill(w, signal.SIGCONT)


class TestPenalty(unittest.TestCase):
    """[auth] penalty_*: after n failures from an address its next login
    waits initial * 2^(n-1), at most max.  One worker, so a waiting login
    that blocked the loop would block the other clients too."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(
            users={"alice": "pw-alice"}, plain_users={"carol": "pw-carol"},
            listen=("imap", "pop3"), workers=1,
            config={"auth": {"penalty_initial": "400ms", "penalty_max": "1600ms",
                             "penalty_reset": "5s"}})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def imap_login(self, src, user, password):
        c = imap_from(self.srv, src)
        try:
            return timed(lambda: c.cmd('LOGIN "%s" "%s"' % (user, password))[1])
        finally:
            c.close()

    def test_grows_caps_crosses_protocols_and_resets(self):
        src = "127.0.0.1"
        # A different failed attempt each time: every way of logging in
        # counts towards one penalty for the address.
        def imap_login():
            return self.imap_login(src, "alice", "wrong")[1]

        def imap_authenticate():
            c = imap_from(self.srv, src)
            try:
                return c.cmd("AUTHENTICATE PLAIN " + b64("\0alice\0wrong"))[1]
            finally:
                c.close()

        def pop3_pass():
            c = pop3_from(self.srv, src)
            try:
                self.assertTrue(c.cmd("USER nosuchuser").startswith("+OK"))
                return c.cmd("PASS wrong")
            finally:
                c.close()

        def pop3_auth():
            c = pop3_from(self.srv, src)
            try:
                return c.cmd("AUTH PLAIN " + b64("\0alice\0wrong"))
            finally:
                c.close()

        def pop3_apop():
            c = pop3_from(self.srv, src)
            try:
                return c.cmd("APOP carol " + "0" * 32)
            finally:
                c.close()

        # (attempt, failures before it, least wait, most wait)
        plan = [(imap_login, 0, 0, None), (pop3_pass, 1, 0.4, None),
                (imap_authenticate, 2, 0.8, None), (pop3_auth, 3, 1.6, 1.6 + SLACK),
                (pop3_apop, 4, 1.6, 1.6 + SLACK), (imap_login, 5, 1.6, 1.6 + SLACK)]
        for attempt, failures, least, most in plan:
            took, reply = timed(attempt)
            self.assertTrue(b"NO [AUTHENTICATIONFAILED]" in reply if isinstance(reply, bytes)
                            else reply.startswith("-ERR [AUTH]"), reply)
            self.assertGreaterEqual(took, least, (attempt.__name__, failures))
            if most is not None:
                # uncapped it would be 3.2 s and then 6.4 s
                self.assertLessEqual(took, most, (attempt.__name__, failures))

        # While this address waits, another address is answered at once.
        slow = imap_from(self.srv, src)
        slow.send('s1 LOGIN "alice" "wrong"\r\n')
        took, (_, reply) = timed(lambda: self.imap_login("127.0.0.2", "alice", "pw-alice"))
        self.assertTrue(reply.startswith(b"t1 OK"), reply)
        self.assertLess(took, 1.2)
        took, (_, reply) = timed(lambda: slow.until("s1"))
        self.assertTrue(reply.startswith(b"s1 NO [AUTHENTICATIONFAILED]"), reply)
        slow.close()

        # The right password waits like any answer (its timing must not
        # tell it was right), and then the penalty is gone.
        took, reply = self.imap_login(src, "alice", "pw-alice")
        self.assertTrue(reply.startswith(b"t1 OK"), reply)
        self.assertGreaterEqual(took, 1.6)
        took, reply = self.imap_login(src, "alice", "wrong")
        self.assertLess(took, 1.2)
        took, reply = self.imap_login(src, "alice", "wrong")
        self.assertGreaterEqual(took, 0.4)
        self.assertLess(took, 0.4 + SLACK)

        log = self.srv.log_text()
        self.assertIn("delayed 1600 ms (failure penalty: 4 failed logins "
                      "from 127.0.0.1)", log)
        self.assertIn("authentication failed user=nosuchuser (2 failed logins from 127.0.0.1)",
                      log)

    def test_quiet_period_forgets(self):
        src = "127.0.0.3"
        self.imap_login(src, "alice", "wrong")
        took, _ = self.imap_login(src, "alice", "wrong")
        self.assertGreaterEqual(took, 0.4)
        took, _ = self.imap_login(src, "alice", "wrong")
        self.assertGreaterEqual(took, 0.8)
        time.sleep(5.3)     # penalty_reset = 5s without a failure
        took, _ = self.imap_login(src, "alice", "wrong")
        self.assertLess(took, 0.8)


class TestExemptLoopback(unittest.TestCase):
    """[auth] penalty_exempt_loopback = yes: the admin's choice, never the
    default (TestPenalty runs with it unset and is penalised on loopback)."""

    def test_loopback_not_penalised(self):
        srv = duotest.Server(users={"alice": "pw-a"}, listen=("imap",), workers=1,
                             config={"auth": {"penalty_initial": "2s", "penalty_max": "8s",
                                              "penalty_exempt_loopback": "yes"}})
        with srv:
            for src in ("127.0.0.1", "127.0.0.2", "127.0.0.1"):
                c = imap_from(srv, src)
                took, (_, reply) = timed(lambda: c.cmd('LOGIN "alice" "wrong"'))
                c.close()
                self.assertTrue(reply.startswith(b"t1 NO [AUTHENTICATIONFAILED]"), reply)
                self.assertLess(took, 1.5)     # penalised, the third would wait 4 s
            self.assertNotIn("failure penalty", srv.log_text())


class TestIpv6(unittest.TestCase):
    """An IPv6 client has its own penalty: failures from 127.0.0.1 do not
    slow ::1 (whose key is its /64), and the other way round."""

    def test_own_penalty(self):
        srv = duotest.Server(users={"alice": "pw-a"}, listen=("imap", "pop3"), workers=1,
                             config={"auth": {"penalty_initial": "1s", "penalty_max": "4s"}})
        with open(srv.config_path) as f:
            text = f.read()
        with open(srv.config_path, "w") as f:
            f.write(text.replace("pop3 = 127.0.0.1:", "pop3 = [::1]:"))
        with srv:
            for _ in range(3):      # 127.0.0.1's next login waits 4 s
                c = imap_from(srv, "127.0.0.1")
                c.cmd('LOGIN "alice" "wrong"')
                c.close()
            for expect_least in (0, 1):
                p = Pop3Client(srv.port("pop3"), host="::1", timeout=20)
                p.cmd("USER alice")
                took, reply = timed(lambda: p.cmd("PASS wrong"))
                p.sock.close()
                self.assertTrue(reply.startswith("-ERR [AUTH]"), reply)
                self.assertGreaterEqual(took, expect_least)
                self.assertLess(took, expect_least + SLACK)
            self.assertIn("(2 failed logins from ::1)", srv.log_text())


class TestSameAnswer(unittest.TestCase):
    """No user enumeration: an unknown user and a wrong password get the
    same bytes (RFC 5530 AUTHENTICATIONFAILED, RFC 3206 [AUTH]) and cost the
    same (a dummy SHA512-CRYPT check for the unknown user)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(users={"alice": "pw-alice"}, plain_users={"carol": "pw-c"},
                                 listen=("imap", "pop3"))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def imap_reply(self, command):
        c = RawImap(self.srv.port("imap"))
        try:
            return c.cmd(command)
        finally:
            c.close()

    def pop3_reply(self, *commands):
        c = Pop3Client(self.srv.port("pop3"))
        try:
            return [c.cmd(x) for x in commands]
        finally:
            c.close()

    def test_imap_identical(self):
        for wrong, unknown in [
                ('LOGIN "alice" "nope"', 'LOGIN "nobody" "nope"'),
                ("AUTHENTICATE PLAIN " + b64("\0alice\0nope"),
                 "AUTHENTICATE PLAIN " + b64("\0nobody\0nope")),
                # a name no account can have fails the same way
                ('LOGIN "alice" "nope"', "AUTHENTICATE PLAIN " + b64("\0bad\x01name\0nope"))]:
            a, b = self.imap_reply(wrong), self.imap_reply(unknown)
            self.assertEqual(a, b)
            self.assertEqual(a[1], b"t1 NO [AUTHENTICATIONFAILED] Authentication failed.")

    def test_pop3_identical(self):
        for wrong, unknown in [
                (("USER alice", "PASS nope"), ("USER nobody", "PASS nope")),
                (("AUTH PLAIN " + b64("\0alice\0nope"),), ("AUTH PLAIN " + b64("\0nobody\0nope"),)),
                (("APOP carol " + "0" * 32,), ("APOP nobody " + "0" * 32,)),
                (("APOP alice " + "0" * 32,), ("APOP nobody " + "0" * 32,)),
                (("AUTH PLAIN " + b64("\0alice\0nope"),),
                 ("AUTH PLAIN " + b64("\0bad\x01name\0nope"),))]:
            a, b = self.pop3_reply(*wrong), self.pop3_reply(*unknown)
            self.assertEqual(a, b)
            self.assertEqual(a[-1], "-ERR [AUTH] Authentication failed.")

    def test_unknown_user_costs_a_hash(self):
        # Fastest of several tries each, so a busy machine only adds noise
        # upward; without the dummy check an unknown user answers many
        # times faster than a SHA512-CRYPT check takes.
        def fastest(user):
            best = 1e9
            for _ in range(7):
                c = RawImap(self.srv.port("imap"))
                took, _ = timed(lambda: c.cmd('LOGIN "%s" "nope"' % user))
                c.close()
                best = min(best, took)
            return best
        wrong, unknown = fastest("alice"), fastest("nobody")
        self.assertGreater(unknown, wrong / 3, (wrong, unknown))


class TestConnectionLimits(unittest.TestCase):
    """[server] max_connections_per_ip over two workers and both protocols;
    max_connections_per_user over IMAP and POP3 sessions."""

    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-a", "bob": "pw-b"},
                                  listen=("imap", "pop3", "imaps"), workers=2,
                                  config={"server": {"max_connections_per_ip": "3",
                                                     "max_connections_per_user": "2"}})
        self.srv.start()
        self.clients = []
        self.killed_worker = False

    def tearDown(self):
        for c in self.clients:
            c.close()
        if not self.killed_worker:
            self.srv.stop()
            return
        # The log names the worker we killed; anything else is still wrong.
        code = self.srv.proc.poll()
        self.srv.stop(check=False, keep=True)
        log = self.srv.log_text()
        shutil.rmtree(self.srv.dir, ignore_errors=True)
        self.assertIsNone(code)
        self.assertNotRegex(log, r"AddressSanitizer|LeakSanitizer|runtime error")

    def keep(self, c):
        self.clients.append(c)
        return c

    def wait_workers(self, n=2, gone=None):
        """The workers, once there are n of them (and pid gone is reaped)."""
        deadline = time.monotonic() + 20
        while True:
            pids = children(self.srv.proc.pid)
            if len(pids) == n and gone not in pids:
                return pids
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)

    def test_per_ip_across_workers(self):
        w1, w2 = self.wait_workers()
        a = self.keep(on_worker(self.srv, w1, lambda: imap_from(self.srv, "127.0.0.1")))
        b = self.keep(on_worker(self.srv, w1, lambda: pop3_from(self.srv, "127.0.0.1")))
        c = self.keep(on_worker(self.srv, w2, lambda: imap_from(self.srv, "127.0.0.1")))
        self.assertEqual(worker_of(self.srv, a.sock), w1)
        self.assertEqual(worker_of(self.srv, b.sock), w1)
        self.assertEqual(worker_of(self.srv, c.sock), w2)
        for x in (a, c):
            self.assertTrue(x.greeting.startswith(b"* OK"), x.greeting)
        self.assertTrue(b.greeting.startswith("+OK"), b.greeting)

        # The fourth is refused at the greeting, whichever worker and protocol.
        for worker in (w1, w2):
            d = on_worker(self.srv, worker, lambda: imap_from(self.srv, "127.0.0.1"))
            self.assertEqual(d.greeting, b"* BYE [UNAVAILABLE] Too many connections from "
                             b"your address, try again later.")
            self.assertEqual(d.sock.recv(100), b"")     # and closed
            d.close()
        p = pop3_from(self.srv, "127.0.0.1")
        self.assertEqual(p.greeting, "-ERR [SYS/TEMP] Too many connections from your "
                         "address, try again later.")
        p.sock.close()
        # Implicit TLS: said inside TLS, where the greeting is expected.
        s = socket.create_connection(("127.0.0.1", self.srv.port("imaps")), timeout=20)
        s = self.srv.client_tls_context().wrap_socket(s, server_hostname="localhost")
        self.assertTrue(s.recv(200).startswith(b"* BYE [UNAVAILABLE]"))
        s.close()
        # Another address is not limited by this one.
        e = self.keep(imap_from(self.srv, "127.0.0.2"))
        self.assertTrue(e.greeting.startswith(b"* OK"))

        # One closes: a new one is let in again.
        c.ok("LOGOUT")
        c.close()
        self.clients.remove(c)
        deadline = time.monotonic() + 10
        while True:
            f = on_worker(self.srv, w2, lambda: imap_from(self.srv, "127.0.0.1"))
            if f.greeting.startswith(b"* OK") or time.monotonic() > deadline:
                break
            f.close()
            time.sleep(0.05)
        self.assertTrue(f.greeting.startswith(b"* OK"), f.greeting)
        self.keep(f)

        # A killed worker's connections stop counting: w1 held a and b,
        # w2 holds f (and e, from another address).
        self.killed_worker = True
        os.kill(w1, signal.SIGKILL)
        self.clients.remove(a)
        self.clients.remove(b)
        a.close()
        b.close()
        self.wait_workers(gone=w1)
        g = self.keep(imap_from(self.srv, "127.0.0.1"))
        h = self.keep(imap_from(self.srv, "127.0.0.1"))
        self.assertTrue(g.greeting.startswith(b"* OK"), g.greeting)
        self.assertTrue(h.greeting.startswith(b"* OK"), h.greeting)
        i = imap_from(self.srv, "127.0.0.1")
        self.assertTrue(i.greeting.startswith(b"* BYE [UNAVAILABLE]"), i.greeting)
        i.close()
        self.assertIn("refused: 3 connections from 127.0.0.1 already (max_connections_per_ip)",
                      self.srv.log_text())

    def test_per_user_across_protocols_and_workers(self):
        w1, w2 = self.wait_workers()
        a = self.keep(on_worker(self.srv, w1, lambda: imap_from(self.srv, "127.0.0.1")))
        b = self.keep(on_worker(self.srv, w2, lambda: imap_from(self.srv, "127.0.0.2")))
        a.login("alice", "pw-a")
        b.login("alice", "pw-a")
        # A third session of alice: IMAP NO [LIMIT] (RFC 5530), POP3
        # [IN-USE] (RFC 2449 §8.1.2); both stay in the unauthenticated state.
        c = self.keep(imap_from(self.srv, "127.0.0.2"))
        _, reply = c.cmd('LOGIN "alice" "pw-a"')
        self.assertEqual(reply, b"t1 NO [LIMIT] Too many sessions of this user, try again later.")
        _, reply = c.cmd("SELECT INBOX")
        self.assertTrue(reply.startswith(b"t2 BAD"), reply)
        p = self.keep(pop3_from(self.srv, "127.0.0.3"))
        p.cmd("USER alice")
        self.assertEqual(p.cmd("PASS pw-a"),
                         "-ERR [IN-USE] Too many sessions of this user, try again later.")
        # bob is not affected
        self.keep(imap_from(self.srv, "127.0.0.3")).login("bob", "pw-b")
        # One of alice's sessions ends: POP3 gets its place, IMAP is still full.
        a.ok("LOGOUT")
        deadline = time.monotonic() + 10
        while True:
            p.cmd("USER alice")
            r = p.cmd("PASS pw-a")
            if r.startswith("+OK") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(r.startswith("+OK"), r)
        _, reply = c.cmd('LOGIN "alice" "pw-a"')
        self.assertTrue(reply.startswith(b"t3 NO [LIMIT]"), reply)
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        deadline = time.monotonic() + 10
        while True:
            _, reply = c.cmd('LOGIN "alice" "pw-a"')
            if reply.split(b" ")[1] == b"OK" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertIn(b" OK ", reply)
        self.assertIn("login of user=alice refused: 2 sessions already "
                      "(max_connections_per_user)", self.srv.log_text())


class TestBadCommandLimit(unittest.TestCase):
    """max_bad_commands in [imap], [pop3] and [lmtp]: then BYE / -ERR / 421
    and the connection is closed."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(users={"alice": "pw-a"}, listen=("imap", "pop3", "lmtp"),
                                 config={"imap": {"max_bad_commands": "3"},
                                         "pop3": {"max_bad_commands": "3"},
                                         "lmtp": {"max_bad_commands": "3"}})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_imap(self):
        c = RawImap(self.srv.port("imap"))
        # A failed login counts as a failed command.
        _, r = c.cmd('LOGIN "alice" "wrong"')
        self.assertTrue(r.startswith(b"t1 NO [AUTHENTICATIONFAILED]"), r)
        _, r = c.cmd("FROBNICATE")
        self.assertTrue(r.startswith(b"t2 BAD"), r)
        c.send("t3 NOSUCH\r\n")
        self.assertTrue(c.line().startswith(b"t3 BAD"))
        self.assertEqual(c.line(), b"* BYE Too many invalid commands.")
        self.assertEqual(c.sock.recv(100), b"")
        c.close()
        self.assertRegex(self.srv.log_text(),
                         r"imap#\d+ 127\.0\.0\.1:\d+: too many bad commands \(3\), disconnecting")

    def test_pop3(self):
        c = Pop3Client(self.srv.port("pop3"))
        self.assertTrue(c.cmd("FROB").startswith("-ERR"))
        c.cmd("USER alice")
        self.assertTrue(c.cmd("PASS wrong").startswith("-ERR [AUTH]"))
        self.assertTrue(c.cmd("NOSUCH").startswith("-ERR"))
        self.assertEqual(c.line(), "-ERR Too many bad commands, closing connection.")
        self.assertEqual(c.sock.recv(100), b"")
        c.sock.close()

    def test_lmtp(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port("lmtp")), timeout=20)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        s.sendall(b"LHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        # A new greeting between bad commands does not reset the count.
        s.sendall(b"FROB\r\n")
        self.assertTrue(f.readline().startswith(b"5"))
        s.sendall(b"LHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"RCPT TO:<alice@x>\r\n")     # no MAIL first
        self.assertTrue(f.readline().startswith(b"5"))
        s.sendall(b"NOSUCH\r\n")
        self.assertTrue(f.readline().startswith(b"5"))
        self.assertEqual(f.readline(),
                         b"421 4.7.0 test.example Too many errors, closing connection\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()


class TestLog(unittest.TestCase):
    """Refused logins, penalties and limits are logged with the remote
    address and the user; the password, in clear or in base64, never."""

    def test_password_never_logged(self):
        secret = "Sekr1t-xyzzy-42"
        srv = duotest.Server(users={"alice": "pw-a"}, listen=("imap", "pop3"),
                             config={"server": {"log_level": "debug"},
                                     "auth": {"penalty_initial": "10ms",
                                              "penalty_max": "20ms"}})
        with srv:
            c = RawImap(srv.port("imap"))
            c.cmd('LOGIN "alice" "%s"' % secret)
            c.cmd('LOGIN "nobody" "%s"' % secret)
            c.cmd("AUTHENTICATE PLAIN " + b64("\0alice\0" + secret))
            c.send("a AUTHENTICATE LOGIN\r\n")
            c.line()
            c.send(b64("alice") + "\r\n")
            c.line()
            c.send(b64(secret) + "\r\n")
            c.until("a")
            c.close()
            p = Pop3Client(srv.port("pop3"))
            p.cmd("USER alice")
            p.cmd("PASS " + secret)
            p.cmd("AUTH PLAIN " + b64("\0alice\0" + secret))
            p.cmd("AUTH LOGIN")
            p.cmd(b64("alice"))
            p.cmd(b64(secret))
            p.cmd("QUIT")
            p.sock.close()
            log = srv.log_text()
        for needle in (secret, b64(secret), b64("\0alice\0" + secret), secret[2:10]):
            self.assertNotIn(needle, log)
        self.assertRegex(log, r"imap#\d+ 127\.0\.0\.1:\d+: authentication failed user=alice "
                              r"\(\d+ failed logins from 127\.0\.0\.1\)")
        self.assertRegex(log, r"pop3#\d+ 127\.0\.0\.1:\d+: login of user=alice delayed 20 ms")


if __name__ == "__main__":
    unittest.main()
