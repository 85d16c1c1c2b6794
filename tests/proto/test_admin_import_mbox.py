"""`duomail import --from mbox`: From_ lines split messages (their date is
the INTERNALDATE), >From lines are unquoted (mboxrd), Status/X-Status give
flags, X-IMAPbase/X-UID/X-Keywords (UW-IMAP, Dovecot) give UIDVALIDITY,
UIDs and keywords, and those headers are not kept in the messages."""
import imaplib
import os
import re
import tempfile
import unittest

import duotest

MBOX = (b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n"
        b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
        b"X-IMAP: 1700000000 0000000012\n"
        b"Status: RO\n"
        b"\n"
        b"This text is part of the internal format of your mail folder.\n"
        b"\n"
        b"From alice@example.org Fri Jan  2 10:00:00 2026\n"
        b"Subject: first\n"
        b"Status: RO\n"
        b"X-Status: AF\n"
        b"X-Keywords: Work $Label2\n"
        b"X-UID: 5\n"
        b"Content-Length: 999\n"
        b"\n"
        b"Hello\n"
        b">From the start of a line, quoted once\n"
        b">>From quoted twice\n"
        b"\n"
        b"\n"
        b"From bob@example.org Sat Jan  3 11:30:00 2026\n"
        b"Subject: second\n"
        b"X-UID: 9\n"
        b"\n"
        b"Second body\n"
        b"\n")


class TestImportMbox(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"bob": "pw"}, listen=("imap",))
        self.srv.start()
        self.addCleanup(self.srv.stop)
        fd, self.path = tempfile.mkstemp(prefix="duomail-test-", suffix=".mbox")
        os.close(fd)
        self.addCleanup(os.unlink, self.path)

    def imp(self, data, *extra):
        with open(self.path, "wb") as f:
            f.write(data)
        return duotest.run_duomail(["import", "--from", "mbox", "--config",
                                    self.srv.config_path] + list(extra) + [self.path, "bob"])

    def fetch_all(self, mailbox):
        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        c.login("bob", "pw")
        typ, _ = c.select(mailbox)
        self.assertEqual(typ, "OK")
        validity = int(c.response("UIDVALIDITY")[1][0])
        typ, data = c.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        msgs = {}
        for item in data:
            if isinstance(item, tuple):
                meta = item[0].decode()
                uid = int(re.search(r"UID (\d+)", meta).group(1))
                flags = sorted(re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split())
                date = re.search(r'INTERNALDATE "([^"]+)"', meta).group(1)
                msgs[uid] = (flags, date, item[1])
        typ, lsub = c.lsub()
        c.logout()
        return validity, msgs, lsub

    def test_import_keeps_uids_flags_and_unquotes(self):
        r = self.imp(MBOX, "--mailbox", "Archive/Old")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("imported 2 messages", r.stdout)
        validity, msgs, lsub = self.fetch_all('"Archive/Old"')
        self.assertEqual(validity, 1700000000)
        self.assertEqual(sorted(msgs), [5, 9])
        flags, date, body = msgs[5]
        self.assertEqual(flags, sorted(["$Label2", "Work", "\\Answered", "\\Flagged",
                                        "\\Seen"]))
        self.assertEqual(date.strip()[:17], "2-Jan-2026 10:00:", date)  # date-day-fixed
        # Metadata headers are gone, the rest is as it was; one level of
        # '>' quoting is undone; the blank line before a From_ is the mbox's.
        self.assertEqual(body.replace(b"\r\n", b"\n"),
                         b"Subject: first\n\nHello\n"
                         b"From the start of a line, quoted once\n"
                         b">From quoted twice\n\n")
        self.assertEqual(msgs[9][0], [])
        self.assertEqual(msgs[9][2].replace(b"\r\n", b"\n"), b"Subject: second\n\nSecond body\n")
        self.assertTrue(any(b"Archive/Old" in l for l in lsub), lsub)
        st = duotest.run_duomail(["mailbox", "status", "--config", self.srv.config_path,
                                  "bob", "Archive/Old"])
        self.assertIn("uidnext=13", st.stdout)

    def test_without_uids_numbers_from_one(self):
        data = (b"From a Fri Jan  2 10:00:00 2026\nSubject: a\n\nA\n\n"
                b"From b Fri Jan  2 10:00:01 2026\nSubject: b\n\nB\n")
        r = self.imp(data)
        self.assertEqual(r.returncode, 0, r.stderr)
        validity, msgs, _ = self.fetch_all("INBOX")
        self.assertEqual(sorted(msgs), [1, 2])
        self.assertEqual(msgs[2][2].replace(b"\r\n", b"\n"), b"Subject: b\n\nB\n")

    def test_crlf_mbox_bytes_kept(self):
        data = (b"From a Fri Jan  2 10:00:00 2026\r\nSubject: a\r\n\r\nA\r\n\r\n\r\nB\r\n\r\n"
                b"From b Fri Jan  2 10:00:01 2026\r\nSubject: b\r\n\r\nC\r\n")
        r = self.imp(data)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, msgs, _ = self.fetch_all("INBOX")
        # Blank lines inside a message stay, with their CRLF; the one
        # before the next From_ line was the mbox's.
        self.assertEqual(msgs[1][2], b"Subject: a\r\n\r\nA\r\n\r\n\r\nB\r\n")
        self.assertEqual(msgs[2][2], b"Subject: b\r\n\r\nC\r\n")

    def test_dovecot_imapbase(self):
        data = (b"From a Fri Jan  2 10:00:00 2026\nX-IMAPbase: 1234 50\nX-UID: 40\n"
                b"Subject: a\n\nA\n")
        r = self.imp(data)
        self.assertEqual(r.returncode, 0, r.stderr)
        validity, msgs, _ = self.fetch_all("INBOX")
        self.assertEqual((validity, sorted(msgs)), (1234, [40]))
        self.assertEqual(msgs[40][2].replace(b"\r\n", b"\n"), b"Subject: a\n\nA\n")

    def test_into_the_users_own_maildir(self):
        # A user database's maildir= (core/account.h) is where the import
        # goes, as every login and delivery does.
        own = os.path.join(self.srv.root, "custom", "erin")
        os.makedirs(os.path.dirname(own))
        self.srv.add_user("erin", "pw", extra="maildir=" + own)
        with open(self.path, "wb") as f:
            f.write(b"From a Fri Jan  2 10:00:00 2026\nSubject: own\n\nA\n")
        r = duotest.run_duomail(["import", "--from", "mbox", "--config", self.srv.config_path,
                                 self.path, "erin"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(os.listdir(os.path.join(own, "cur"))), 1)
        self.assertFalse(os.path.exists(self.srv.maildir("erin")))
        st = duotest.run_duomail(["mailbox", "status", "--config", self.srv.config_path,
                                  "erin", "INBOX"])
        self.assertIn("messages=1", st.stdout)

    def test_not_an_mbox(self):
        r = self.imp(b"Subject: no From_ line\n\nbody\n")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertIn(self.path + ":1: not an mbox", r.stderr)
        self.assertFalse(os.path.exists(self.srv.maildir("bob")))
        self.assertEqual([n for n in os.listdir(self.srv.root) if n.startswith(".")], [])


if __name__ == "__main__":
    unittest.main()
