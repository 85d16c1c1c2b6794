"""Users from PostgreSQL ([auth] userdb = pgsql), against a real PostgreSQL 15
server from Debian that this test starts (tests/lib/duopg.py) and the real
`duomail serve` on loopback:

- IMAP LOGIN (RFC 3501 6.2.3), AUTHENTICATE PLAIN (RFC 4616) and POP3
  USER/PASS (RFC 1939 7) for users stored with several password schemes;
  an unknown user and a wrong password get the same answer
  ([AUTHENTICATIONFAILED], RFC 5530; -ERR [AUTH], RFC 3206);
- per-user columns: protocols (a login on another protocol fails like a
  wrong password, and the log says why), quota (LMTP 552 5.2.2 over it,
  RFC 3463), maildir (mail goes there; one outside [store] root is refused
  with a temporary failure);
- LMTP delivery and `duomail deliver` to SQL users (exit 0 / 67 / 75);
- many concurrent logins through a pool of two connections per worker;
- the database stopped mid-run: new logins get NO [UNAVAILABLE] (RFC 5530),
  -ERR [SYS/TEMP] (RFC 3206), LMTP 451 4.3.0, deliver 75, while sessions
  already logged in go on; restarted: logins work again, no duomail restart;
- a query that fails (bad SQL) or hangs (past query_timeout): a clear log
  line and a temporary failure.
"""
import base64
import hashlib
import imaplib
import os
import re
import socket
import threading
import time
import unittest

import duopg
import duotest
from duoimap import RawImap
from test_lmtp import RawLmtp
from test_pop3 import Pop3Client

WHY_NOT = duopg.available()
PG = None


def setUpModule():
    global PG
    if WHY_NOT is not None:
        return
    PG = duopg.Postgres().start()
    PG.sql("""
        CREATE ROLE duomail LOGIN PASSWORD 'duomail-db-pw';
        CREATE TABLE users (
            name text PRIMARY KEY,
            password text NOT NULL,
            protocols text,
            quota_storage bigint,
            quota_messages bigint,
            maildir text,
            active boolean NOT NULL DEFAULT true
        );
        GRANT SELECT ON users TO duomail;
    """)


def tearDownModule():
    if PG is not None:
        PG.destroy()


def refusing_port():
    """(socket, port): a port bound but not listening, so connections to it
    are refused and no other program (our own server) can take it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def message(subject):
    return ("From: a@example.test\r\nSubject: %s\r\n\r\nbody\r\n" % subject).encode()


def sql_quote(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def add_user(name, password, scheme="SHA512-CRYPT", protocols=None, quota_messages=None,
             maildir=None, active=True):
    stored = "{PLAIN}" + password if scheme == "PLAIN" else duotest.hash_password(password, scheme)
    PG.sql("INSERT INTO users (name, password, protocols, quota_messages, maildir, active) "
           "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
           "password = EXCLUDED.password, protocols = EXCLUDED.protocols, "
           "quota_messages = EXCLUDED.quota_messages, maildir = EXCLUDED.maildir, "
           "active = EXCLUDED.active;" % (
               sql_quote(name), sql_quote(stored), sql_quote(protocols),
               "NULL" if quota_messages is None else int(quota_messages), sql_quote(maildir),
               "true" if active else "false"))


PASSWORD_QUERY = ("SELECT password, protocols, quota_storage, quota_messages, maildir "
                  "FROM users WHERE name = $1 AND active")
USER_QUERY = "SELECT quota_storage, quota_messages, maildir FROM users WHERE name = $1"


def pgsql_server(workers=2, pool_size="2", password_query=PASSWORD_QUERY, timeout="5",
                 app="duomail-test", connect=None):
    connect = (connect or PG.connect_string("duomail", "duomail-db-pw")) + \
        " application_name=" + app
    return duotest.Server(
        workers=workers, listen=("imap", "pop3", "lmtp"),
        # With a database, [auth] mechanisms = auto offers no SCRAM (what
        # the rows store is not known in advance): the admin names them.
        config={"auth": {"userdb": "pgsql", "mechanisms": "scram-sha-256 scram-sha-1"},
                "pgsql": {"connect": connect,
                          "password_query": password_query, "user_query": USER_QUERY,
                          "pool_size": pool_size, "query_timeout": timeout}})


def imap_login(srv, user, password):
    """'OK', or the server's NO text."""
    c = imaplib.IMAP4("127.0.0.1", srv.port("imap"), timeout=30)
    try:
        c.login(user, password)
        c.logout()
        return "OK"
    except imaplib.IMAP4.error as e:
        c.shutdown()
        return str(e)


