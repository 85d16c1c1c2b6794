"""Names from the network never address a file outside the user's Maildir
(issue 5): IMAP mailbox names with "..", "/", "%2f", NUL and the like, user
names such as "../x", "a/b" or "." over IMAP, POP3, LMTP and `duomail
deliver`; and symbolic links inside a Maildir (a folder `.Evil -> /etc`, a
folder whose cur/ leads elsewhere, a link to another user's Maildir) are
not followed out of it.  Message files that are links are covered by
test_maildir_bad_input.TestSymlinks.

Run as root, the server runs as nobody (the usual setup: one unprivileged
mail user for every account, so a link to another account's folder is
readable by that user, and only the server's own checks keep it out)."""
import os
import pwd
import smtplib
import subprocess
import unittest

import duotest
from duoimap import RawImap
from test_pop3 import Pop3Client

AS_ROOT = os.geteuid() == 0
SECRET = b"Subject: OUTSIDE SECRET\n\nnot for alice\n"
BOB_SECRET = b"Subject: BOB SECRET\n\nbob's mail\n"


def make_maildir(path, message):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    with open(os.path.join(path, "cur", "1700000000.M1P1.host:2,S"), "wb") as f:
        f.write(message)


class PathSafety(unittest.TestCase):
    def setUp(self):
        config = {"server": {"user": "nobody"}} if AS_ROOT else {}
        self.srv = duotest.Server(plain_users={"alice": "pw-a", "bob": "pw-b"},
                                  listen=("imap", "pop3", "lmtp"), workers=1, config=config)
        if AS_ROOT:
            with open(self.srv.config_path) as f:
                text = f.read().replace("allow_root = yes\n", "")
            with open(self.srv.config_path, "w") as f:
                f.write(text)
        # a Maildir outside every user's, and bob's mail
        self.outside = os.path.join(self.srv.dir, "outside")
        make_maildir(self.outside, SECRET)
        self.fix_owner()
        self.srv.start()
        self.clients = []
        self.assertEqual(self.deliver("bob", BOB_SECRET), 0)
        self.alice = self.srv.maildir("alice")
        c = self.imap()                 # makes alice's Maildir
        c.ok("LOGOUT")
        self.fix_owner()

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.stop()

    def fix_owner(self):
        if AS_ROOT:
            for root, dirs, files in os.walk(self.srv.dir):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.lchown(name, pwd.getpwnam("nobody").pw_uid,
                              pwd.getpwnam("nobody").pw_gid)

    def deliver(self, user, data):
        return subprocess.run([duotest.DUOMAIL, "deliver", "--config", self.srv.config_path,
                               user], input=data, capture_output=True, timeout=60).returncode

    def imap(self, user="alice", password="pw-a"):
        c = RawImap(self.srv.port("imap"))
        self.clients.append(c)
        c.login(user, password)
        return c

    def tree(self):
        """Every path under the server's directory but alice's Maildir and the
        log, with what it is (file size, link target)."""
        out = {}
        for root, dirs, files in os.walk(self.srv.dir):
            for name in dirs + files:
                p = os.path.join(root, name)
                if p == self.srv.log_path or p.startswith(self.alice + os.sep) or p == self.alice:
                    continue
                out[p] = os.readlink(p) if os.path.islink(p) else (
                    os.path.getsize(p) if os.path.isfile(p) else "dir")
        return out

    def assert_inside(self):
        """Everything in alice's Maildir is really in it."""
        real = os.path.realpath(self.alice)
        for root, dirs, files in os.walk(self.alice):
            for name in dirs + files:
                p = os.path.join(root, name)
                if os.path.islink(p):
                    continue        # the test's own links
                self.assertTrue(os.path.realpath(p).startswith(real + os.sep), p)


