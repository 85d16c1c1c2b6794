"""POP3 side by side with Dovecot (issue 6): the same RFC 1939 / RFC 2449
conversations to Debian's Dovecot and to duomail, on the same users and the
same APPENDed corpus; normalized (diffkit.converse_pop3) and compared, with
only the differences tests/peer/known-differences lists excused."""
import base64
import hashlib
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffkit  # noqa: E402
import peer  # noqa: E402

USERS = {"dora": "pw-dora", "emil": "pw-emil", "hana": "pw-hana"}


class DiffPop3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pair = peer.Pair(USERS, plain_users=("hana",))
        cls.pair.start()
        cls.corpus = peer.generate_corpus(11, 12, samples=False)
        peer.append_to_both(cls.pair.servers, "dora", "pw-dora", cls.corpus)
        peer.append_to_both(cls.pair.servers, "emil", "pw-emil", cls.corpus[:3])
        peer.append_to_both(cls.pair.servers, "hana", "pw-hana", cls.corpus[:2])
        cls.known = diffkit.Known()

    @classmethod
    def tearDownClass(cls):
        cls.pair.stop()

    def differ(self, script, name):
        convs = [diffkit.converse_pop3(s.port("pop3"), script) for s in self.pair.servers]
        problems, excused = diffkit.compare("pop3 " + name, convs[0], convs[1], self.known)
        if problems:
            self.fail("%d differences not in known-differences (%d excused):\n%s" % (
                len(problems), excused, "\n".join(problems[:200])))
        return convs

    def test_transaction_commands(self):
        # RFC 1939 §5: STAT, LIST, UIDL, TOP, RETR, DELE, RSET, NOOP, each
        # form; the second session shows the deletion committed by QUIT (§6)
        n = len(self.corpus)
        script = ["CAPA", "USER dora", "PASS pw-dora", "CAPA", "STAT", "LIST", "UIDL",
                  "LIST 1", "LIST %d" % n, "UIDL 2", "TOP 1 0", "TOP 2 3", "TOP 3 100000",
                  "RETR 4", "NOOP", "DELE 5", "STAT", "LIST 5", "RETR 5", "UIDL", "RSET",
                  "STAT", "DELE 1", "DELE 2", "LIST", "QUIT"]
        self.differ(script, "transaction")
        self.differ(["USER dora", "PASS pw-dora", "STAT", "UIDL", "LIST", "RETR 1", "QUIT"],
                    "after-quit")

    def test_errors_and_odd_syntax(self):
        # RFC 1939: -ERR for unknown commands, wrong state and bad message
        # numbers; keywords are case-insensitive (§3)
        script = ["STAT", "RETR 1", "PASS nouser", "user emil", "pass wrong", "USER emil",
                  "PASS pw-emil", "stat", "LiSt", "LIST 0", "LIST 99", "LIST x", "RETR 0",
                  "RETR 4", "TOP 1", "TOP 1 -1", "DELE 99", "DELE 1", "DELE 1", "RETR 1",
                  "TOP 1 0", "UIDL 1", "LIST 1", "RSET", "LIST 1", "FOO", "USER emil", "QUIT"]
        self.differ(script, "errors")

    def test_tls(self):
        # pop3s and STLS (RFC 2595 §4, RFC 8314): the same answers over TLS
        ctx = self.pair.duomail.client_tls_context()
        convs = [diffkit.converse_pop3(s.port("pop3s"), ["CAPA", "USER emil", "PASS pw-emil",
                                                          "STAT", "STLS", "QUIT"], tls=ctx)
                 for s in self.pair.servers]
        problems, _ = diffkit.compare("pop3 pop3s", convs[0], convs[1], self.known)
        self.assertEqual(problems, [], "\n".join(problems))
        self.differ([("stls", ctx), "CAPA", ("stls", ctx), "USER emil", "PASS pw-emil",
                     "STLS", "LIST", "QUIT"], "stls")

    def test_apop(self):
        # RFC 1939 §7: APOP name digest, digest = MD5(timestamp + secret),
        # the timestamp from each server's own greeting
        for srv in self.pair.servers:
            c = diffkit.Pop3(srv.port("pop3"))
            try:
                greeting = c.line()
                stamp = re.search(rb"<[^>]*>", greeting)
                self.assertIsNotNone(stamp, greeting)
                out = []
                for cmd in (b"APOP hana " + hashlib.md5(stamp.group(0) + b"wrong").hexdigest()
                            .encode(),
                            b"APOP hana " + hashlib.md5(stamp.group(0) + b"pw-hana").hexdigest()
                            .encode(), b"STAT", b"APOP hana x", b"QUIT"):
                    c.sock.sendall(cmd + b"\r\n")
                    out.append(diffkit.normalize_pop3_status(c.line()))
                srv.apop_result = out
            finally:
                c.close()
        dovecot, duomail = (s.apop_result for s in self.pair.servers)
        self.assertEqual(duomail[1:], dovecot[1:])
        self.assertEqual(duomail[1], "+OK")
        self.assertEqual([dovecot[0], duomail[0]], ["-ERR [AUTH]", "-ERR [AUTH]"])

    def test_sasl_plain(self):
        # RFC 5034: AUTH PLAIN with the initial response, and in two steps
        ir = base64.b64encode(b"\0dora\0pw-dora").decode()
        self.differ(["AUTH PLAIN " + ir, "STAT", "QUIT"], "auth-plain-ir")
        self.differ(["AUTH PLAIN", ir, "STAT", "QUIT"], "auth-plain")
        bad = base64.b64encode(b"\0dora\0nope").decode()
        self.differ(["AUTH PLAIN " + bad, "AUTH PLAIN *", "AUTH", "QUIT"], "auth-bad")


if __name__ == "__main__":
    unittest.main()