def pop3_login(srv, user, password):
    c = Pop3Client(srv.port("pop3"))
    try:
        assert c.cmd("USER " + user).startswith("+OK")
        answer = c.cmd("PASS " + password)
        c.cmd("QUIT")
        return answer
    finally:
        c.sock.close()


def lmtp_deliver(srv, rcpt, subject):
    """(RCPT reply code, DATA reply code or None)."""
    c = RawLmtp(port=srv.port("lmtp"))
    try:
        assert c.cmd("LHLO mx.example.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.test>")[0] == 250
        code, text = c.cmd("RCPT TO:<%s>" % rcpt)
        if code != 250:
            return code, text, None
        assert c.cmd("DATA")[0] == 354
        c.send(message(subject) + b".\r\n")
        data_code, data_text = c.reply()
        return code, data_text, data_code
    finally:
        c.close()


@unittest.skipIf(WHY_NOT is not None, "PostgreSQL unavailable: %s" % WHY_NOT)
class TestPgsqlUsers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pgsql_server(app="duomail-users")
        root = cls.srv.root
        add_user("alice", "pw-alice", "SHA512-CRYPT")
        add_user("bob", "pw-bob", "PLAIN")
        add_user("carol", "pw-carol", "SHA256-CRYPT")
        add_user("dora", "pw-dora", "BLF-CRYPT")
        add_user("dave", "pw-dave", protocols="imap")
        add_user("erin", "pw-erin", quota_messages=1)
        os.mkdir(os.path.join(root, "custom"))
        add_user("frank", "pw-frank", maildir=os.path.join(root, "custom", "frank"))
        cls.outside = os.path.join(cls.srv.dir, "outside")
        os.mkdir(cls.outside)
        add_user("gina", "pw-gina", maildir=os.path.join(cls.outside, "gina"))
        add_user("hal", "pw-hal", active=False)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_imap_login_several_schemes(self):
        for user in ("alice", "bob", "carol", "dora"):
            self.assertEqual(imap_login(self.srv, user, "pw-" + user), "OK", user)

    def test_authenticate_plain(self):
        # RFC 4616: [authzid] NUL authcid NUL passwd, sent as SASL-IR (RFC 4959)
        c = RawImap(self.srv.port("imap"))
        _, tagged = c.cmd("AUTHENTICATE PLAIN " + base64.b64encode(b"\0carol\0pw-carol").decode())
        self.assertIn(b" OK ", tagged)
        self.assertIn(b"* 0 EXISTS", c.ok("SELECT INBOX"))
        c.close()
        c = RawImap(self.srv.port("imap"))
        _, tagged = c.cmd("AUTHENTICATE PLAIN " + base64.b64encode(b"\0carol\0nope").decode())
        self.assertIn(b" NO [AUTHENTICATIONFAILED]", tagged)
        c.close()

    def test_scram_through_the_database(self):
        # SCRAM (RFC 5802/7677) gets its secret through the same non-blocking
        # lookup: stored keys and {PLAIN} work; a crypt hash, an unknown user
        # and a protocol the user may not use fail like a wrong password.
        from duosasl import LineConn, ScramClient, imap_authenticate, pop3_auth, \
            scram_responder
        add_user("sam", "pw-sam", "SCRAM-SHA-256")
        c = LineConn.tcp(self.srv.port("imap"))
        greeting = c.readline()
        self.assertIn("AUTH=SCRAM-SHA-256", greeting)
        self.assertNotIn("AUTH=CRAM-MD5", greeting)   # contents unknown in advance
        c.close()
        for user, pw, ok in (("sam", "pw-sam", True), ("bob", "pw-bob", True),
                             ("sam", "wrong", False), ("alice", "pw-alice", False),
                             ("nosuch", "x", False)):
            c = LineConn.tcp(self.srv.port("imap"))
            c.readline()
            client = ScramClient("sha256", user, pw)
            line, _ = imap_authenticate(c, "SCRAM-SHA-256", scram_responder(client),
                                        initial=client.first())
            c.close()
            self.assertEqual(line.startswith("a1 OK"), ok, (user, line))
            if not ok:
                self.assertEqual(line, "a1 NO [AUTHENTICATIONFAILED] Authentication failed.")
        c = LineConn.tcp(self.srv.port("pop3"))
        c.readline()
        client = ScramClient("sha1", "dave", "pw-dave")     # protocols=imap
        line, _ = pop3_auth(c, "SCRAM-SHA-1", scram_responder(client), initial=client.first())
        c.close()
        self.assertEqual(line, "-ERR [AUTH] Authentication failed.")

    def test_pop3_user_pass(self):
        for user in ("alice", "bob", "dora"):
            self.assertTrue(pop3_login(self.srv, user, "pw-" + user).startswith("+OK"), user)

    def test_pop3_apop(self):
        # RFC 1939 7: MD5 of the greeting's timestamp and the password,
        # which only a {PLAIN} password in the database allows
        c = Pop3Client(self.srv.port("pop3"))
        ts = re.search(r"<[^>]+>", c.greeting).group(0)
        digest = hashlib.md5((ts + "pw-bob").encode()).hexdigest()
        self.assertTrue(c.cmd("APOP bob " + digest).startswith("+OK"))
        c.cmd("QUIT")
        c.sock.close()
        c = Pop3Client(self.srv.port("pop3"))
        ts = re.search(r"<[^>]+>", c.greeting).group(0)
        digest = hashlib.md5((ts + "pw-alice").encode()).hexdigest()
        self.assertTrue(c.cmd("APOP alice " + digest).startswith("-ERR [AUTH]"))
        c.sock.close()

    def test_sighup_reconnects(self):
        def backends():
            return set(PG.sql("SELECT pid FROM pg_stat_activity "
                              "WHERE application_name = 'duomail-users';").split())

        self.assertEqual(imap_login(self.srv, "alice", "pw-alice"), "OK")
        before = backends()
        self.assertTrue(before)
        self.srv.reload()
        # the idle connections are closed and made anew
        deadline = time.time() + 10
        while (backends() & before) and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse(backends() & before)
        self.assertEqual(imap_login(self.srv, "alice", "pw-alice"), "OK")

    def test_unknown_user_and_wrong_password_look_alike(self):
        wrong = imap_login(self.srv, "alice", "nope")
        unknown = imap_login(self.srv, "nosuchuser", "nope")
        inactive = imap_login(self.srv, "hal", "pw-hal")   # filtered out by the query
        self.assertIn("[AUTHENTICATIONFAILED]", wrong)
        self.assertEqual(wrong, unknown)
        self.assertEqual(wrong, inactive)
        self.assertTrue(pop3_login(self.srv, "alice", "nope").startswith("-ERR [AUTH]"))
        self.assertEqual(pop3_login(self.srv, "alice", "nope"),
                         pop3_login(self.srv, "nosuchuser", "nope"))

    def test_disallowed_protocol(self):
        self.assertEqual(imap_login(self.srv, "dave", "pw-dave"), "OK")
        answer = pop3_login(self.srv, "dave", "pw-dave")
        self.assertEqual(answer, pop3_login(self.srv, "dave", "wrong"))
        self.assertTrue(answer.startswith("-ERR [AUTH]"), answer)
        self.assertIn("login of dave refused: protocol pop3 is not allowed", self.srv.log_text())

    def test_quota_from_sql(self):
        self.assertEqual(lmtp_deliver(self.srv, "erin@example.test", "one")[2], 250)
        code, text, data_code = lmtp_deliver(self.srv, "erin@example.test", "two")
        # RFC 3463 5.2.2: mailbox full
        self.assertEqual((code, data_code), (250, 552), text)
        self.assertEqual(self.srv.count_mail("erin"), 1)

    def test_maildir_from_sql(self):
        self.assertEqual(lmtp_deliver(self.srv, "frank@example.test", "here")[2], 250)
        custom = os.path.join(self.srv.root, "custom", "frank")

        def count():
            return sum(len(os.listdir(os.path.join(custom, d))) for d in ("new", "cur"))

        self.assertEqual(count(), 1)
        self.assertFalse(os.path.exists(os.path.join(self.srv.root, "frank")))
        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        c.login("frank", "pw-frank")
        typ, data = c.select("INBOX")
        self.assertEqual((typ, data[0]), ("OK", b"1"))
        c.logout()
        self.assertEqual(self.srv.deliver("frank", message("cli")), 0)
        self.assertEqual(count(), 2)

    def test_maildir_outside_root_refused(self):
        self.assertIn("[UNAVAILABLE]", imap_login(self.srv, "gina", "pw-gina"))
        self.assertEqual(self.srv.deliver("gina", message("x")), 75)
        self.assertEqual(os.listdir(self.outside), [])
        self.assertIn("maildir %s is outside [store] root" % os.path.join(self.outside, "gina"),
                      self.srv.log_text())
        # a wrong password is still just wrong
        self.assertIn("[AUTHENTICATIONFAILED]", imap_login(self.srv, "gina", "nope"))

    def test_lmtp_and_deliver(self):
        code, text, data_code = lmtp_deliver(self.srv, "Alice+tag@example.test", "via lmtp")
        self.assertEqual((code, data_code), (250, 250), text)
        self.assertEqual(lmtp_deliver(self.srv, "nosuchuser@example.test", "x")[0], 550)
        self.assertEqual(self.srv.deliver("carol", message("via deliver")), 0)
        self.assertEqual(self.srv.count_mail("carol"), 1)
        self.assertEqual(self.srv.deliver("nosuchuser", message("x")), 67)

    def test_many_concurrent_logins(self):
        # 2 workers x 2 connections: most lookups wait in the pool's queue.
        results = []
        lock = threading.Lock()

        def one(i):
            user = ("alice", "bob", "carol")[i % 3]
            r = imap_login(self.srv, user, "pw-" + user)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(48)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(results, ["OK"] * 48)
        # never more connections than workers x pool_size.  A backend whose
        # client has just closed (a deliver run, a pool replaced on SIGHUP by
        # an earlier test) stays in pg_stat_activity for a moment: give those
        # a bounded time to go.
        deadline = time.monotonic() + 10
        while True:
            n = int(PG.sql("SELECT count(*) FROM pg_stat_activity "
                           "WHERE application_name = 'duomail-users';"))
            if 1 <= n <= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(1 <= n <= 4, n)


