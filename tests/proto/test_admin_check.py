"""`duomail check USER [--repair]`: finds what is wrong with the metadata
(duomail-index lines with bad CRCs, a lost index, messages whose files are
gone or that have no UID, sizes, unnamed keyword letters, a drifted
maildirsize), exits 1 while something is, and --repair rebuilds it keeping
every UID that can be kept (RFC 3501 §2.3.1.1: UIDVALIDITY only changes
when the UIDs cannot be kept)."""
import json
import os
import re
import unittest
import zlib

import duotest


class TestCheck(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"bob": "pw"}, listen=("imap",))
        self.addCleanup(self.srv.stop)
        for i in range(5):
            self.assertEqual(self.srv.deliver("bob", b"Subject: m%d\n\nbody %d\n" % (i, i)), 0)
        self.index = os.path.join(self.srv.maildir("bob"), "duomail-index")

    def cli(self, *args):
        return duotest.run_duomail([args[0], "--config", self.srv.config_path] + list(args[1:]))

    def status(self):
        r = self.cli("mailbox", "status", "--json", "bob", "INBOX")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)[0]

    def uids(self):
        """UID -> base name, from the index."""
        out = {}
        with open(self.index) as f:
            for line in f.read().splitlines()[1:]:
                parts = line.split(" ")
                out[int(parts[0])] = " ".join(parts[5:-1])
        return out

    def test_clean_account(self):
        self.status()
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("no problems found", r.stdout)
        r = self.cli("check", "--json", "bob")
        self.assertEqual(json.loads(r.stdout)["ok"], True)

    def test_damaged_lines_keep_the_other_uids(self):
        before = self.status()
        uids = self.uids()
        with open(self.index) as f:
            lines = f.read().splitlines()
        lines[2] = lines[2].replace(" 0 ", " 1 ", 1)     # bit rot: its CRC fails
        with open(self.index, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("INBOX: duomail-index has 1 bad lines", r.stdout)
        r = self.cli("check", "--repair", "--json", "bob")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = json.loads(r.stdout)
        self.assertTrue(out["ok"] and out["repaired"], out)
        after = self.status()
        self.assertEqual(after["uidvalidity"], before["uidvalidity"])
        new = self.uids()
        # Four messages kept their UIDs; the one whose line was bad got a
        # new UID above every UID handed out before.
        kept = {u: b for u, b in uids.items() if u != 2}
        self.assertEqual({u: b for u, b in new.items() if u in kept}, kept)
        self.assertEqual(sorted(set(new) - set(kept)), [before["uidnext"]])
        self.assertEqual(self.cli("check", "bob").returncode, 0)

    def test_missing_index_missing_file_and_quota_drift(self):
        before = self.status()
        root = self.srv.maildir("bob")
        cur = os.path.join(root, "cur")
        gone = sorted(os.listdir(cur))[0]
        os.unlink(os.path.join(cur, gone))
        with open(os.path.join(root, "maildirsize"), "w") as f:
            f.write("0S,0C\n999999 77\n")
        # A keyword letter no dovecot-keywords line names.
        victim = sorted(os.listdir(cur))[0]
        os.rename(os.path.join(cur, victim), os.path.join(cur, victim + "q"))
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"INBOX: UID \d+ \(%s\): its file is gone" %
                         re.escape(gone.split(":")[0]))
        self.assertIn("(account): ", r.stdout)
        self.assertIn("says 999999 bytes in 77 messages, the folders hold", r.stdout)
        self.assertIn("keyword letter 'q' is used by messages", r.stdout)
        r = self.cli("check", "--repair", "bob")
        # The keyword letter is not repaired (only a person knows its name).
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("still INBOX: keyword letter 'q'", r.stdout)
        self.assertNotIn("still (account)", r.stdout)
        self.assertNotIn("its file is gone", r.stdout.split("still", 1)[1])
        self.assertEqual(self.status()["messages"], 4)
        self.assertEqual(self.status()["uidvalidity"], before["uidvalidity"])
        os.rename(os.path.join(cur, victim + "q"), os.path.join(cur, victim))
        self.assertEqual(self.cli("check", "bob").returncode, 0)
        # A lost index: reported, and rebuilt with a new UIDVALIDITY.
        os.unlink(self.index)
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 1)
        self.assertIn("duomail-index is missing", r.stdout)
        self.assertEqual(self.cli("check", "--repair", "bob").returncode, 0)
        self.assertGreater(self.status()["uidvalidity"], before["uidvalidity"])

    def test_duplicate_uid_and_extra_file(self):
        before = self.status()
        with open(self.index) as f:
            lines = f.read().splitlines()
        # Line 3 claims line 2's UID, with a CRC that checks out (written
        # by a buggy tool, not torn): neither line can be trusted.
        fields = lines[2].split(" ")[:-1]
        fields[0] = lines[1].split(" ")[0]
        text = " ".join(fields)
        lines[2] = "%s %08x" % (text, zlib.crc32(text.encode()))
        with open(self.index, "w") as f:
            f.write("\n".join(lines) + "\n")
        # A file a foreign program put straight into cur/.
        cur = os.path.join(self.srv.maildir("bob"), "cur")
        with open(os.path.join(cur, "1700000000.foreign:2,S"), "wb") as f:
            f.write(b"Subject: foreign\n\nx\n")
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("duomail-index has 2 bad lines", r.stdout)
        r = self.cli("check", "--repair", "bob")
        self.assertEqual(r.returncode, 0, r.stdout)
        after = self.status()
        self.assertEqual(after["uidvalidity"], before["uidvalidity"])
        self.assertEqual(after["messages"], 6)
        # The two whose lines were bad and the foreign one: new UIDs from
        # UIDNEXT on; the other three keep theirs.
        self.assertEqual(after["uidnext"], before["uidnext"] + 3)

    def test_file_without_uid(self):
        self.status()
        cur = os.path.join(self.srv.maildir("bob"), "cur")
        with open(os.path.join(cur, "1700000000.foreign"), "wb") as f:
            f.write(b"Subject: foreign\n\nx\n")
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("INBOX: 1700000000.foreign is in cur/ but has no UID", r.stdout)
        self.assertEqual(self.cli("check", "--repair", "bob").returncode, 0)
        self.assertEqual(self.status()["messages"], 6)

    def test_damaged_uidl_file(self):
        self.status()
        with open(os.path.join(self.srv.maildir("bob"), "duomail-pop3-uidls"), "w") as f:
            f.write("duomail-pop3-uidls 1\nUID1 some.base\nno-base-here\n")
        r = self.cli("check", "bob")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("duomail-pop3-uidls:3: not a 'UIDL BASE' line", r.stdout)
        self.assertNotIn(":2:", r.stdout)

    def test_errors(self):
        r = self.cli("check", "nobody")
        self.assertEqual(r.returncode, 67)
        r = self.cli("check", "bob", "Nope")
        self.assertEqual(r.returncode, 66)
        self.assertIn("no such mailbox 'Nope'", r.stderr)
        self.assertEqual(duotest.run_duomail(["check", "--help"]).returncode, 0)
        self.assertEqual(duotest.run_duomail(["check", "--config", self.srv.config_path])
                         .returncode, 64)


if __name__ == "__main__":
    unittest.main()
