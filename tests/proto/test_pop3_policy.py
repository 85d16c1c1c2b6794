"""The per-account POP3 policy on the real server, checked from both sides:
a POP3 client does something, an IMAP client (imaplib) looks at the result.

- [pop3] delete = expunge | hide | trash, and pop3_delete= in a user's
  passwd-file line beating the global default;
- [pop3] folders = INBOX, Junk: one maildrop, INBOX first, UIDLs unique and
  fixed across sessions, restarts and a lost index; DELE/RETR/TOP on the
  right folder;
- [pop3] retr_sets_seen and pop3_retr_seen=;
- a user whose extra field is invalid is refused (temporary failure) by
  POP3, IMAP and deliver, logged with the file and line.
"""
import imaplib
import os
import re
import unittest

import duotest
from test_pop3 import Pop3Client


def message(subject, body="body\r\n"):
    return ("From: a@example.test\r\nSubject: %s\r\n\r\n%s" % (subject, body)).encode()


class PolicyBase(unittest.TestCase):
    config = {}
    extra = {}          # user -> extra field
    users = ("alice", "bob")

    def setUp(self):
        self.srv = duotest.Server(config=self.config, listen=("pop3", "imap"))
        for u in self.users:
            self.srv.add_user(u, "pw-" + u, self.extra.get(u))
        self.srv.start()
        self.pops = []
        self.imaps = []

    def tearDown(self):
        for c in self.pops:
            c.close()
        for c in self.imaps:
            try:
                c.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        self.srv.stop()

    def pop(self, user="alice"):
        c = Pop3Client(self.srv.port("pop3"))
        self.pops.append(c)
        c.login(user, "pw-" + user)
        return c

    def imap(self, user="alice"):
        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        self.imaps.append(c)
        c.login(user, "pw-" + user)
        return c

    def deliver(self, subject, user="alice"):
        self.assertEqual(self.srv.deliver(user, message(subject)), 0)

    def uidls(self, c):
        self.assertTrue(c.cmd("UIDL").startswith("+OK"))
        return [line.split(" ", 1)[1] for line in c.multiline()]

    def quit(self, c):
        reply = c.cmd("QUIT")
        self.assertTrue(reply.startswith("+OK"), reply)

    def subjects(self, c, folder):
        """Subject -> IMAP flags of folder's messages."""
        typ, data = c.select(folder)
        self.assertEqual(typ, "OK")
        if int(data[0]) == 0:
            return {}
        typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode()
            subject = item[1].decode().split(":", 1)[1].strip()
            out[subject] = flags
        return out


class TestExpungeDefault(PolicyBase):
    def test_dele_expunges(self):
        for s in ("one", "two"):
            self.deliver(s)
        c = self.pop()
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.quit(c)
        i = self.imap()
        self.assertEqual(list(self.subjects(i, "INBOX")), ["two"])
        self.assertEqual(self.subjects(i, "Trash"), {})


class TestHide(PolicyBase):
    config = {"pop3": {"delete": "hide"}}

    def test_hide_keeps_for_imap(self):
        for s in ("one", "two", "three"):
            self.deliver(s)
        i = self.imap()
        i.select("INBOX")
        i.store("1", "+FLAGS", r"(\Flagged)")
        c = self.pop()
        kept_uidl = self.uidls(c)[2]
        self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
        c.raw_until_dot()
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        self.quit(c)

        # IMAP still has all three, with their flags; RETR set \Seen
        flags = self.subjects(i, "INBOX")
        self.assertEqual(sorted(flags), ["one", "three", "two"])
        self.assertIn(r"\Flagged", flags["one"])
        self.assertIn(r"\Seen", flags["one"])
        self.assertNotIn(r"\Seen", flags["two"])
        i.logout()
        self.imaps.remove(i)

        # POP3 lists only the third, under its old UIDL
        c = self.pop()
        self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
        self.assertEqual(self.uidls(c), [kept_uidl])
        self.quit(c)

        # ... after a restart, and after the index is lost too
        self.srv.restart()
        c = self.pop()
        self.assertEqual(self.uidls(c), [kept_uidl])
        self.quit(c)
        os.unlink(os.path.join(self.srv.maildir("alice"), "duomail-index"))
        c = self.pop()
        self.assertEqual(self.uidls(c), [kept_uidl])
        self.quit(c)
        i = self.imap()
        self.assertEqual(len(self.subjects(i, "INBOX")), 3)

        # IMAP expunges a hidden one: nothing changes for POP3
        i.select("INBOX")
        typ, data = i.search(None, "SUBJECT", "two")
        i.store(data[0], "+FLAGS", r"(\Deleted)")
        i.expunge()
        self.assertEqual(sorted(self.subjects(i, "INBOX")), ["one", "three"])
        c = self.pop()
        self.assertEqual(self.uidls(c), [kept_uidl])
        self.quit(c)

    def test_rset_undoes_hide(self):
        self.deliver("one")
        c = self.pop()
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("RSET").startswith("+OK"))
        self.quit(c)
        c = self.pop()
        self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
        self.quit(c)