@unittest.skipIf(WHY_NOT is not None, "PostgreSQL unavailable: %s" % WHY_NOT)
class TestPgsqlOutage(unittest.TestCase):
    def setUp(self):
        add_user("olga", "pw-olga")
        add_user("paul", "pw-paul")
        self.srv = pgsql_server(workers=1)
        self.srv.start()

    def tearDown(self):
        if PG.proc is None:
            PG.start()
        self.srv.stop()

    def test_down_then_back(self):
        # sessions logged in before the outage
        imap = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        imap.login("olga", "pw-olga")
        pop = Pop3Client(self.srv.port("pop3"))
        self.assertTrue(pop.cmd("USER paul").startswith("+OK"))
        self.assertTrue(pop.cmd("PASS pw-paul").startswith("+OK"))

        PG.stop()
        t0 = time.time()
        self.assertIn("[UNAVAILABLE]", imap_login(self.srv, "olga", "pw-olga"))
        # fast: no waiting for query_timeout while the database is down
        self.assertLess(time.time() - t0, 4)
        self.assertIn("[UNAVAILABLE]", imap_login(self.srv, "nosuchuser", "x"))
        self.assertTrue(pop3_login(self.srv, "olga", "pw-olga").startswith("-ERR [SYS/TEMP]"))
        code, text, _ = lmtp_deliver(self.srv, "olga@example.test", "x")
        self.assertEqual(code, 451)
        self.assertTrue(text[0].startswith(b"4.3.0"), text)
        self.assertEqual(self.srv.deliver("olga", message("x")), 75)
        # the sessions that were in go on
        self.assertEqual(imap.select("INBOX")[0], "OK")
        self.assertEqual(imap.noop()[0], "OK")
        self.assertTrue(pop.cmd("STAT").startswith("+OK"))
        self.assertIn("pgsql: database unavailable", self.srv.log_text())

        PG.start()
        # without restarting duomail; the first login after the restart
        # reconnects (bounded wait in case the server is still starting)
        deadline = time.time() + 20
        while True:
            answer = imap_login(self.srv, "olga", "pw-olga")
            if answer == "OK" or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(answer, "OK")
        self.assertTrue(pop3_login(self.srv, "olga", "pw-olga").startswith("+OK"))
        self.assertEqual(lmtp_deliver(self.srv, "olga@example.test", "back")[2], 250)
        self.assertIn("pgsql: database reachable again", self.srv.log_text())
        self.assertTrue(pop.cmd("QUIT").startswith("+OK"))
        pop.sock.close()
        imap.logout()


