"""IMAP sessions on the running server: greeting and CAPABILITY before and
after login and STARTTLS (RFC 3501 §6.1.1, §6.2.1, §7.2.1), implicit TLS,
the plaintext-login policy (CONTRACT.md: LOGINDISABLED / [PRIVACYREQUIRED]
off loopback is covered in unit tests; here loopback and TLS), and bad
input: binary garbage, overlong lines, literals over the limit or never
sent, unbalanced parentheses, mailbox names that try to leave the user's
Maildir, STARTTLS command injection, broken TLS.  After each, the server
still serves everyone and no stored mail is touched."""
import os
import socket
import ssl
import time
import unittest

import duotest
from duoimap import RawImap, ImapError


class ImapSessionTest(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-alice", "bob": "pw-bob"},
                                  listen=("imap", "imaps"))
        self.srv.start()
        self.assertEqual(self.srv.deliver("alice", b"Subject: keep me\n\nbody\n"), 0)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.stop()

    def raw(self, tls=False):
        c = RawImap(self.srv.port("imaps" if tls else "imap"),
                    tls_context=self.srv.client_tls_context() if tls else None)
        self.clients.append(c)
        return c

    def still_serving(self):
        c = self.raw()
        c.login("bob", "pw-bob")
        u = c.ok("SELECT INBOX")
        self.assertIn(b"* 0 EXISTS", u)
        files = self.srv.message_files("alice")
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            self.assertEqual(f.read(), b"Subject: keep me\n\nbody\n")

    # ---- capabilities ----

    def caps(self, c):
        u = c.ok("CAPABILITY")
        self.assertEqual(len(u), 1)
        self.assertTrue(u[0].startswith(b"* CAPABILITY "))
        return u[0].split()[2:]

    def test_capability_before_and_after_login(self):
        c = self.raw()
        self.assertTrue(c.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 "), c.greeting)
        before = self.caps(c)
        self.assertIn(b"IMAP4rev1", before)
        self.assertIn(b"STARTTLS", before)
        self.assertIn(b"AUTH=PLAIN", before)     # loopback: plaintext allowed
        self.assertNotIn(b"IDLE", before)
        u = c.login("alice", "pw-alice")
        after = self.caps(c)
        for cap in (b"IDLE", b"UNSELECT", b"CHILDREN", b"LITERAL+"):
            self.assertIn(cap, after)
        self.assertNotIn(b"STARTTLS", after)
        self.assertFalse([x for x in after if x.startswith(b"AUTH=")])

    def test_starttls_then_capability(self):
        """RFC 3501 §6.2.1: capabilities after STARTTLS are asked again; no
        STARTTLS any more."""
        c = self.raw()
        c.ok("STARTTLS")
        ctx = self.srv.client_tls_context()
        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        caps = self.caps(c)
        self.assertNotIn(b"STARTTLS", caps)
        self.assertIn(b"AUTH=PLAIN", caps)
        c.login("alice", "pw-alice")
        self.assertIn(b"* 1 EXISTS", c.ok("SELECT INBOX"))

    def test_starttls_discards_pipelined_plaintext(self):
        """RFC 2595 §3.1 / CVE-2011-0411: a command sent in the clear after
        STARTTLS must not run inside the TLS session."""
        c = self.raw()
        c.send("s1 STARTTLS\r\ns2 LOGIN alice pw-alice\r\n")
        self.assertTrue(c.line().startswith(b"s1 OK"))
        c.sock = self.srv.client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
        c.buf = b""
        _, tagged = c.cmd("SELECT INBOX")
        self.assertIn(b" BAD ", tagged)   # still not logged in

    def test_imaps(self):
        c = self.raw(tls=True)
        self.assertTrue(c.greeting.startswith(b"* OK"))
        c.login("alice", "pw-alice")
        self.assertIn(b"* 1 EXISTS", c.ok("SELECT INBOX"))

    def test_broken_tls(self):
        for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET / HTTP/1.0\r\n\r\n",
                     os.urandom(3000)):
            s = socket.create_connection(("127.0.0.1", self.srv.port("imaps")), timeout=5)
            try:
                s.sendall(junk)
            except OSError:
                pass
            s.close()
        # a handshake that never finishes does not hold the others up
        hang = socket.create_connection(("127.0.0.1", self.srv.port("imaps")), timeout=5)
        self.still_serving()
        hang.close()

    # ---- bad input ----

    def test_binary_garbage(self):
        c = self.raw()
        c.send(b"\x00\xff\xfe garbage \x80\x81\r\n")
        self.assertTrue(c.line().startswith(b"* BAD"))
        c.send(b"a1 \xc3\xa9\xff LOGIN alice pw-alice\r\n")
        self.assertIn(b" BAD ", c.line())
        c.login("alice", "pw-alice")
        self.still_serving()

    def test_overlong_line(self):
        c = self.raw()
        c.send(b"a1 NOOP " + b"x" * 200000 + b"\r\n")
        self.assertTrue(c.line().startswith(b"* BAD"))
        c.ok("NOOP")
        self.still_serving()

    def test_too_many_bad_commands(self):
        c = self.raw()
        with self.assertRaises(ImapError):
            for i in range(100):
                c.send("b%d FROBNICATE\r\n" % i)
                while True:
                    line = c.line()
                    if line.startswith(b"* BYE"):
                        raise ImapError("closed")
                    if line.startswith(b"b%d" % i):
                        break
        self.still_serving()

    def test_literal_over_limit_refused_before_sent(self):
        """RFC 7888 §4 / RFC 3501 §7.1: a literal too big is refused before
        its octets come, and the session goes on."""
        c = self.raw()
        c.send("a1 LOGIN {4294967296}\r\n")
        line = c.line()
        self.assertTrue(line.startswith(b"a1 BAD") or line.startswith(b"a1 NO"), line)
        c.ok("NOOP")

    def test_literal_announced_never_sent(self):
        c = self.raw()
        c.send("a1 LOGIN {20}\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        # the half command holds only this session
        self.still_serving()
        c.close()
        self.still_serving()

    def test_unbalanced_parentheses(self):
        c = self.raw()
        c.login("alice", "pw-alice")
        for bad in ('a1 STATUS INBOX (MESSAGES', 'a2 STATUS INBOX MESSAGES)',
                    'a3 LIST "" "*" ((((', 'a4 STATUS INBOX ((((((((((((((((((((((((((((((((((('
                    '(((((((((((((((((((((MESSAGES'):
            c.send(bad + "\r\n")
            self.assertIn(b" BAD", c.line(), bad)
        c.ok("NOOP")

    def test_mailbox_names_cannot_escape(self):
        """A mailbox name from the network never addresses a file outside the
        user's Maildir."""
        c = self.raw()
        c.login("alice", "pw-alice")
        self.escape = "duomail-escape-%d" % os.getpid()

        def tree():
            out = set()
            for dirpath, dirs, files in os.walk(self.srv.dir):
                out.update(os.path.join(dirpath, n) for n in dirs + files)
            return out
        before = tree()
        alice = self.srv.maildir("alice") + os.sep
        for name in ('"../bob"', '"a/../../bob"', '"/etc"', '".."', '"."', '"a/./b"',
                     '"..bob"', '"a//b"', '"~root"', '"a\\\\b"', '"../../../../tmp/%s"' % self.escape,
                     '"INBOX/../../bob"'):
            for cmd in ("CREATE %s", "SELECT %s", "DELETE %s", "RENAME Nope %s", "RENAME %s Nope",
                        "STATUS %s (MESSAGES)", "SUBSCRIBE %s"):
                _, tagged = c.cmd(cmd % name)
                self.assertNotIn(b" BAD Unknown", tagged)
        for path in tree() - before:
            # anything new is a Maildir++ folder of alice's: ROOT/alice/.name[/...]
            self.assertTrue(path.startswith(alice), path)
            rel = path[len(alice):].split(os.sep)
            if rel[0] not in ("subscriptions", "duomail-index", "duomail-index.lock") and \
                    not rel[0].startswith("duomail-"):
                self.assertTrue(rel[0].startswith(".") and rel[0] not in (".", ".."), path)
        self.assertFalse(os.path.exists(os.path.join(self.srv.root, "bob")))
        self.assertFalse(os.path.exists("/tmp/" + self.escape))
        self.still_serving()

    def test_logout(self):
        c = self.raw()
        c.login("alice", "pw-alice")
        u = c.ok("LOGOUT")
        self.assertTrue(u[0].startswith(b"* BYE"))
        with self.assertRaises(ImapError):
            c.line()

    def test_shutdown_says_bye(self):
        """RFC 3501 §7.1.5: BYE before the server closes."""
        c = self.raw()
        c.login("alice", "pw-alice")
        self.srv.proc.terminate()
        c.sock.settimeout(20)
        self.assertTrue(c.line().startswith(b"* BYE"))
        self.assertEqual(self.srv.proc.wait(timeout=30), 0)
        self.srv.start()
        self.still_serving()


if __name__ == "__main__":
    unittest.main()
