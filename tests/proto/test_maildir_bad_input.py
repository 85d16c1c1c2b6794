"""A Maildir that is not as it should be (issue 4, "Bad input"), through POP3
and IMAP on the running server: stray files (directories, dot files, names
without ":2,", odd names, empty and huge files), unreadable files, symbolic
links, and messages deleted from disk behind the server's back during a
POP3 session and during an IMAP FETCH.  Each is handled without a crash,
logged once (not at every access), and the sessions stay consistent.

Unreadable files need a server that is not root (root reads mode 000):
run as root, the test runs the server and deliveries as `nobody`."""
import os
import pwd
import re
import socket
import stat
import subprocess
import time
import unittest

import duotest
from duoimap import RawImap
from test_pop3 import Pop3Client

USER, PASSWORD = "alice", "pw-bad-input"
AS_NOBODY = os.geteuid() == 0


def msg(subject, body="body\n"):
    return ("From: a@example.test\nSubject: %s\n\n%s" % (subject, body)).encode()


class BadInput(unittest.TestCase):
    def setUp(self):
        config = {"server": {"user": "nobody"}} if AS_NOBODY else {}
        # one worker: "logged once" is per process
        self.srv = duotest.Server(plain_users={USER: PASSWORD}, listen=("imap", "pop3"),
                                  workers=1, config=config)
        self.fix_owner()
        self.srv.start()
        self.clients = []
        self.md = self.srv.maildir(USER)

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.stop()

    def fix_owner(self):
        if AS_NOBODY:
            nobody = pwd.getpwnam("nobody")
            for root, dirs, files in os.walk(self.srv.dir):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.lchown(name, nobody.pw_uid, nobody.pw_gid)

    def deliver(self, subject, body="body\n"):
        def drop():
            if AS_NOBODY:
                nobody = pwd.getpwnam("nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
        r = subprocess.run([duotest.DUOMAIL, "deliver", "--config", self.srv.config_path, USER],
                           input=msg(subject, body), capture_output=True, timeout=60,
                           preexec_fn=drop)
        self.assertEqual(r.returncode, 0, r.stderr)

    def put(self, sub, name, data=None, mode=None):
        """A file in cur/ or new/ made behind the server's back."""
        path = os.path.join(self.md, sub, name)
        with open(path, "wb") as f:
            f.write(data if data is not None else msg(name))
        if mode is not None:
            os.chmod(path, mode)
        self.fix_owner()
        return path

    def file_of(self, subject):
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(self.md, sub)):
                path = os.path.join(self.md, sub, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, "rb") as f:
                        if b"Subject: %s\n" % subject.encode() in f.read(4096):
                            return path
        self.fail("no file for %s" % subject)

    def imap(self, select="INBOX"):
        c = RawImap(self.srv.port("imap"))
        self.clients.append(c)
        c.login(USER, PASSWORD)
        if select:
            c.selected = c.ok("SELECT %s" % select)
        return c

    def pop3(self):
        c = Pop3Client(self.srv.port("pop3"))
        self.clients.append(c)
        c.login(USER, PASSWORD)
        return c

    def exists(self, c):
        return int(re.search(rb"\* (\d+) EXISTS", b"\n".join(c.selected)).group(1))

    def log_count(self, pattern):
        return len(re.findall(pattern, self.srv.log_text()))

    def retr(self, p, n):
        reply = p.cmd("RETR %d" % n)
        return reply, (p.multiline() if reply.startswith("+OK") else None)