class TestMailboxNames(PathSafety):
    NAMES = ["..", ".", "../bob", "../../outside", "a/../../bob", "/etc", "/", "a//b",
             "INBOX/../../bob", "../bob/INBOX", "%2e%2e%2fbob", "%2f..%2fbob", "..%2fbob",
             "a/./b", "a/..", "~bob", "\\..\\bob", ".hidden", "a.b", "../../../../etc/passwd",
             # modified UTF-7 (RFC 3501 section 5.1.3) for "..", "/", "../bob"
             "&AC4ALg-", "&AC8-", "&AC4ALgAv-bob"]

    def test_names_stay_inside(self):
        before = self.tree()
        c = self.imap()
        for name in self.NAMES:
            q = '"%s"' % name.replace("\\", "\\\\")
            for cmd in ("CREATE %s", "SELECT %s", "STATUS %s (MESSAGES)", "DELETE %s",
                        "RENAME %s Other", "RENAME INBOX %s", "SUBSCRIBE %s"):
                u, tagged = c.cmd(cmd % q)
                self.assertNotIn(b"BOB SECRET", b"".join(u))
                if cmd.startswith(("SELECT", "STATUS")):
                    # nothing of bob's or of outside/ is counted
                    self.assertNotIn(b"MESSAGES 1", b"".join(u), name)
                    if cmd.startswith("SELECT") and b" OK " in tagged:
                        self.assertIn(b"* 0 EXISTS", u, name)
                        c.ok("UNSELECT")
            u, tagged = c.cmd('APPEND %s {%d+}\r\n%s' % (q, len(SECRET), SECRET.decode()))
        # a mailbox name with a NUL, in a literal (RFC 3501 section 9: CHAR8
        # excludes NUL): refused, nothing made
        for cmd in (b"CREATE", b"SELECT", b"DELETE"):
            c.send(b"n1 " + cmd + b" {5+}\r\na\x00/..\r\n")
            _, tagged = c.until("n1")
            self.assertRegex(tagged, rb"^n1 (NO|BAD) ")
        c.ok("LOGOUT")
        self.assertEqual(self.tree(), before)
        self.assert_inside()
        # what was made was made inside, with Maildir++ names
        for entry in os.listdir(self.alice):
            self.assertNotIn("/", entry)
            self.assertFalse(entry.startswith(".."), entry)


