"""APPEND, COPY, MOVE and the post-login extras on the running server, with
Python's imaplib as the client (it sends synchronising literals and waits
for "+"), over plain IMAP and over imaps: APPENDUID/COPYUID (RFC 4315),
MOVE (RFC 6851), a message of several MB streamed through TLS and stored
byte for byte, TRYCREATE, the special-use folders of a new account
(RFC 6154), NAMESPACE (RFC 2342) and ENABLE (RFC 5161)."""
import imaplib
import os
import random
import re
import unittest

import duotest


def big_message(size, seed=7):
    rnd = random.Random(seed)
    body = bytearray()
    while len(body) < size:
        line = bytes(rnd.randrange(32, 256) for _ in range(76))
        body += line + b"\r\n"
    return b"Subject: big\r\n\r\n" + bytes(body[:size])


class AppendCopyTest(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-alice"}, listen=("imap", "imaps"))
        self.srv.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        self.srv.stop()

    def connect(self, tls=False):
        if tls:
            c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.port("imaps"),
                                  ssl_context=self.srv.client_tls_context(), timeout=30)
        else:
            c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        self.clients.append(c)
        c.login("alice", "pw-alice")
        # imaplib keeps the greeting's list; the post-login one is longer
        typ, data = c.capability()
        c.capabilities = tuple(data[0].decode().upper().split())
        return c

    def test_append_copy_move(self):
        c = self.connect()
        for cap in ("UIDPLUS", "MOVE", "NAMESPACE", "ENABLE", "SPECIAL-USE"):
            self.assertIn(cap, c.capabilities)
        date = imaplib.Time2Internaldate((1996, 7, 17, 2, 44, 25, 0, 0, -1))
        typ, data = c.append("INBOX", r"(\Seen \Flagged)", date, b"Subject: one\r\n\r\n1\r\n")
        self.assertEqual(typ, "OK")
        m = re.match(rb"\[APPENDUID (\d+) 1\]", data[0])
        self.assertIsNotNone(m, data)
        inbox_validity = int(m.group(1))
        c.append("INBOX", None, None, b"Subject: two\r\n\r\n2\r\n")
        c.append("INBOX", None, None, b"Subject: three\r\n\r\n3\r\n")
        self.assertEqual(self.srv.flags_by_subject("alice")["one"], "FS")

        typ, data = c.select("INBOX")
        self.assertEqual(data, [b"3"])
        typ, data = c.copy("1:2", "Archive")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"^\[COPYUID \d+ 1:2 1:2\]")
        typ, data = c.uid("COPY", "3", "Nosuch")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        # UID MOVE: COPYUID untagged first, then the EXPUNGE (RFC 6851 §4.3)
        typ, data = c.uid("MOVE", "2", "Trash")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.untagged_responses.pop("EXPUNGE", None), [b"2"])
        copyuid = [x for x in c.untagged_responses.pop("OK", []) if b"COPYUID" in x]
        self.assertTrue(copyuid and re.match(rb"\[COPYUID \d+ 2 1\]", copyuid[0]), copyuid)
        self.assertEqual(len(self.srv.message_files("alice", ".Archive")), 2)
        self.assertEqual(len(self.srv.message_files("alice", ".Trash")), 1)
        self.assertEqual(self.srv.count_mail("alice"), 2)
        # APPEND to the selected mailbox: EXISTS before the OK
        c.untagged_responses.pop("EXISTS", None)
        typ, data = c.append("INBOX", None, None, b"Subject: four\r\n\r\n4\r\n")
        self.assertRegex(data[0], rb"^\[APPENDUID %d 4\]" % inbox_validity)
        self.assertEqual(c.untagged_responses.pop("EXISTS", None), [b"3"])

    def test_big_append_over_tls(self):
        c = self.connect(tls=True)
        msg = big_message(6 << 20)
        typ, data = c.append("Drafts", r"(\Draft)", None, msg)
        self.assertEqual(typ, "OK", data)
        files = self.srv.message_files("alice", ".Drafts")
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            self.assertEqual(f.read(), msg)
        self.assertEqual(os.listdir(os.path.join(self.srv.maildir("alice"), ".Drafts", "tmp")),
                         [])

    def test_trycreate(self):
        c = self.connect()
        typ, data = c.append("Nosuch", None, None, b"Subject: x\r\n\r\nx\r\n")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        self.assertFalse(os.path.exists(os.path.join(self.srv.maildir("alice"), ".Nosuch")))
        c.create("Nosuch")
        typ, data = c.append("Nosuch", None, None, b"Subject: x\r\n\r\nx\r\n")
        self.assertEqual(typ, "OK")

    def test_special_use_namespace_enable(self):
        c = self.connect()
        typ, data = c.list()
        listed = {line.rsplit(b" ", 1)[1].strip(b'"'): line for line in data}
        for name, attr in ((b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"), (b"Trash", b"\\Trash"),
                           (b"Junk", b"\\Junk"), (b"Archive", b"\\Archive")):
            self.assertIn(attr, listed[name])
        self.assertNotIn(b"\\Sent", listed[b"INBOX"])
        typ, data = c.lsub()
        self.assertEqual(len(data), 5)
        typ, data = c.namespace()
        self.assertEqual(data, [b'(("" "/")) NIL NIL'])
        typ, data = c.enable("CONDSTORE")
        self.assertEqual(typ, "OK")


if __name__ == "__main__":
    unittest.main()
