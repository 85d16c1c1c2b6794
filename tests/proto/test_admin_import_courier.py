"""`duomail import --from courier`, against hand-written Courier-format
fixtures (no Courier server is started: the file formats are those of
Courier's imapd/pop3d, written here by the test).  What a client saw at
Courier it sees at duomail: UIDVALIDITY and UIDs from courierimapuiddb,
the POP3 UIDLs Courier's pop3d gave (courierpop3dsizelist: "UID<n>-<uidv>",
or the escaped file name for version 0 lines), keywords from
courierimapkeywords/ (:list and the pending per-message files), and
subscriptions (courierimapsubscribed)."""
import imaplib
import os
import poplib
import re
import shutil
import tempfile
import unittest

import duotest

A = "1700000001.M1P1.host,S=20"
B = "1700000002.M2P1.host"
C = "1700000003.M3P1.host"
D = "1700000004.M4 odd+name"


class TestImportCourier(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"bob": "pw"}, listen=("pop3", "imap"))
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.src = tempfile.mkdtemp(prefix="duomail-courier-fixture-")
        self.addCleanup(shutil.rmtree, self.src, True)
        for d in ("cur", "new", "tmp", ".Archive/cur", ".Archive/new", ".Archive/tmp",
                  "courierimapkeywords"):
            os.makedirs(os.path.join(self.src, d))

    def write(self, name, data):
        with open(os.path.join(self.src, name), "wb") as f:
            f.write(data)

    def imp(self):
        return duotest.run_duomail(["import", "--from", "courier", "--config",
                                    self.srv.config_path, self.src, "bob"])

    def test_uids_uidls_keywords_subscriptions(self):
        self.write("cur/%s:2,S" % A, b"Subject: a\n\nA\n")
        self.write("cur/%s:2,RS" % B, b"Subject: b\n\nB\n")
        self.write("new/" + C, b"Subject: c\n\nC\n")
        self.write("courierimapuiddb", b"1 1111 5\n3 %s\n7 %s\n" % (A.encode(), B.encode()))
        self.write("courierpop3dsizelist",
                   b"/3 9 2222\n%s 15 4:2222:0\n%s 15 8:0:0\n" % (A.encode(), B.encode()))
        self.write("courierimapkeywords/:list", b"Work\n$Label1\n\n%s:0 1\n" % A.encode())
        self.write("courierimapkeywords/.3." + B, b"Urgent\n")
        self.write("courierimapkeywords/.2." + B, b"Stale\n")
        self.write(".Archive/cur/%s:2," % D, b"Subject: d\n\nD\n")
        self.write(".Archive/courierpop3dsizelist", b"%s 15\n" % D.encode())
        self.write("courierimapsubscribed", b"INBOX.Archive\n")
        r = self.imp()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("imported 4 messages in 2 folders", r.stdout)

        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=30)
        p.user("bob")
        p.pass_("pw")
        uidls = [l.decode().split()[1] for l in p.uidl()[1]]
        p.quit()
        # Courier's: UID<n>-<uidv>, UID<n> without a UIDVALIDITY; C never
        # went through Courier's pop3d, so it has duomail's own.
        self.assertEqual(uidls, ["UID4-2222", "UID8", C])

        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        c.login("bob", "pw")
        typ, _ = c.select("INBOX")
        self.assertEqual(int(c.response("UIDVALIDITY")[1][0]), 1111)
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        got = {}
        for d in data:
            m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", d)
            got[int(m.group(1))] = sorted(m.group(2).decode().split())
        self.assertEqual(got, {3: sorted(["$Label1", "Work", "\\Seen"]),
                               7: sorted(["Urgent", "\\Answered", "\\Seen"]),
                               8: []})
        typ, data = c.status("INBOX", "(UIDNEXT)")
        self.assertIn(b"UIDNEXT 9", data[0])
        typ, lsub = c.lsub()
        self.assertTrue(any(l.endswith(b"Archive") or l.endswith(b'"Archive"') for l in lsub),
                        lsub)
        c.logout()

        # Version 0 lines: the file name with odd bytes escaped as Courier does.
        with open(os.path.join(self.srv.maildir("bob"), ".Archive",
                               "duomail-pop3-uidls")) as f:
            self.assertIn("1700000004.M4+20odd+2Bname %s\n" % D, f.read())

    def test_corrupt_files(self):
        self.write("cur/%s:2," % A, b"Subject: a\n\nA\n")
        for name, data, want in [
                ("courierimapuiddb", b"2 1111 5\n", "courierimapuiddb:1: not a UID list header"),
                ("courierimapuiddb", b"1 1111 5\nx y\n", "courierimapuiddb:2: expected a UID"),
                ("courierpop3dsizelist", b"/3 9 2222\n%s 15 4\n" % A.encode(),
                 "courierpop3dsizelist:2: expected 'FILENAME SIZE UID:UIDVALIDITY'"),
                ("courierimapkeywords/:list", b"Work\n\n%s:3\n" % A.encode(),
                 "courierimapkeywords/:list:3: keyword number '3' not in the list")]:
            for other in ("courierimapuiddb", "courierpop3dsizelist", "courierimapkeywords/:list"):
                if os.path.exists(os.path.join(self.src, other)):
                    os.unlink(os.path.join(self.src, other))
            self.write(name, data)
            r = self.imp()
            self.assertEqual(r.returncode, 65, (name, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(os.path.join(self.src, want), r.stderr)
            self.assertFalse(os.path.exists(self.srv.maildir("bob")))


if __name__ == "__main__":
    unittest.main()
