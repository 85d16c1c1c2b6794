"""Quota on the real server: [quota] storage/messages as the default and a
user's quota_storage=/quota_messages= (or Dovecot's quota_rule) beating
it; APPEND over quota answered NO [OVERQUOTA] (RFC 5530), before the
literal is sent when its size says so; COPY refused the same way, MOVE
not; `duomail deliver` over quota exits 75 (temporary failure, the MTA
retries); POP3 and IMAP deletions make room again, and the Maildir++
maildirsize file agrees with what is on disk; the QUOTA extension (RFC 9208)
reports it."""
import imaplib
import os
import socket
import unittest

import duotest
from duoimap import RawImap
from test_pop3 import Pop3Client


def message(subject, size=0):
    head = "From: a@example.test\r\nSubject: %s\r\n\r\n" % subject
    body = "x" * max(0, size - len(head) - 2) + "\r\n"
    return (head + body).encode()


class QuotaTest(unittest.TestCase):
    def setUp(self):
        # 1000 bytes, 5 messages for everyone; bob may have 3 messages of any
        # size; carol has a Dovecot rule; dave none at all
        self.srv = duotest.Server(config={"quota": {"storage": "1000", "messages": "5"}},
                                  listen=("pop3", "imap"))
        self.srv.add_user("alice", "pw")
        self.srv.add_user("bob", "pw", "quota_storage=0 userdb_quota_messages=3")
        self.srv.add_user("carol", "pw", "userdb_quota_rule=*:bytes=500 userdb_mail=x")
        self.srv.add_user("dave", "pw", "quota_storage=0 quota_messages=0")
        self.srv.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        self.srv.stop()

    def imap(self, user="alice"):
        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        self.clients.append(c)
        c.login(user, "pw")
        return c

    def usage(self, user):
        """(bytes, messages) summed from maildirsize, and as counted on disk."""
        path = os.path.join(self.srv.maildir(user), "maildirsize")
        with open(path) as f:
            lines = f.read().splitlines()
        recorded = [0, 0]
        for line in lines[1:]:
            b, c = line.split()
            recorded[0] += int(b)
            recorded[1] += int(c)
        disk = [0, 0]
        for folder in [""] + [d for d in os.listdir(self.srv.maildir(user))
                              if d.startswith(".")]:
            for path in self.srv.message_files(user, folder):
                disk[0] += os.path.getsize(path)
                disk[1] += 1
        self.assertEqual(recorded, disk)
        return tuple(recorded)

    def test_deliver_over_quota(self):
        for i in range(3):
            self.assertEqual(self.srv.deliver("alice", message("m%d" % i, 300)), 0)
        self.assertEqual(self.usage("alice"), (900, 3))
        # 1200 > 1000: temporary failure, nothing delivered
        self.assertEqual(self.srv.deliver("alice", message("big", 300)), 75)
        self.assertEqual(self.srv.count_mail("alice"), 3)
        self.assertEqual(self.srv.deliver("alice", message("small", 100)), 0)
        self.assertEqual(self.usage("alice"), (1000, 4))
        self.assertEqual(self.srv.deliver("alice", message("tiny", 30)), 75)
        # a POP3 deletion makes room: the usage follows it
        c = Pop3Client(self.srv.port("pop3"))
        c.login("alice", "pw")
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        c.close()
        self.assertEqual(self.usage("alice"), (400, 2))
        self.assertEqual(self.srv.deliver("alice", message("again", 300)), 0)
        self.assertEqual(self.usage("alice"), (700, 3))

    def test_message_limits_and_overrides(self):
        for i in range(3):
            self.assertEqual(self.srv.deliver("bob", message("b%d" % i, 900)), 0)
        self.assertEqual(self.srv.deliver("bob", message("b3", 10)), 75)   # 3 messages
        self.assertEqual(self.usage("bob"), (2700, 3))
        # carol: Dovecot's rule, 500 bytes
        self.assertEqual(self.srv.deliver("carol", message("c", 600)), 75)
        self.assertEqual(self.srv.deliver("carol", message("c", 400)), 0)
        # dave: no quota at all, no maildirsize kept
        for i in range(7):
            self.assertEqual(self.srv.deliver("dave", message("d%d" % i, 900)), 0)
        self.assertFalse(os.path.exists(os.path.join(self.srv.maildir("dave"), "maildirsize")))

    def test_append_copy_move(self):
        c = self.imap()
        self.assertEqual(c.append("INBOX", None, None, message("a1", 400))[0], "OK")
        self.assertEqual(c.append("INBOX", None, None, message("a2", 400))[0], "OK")
        typ, data = c.append("INBOX", None, None, message("a3", 400))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        self.assertEqual(self.usage("alice"), (800, 2))
        c.select("INBOX")
        # COPY would need room; MOVE does not
        typ, data = c.copy("1", "Archive")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        typ, data = c._simple_command("MOVE", "1", "Archive")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(self.usage("alice"), (800, 2))
        # an IMAP expunge makes room
        c.store("1", "+FLAGS", r"(\Deleted)")
        c.expunge()
        self.assertEqual(self.usage("alice"), (400, 1))
        self.assertEqual(c.append("INBOX", None, None, message("a4", 400))[0], "OK")

    def test_append_refused_before_the_literal(self):
        self.assertEqual(self.srv.deliver("alice", message("m", 900)), 0)
        s = socket.create_connection(("127.0.0.1", self.srv.port("imap")), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN alice pw\r\n")
        while not f.readline().startswith(b"a OK"):
            pass
        # RFC 3501 §6.3.11 / §7.5: a NO instead of the "+" continuation
        s.sendall(b"b APPEND INBOX {5000}\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"b NO [OVERQUOTA]"), line)
        s.sendall(b"c LOGOUT\r\n")
        s.close()


    def test_quota_extension(self):
        self.assertEqual(self.srv.deliver("alice", message("m1", 700)), 0)
        self.assertEqual(self.srv.deliver("alice", message("m2", 100)), 0)
        c = RawImap(self.srv.port("imap"))
        try:
            c.login("alice", "pw")
            caps = c.ok("CAPABILITY")[0]
            for cap in (b" QUOTA ", b" QUOTA=RES-STORAGE", b" QUOTA=RES-MESSAGE"):
                self.assertIn(cap, caps + b" ")
            self.assertNotIn(b"QUOTASET", caps)
            # 800 bytes: 1 KiB of 1 KiB (rounded up), 2 of 5 messages
            untagged = c.ok("GETQUOTAROOT INBOX")
            self.assertEqual(untagged, [b'* QUOTAROOT "INBOX" "User quota"',
                                        b'* QUOTA "User quota" (STORAGE 1 1 MESSAGE 2 5)'])
            # any mailbox, even one that does not exist (RFC 9208 §4.1.2)
            self.assertEqual(c.ok("GETQUOTAROOT NoSuchBox")[0],
                             b'* QUOTAROOT "NoSuchBox" "User quota"')
            self.assertEqual(c.ok('GETQUOTA "User quota"'),
                             [b'* QUOTA "User quota" (STORAGE 1 1 MESSAGE 2 5)'])
            self.assertIn(b"NO [NONEXISTENT]", c.cmd('GETQUOTA "other"')[1])
            self.assertIn(b"NO [NOPERM]", c.cmd('SETQUOTA "User quota" (STORAGE 10)')[1])
            c.ok("SELECT INBOX")
            c.ok("STORE 1 +FLAGS (\\Deleted)")
            self.assertEqual(c.ok("STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)"),
                             [b'* STATUS "INBOX" (MESSAGES 2 DELETED 1 DELETED-STORAGE 700)'])
            c.ok("EXPUNGE")
            self.assertIn(b'* QUOTA "User quota" (STORAGE 1 1 MESSAGE 1 5)',
                          c.ok("GETQUOTAROOT INBOX"))
        finally:
            c.close()
        # bob: messages only; dave: no quota root at all
        c = RawImap(self.srv.port("imap"))
        try:
            c.login("bob", "pw")
            self.assertIn(b'* QUOTA "User quota" (MESSAGE 0 3)', c.ok("GETQUOTAROOT INBOX"))
        finally:
            c.close()
        c = RawImap(self.srv.port("imap"))
        try:
            c.login("dave", "pw")
            self.assertEqual(c.ok("GETQUOTAROOT INBOX"), [b'* QUOTAROOT "INBOX"'])
            self.assertIn(b"NO [NONEXISTENT]", c.cmd('GETQUOTA "User quota"')[1])
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