class TestTrash(PolicyBase):
    config = {"pop3": {"delete": "trash"}}

    def test_moved_to_trash(self):
        for s in ("one", "two"):
            self.deliver(s)
        c = self.pop()
        self.assertTrue(c.cmd("RETR 2").startswith("+OK"))
        c.raw_until_dot()
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        self.quit(c)
        i = self.imap()
        self.assertEqual(list(self.subjects(i, "INBOX")), ["one"])
        trash = self.subjects(i, "Trash")
        self.assertEqual(list(trash), ["two"])
        self.assertIn(r"\Seen", trash["two"])

    def test_trash_made_if_missing(self):
        self.deliver("one")
        i = self.imap()
        self.assertEqual(i.delete("Trash")[0], "OK")
        c = self.pop()
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.quit(c)
        typ, data = i.list('""', "Trash")
        self.assertTrue(data and data[0] and b"Trash" in data[0], data)
        self.assertEqual(list(self.subjects(i, "Trash")), ["one"])
        self.assertEqual(self.subjects(i, "INBOX"), {})


class TestFolders(PolicyBase):
    config = {"pop3": {"folders": "INBOX, Junk"}}

    def test_inbox_and_junk(self):
        self.deliver("in-1")
        self.deliver("in-2")
        i = self.imap()
        for s in ("junk-1", "junk-2"):
            self.assertEqual(i.append("Junk", None, None, message(s))[0], "OK")
        c = self.pop()
        self.assertTrue(c.cmd("STAT").startswith("+OK 4 "))
        u = self.uidls(c)
        self.assertEqual(len(set(u)), 4)
        self.assertFalse(any("/" in x for x in u[:2]))
        self.assertTrue(all(x.startswith("Junk/") for x in u[2:]), u)
        for x in u:
            self.assertRegex(x, r"^[\x21-\x7e]{1,70}$")   # RFC 1939 §7
        # RETR and TOP act on the right folder's message
        self.assertTrue(c.cmd("RETR 3").startswith("+OK"))
        self.assertIn(b"Subject: junk-1", c.raw_until_dot())
        self.assertTrue(c.cmd("TOP 2 0").startswith("+OK"))
        self.assertIn(b"Subject: in-2", c.raw_until_dot())
        self.quit(c)

        # the same UIDLs in the next session, after new mail in INBOX
        # (which renumbers the Junk messages), after a restart and with
        # every index lost
        self.deliver("in-3")
        c = self.pop()
        u2 = self.uidls(c)
        self.assertEqual(u2[:2] + u2[3:], u)
        self.quit(c)
        self.srv.restart()
        for folder in ("", ".Junk"):
            os.unlink(os.path.join(self.srv.maildir("alice"), folder, "duomail-index"))
        c = self.pop()
        self.assertEqual(self.uidls(c), u2)
        # DELE of a Junk message removes it from Junk only
        self.assertTrue(c.cmd("DELE 4").startswith("+OK"))
        self.quit(c)
        i = self.imap()
        self.assertEqual(sorted(self.subjects(i, "Junk")), ["junk-2"])
        self.assertEqual(sorted(self.subjects(i, "INBOX")), ["in-1", "in-2", "in-3"])

    def test_missing_folder_is_skipped(self):
        self.deliver("in-1")
        i = self.imap()
        self.assertEqual(i.delete("Junk")[0], "OK")
        c = self.pop()
        self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
        self.quit(c)

    def test_lock_covers_the_maildrop(self):
        self.deliver("in-1")
        c = self.pop()
        other = Pop3Client(self.srv.port("pop3"))
        self.pops.append(other)
        self.assertTrue(other.cmd("USER alice").startswith("+OK"))
        self.assertTrue(other.cmd("PASS pw-alice").startswith("-ERR [IN-USE]"))
        self.quit(c)