@unittest.skipIf(WHY_NOT is not None, "PostgreSQL unavailable: %s" % WHY_NOT)
class TestPgsqlBadQueries(unittest.TestCase):
    def setUp(self):
        add_user("quinn", "pw-quinn")
        self.srv = None

    def tearDown(self):
        if self.srv is not None:
            self.srv.stop()

    def test_bad_sql(self):
        self.srv = pgsql_server(
            workers=1, password_query="SELECT password, no_such_column FROM users WHERE name = $1")
        self.srv.start()
        self.assertIn("[UNAVAILABLE]", imap_login(self.srv, "quinn", "pw-quinn"))
        self.assertTrue(pop3_login(self.srv, "quinn", "pw-quinn").startswith("-ERR [SYS/TEMP]"))
        log = self.srv.log_text()
        self.assertIn("pgsql: the password_query failed for user quinn", log)
        self.assertIn('column "no_such_column" does not exist', log)
        # the user_query is fine: LMTP still delivers
        self.assertEqual(lmtp_deliver(self.srv, "quinn@example.test", "x")[2], 250)

    def test_failover_to_second_host(self):
        # Two hosts, the first refusing: libpq's non-blocking connect moves
        # to another socket (maybe with the same fd number) mid-handshake.
        hold, dead = refusing_port()
        self.addCleanup(hold.close)
        connect = PG.connect_string("duomail", "duomail-db-pw").replace(
            "host=127.0.0.1 port=%d" % PG.port, "host=127.0.0.1,127.0.0.1 port=%d,%d" % (
                dead, PG.port))
        self.srv = pgsql_server(workers=1, connect=connect)
        self.srv.start()
        for _ in range(3):
            self.assertEqual(imap_login(self.srv, "quinn", "pw-quinn"), "OK")

    def test_no_database_at_start(self):
        # duomail starts without its database; logins wait for nobody
        hold, dead = refusing_port()
        self.addCleanup(hold.close)
        self.srv = pgsql_server(workers=1, connect=PG.connect_string(
            "duomail", "duomail-db-pw").replace("port=%d" % PG.port, "port=%d" % dead))
        self.srv.start()
        t0 = time.time()
        self.assertIn("[UNAVAILABLE]", imap_login(self.srv, "quinn", "pw-quinn"))
        self.assertLess(time.time() - t0, 4)
        self.assertRegex(self.srv.log_text(),
                         r"pgsql: database unavailable \(connection to server at "
                         r"\S+, port %d failed: Connection refused" % dead)

    def test_query_timeout(self):
        self.srv = pgsql_server(
            workers=1, timeout="1",
            password_query="SELECT password FROM users, pg_sleep(4) WHERE name = $1")
        self.srv.start()
        t0 = time.time()
        self.assertIn("[UNAVAILABLE]", imap_login(self.srv, "quinn", "pw-quinn"))
        self.assertLess(time.time() - t0, 3.5)
        self.assertIn("pgsql: lookup of user quinn timed out after 1000 ms",
                      self.srv.log_text())


if __name__ == "__main__":
    unittest.main()