class TestUserNames(PathSafety):
    NAMES = ["../bob", "..", ".", "a/b", "/bob", "bob/", "../outside", "bob/../bob",
             "./bob", "%2e%2e%2fbob"]

    def test_user_names_stay_inside(self):
        before = self.tree()
        for name in self.NAMES:
            # IMAP and POP3 logins: no such user
            c = RawImap(self.srv.port("imap"))
            self.clients.append(c)
            _, tagged = c.cmd('LOGIN "%s" "pw-b"' % name)
            self.assertIn(b" NO ", tagged, name)
            p = Pop3Client(self.srv.port("pop3"))
            self.clients.append(p)
            p.cmd("USER " + name)
            self.assertTrue(p.cmd("PASS pw-b").startswith("-ERR"), name)
            # deliver: 67, no such user (RFC-less, sysexits.h EX_NOUSER)
            self.assertEqual(self.deliver(name, b"Subject: x\n\nx\n"), 67, name)
        # LMTP: 550 5.1.1 for each
        with smtplib.LMTP("127.0.0.1", self.srv.port("lmtp")) as l:
            l.ehlo("test")
            l.mail("a@example.test")
            for name in self.NAMES:
                code, _ = l.rcpt("<%s@example.test>" % name)
                self.assertEqual(code, 550, name)
        self.assertEqual(self.tree(), before)

    def test_passwd_file_user_names_checked(self):
        """A passwd-file naming a user "../x" is refused as a whole at start."""
        srv = duotest.Server(listen=("imap",))
        with open(srv.passwd, "a") as f:
            f.write("../evil:{PLAIN}x\n")
        r = duotest.run_duomail(["serve", "--config", srv.config_path], timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid user name", r.stderr)
        srv.stop()


class TestSymlinkedFolders(PathSafety):
    def test_folder_links_not_followed(self):
        os.symlink(self.outside, os.path.join(self.alice, ".Evil"))
        os.symlink("/etc", os.path.join(self.alice, ".Etc"))
        os.symlink(self.srv.maildir("bob"), os.path.join(self.alice, ".Bob"))
        sneaky = os.path.join(self.alice, ".Sneaky")
        os.mkdir(sneaky)
        for sub in ("new", "tmp"):
            os.mkdir(os.path.join(sneaky, sub))
        os.symlink(os.path.join(self.outside, "cur"), os.path.join(sneaky, "cur"))
        self.fix_owner()
        before = self.tree()

        c = self.imap()
        listed = b"".join(c.ok('LIST "" "*"'))
        for name in (b"Evil", b"Etc", b"Bob", b"Sneaky"):
            self.assertNotIn(name, listed)
        for name in ("Evil", "Etc", "Bob", "Sneaky"):
            for cmd in ("SELECT %s", "EXAMINE %s", "STATUS %s (MESSAGES)", "DELETE %s",
                        "RENAME %s Mine", "CREATE %s", "CREATE %s/sub"):
                if cmd == "CREATE %s/sub" and name == "Sneaky":
                    continue    # .Sneaky.sub would be a folder of alice's own
                u, tagged = c.cmd(cmd % name)
                self.assertRegex(tagged, rb" (NO|BAD) ", (cmd, name))
                self.assertNotIn(b"SECRET", b"".join(u))
            _, tagged = c.cmd("APPEND %s {%d+}\r\n%s" % (name, len(SECRET), SECRET.decode()))
            self.assertIn(b" NO ", tagged)
        c.ok("LOGOUT")
        self.assertEqual(self.tree(), before)
        self.assertIn("a symbolic link (never followed)", self.srv.log_text())

    def test_inbox_cur_link_not_followed(self):
        """INBOX's cur/ replaced by a link to another Maildir's: INBOX is not
        served (IMAP NO, POP3 -ERR), nothing of the other is shown."""
        cur = os.path.join(self.alice, "cur")
        os.rename(cur, cur + ".real")
        os.symlink(os.path.join(self.srv.maildir("bob"), "cur"), cur)
        self.fix_owner()
        before = self.tree()
        c = RawImap(self.srv.port("imap"))
        self.clients.append(c)
        _, tagged = c.cmd('LOGIN "alice" "pw-a"')
        if b" OK " in tagged:
            u, tagged = c.cmd("SELECT INBOX")
            self.assertNotIn(b"BOB", b"".join(u))
        # refused at LOGIN (the store will not open) or at SELECT
        self.assertIn(b" NO ", tagged)
        p = Pop3Client(self.srv.port("pop3"))
        self.clients.append(p)
        p.cmd("USER alice")
        reply = p.cmd("PASS pw-a")
        if reply.startswith("+OK"):
            self.assertTrue(p.cmd("STAT").startswith("+OK 0 "))
        self.assertEqual(self.deliver("alice", b"Subject: new\n\nx\n"), 75)
        self.assertEqual(self.tree(), before)

    def test_pop3_folders_link_not_followed(self):
        """pop3_folders=INBOX,Evil with .Evil a link: POP3 sees INBOX only."""
        os.symlink(self.srv.maildir("bob"), os.path.join(self.alice, ".Evil"))
        self.fix_owner()
        self.srv.set_user_extra("alice", "pop3_folders=INBOX,Evil")
        self.fix_owner()
        import time
        time.sleep(1.1)                 # the passwd-file is looked at once a second
        p = Pop3Client(self.srv.port("pop3"))
        self.clients.append(p)
        p.login("alice", "pw-a")
        self.assertTrue(p.cmd("STAT").startswith("+OK 0 "))
        self.assertTrue(p.cmd("RETR 1").startswith("-ERR"))


if __name__ == "__main__":
    unittest.main()
