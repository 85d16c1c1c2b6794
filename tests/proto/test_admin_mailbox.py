"""`duomail mailbox list|create|delete|status` and `duomail expunge`:
through the store, so a running IMAP session sees what they do (RFC 3501
§7.4.1 EXPUNGE responses, §6.3.8 LIST), with --json for scripts and the
contract's exit codes for unknown users and mailboxes."""
import json
import os
import re
import shutil
import tempfile
import time
import unittest

import duotest
from duoimap import RawImap


class TestMailboxAndExpunge(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"bob": "bob-pw"}, listen=("imap",))
        self.srv.start()
        self.addCleanup(self.srv.stop)

    def cli(self, *args):
        return duotest.run_duomail([args[0], "--config", self.srv.config_path] + list(args[1:]))

    def deliver(self, subject, extra=b""):
        msg = b"Subject: " + subject.encode() + b"\r\n" + extra + b"\r\nbody of " + \
            subject.encode() + b"\r\n"
        self.assertEqual(self.srv.deliver("bob", msg), 0)

    def test_mailbox_commands(self):
        self.deliver("one")
        self.deliver("two")
        r = self.cli("mailbox", "status", "--json", "bob", "INBOX")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)[0]
        self.assertEqual((st["name"], st["messages"], st["unseen"], st["uidnext"]),
                         ("INBOX", 2, 2, 3))
        self.assertGreater(st["uidvalidity"], 0)
        self.assertEqual(st["size"], 2 * len(b"Subject: one\r\n\r\nbody of one\r\n"))

        c = RawImap(self.srv.port("imap"))
        c.login("bob", "bob-pw")
        r = self.cli("mailbox", "create", "bob", "Projects/2026")
        self.assertEqual(r.returncode, 0, r.stderr)
        untagged, _ = c.cmd('LIST "" "Projects*"')
        self.assertTrue(any(b'"Projects/2026"' in l or b" Projects/2026" in l for l in untagged),
                        untagged)
        r = self.cli("mailbox", "list", "--json", "bob")
        names = {m["name"]: m["subscribed"] for m in json.loads(r.stdout)}
        self.assertTrue(names["Projects/2026"])
        self.assertIn("Trash", names)
        r = self.cli("mailbox", "create", "bob", "Projects/2026")
        self.assertEqual(r.returncode, 73, r.stderr)
        r = self.cli("mailbox", "create", "bob", "bad.name")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertEqual(self.srv.deliver("bob", b"Subject: p\r\n\r\np\r\n"), 0)
        r = self.cli("mailbox", "rename", "bob", "Projects/2026", "Projects/Old")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = {m["name"]: m["subscribed"] for m in
                 json.loads(self.cli("mailbox", "list", "--json", "bob").stdout)}
        self.assertTrue(names["Projects/Old"])
        self.assertNotIn("Projects/2026", names)
        r = self.cli("mailbox", "rename", "bob", "Projects/Old", "Projects/2026")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("mailbox", "rename", "bob", "Nope", "Other")
        self.assertEqual(r.returncode, 66, r.stderr)
        r = self.cli("mailbox", "delete", "bob", "Projects/2026")
        self.assertEqual(r.returncode, 0, r.stderr)
        untagged, _ = c.cmd('LIST "" "Projects/*"')
        self.assertEqual([l for l in untagged if b"LIST" in l], [])
        r = self.cli("mailbox", "delete", "bob", "INBOX")
        self.assertNotEqual(r.returncode, 0)
        c.close()

        # Unknown user, unknown mailbox: one line, the contract's codes.
        for args, code, text in [
                (("mailbox", "list", "nobody"), 67, "no such user 'nobody'"),
                (("mailbox", "status", "bob", "Nope"), 66, "no such mailbox 'Nope'"),
                (("mailbox", "delete", "bob", "Nope"), 66, "no such mailbox 'Nope'"),
                (("expunge", "bob", "Nope", "all"), 66, "no such mailbox 'Nope'"),
                (("expunge", "nobody", "INBOX", "all"), 67, "no such user 'nobody'")]:
            r = self.cli(*args)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(text, r.stderr)
        self.assertEqual(duotest.run_duomail(["mailbox", "frobnicate", "bob"]).returncode, 64)
        self.assertEqual(duotest.run_duomail(["mailbox", "--help"]).returncode, 0)

    def test_expunge_by_search_reaches_imap_sessions(self):
        self.deliver("keep-1")
        self.deliver("old-seen")
        self.deliver("keep-2", b"X-Priority: 1\r\n")
        self.deliver("old-seen-2")
        c = RawImap(self.srv.port("imap"))
        c.login("bob", "bob-pw")
        c.cmd("SELECT INBOX")
        c.cmd('STORE 2,4 +FLAGS (\\Seen)')
        c.cmd('STORE 3 +FLAGS (\\Seen)')
        # dry run: counts, changes nothing
        r = self.cli("expunge", "--dry-run", "--json", "bob", "INBOX", "seen", "not",
                     "header", "X-Priority", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["matched"], 2)
        self.assertEqual(self.srv.count_mail("bob"), 4)
        # The search in IMAP syntax, words as the shell splits them, a
        # quoted string with a space for SUBJECT.
        r = self.cli("expunge", "bob", "INBOX", "seen", "subject", "old seen")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "expunged 0 messages from INBOX")
        r = self.cli("expunge", "bob", "INBOX", "seen", "not", "header", "X-Priority", "1",
                     "since", "1-Jan-2000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "expunged 2 messages from INBOX")
        self.assertEqual(self.srv.count_mail("bob"), 2)
        # The selected session learns of it (RFC 3501 §7.4.1): EXPUNGE
        # responses for 4 and 2 (or 2 then 3), then 2 messages left.
        deadline = time.time() + 15
        expunges = []
        while len(expunges) < 2 and time.time() < deadline:
            untagged, _ = c.cmd("NOOP")
            expunges += [l for l in untagged if l.endswith(b"EXPUNGE")]
            time.sleep(0.1)
        self.assertEqual(len(expunges), 2, expunges)
        untagged, _ = c.cmd("UID SEARCH ALL")
        self.assertEqual(untagged[-1], b"* SEARCH 1 3")
        c.close()
        # A bad SEARCH is a usage error, with IMAP's reason.
        r = self.cli("expunge", "bob", "INBOX", "before", "yesterday")
        self.assertEqual(r.returncode, 64)
        self.assertIn("bad SEARCH", r.stderr)
        r = self.cli("expunge", "bob", "INBOX", "(seen")
        self.assertEqual(r.returncode, 64)
        self.assertEqual(self.srv.count_mail("bob"), 2)


@unittest.skipUnless(os.geteuid() == 0, "needs root: privileges are given up only by root")
class TestRunAsServerUser(unittest.TestCase):
    """Run as root with [server] user = NAME, the commands leave the store
    to NAME as the server does (else it could not change what they made)."""

    def test_files_belong_to_the_server_user(self):
        import pwd
        nobody = pwd.getpwnam("nobody")
        srv = duotest.Server(users={"bob": "pw"}, listen=("imap",),
                             config={"server": {"user": "nobody"}})
        self.addCleanup(srv.stop)
        os.chown(srv.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(srv.dir, 0o711)
        r = duotest.run_duomail(["mailbox", "create", "--config", srv.config_path, "bob", "Box"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for p in (srv.maildir("bob"), os.path.join(srv.maildir("bob"), ".Box", "cur")):
            self.assertEqual(os.stat(p).st_uid, nobody.pw_uid, p)
        # import, run as root so it can read any source, gives the new
        # account to the server's user too.
        src = tempfile.mkdtemp(prefix="duomail-mbox-")
        self.addCleanup(shutil.rmtree, src, True)
        mbox = os.path.join(src, "mbox")
        with open(mbox, "wb") as f:
            f.write(b"From a Fri Jan  2 10:00:00 2026\nSubject: a\n\nA\n")
        os.chmod(src, 0o700)
        srv2 = duotest.Server(users={"carol": "pw"}, listen=("imap",),
                              config={"server": {"user": "nobody"}})
        self.addCleanup(srv2.stop)
        os.chown(srv2.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(srv2.dir, 0o711)
        r = duotest.run_duomail(["import", "--from", "mbox", "--config", srv2.config_path,
                                 mbox, "carol"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for base, dirs, files in os.walk(srv2.maildir("carol")):
            for n in dirs + files:
                self.assertEqual(os.lstat(os.path.join(base, n)).st_uid, nobody.pw_uid, n)


if __name__ == "__main__":
    unittest.main()
