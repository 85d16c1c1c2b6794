"""LMTP side by side with Dovecot (RFC 2033): the same transactions to both
LMTP servers, replies compared as code and enhanced status code (RFC 3463;
the text is for humans, RFC 5321 §4.2), LHLO's extensions by keyword; then
what each stored, read back over IMAP: the same Return-Path and
Delivered-To trace fields and the same message below them."""
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffkit  # noqa: E402
import peer  # noqa: E402

USERS = {"fred": "pw-fred", "gina": "pw-gina"}
MSG = (b"From: sender@example.org\r\nTo: fred@example.test\r\nSubject: over LMTP\r\n"
       b"Message-ID: <lmtp-1@example.org>\r\n\r\nline one\r\n.starts with a dot\r\n"
       b"..two dots\r\n")


def normalize(line):
    """'250-2.1.5 Ok text' -> '250 2.1.5'; LHLO keywords stay."""
    text = line.decode("latin-1")
    m = re.match(r"^(\d{3})[ -](\d\.\d{1,3}\.\d{1,3})?", text)
    if not m:
        return text
    return m.group(1) + (" " + m.group(2) if m.group(2) else "")


def converse(port, script):
    """script: lines (str) or ("data", bytes) -> [(step, [replies])]."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        f = s.makefile("rb")

        def replies(n=1):
            got = []
            for _ in range(n):
                while True:
                    line = f.readline()
                    if not line:
                        return got + ["<closed>"]
                    line = line.rstrip(b"\r\n")
                    got.append(line)
                    if line[3:4] != b"-":
                        break
            return got

        out.append(("<greeting>", [normalize(l) for l in replies()]))
        rcpts = 0
        for step in script:
            if isinstance(step, tuple):
                s.sendall(re.sub(rb"(?m)^\.", b"..", step[1]) + b".\r\n")
                got = replies(max(rcpts, 1))
                rcpts = 0
                name = "<message>"
            else:
                s.sendall(step.encode() + b"\r\n")
                got = replies()
                name = step
                if step.upper().startswith("RCPT") and got and got[-1].startswith(b"250"):
                    rcpts += 1
                if step.upper().startswith(("MAIL", "RSET")):
                    rcpts = 0
            if name.upper().startswith("LHLO"):
                # extension keywords only: their values (SIZE limit) differ
                lines = [normalize(got[0])] + sorted(
                    l[4:].decode().split()[0].upper() for l in got[1:] if len(l) > 4)
            else:
                lines = [normalize(l) for l in got]
            out.append((name, lines))
            if got and got[-1] == "<closed>":
                break
    return out


class DiffLmtpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pair = peer.Pair(USERS)
        cls.pair.start()
        cls.known = diffkit.Known()

    @classmethod
    def tearDownClass(cls):
        cls.pair.stop()

    def differ(self, script, name):
        convs = [converse(s.port("lmtp"), script) for s in self.pair.servers]
        problems, excused = diffkit.compare("lmtp " + name, convs[0], convs[1], self.known)
        if problems:
            self.fail("%d differences not in known-differences (%d excused):\n%s" % (
                len(problems), excused, "\n".join(problems[:100])))

    def test_transactions(self):
        # RFC 2033 §4.2: one reply per accepted recipient after the data;
        # unknown users refused at RCPT; state errors (RFC 5321 §4.1.4)
        script = ["LHLO client.example", "RCPT TO:<fred@test.example>", "DATA",
                  "MAIL FROM:<sender@example.org>", "MAIL FROM:<again@example.org>",
                  "DATA", "RCPT TO:<nobody@test.example>", "RCPT TO:<fred@test.example>",
                  "RCPT TO:<gina@test.example>", "DATA", ("data", MSG),
                  "MAIL FROM:<>", "RCPT TO:<gina@test.example>", "RSET", "DATA",
                  "NOOP", "RSET", "QUIT"]
        self.differ(script, "transactions")

    def test_errors(self):
        self.differ(["HELO client.example", "EHLO client.example", "MAIL FROM:<a@b.c>",
                     "LHLO client.example", "MAIL FROM:bad", "MAIL FROM:<a@b.c>",
                     "RCPT TO:bad", "RCPT TO:<>", "FOO", "QUIT"], "errors")

    def test_stored_alike(self):
        # what was stored: Return-Path and Delivered-To the same (RFC 5321
        # §4.4, RFC 9228), the message itself byte for byte below them;
        # the Received fields name each server and its own ids
        for srv in self.pair.servers:
            reply = peer.deliver_lmtp(srv.port("lmtp"), ["gina@test.example"], MSG,
                                      "bounce@example.org")
            self.assertTrue(reply[0].startswith(b"250"), reply)
        got = []
        for srv in self.pair.servers:
            conv = diffkit.converse_imap(srv.port("imap"), [
                "EXAMINE INBOX",
                "FETCH * (BODY.PEEK[HEADER.FIELDS (Return-Path Delivered-To)] BODY.PEEK[TEXT] "
                "BODY.PEEK[HEADER.FIELDS.NOT (Return-Path Delivered-To Received)])"],
                ("gina", "pw-gina"))
            got.append(sorted(l for l in conv[-1][1] if " FETCH " in l))
        self.assertEqual(got[0], got[1])
        self.assertIn('"Return-Path: <bounce@example.org>\\r\\nDelivered-To: gina@test.example'
                      '\\r\\n\\r\\n"', " ".join(got[1]))


if __name__ == "__main__":
    unittest.main()
