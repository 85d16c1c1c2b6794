"""FETCH against the running server with Python's imaplib, a real client's
literal handling, over plain IMAP and implicit TLS (RFC 8314): whole
messages byte for byte with CRLF line ends (RFC 3501 §2.3.4), a message of
several MB with bare LF lines through TLS back-pressure, parts of the RFC
3501 §6.4.5 example structure, header subsets, UID FETCH, and the implicit
\\Seen seen on disk.  The server's own tests (tests/unit/test_imap_fetch*.c)
cover the details; this is the whole binary end to end."""
import imaplib
import os
import re
import unittest

import duotest

DATA = os.path.join(os.environ.get("DUOMAIL_SOURCE_DIR", "../.."), "tests", "data", "mime")


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def corpus(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


class ImapFetchTest(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-alice"}, listen=("imap", "imaps"))
        self.srv.start()
        self.nested = corpus("nested.eml")
        self.simple = corpus("simple.eml")
        lines = [b"Subject: big\n", b"\n"]
        lines += [b"%07d " % i + b"x" * 70 + b"\n" for i in range(70000)]
        self.big = b"".join(lines)                # about 5.4 MB, bare LF
        for m in (self.simple, self.nested, self.big):
            self.assertEqual(self.srv.deliver("alice", m), 0)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.logout()
            except Exception:
                pass
        self.srv.stop()

    def client(self, tls):
        if tls:
            c = imaplib.IMAP4_SSL("localhost", self.srv.port("imaps"),
                                  ssl_context=self.srv.client_tls_context())
        else:
            c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"))
        self.clients.append(c)
        c.login("alice", "pw-alice")
        return c

    def literals(self, data):
        """imaplib's FETCH answer: (header, literal) tuples and b')' strings."""
        return [x for x in data if isinstance(x, tuple)]

    def check_whole_messages(self, tls):
        c = self.client(tls)
        typ, _ = c.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        typ, data = c.fetch("1:3", "(RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        got = self.literals(data)
        self.assertEqual(len(got), 3)
        for (head, body), want in zip(got, (self.simple, self.nested, self.big)):
            want = crlf(want)
            self.assertEqual(body, want)
            size = int(re.search(rb"RFC822\.SIZE (\d+)", head).group(1))
            self.assertEqual(size, len(want))

    def test_whole_messages_plain(self):
        self.check_whole_messages(False)

    def test_whole_messages_tls(self):
        self.check_whole_messages(True)

    def test_parts_and_headers(self):
        c = self.client(True)
        c.select("INBOX")
        typ, data = c.fetch("2", "(BODY.PEEK[3.1] BODY.PEEK[4.2.HEADER.FIELDS (Subject)] "
                                 "BODY.PEEK[4.1.MIME] BODY.PEEK[9])")
        self.assertEqual(typ, "OK")
        got = dict((re.search(rb"(BODY\[[^]]*\])", h).group(1), b)
                   for h, b in self.literals(data))
        self.assertEqual(got[b"BODY[3.1]"], b"Part 3.1 text.")
        self.assertEqual(got[b"BODY[4.2.HEADER.FIELDS (Subject)]"],
                         b"Subject: Deep inside\r\n\r\n")
        self.assertTrue(got[b"BODY[4.1.MIME]"].startswith(b"Content-Type: image/gif\r\n"))
        self.assertIn(b"BODY[9] NIL", b"".join(x if isinstance(x, bytes) else x[0]
                                              for x in data))
        typ, data = c.fetch("3", "(BODY.PEEK[TEXT]<5000000.20>)")
        (head, body), = self.literals(data)
        self.assertIn(b"BODY[TEXT]<5000000>", head)
        self.assertEqual(body, crlf(self.big)[len(b"Subject: big\r\n\r\n") + 5000000:][:20])
        typ, data = c.fetch("2", "BODYSTRUCTURE")
        self.assertEqual(typ, "OK")
        self.assertIn(b'"mixed" ("boundary" "outer")', data[0])

    def test_uid_fetch_and_seen(self):
        c = self.client(False)
        c.select("INBOX")
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 3)
        self.assertTrue(all(b"UID " in d for d in data))
        self.assertEqual(self.srv.flags_by_subject("alice").get("Lunch on Friday?"), "")
        typ, data = c.uid("FETCH", "1", "(BODY[TEXT])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Seen", b"".join(x if isinstance(x, bytes) else x[0] for x in data))
        self.assertEqual(self.srv.flags_by_subject("alice").get("Lunch on Friday?"), "S")
        # BODY.PEEK leaves it
        c.uid("FETCH", "2", "(BODY.PEEK[])")
        self.assertEqual(self.srv.flags_by_subject("alice").get("The complex example"), "")


if __name__ == "__main__":
    unittest.main()
