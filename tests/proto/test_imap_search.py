"""SEARCH and UID SEARCH (RFC 3501 §6.4.4, §6.4.8) against the running
server, driven by Python's imaplib as a real client drives it: CHARSET
UTF-8 with the string in a literal, encoded-word headers and encoded bodies
of mail that came in through `duomail deliver`, flags set by STORE, and the
BAD/NO answers imaplib raises on."""
import imaplib
import unittest

import duotest

LATIN1_QP = (b"From: =?ISO-8859-1?Q?Andr=E9_Pirard?= <andre@example.be>\n"
             b"To: alice@example.test\n"
             b"Subject: =?UTF-8?Q?R=C3=A9union_=C3=A0_Li=C3=A8ge?=\n"
             b"Date: Tue, 3 Mar 2026 09:00:00 +0100\n"
             b"MIME-Version: 1.0\n"
             b"Content-Type: text/plain; charset=ISO-8859-1\n"
             b"Content-Transfer-Encoding: quoted-printable\n"
             b"\n"
             b"Rendez-vous au caf=E9 de la gare =E0 midi.\n")

UTF8_B64 = (b"From: bob@example.test\n"
            b"To: alice@example.test\n"
            b"Subject: =?utf-8?b?0J7RgtGH0ZHRgg==?=\n"          # Отчёт
            b"Date: 1 Mar 2024 10:00:00 +0000\n"
            b"MIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: base64\n"
            b"\n"
            b"0J/RgNC40LLQtdGCLCDQvNC40YAhINCe0YLRh9GR0YIg0LPQvtGC0L7Qsi4=\n")  # Привет, мир! Отчёт готов.

PLAIN = (b"From: carol@example.test\nTo: alice@example.test\nSubject: plain\n"
         b"X-Ticket: 4711\n\nnothing special\n")


class TestSearch(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-alice"}, listen=("imap",))
        self.srv.start()
        for m in (LATIN1_QP, UTF8_B64, PLAIN):
            self.assertEqual(self.srv.deliver("alice", m), 0)
        self.m = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"))
        self.m.login("alice", "pw-alice")
        self.m.select("INBOX")

    def tearDown(self):
        try:
            self.m.logout()
        finally:
            self.srv.stop()

    def search(self, *criteria, charset=None):
        typ, data = self.m.search(charset, *criteria)
        self.assertEqual(typ, "OK")
        return data[0].decode()

    def search_utf8(self, key, text):
        # imaplib sends the literal after "CHARSET UTF-8 <key>" (RFC 3501 §4.3)
        self.m.literal = text.encode()
        return self.search(key, charset="UTF-8")

    def test_keys(self):
        self.assertEqual(self.search("ALL"), "1 2 3")
        self.assertEqual(self.search("FROM", '"andr"'), "1")
        self.assertEqual(self.search_utf8("FROM", "ANDRÉ"), "1")
        self.assertEqual(self.search_utf8("SUBJECT", "réunion à liège"), "1")
        self.assertEqual(self.search_utf8("SUBJECT", "ОТЧЁТ"), "2")
        self.assertEqual(self.search_utf8("BODY", "café de la gare"), "1")
        self.assertEqual(self.search_utf8("BODY", "привет, мир"), "2")
        self.assertEqual(self.search("HEADER", "X-Ticket", '""'), "3")
        self.assertEqual(self.search("TEXT", "4711"), "3")
        self.assertEqual(self.search("SENTSINCE", "1-Mar-2026"), "1")
        self.assertEqual(self.search("NOT", "SENTSINCE", "1-Jan-2000"), "3")
        self.assertEqual(self.search("OR", "FROM", "bob", "SUBJECT", "plain"), "2 3")

    def test_flags_and_uid(self):
        typ, _ = self.m.store("2", "+FLAGS", "(\\Flagged \\Seen)")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.search("FLAGGED"), "2")
        self.assertEqual(self.search("UNSEEN"), "1 3")
        self.assertEqual(self.search("NEW"), "1 3")
        # keywords STORE made are searchable at once, by name in any case
        typ, _ = self.m.store("3", "+FLAGS", "(Project-X)")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.search("KEYWORD", "project-x"), "3")
        self.assertEqual(self.search("UNKEYWORD", "Project-X"), "1 2")
        self.assertEqual(self.search("KEYWORD", "Never-Used"), "")
        typ, data = self.m.uid("SEARCH", "FLAGGED")
        self.assertEqual(typ, "OK")
        typ, uids = self.m.uid("SEARCH", "ALL")
        self.assertEqual(data[0].split(), uids[0].split()[1:2])

    def test_errors(self):
        # §6.4.4: NO (imaplib returns it), not BAD (imaplib raises)
        typ, data = self.m.search("KOI8-R", "ALL")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[BADCHARSET (UTF-8 US-ASCII)]", data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.search(None, "SINCE", "tomorrow")
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.search(None, "4")
        # the session goes on
        self.assertEqual(self.search("SUBJECT", "plain"), "3")


if __name__ == "__main__":
    unittest.main()
