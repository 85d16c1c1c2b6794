"""POP3 protocol tests against the real `duomail serve` on loopback.

Each test drives the server with raw commands (or Python's poplib) and
asserts what RFC 1939, RFC 2449, RFC 5034, RFC 2595 and RFC 6856 require.
Run by ctest with Debian's /usr/bin/python3; see tests/CMakeLists.txt.
"""
import base64
import hashlib
import os
import poplib
import socket
import ssl
import time
import unittest

import duotest

MSG1 = (b"From: Alice <alice@example.test>\n"
        b"To: demo@example.test\n"
        b"Subject: first\n"
        b"\n"
        b"Hello.\n"
        b".leading dot\n"
        b"..two dots\n"
        b"last line\n")
MSG2 = (b"From: Bob <bob@example.test>\r\n"
        b"Subject: second, CRLF on disk\r\n"
        b"\r\n"
        b"line 1\r\nline 2\r\nline 3\r\n")
MSG3 = b"Subject: no final newline\n\nbody without newline"


def crlf(data):
    """The message as POP3 sends it: every line ending CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Pop3Client:
    """A line-level POP3 client: sends exactly what the test says."""

    def __init__(self, port, tls_context=None, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; buffered: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def multiline(self):
        """Lines of a multi-line response, dot-unstuffed, until '.'."""
        lines = []
        while True:
            line = self.line()
            if line == ".":
                return lines
            lines.append(line[1:] if line.startswith(".") else line)

    def raw_until_dot(self):
        """The raw bytes of a multi-line body including the final '.\\r\\n'."""
        while b"\r\n.\r\n" not in self.buf and not self.buf.startswith(b".\r\n"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        if self.buf.startswith(b".\r\n"):
            body, self.buf = b".\r\n", self.buf[3:]
            return body
        end = self.buf.index(b"\r\n.\r\n") + 5
        body, self.buf = self.buf[:end], self.buf[end:]
        return body

    def login(self, user="alice", password="secret"):
        assert self.cmd("USER " + user).startswith("+OK")
        reply = self.cmd("PASS " + password)
        assert reply.startswith("+OK"), reply
        return reply

    def closed_by_server(self):
        """True if the server closes the connection (bounded wait)."""
        try:
            self.sock.settimeout(5)
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Pop3Base(unittest.TestCase):
    config = {}
    users = {"alice": "secret", "bob": "hunter2"}
    plain_users = {"carol": "apop-secret"}

    @classmethod
    def setUpClass(cls):
        cls.server = duotest.Server(users=cls.users, plain_users=cls.plain_users,
                                    config=cls.config)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.clients = []
        for user in list(self.users) + list(self.plain_users):
            self.server.clear_mail(user)
        for msg in (MSG1, MSG2, MSG3):
            self.assertEqual(self.server.deliver("alice", msg), 0)

    def tearDown(self):
        for c in self.clients:
            c.close()

    def connect(self, tls=False, port=None):
        ctx = self.server.client_tls_context() if tls else None
        c = Pop3Client(port or (self.server.port("pop3s") if tls else self.server.port("pop3")),
                       tls_context=ctx)
        self.clients.append(c)
        return c


class TestAuthorization(Pop3Base):
    def test_greeting_has_apop_timestamp(self):
        # RFC 1939 §7: the greeting carries a unique <timestamp>.
        c1, c2 = self.connect(), self.connect()
        for c in (c1, c2):
            self.assertTrue(c.greeting.startswith("+OK"))
            self.assertRegex(c.greeting, r"<[^<>@]+@[^<>]+>$")
        self.assertNotEqual(c1.greeting, c2.greeting)

    def test_capa_before_and_after_login(self):
        # RFC 2449 §5: CAPA in both states, lists what is valid there.
        c = self.connect()
        self.assertTrue(c.cmd("CAPA").startswith("+OK"))
        caps = c.multiline()
        for want in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER",
                     "SASL PLAIN LOGIN", "STLS", "EXPIRE NEVER", "UTF8", "LANG"):
            self.assertIn(want, caps)
        self.assertTrue(any(x.startswith("IMPLEMENTATION ") for x in caps))
        self.assertFalse(any(x.startswith("LOGIN-DELAY") for x in caps))
        c.login()
        self.assertTrue(c.cmd("CAPA").startswith("+OK"))
        caps = c.multiline()
        self.assertIn("TOP", caps)
        self.assertNotIn("USER", caps)
        self.assertNotIn("STLS", caps)
        self.assertFalse(any(x.startswith("SASL") for x in caps))

    def test_user_pass(self):
        c = self.connect()
        reply = c.login()
        self.assertIn("3 messages", reply)

    def test_wrong_password_and_unknown_user_look_the_same(self):
        # RFC 3206: [AUTH] for a credentials problem; no user enumeration.
        c = self.connect()
        self.assertTrue(c.cmd("USER alice").startswith("+OK"))
        r1 = c.cmd("PASS wrong")
        self.assertTrue(r1.startswith("-ERR [AUTH]"), r1)
        self.assertTrue(c.cmd("USER nosuchuser").startswith("+OK"))
        r2 = c.cmd("PASS wrong")
        self.assertEqual(r1, r2)
        # Still in AUTHORIZATION: a correct login works afterwards.
        c.login()

    def test_pass_without_user(self):
        c = self.connect()
        self.assertTrue(c.cmd("PASS secret").startswith("-ERR"))

    def test_password_with_spaces(self):
        # RFC 1939 §7: spaces may be part of the password.  The passwd-file
        # is re-read on change (checked at most once a second).
        self.server.add_user("spacey", "a pass with many spaces in it")
        time.sleep(1.2)
        c = self.connect()
        c.login("spacey", "a pass with many spaces in it")
        self.assertTrue(c.cmd("LIST 1 2 3 4 5").startswith("-ERR"))

    def test_wrong_state(self):
        c = self.connect()
        for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "UIDL", "TOP 1 1"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        c.login()
        for cmd in ("USER alice", "PASS x", "APOP alice 0123456789abcdef0123456789abcdef",
                    "AUTH PLAIN", "STLS", "UTF8"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        self.assertTrue(c.cmd("NOOP").startswith("+OK"))

    def test_quit_in_authorization(self):
        c = self.connect()
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        self.assertTrue(c.closed_by_server())

    def test_apop(self):
        # RFC 1939 §7: MD5(timestamp + secret), for users with a plaintext secret.
        c = self.connect()
        ts = c.greeting[c.greeting.index("<"):]
        digest = hashlib.md5((ts + "apop-secret").encode()).hexdigest()
        self.assertTrue(c.cmd("APOP carol " + digest).startswith("+OK"))

    def test_apop_wrong_digest_and_hashed_user(self):
        c = self.connect()
        ts = c.greeting[c.greeting.index("<"):]
        self.assertTrue(c.cmd("APOP carol " + "0" * 32).startswith("-ERR [AUTH]"))
        # alice's password is stored hashed: APOP cannot work for her.
        digest = hashlib.md5((ts + "secret").encode()).hexdigest()
        self.assertTrue(c.cmd("APOP alice " + digest).startswith("-ERR [AUTH]"))
        self.assertTrue(c.cmd("APOP alice nothex").startswith("-ERR"))

    def test_in_use(self):
        # RFC 2449 §8.1.1 / RFC 1939 §8: one maildrop, one session.
        c1 = self.connect()
        c1.login()
        c2 = self.connect()
        self.assertTrue(c2.cmd("USER alice").startswith("+OK"))
        self.assertTrue(c2.cmd("PASS secret").startswith("-ERR [IN-USE]"))
        self.assertTrue(c1.cmd("QUIT").startswith("+OK"))
        self.assertTrue(c1.closed_by_server())
        c3 = self.connect()
        c3.login()
        # Another user is not affected.
        c4 = self.connect()
        c4.login("bob", "hunter2")


class TestSasl(Pop3Base):
    def test_auth_list(self):
        c = self.connect()
        self.assertTrue(c.cmd("AUTH").startswith("+OK"))
        self.assertEqual(c.multiline(), ["PLAIN", "LOGIN"])

    def test_plain_initial_response(self):
        # RFC 5034 §4 with RFC 4616 PLAIN.
        c = self.connect()
        ir = base64.b64encode(b"\0alice\0secret").decode()
        self.assertTrue(c.cmd("AUTH PLAIN " + ir).startswith("+OK"))
        self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))

    def test_plain_with_continuation_and_authzid(self):
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        reply = c.cmd(base64.b64encode(b"alice\0alice\0secret").decode())
        self.assertTrue(reply.startswith("+OK"), reply)

    def test_plain_wrong_authzid(self):
        c = self.connect()
        ir = base64.b64encode(b"bob\0alice\0secret").decode()
        self.assertTrue(c.cmd("AUTH PLAIN " + ir).startswith("-ERR"))

    def test_login_mechanism(self):
        c = self.connect()
        r = c.cmd("AUTH LOGIN")
        self.assertTrue(r.startswith("+ "))
        self.assertEqual(base64.b64decode(r[2:]), b"Username:")
        r = c.cmd(base64.b64encode(b"alice").decode())
        self.assertEqual(base64.b64decode(r[2:]), b"Password:")
        self.assertTrue(c.cmd(base64.b64encode(b"secret").decode()).startswith("+OK"))

    def test_cancel_and_bad_base64(self):
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.assertTrue(c.cmd("*").startswith("-ERR"))
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.assertTrue(c.cmd("!!!not base64!!!").startswith("-ERR"))
        self.assertTrue(c.cmd("AUTH PLAIN ====").startswith("-ERR"))
        self.assertTrue(c.cmd("AUTH NOSUCHMECH").startswith("-ERR"))
        # The session goes on.
        c.login()

    def test_empty_initial_response(self):
        # RFC 5034 §4: "=" is an empty initial response; PLAIN then fails.
        c = self.connect()
        self.assertTrue(c.cmd("AUTH PLAIN =").startswith("-ERR"))
        c.login()


class TestTransaction(Pop3Base):
    def test_stat_list_sizes_are_crlf_sizes(self):
        c = self.connect()
        c.login()
        sizes = [len(crlf(m)) for m in (MSG1, MSG2, MSG3)]
        self.assertEqual(c.cmd("STAT"), "+OK 3 %d" % sum(sizes))
        self.assertTrue(c.cmd("LIST").startswith("+OK"))
        self.assertEqual(c.multiline(), ["%d %d" % (i + 1, s) for i, s in enumerate(sizes)])
        self.assertEqual(c.cmd("LIST 2"), "+OK 2 %d" % sizes[1])
        for bad in ("LIST 0", "LIST 4", "LIST x", "LIST -1", "LIST 99999999999999999999"):
            self.assertTrue(c.cmd(bad).startswith("-ERR"), bad)

    def test_retr_is_byte_exact(self):
        c = self.connect()
        c.login()
        for i, msg in enumerate((MSG1, MSG2, MSG3), 1):
            reply = c.cmd("RETR %d" % i)
            self.assertEqual(reply, "+OK %d octets" % len(crlf(msg)))
            body = c.raw_until_dot()
            want = crlf(msg)
            if not want.endswith(b"\r\n"):
                want += b"\r\n"
            # Byte-stuffing: lines starting with '.' get one more.
            want = b"\r\n".join(b"." + l if l.startswith(b".") else l
                                for l in want.split(b"\r\n"))
            self.assertEqual(body, want + b".\r\n")

    def test_top(self):
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("TOP 1 0").startswith("+OK"))
        self.assertEqual(c.multiline(), ["From: Alice <alice@example.test>",
                                         "To: demo@example.test", "Subject: first", ""])
        self.assertTrue(c.cmd("TOP 1 2").startswith("+OK"))
        self.assertEqual(c.multiline()[-3:], ["", "Hello.", ".leading dot"])
        self.assertTrue(c.cmd("TOP 1 x").startswith("-ERR"))
        self.assertTrue(c.cmd("TOP 1").startswith("-ERR"))

    def test_uidl(self):
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("UIDL").startswith("+OK"))
        lines = c.multiline()
        self.assertEqual(len(lines), 3)
        uidls = [l.split(" ", 1)[1] for l in lines]
        self.assertEqual(len(set(uidls)), 3)
        for u in uidls:
            # RFC 1939 §7: 1 to 70 characters in 0x21..0x7E.
            self.assertTrue(1 <= len(u) <= 70)
            self.assertTrue(all(0x21 <= ord(ch) <= 0x7E for ch in u))
        self.assertEqual(c.cmd("UIDL 2"), "+OK 2 " + uidls[1])

    def test_dele_rset_quit(self):
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("DELE 1").startswith("-ERR"))
        self.assertTrue(c.cmd("RETR 1").startswith("-ERR"))
        self.assertTrue(c.cmd("STAT").startswith("+OK 2 "))
        self.assertTrue(c.cmd("LIST").startswith("+OK"))
        self.assertEqual([l.split()[0] for l in c.multiline()], ["2", "3"])
        self.assertTrue(c.cmd("RSET").startswith("+OK"))
        self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        self.assertTrue(c.closed_by_server())
        self.assertEqual(self.server.count_mail("alice"), 2)
        c2 = self.connect()
        c2.login()
        self.assertTrue(c2.cmd("RETR 2").startswith("+OK"))
        self.assertIn("no final newline", "\n".join(c2.multiline()))

    def test_no_deletion_without_quit(self):
        # RFC 1939 §6: a session that ends without QUIT enters no UPDATE state.
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        c.close()
        time.sleep(0.3)
        self.assertEqual(self.server.count_mail("alice"), 3)
        c2 = self.connect()
        self.assertIn("3 messages", c2.login())

    def test_retr_sets_seen_top_does_not(self):
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
        c.multiline()
        self.assertTrue(c.cmd("TOP 2 1").startswith("+OK"))
        c.multiline()
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        self.assertTrue(c.closed_by_server())
        flags = self.server.flags_by_subject("alice")
        self.assertIn("S", flags["first"])
        self.assertNotIn("S", flags["second, CRLF on disk"])

    def test_uidl_survives_index_loss(self):
        # DESIGN.md: a UIDL is fixed for the life of the message.
        c = self.connect()
        c.login()
        c.cmd("UIDL")
        before = c.multiline()
        c.cmd("QUIT")
        self.assertTrue(c.closed_by_server())
        for root, dirs, files in os.walk(self.server.maildir("alice")):
            for f in files:
                if f.startswith("duomail-index"):
                    os.unlink(os.path.join(root, f))
        c2 = self.connect()
        c2.login()
        c2.cmd("UIDL")
        self.assertEqual(c2.multiline(), before)

    def test_message_dropped_into_new_by_another_program(self):
        md = self.server.maildir("alice")
        tmp = os.path.join(md, "tmp", "1700000000.foreign.host")
        with open(tmp, "wb") as f:
            f.write(b"Subject: foreign\n\nfrom an MTA\n")
        os.rename(tmp, os.path.join(md, "new", "1700000000.foreign.host"))
        c = self.connect()
        self.assertIn("4 messages", c.login())

    def test_message_removed_by_someone_else(self):
        # The RFC 1939 snapshot keeps its numbering; the gone message is -ERR.
        c = self.connect()
        c.login()
        for root, dirs, files in os.walk(os.path.join(self.server.maildir("alice"), "cur")):
            victim = sorted(files)[0]
            os.unlink(os.path.join(root, victim))
        results = []
        for i in (1, 2, 3):
            results.append(c.cmd("RETR %d" % i))
            if results[-1].startswith("+OK"):
                c.multiline()
        errors = [r for r in results if r.startswith("-ERR")]
        self.assertEqual(len(errors), 1, results)
        self.assertIn("removed by another session", errors[0])
        self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_pipelining(self):
        # RFC 2449 §6.6: commands sent in one go are answered in order.
        c = self.connect()
        c.send("USER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nNOOP\r\nUIDL 3\r\n"
               "RETR 3\r\nQUIT\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.line().startswith("+OK Logged in"))
        self.assertTrue(c.line().startswith("+OK 3 "))
        self.assertTrue(c.line().startswith("+OK 1 "))
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.line().startswith("+OK 3 "))
        self.assertTrue(c.line().startswith("+OK"))
        self.assertIn("body without newline", c.multiline())
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.closed_by_server())

    def test_poplib(self):
        p = poplib.POP3("127.0.0.1", self.server.port("pop3"), timeout=10)
        p.user("alice")
        p.pass_("secret")
        count, size = p.stat()
        self.assertEqual(count, 3)
        resp, lines, octets = p.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", crlf(MSG1))
        self.assertIn("TOP", p.capa())
        p.quit()


class TestBadInput(Pop3Base):
    def test_unknown_and_garbage(self):
        c = self.connect()
        self.assertTrue(c.cmd("XYZZY").startswith("-ERR"))
        self.assertTrue(c.cmd("").startswith("-ERR"))
        c.send(b"\x00\x01\x02\xff\xfe garbage\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        c.send(b"STAT\x00\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        c.login()
        self.assertTrue(c.cmd("STAT").startswith("+OK"))

    def test_overlong_line(self):
        c = self.connect()
        self.assertTrue(c.cmd("USER " + "x" * 5000).startswith("-ERR"))
        c.send("NOOP " + "y" * 100000 + "\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        c.login()
        self.assertTrue(c.cmd("NOOP").startswith("+OK"))

    def test_too_many_bad_commands(self):
        c = self.connect()
        for _ in range(19):
            self.assertTrue(c.cmd("BOGUS").startswith("-ERR"))
        c.send("BOGUS\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        self.assertTrue(c.closed_by_server())
        # Others are served.
        self.connect().login()

    def test_client_vanishes_mid_retr(self):
        big = b"Subject: big\n\n" + (b"0123456789" * 10 + b"\n") * 200000
        self.assertEqual(self.server.deliver("bob", big), 0)
        c = self.connect()
        c.login("bob", "hunter2")
        c.send("DELE 1\r\nRETR 1\r\n")
        c.sock.recv(1000)
        c.close()
        time.sleep(0.5)
        self.assertEqual(self.server.count_mail("bob"), 1)
        c2 = self.connect()
        c2.login("bob", "hunter2")

    def test_large_message_slow_reader(self):
        big = b"Subject: big\n\n" + b"".join(b"line %07d ......................\n" % i
                                             for i in range(150000))
        self.assertEqual(self.server.deliver("bob", big), 0)
        c = self.connect()
        c.login("bob", "hunter2")
        self.assertEqual(c.cmd("RETR 1"), "+OK %d octets" % len(crlf(big)))
        time.sleep(1)   # the server must wait for us, not buffer everything
        # Meanwhile another client is served.
        other = self.connect()
        other.login()
        self.assertTrue(other.cmd("STAT").startswith("+OK 3 "))
        body = c.raw_until_dot()
        self.assertEqual(body, crlf(big) + b".\r\n")


class TestTls(Pop3Base):
    def test_pop3s(self):
        c = self.connect(tls=True)
        self.assertTrue(c.greeting.startswith("+OK"))
        c.login()
        self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
        self.assertTrue(c.cmd("CAPA").startswith("+OK"))
        self.assertNotIn("STLS", c.multiline())

    def test_stls(self):
        c = self.connect()
        self.assertTrue(c.cmd("STLS").startswith("+OK"))
        c.sock = self.server.client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
        self.assertTrue(c.cmd("CAPA").startswith("+OK"))
        self.assertNotIn("STLS", c.multiline())
        self.assertTrue(c.cmd("STLS").startswith("-ERR"))
        c.login()

    def test_stls_discards_pipelined_plaintext(self):
        # RFC 2595 §3.1, CVE-2011-0411: "USER alice" here was sent in clear
        # behind STLS and must not be executed as if it came over TLS.
        c = self.connect()
        c.send("STLS\r\nUSER alice\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        c.sock = self.server.client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
        self.assertTrue(c.cmd("PASS secret").startswith("-ERR"))

    def test_tls_versions_below_12_refused(self):
        ctx = self.server.client_tls_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            Pop3Client(self.server.port("pop3s"), tls_context=ctx)

    def test_garbage_handshake(self):
        s = socket.create_connection(("127.0.0.1", self.server.port("pop3s")), timeout=10)
        s.sendall(b"USER alice\r\n" + os.urandom(2000))
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except (ConnectionError, socket.timeout):
            pass
        s.close()
        # The server is fine.
        self.connect(tls=True).login()

    def test_poplib_stls(self):
        p = poplib.POP3("127.0.0.1", self.server.port("pop3"), timeout=10)
        p.stls(self.server.client_tls_context())
        p.user("alice")
        p.pass_("secret")
        self.assertEqual(p.stat()[0], 3)
        p.quit()


class TestPlaintextPolicy(Pop3Base):
    # Loopback counts as insecure here, as a remote client would.
    config = {"auth": {"plaintext_on_loopback": "no"}}

    def test_plaintext_refused_in_clear(self):
        c = self.connect()
        self.assertTrue(c.cmd("USER alice").startswith("-ERR [AUTH]"))
        self.assertTrue(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())
                        .startswith("-ERR [AUTH]"))
        self.assertTrue(c.cmd("CAPA").startswith("+OK"))
        caps = c.multiline()
        self.assertNotIn("USER", caps)
        self.assertIn("STLS", caps)
        self.assertFalse(any(x.startswith("SASL") for x in caps))

    def test_allowed_after_stls(self):
        c = self.connect()
        self.assertTrue(c.cmd("STLS").startswith("+OK"))
        c.sock = self.server.client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
        c.login()


class TestUtf8Lang(Pop3Base):
    def setUp(self):
        super().setUp()
        self.server.deliver("alice", "Subject: Grüße aus München\n\nHallo\n".encode())

    def test_utf8_headers_need_utf8_mode(self):
        # RFC 6856 §2.1 and §5: -ERR [UTF8] unless UTF8 was given.
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("RETR 4").startswith("-ERR [UTF8]"))
        self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
        c.multiline()
        c2 = self.connect()
        self.assertTrue(c2.cmd("UTF8").startswith("+OK"))
        self.assertTrue(c2.cmd("STLS").startswith("-ERR"))
        # Not the same maildrop lock: c still holds alice.
        c.cmd("QUIT")
        self.assertTrue(c.closed_by_server())
        c2.login()
        self.assertTrue(c2.cmd("RETR 4").startswith("+OK"))
        self.assertIn("Subject: Grüße aus München", c2.multiline())

    def test_only_the_header_counts(self):
        # RFC 6856 §2.1 is about header fields: UTF-8 in the body alone
        # needs no UTF8 mode.  The header ends at the first blank line,
        # with LF or CRLF line ends.
        self.server.deliver("alice", "Subject: plain\r\n\r\nGrüße\r\n".encode())
        self.server.deliver("alice", "Subject: plain\r\nX-Name: Jürgen\r\n\r\nb\r\n".encode())
        self.server.deliver("alice", "\nX-Not-A-Header: Jürgen\n".encode())
        c = self.connect()
        c.login()
        self.assertTrue(c.cmd("RETR 5").startswith("+OK"))
        self.assertIn("Grüße", "\n".join(c.multiline()))
        self.assertTrue(c.cmd("RETR 6").startswith("-ERR [UTF8]"))
        self.assertTrue(c.cmd("RETR 7").startswith("+OK"))
        c.multiline()
        c.cmd("QUIT")

    def test_lang(self):
        c = self.connect()
        self.assertTrue(c.cmd("LANG").startswith("+OK"))
        self.assertEqual(c.multiline(), ["en English"])
        self.assertTrue(c.cmd("LANG en").startswith("+OK en "))
        self.assertTrue(c.cmd("LANG *").startswith("+OK en "))
        self.assertTrue(c.cmd("LANG MUL").startswith("-ERR"))
        c.login()
        self.assertTrue(c.cmd("LANG en").startswith("+OK en "))


class TestLoginDelayExpire(Pop3Base):
    config = {"pop3": {"login_delay": "600", "expire": "0"}}

    def test_login_delay_and_expire_zero(self):
        c = self.connect()
        c.cmd("CAPA")
        caps = c.multiline()
        self.assertIn("LOGIN-DELAY 600", caps)
        self.assertIn("EXPIRE 0", caps)
        c.login()
        self.assertTrue(c.cmd("RETR 2").startswith("+OK"))
        c.multiline()
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        self.assertTrue(c.closed_by_server())
        # EXPIRE 0: a retrieved message is gone after QUIT.
        self.assertEqual(self.server.count_mail("alice"), 2)
        # RFC 2449 §8.1.2: too soon again.
        c2 = self.connect()
        self.assertTrue(c2.cmd("USER alice").startswith("+OK"))
        self.assertTrue(c2.cmd("PASS secret").startswith("-ERR [LOGIN-DELAY]"))
        # Another account has its own clock.
        self.connect().login("bob", "hunter2")


class TestServerLifecycle(unittest.TestCase):
    def test_sighup_reloads_users_and_sigterm_exits_zero(self):
        srv = duotest.Server(users={"alice": "secret"})
        srv.start()
        try:
            srv.add_user("dave", "newpass")
            srv.reload()
            time.sleep(0.5)
            c = Pop3Client(srv.port("pop3"))
            c.login("dave", "newpass")
            idle = Pop3Client(srv.port("pop3"))
        finally:
            code = srv.stop()
        self.assertEqual(code, 0)
        # The idle session was told and closed.
        self.assertTrue(idle.closed_by_server())

    def test_config_errors_exit_2_with_file_line_key(self):
        r = duotest.run_duomail(["serve", "--config", "/nonexistent.conf"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent.conf", r.stderr)
        path = duotest.write_temp("[listen]\npop3 = 127.0.0.1:1\n[pop3]\nbogus = 1\n")
        self.addCleanup(os.unlink, path)
        r = duotest.run_duomail(["serve", "--config", path])
        self.assertEqual(r.returncode, 2)
        self.assertIn(path + ":4: [pop3] bogus", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