class TestStrayFiles(BadInput):
    def test_stray_files(self):
        """Directories, dot files, names without ':2,', odd names, an
        empty and a huge file: the messages among them are served, the
        rest is ignored and said once."""
        self.deliver("good1")
        self.deliver("good2")
        os.mkdir(os.path.join(self.md, "cur", "a-directory"))
        self.put("cur", os.path.join("a-directory", "inside"))
        os.mkdir(os.path.join(self.md, "new", "new-directory"))
        self.put("cur", ".hidden:2,S", msg("hidden"))
        self.put("new", ".hidden-new", msg("hidden-new"))
        self.put("cur", "no-info-part", msg("noinfo"))
        self.put("cur", "odd name \u00e9 with spaces:2,S", msg("odd"))
        self.put("cur", "colons:odd:2,F", msg("colons"))
        self.put("cur", "line\nbreak:2,", msg("linebreak"))
        self.put("cur", "empty:2,", b"")
        huge = self.put("cur", "huge:2,", b"Subject: huge\n\n")
        os.truncate(huge, 64 << 20)      # sparse: 64 MiB of NULs after the header
        self.fix_owner()

        # POP3: the seven messages
        p = self.pop3()
        self.assertTrue(p.cmd("UIDL").startswith("+OK"))
        uidls = dict(line.split() for line in p.multiline())
        self.assertEqual(len(uidls), 7, uidls)
        subjects = {}
        for n in uidls:
            self.assertTrue(p.cmd("TOP %s 0" % n).startswith("+OK"))
            lines = p.multiline()
            subj = [x[9:] for x in lines if x.startswith("Subject: ")]
            subjects[subj[0] if subj else "(empty)"] = n
        self.assertEqual(sorted(subjects), ["(empty)", "colons", "good1", "good2", "huge",
                                            "noinfo", "odd"])
        # RFC 1939 §7: a UIDL is 1..70 characters 0x21..0x7E, whatever the name
        for uidl in uidls.values():
            self.assertTrue(re.fullmatch(r"[\x21-\x7e]{1,70}", uidl), uidl)
        reply, lines = self.retr(p, int(subjects["(empty)"]))
        self.assertEqual((reply, lines), ("+OK 0 octets", []))
        self.assertTrue(p.cmd("LIST %s" % subjects["huge"]).startswith(
            "+OK %s %d" % (subjects["huge"], (64 << 20) + 2)))    # two bare LFs
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))

        # IMAP: the same seven, flags from the names, flags settable
        c = self.imap()
        self.assertEqual(self.exists(c), 7)
        u = c.ok("FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(len(u), 7)
        by_subject = {}
        for line in u:
            m = re.search(rb"Subject: (\S+)", line)
            by_subject[m.group(1).decode() if m else "(empty)"] = line
        self.assertIn(b"RFC822.SIZE 0", by_subject["(empty)"])
        self.assertIn(b"\\Seen", by_subject["odd"])
        self.assertNotIn(b"\\Flagged", by_subject["colons"])   # ":odd:2,F" is no info
        seq = int(by_subject["noinfo"].split()[1])
        u = c.ok("STORE %d +FLAGS (\\Answered)" % seq)
        self.assertIn(b"\\Answered", u[0])
        self.assertTrue(os.path.exists(os.path.join(self.md, "cur", "no-info-part:2,R")))
        seq = int(by_subject["(empty)"].split()[1])
        u = c.ok("FETCH %d BODY[]" % seq)
        self.assertIn(b'BODY[] ""', u[0])
        # what is not mail stayed where it was, untouched
        self.assertTrue(os.path.isdir(os.path.join(self.md, "new", "new-directory")))
        self.assertTrue(os.path.isdir(os.path.join(self.md, "cur", "a-directory")))
        self.assertTrue(os.path.exists(os.path.join(self.md, "new", ".hidden-new")))
        # many syncs later, each oddity was logged once
        for _ in range(3):
            c.ok("NOOP")
            p = self.pop3()
            p.cmd("QUIT")
        self.assertEqual(self.log_count(r"ignoring a-directory: a directory"), 1)
        self.assertEqual(self.log_count(r"line break in its name"), 1)


class TestUnreadable(BadInput):
    @unittest.skipIf(not AS_NOBODY and os.geteuid() == 0, "needs a non-root server")
    def test_unreadable_message(self):
        """Mode 000: RETR and FETCH answer an error, the session goes on,
        the rest is served, and the log says it once, not per access."""
        for s in ("one", "two", "three"):
            self.deliver(s)
        c = self.imap()
        os.chmod(self.file_of("two"), 0)
        u, tagged = c.cmd("FETCH 1:3 (FLAGS BODY.PEEK[])")
        self.assertIn(b"NO [SERVERBUG]", tagged)
        self.assertEqual([int(x.split()[1]) for x in u if b"FETCH" in x], [1, 3])
        self.assertIn(b"Subject: three", u[-1])
        _, tagged = c.cmd("UID FETCH 2 BODY.PEEK[]")
        self.assertIn(b"NO [SERVERBUG]", tagged)
        u = c.ok("FETCH 2 (FLAGS RFC822.SIZE)")     # what the index knows: no read
        self.assertIn(b"RFC822.SIZE", u[0])
        u = c.ok("SEARCH BODY body")
        self.assertEqual(u, [b"* SEARCH 1 3"])
        c.ok("NOOP")

        p = self.pop3()
        for cmd in ("RETR 2", "TOP 2 0", "RETR 2"):
            reply = p.cmd(cmd)
            self.assertTrue(reply.startswith("-ERR [SYS/PERM]"), reply)
        reply, lines = self.retr(p, 3)
        self.assertIn("Subject: three", lines)
        self.assertTrue(p.cmd("DELE 2").startswith("+OK"))   # an unlink needs no read
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        self.assertEqual(self.log_count(r"cannot read message uid 2"), 1)
        u = c.ok("NOOP")
        self.assertIn(b"* 2 EXPUNGE", u)

    @unittest.skipIf(not AS_NOBODY and os.geteuid() == 0, "needs a non-root server")
    def test_unreadable_foreign_file(self):
        """A file another program dropped that cannot be read at all, so
        not even measured: left out until it can be read, said once."""
        self.deliver("one")
        self.put("cur", "foreign-unreadable", msg("foreign"), mode=0)
        p = self.pop3()
        self.assertTrue(p.cmd("STAT").startswith("+OK 1 "))
        p.cmd("QUIT")
        c = self.imap()
        self.assertEqual(self.exists(c), 1)
        c.ok("NOOP")
        self.assertEqual(self.log_count(r"foreign-unreadable: cannot read it"), 1)
        os.chmod(os.path.join(self.md, "cur", "foreign-unreadable"), 0o600)
        os.utime(os.path.join(self.md, "cur"))       # as a change would
        time.sleep(1.1)                               # past the sync skip's settling
        u = c.ok("NOOP")
        self.assertIn(b"* 2 EXISTS", u)


class TestSymlinks(BadInput):
    def test_links_never_followed(self):
        """Symbolic links in cur/ and new/ are not messages and are never
        followed, whether they point outside, at a message, or nowhere;
        a message replaced by a link (or a FIFO) counts as gone."""
        secret = os.path.join(self.srv.dir, "secret")
        with open(secret, "wb") as f:
            f.write(b"Subject: SECRET\n\nnot for clients\n")
        self.deliver("one")
        self.deliver("two")
        self.imap().ok("LOGOUT")      # moves them from new/ to cur/
        one = self.file_of("one")
        os.symlink(secret, os.path.join(self.md, "cur", "outside:2,S"))
        os.symlink(os.path.basename(one), os.path.join(self.md, "cur", "again:2,"))
        os.symlink("/nonexistent/x", os.path.join(self.md, "cur", "dangling:2,"))
        os.symlink(secret, os.path.join(self.md, "new", "newlink"))
        self.fix_owner()
        c = self.imap()
        self.assertEqual(self.exists(c), 2)
        p = self.pop3()
        self.assertTrue(p.cmd("STAT").startswith("+OK 2 "))
        reply, lines = self.retr(p, 1)
        self.assertIn("Subject: one", lines)

        # now message two's file is swapped for a link to the secret, and
        # one's for a FIFO, behind the sessions' backs
        two = self.file_of("two")
        os.unlink(two)
        os.symlink(secret, two)
        os.unlink(one)
        os.mkfifo(one)
        self.fix_owner()
        for n in (1, 2):
            reply = p.cmd("RETR %d" % n)
            self.assertTrue(reply.startswith("-ERR"), reply)
            self.assertIn("removed", reply)
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        u, tagged = c.cmd("FETCH 1:2 BODY.PEEK[]")
        self.assertNotIn(b"SECRET", b"".join(u))
        self.assertIn(b"NO", tagged)
        u = c.ok("NOOP")
        self.assertEqual(sorted(x for x in u if x.endswith(b"EXPUNGE")),
                         [b"* 1 EXPUNGE", b"* 2 EXPUNGE"])
        self.assertNotIn(b"SECRET", b"".join(u))
        self.assertEqual(self.log_count(r"ignoring outside:2,S: a symbolic link"), 1)
        self.assertEqual(self.log_count(r"ignoring dangling:2,: a symbolic link"), 1)
        self.assertTrue(os.path.islink(os.path.join(self.md, "cur", "outside:2,S")))


class TestDeletedBehindOurBack(BadInput):
    def test_during_pop3_session(self):
        """A message file removed by someone else while a POP3 session has
        it numbered (RFC 1939 snapshot): -ERR for it, the rest as before,
        DELE of it harmless, QUIT fine, logged once."""
        for s in ("one", "two", "three"):
            self.deliver(s)
        p = self.pop3()
        os.unlink(self.file_of("two"))
        for cmd in ("RETR 2", "TOP 2 0", "RETR 2"):
            reply = p.cmd(cmd)
            self.assertTrue(reply.startswith("-ERR"), reply)
            self.assertIn("removed by another session", reply)
        self.assertTrue(p.cmd("LIST 2").startswith("+OK 2 "))
        self.assertTrue(p.cmd("STAT").startswith("+OK 3 "))
        reply, lines = self.retr(p, 3)
        self.assertIn("Subject: three", lines)
        self.assertTrue(p.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        self.assertTrue(p.closed_by_server())
        self.assertEqual(sorted(self.srv.flags_by_subject(USER)), ["one", "three"])
        self.assertEqual(self.log_count(r"is gone from disk"), 1)

    def test_during_imap_fetch(self):
        """Removed before a FETCH reaches it: the others come, NO
        [EXPUNGEISSUED] (RFC 5530), then EXPUNGE at the next command
        (RFC 3501 §7.4.1).  Removed while its literal streams: the open file
        still has all of it, byte for byte."""
        big_body = "".join("line %06d of a big message\n" % i for i in range(200000))
        for s in ("one", "two", "three"):
            self.deliver(s)
        self.deliver("big", big_body)
        c = self.imap()
        os.unlink(self.file_of("two"))
        u, tagged = c.cmd("FETCH 1:3 BODY.PEEK[]")
        self.assertIn(b"NO [EXPUNGEISSUED]", tagged)
        self.assertEqual([int(x.split()[1]) for x in u if b"FETCH" in x], [1, 3])
        _, tagged = c.cmd("FETCH 2 BODY.PEEK[]")
        self.assertIn(b"NO [EXPUNGEISSUED]", tagged)
        u = c.ok("NOOP")
        self.assertIn(b"* 2 EXPUNGE", u)
        u = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(len(u), 3)
        self.assertEqual(self.log_count(r"is gone from disk"), 1)

        # the big one, now message 3: read a little, remove it, read on
        expected = msg("big", big_body).replace(b"\n", b"\r\n")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        c.send("f1 FETCH 3 BODY.PEEK[]\r\n")
        head = c.line()
        m = re.match(rb"\* 3 FETCH \(BODY\[\] \{(\d+)\}$", head)
        self.assertIsNotNone(m, head)
        self.assertEqual(int(m.group(1)), len(expected))
        first = c.read_exact(65536)
        os.unlink(self.file_of("big"))
        rest = c.read_exact(len(expected) - len(first))
        self.assertEqual(first + rest, expected)
        self.assertEqual(c.line(), b")")
        _, tagged = c.until("f1")
        self.assertIn(b"f1 OK", tagged)
        u = c.ok("NOOP")
        self.assertIn(b"* 3 EXPUNGE", u)


if __name__ == "__main__":
    unittest.main()