class TestRetrSeenAndOverrides(PolicyBase):
    # global: RETR does not set \Seen, DELE expunges; bob overrides both,
    # carol sees INBOX and Junk and moves to Trash
    config = {"pop3": {"retr_sets_seen": "no"}}
    users = ("alice", "bob", "carol")
    extra = {"bob": "userdb_pop3_retr_seen=yes pop3_delete=hide",
             "carol": "pop3_folders=INBOX,Junk userdb_pop3_delete=trash"}

    def retr_and_delete(self, user):
        self.deliver("keep", user)
        self.deliver("gone", user)
        c = self.pop(user)
        self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
        c.raw_until_dot()
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        self.quit(c)
        return self.imap(user)

    def test_global_default(self):
        i = self.retr_and_delete("alice")
        flags = self.subjects(i, "INBOX")
        self.assertEqual(list(flags), ["keep"])
        self.assertNotIn(r"\Seen", flags["keep"])

    def test_user_override(self):
        i = self.retr_and_delete("bob")
        flags = self.subjects(i, "INBOX")
        self.assertEqual(sorted(flags), ["gone", "keep"])     # hidden, not expunged
        self.assertIn(r"\Seen", flags["keep"])
        c = self.pop("bob")
        self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
        self.quit(c)

    def test_user_folders_and_trash(self):
        i = self.imap("carol")
        self.assertEqual(i.append("Junk", None, None, message("spam"))[0], "OK")
        c = self.pop("carol")
        self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.quit(c)
        self.assertEqual(self.subjects(i, "Junk"), {})
        self.assertEqual(list(self.subjects(i, "Trash")), ["spam"])
        # alice (no override) sees INBOX only
        i2 = self.imap("alice")
        self.assertEqual(i2.append("Junk", None, None, message("spam"))[0], "OK")
        c = self.pop("alice")
        self.assertTrue(c.cmd("STAT").startswith("+OK 0 "))
        self.quit(c)


class TestBadSettings(PolicyBase):
    users = ("alice", "bob")
    extra = {"bob": "pop3_delete=hide quota_storage=lots"}

    def test_refused_with_temporary_failure(self):
        c = Pop3Client(self.srv.port("pop3"))
        self.pops.append(c)
        self.assertTrue(c.cmd("USER bob").startswith("+OK"))
        self.assertTrue(c.cmd("PASS pw-bob").startswith("-ERR [SYS/TEMP]"))
        i = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            i.login("bob", "pw-bob")
        self.assertIn("UNAVAILABLE", str(e.exception))
        i.shutdown()
        self.assertEqual(self.srv.deliver("bob", message("x")), 75)
        self.assertEqual(self.srv.count_mail("bob"), 0)
        # the wrong password is still just wrong
        self.assertTrue(c.cmd("USER bob").startswith("+OK"))
        self.assertTrue(c.cmd("PASS nope").startswith("-ERR [AUTH]"))
        # the others are not affected
        self.pop("alice")
        # the log says where: file, line, user, key
        self.assertRegex(self.srv.log_text(), r"users:\d+: user bob: quota_storage: 'lots'")


if __name__ == "__main__":
    unittest.main()
