"""IMAP against the running server: STORE, EXPUNGE, UID forms, the client's
view kept current across sessions and protocols (untagged EXISTS, EXPUNGE,
FETCH FLAGS; RFC 3501 §7.4.1's rule that no EXPUNGE is sent during FETCH,
STORE or SEARCH), and IDLE (RFC 2177) pushing changes made by another IMAP
session, a POP3 session, `duomail deliver` and a foreign program writing
into new/."""
import os
import socket
import time
import unittest

import duotest
from duoimap import RawImap
from test_pop3 import Pop3Client

PUSH_TIMEOUT = 3.0   # generous bound for a push; the design target is well under 1 s


def msg(subject, body="body\n"):
    return ("From: a@example.test\nTo: b@example.test\nSubject: %s\n\n%s" % (subject, body)).encode()


class ImapTest(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-alice"},
                                  listen=("imap", "imaps", "pop3"))
        self.srv.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.stop()

    def connect(self, select=None):
        c = RawImap(self.srv.port("imap"))
        self.clients.append(c)
        c.login("alice", "pw-alice")
        if select:
            c.ok("SELECT %s" % select)
        return c

    def fill(self, n):
        for i in range(1, n + 1):
            self.assertEqual(self.srv.deliver("alice", msg("m%d" % i)), 0)

    def wait_for(self, c, pattern, timeout=PUSH_TIMEOUT):
        """Reads untagged lines until one contains pattern, without sending
        anything: the server must push it."""
        c.sock.settimeout(timeout)
        start = time.time()
        seen = []
        try:
            while True:
                line = c.line()
                seen.append(line)
                if pattern in line:
                    return line, time.time() - start
        except socket.timeout:
            self.fail("no %r pushed within %.1fs; got %r" % (pattern, timeout, seen))
        finally:
            c.sock.settimeout(10)


class TestStoreExpunge(ImapTest):
    def test_store_forms(self):
        """RFC 3501 §6.4.6: FLAGS replaces, +FLAGS adds, -FLAGS removes, and
        .SILENT sends no FETCH; flags reach the Maildir file names."""
        self.fill(3)
        c = self.connect("INBOX")
        u = c.ok("STORE 1 +FLAGS (\\Seen \\Flagged)")
        self.assertEqual(u, [b"* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))"])
        u = c.ok("STORE 1 -FLAGS \\Flagged")
        self.assertEqual(u, [b"* 1 FETCH (FLAGS (\\Seen \\Recent))"])
        u = c.ok("STORE 2:3 FLAGS (\\Answered \\Draft)")
        self.assertEqual(u, [b"* 2 FETCH (FLAGS (\\Answered \\Draft \\Recent))",
                             b"* 3 FETCH (FLAGS (\\Answered \\Draft \\Recent))"])
        self.assertEqual(c.ok("STORE 3 FLAGS.SILENT (\\Deleted)"), [])
        # flags without parentheses, several of them (RFC 3501 §9 store-att-flags)
        self.assertEqual(len(c.ok("STORE 2 +FLAGS \\Seen \\Flagged")), 1)
        # \\Recent cannot be set by a client; it is ignored (RFC 3501 §2.3.2)
        self.assertEqual(c.ok("STORE 3 -FLAGS (\\Recent)"),
                         [b"* 3 FETCH (FLAGS (\\Deleted \\Recent))"])
        flags = self.srv.flags_by_subject("alice")   # Maildir: R is \\Answered, T \\Deleted
        self.assertEqual(flags, {"m1": "S", "m2": "DFRS", "m3": "T"})

    def test_keywords(self):
        """RFC 3501 §2.3.2 keywords: PERMANENTFLAGS has \\*, a new keyword is
        announced with FLAGS (§7.2.6) before it is used, kept on disk in
        Dovecot's format, and other sessions see it."""
        self.fill(2)
        c = self.connect()
        u = c.ok("SELECT INBOX")
        self.assertIn(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]"
                      b" Flags permitted.", u)
        other = self.connect("INBOX")
        u = c.ok("STORE 1 +FLAGS ($Forwarded Junk)")
        self.assertEqual(u, [b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Junk)",
                             b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
                             b"$Forwarded Junk \\*)] Flags permitted.",
                             b"* 1 FETCH (FLAGS (\\Recent $Forwarded Junk))"])
        self.assertEqual(self.srv.flags_by_subject("alice"), {"m1": "ab", "m2": ""})
        with open(os.path.join(self.srv.maildir("alice"), "dovecot-keywords")) as f:
            self.assertEqual(f.read(), "0 $Forwarded\n1 Junk\n")
        # the same name in other case is the same keyword; -FLAGS removes
        u = c.ok("STORE 1 -FLAGS (junk)")
        self.assertEqual(u, [b"* 1 FETCH (FLAGS (\\Recent $Forwarded))"])
        u = c.ok("STORE 2 FLAGS (\\Seen JUNK)")
        self.assertEqual(u, [b"* 2 FETCH (FLAGS (\\Seen \\Recent Junk))"])
        # another session learns the names, then the flags
        time.sleep(0.2)
        u = other.ok("NOOP")
        self.assertEqual(u[0], b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Junk)")
        self.assertIn(b"* 1 FETCH (FLAGS ($Forwarded) UID 1)", u)
        self.assertIn(b"* 2 FETCH (FLAGS (\\Seen Junk) UID 2)", u)
        # removing a keyword nobody ever used is no error
        self.assertEqual(c.ok("STORE 1 -FLAGS (NeverSeen)"), [b"* 1 FETCH (FLAGS (\\Recent $Forwarded))"])
        _, tagged = c.cmd("STORE 1 +FLAGS (bad\x01word)")
        self.assertIn(b" BAD ", tagged)

    def test_keyword_limit(self):
        """Maildir has 26 keyword letters; the 27th is refused with [LIMIT]
        (RFC 5530) and PERMANENTFLAGS loses \\*."""
        self.fill(1)
        c = self.connect("INBOX")
        for i in range(26):
            c.ok("STORE 1 +FLAGS.SILENT (k%d)" % i)
        _, tagged = c.cmd("STORE 1 +FLAGS (k26)")
        self.assertIn(b"NO [LIMIT]", tagged)
        u = c.ok("SELECT INBOX")
        perm = [x for x in u if b"PERMANENTFLAGS" in x][0]
        self.assertNotIn(b"\\*", perm)
        self.assertIn(b" k25", perm)

    def test_uid_store_includes_uid(self):
        """RFC 3501 §6.4.8: UID STORE's FETCH responses carry the UID."""
        self.fill(2)
        c = self.connect("INBOX")
        u = c.ok("UID STORE 2 +FLAGS (\\Seen)")
        self.assertEqual(u, [b"* 2 FETCH (FLAGS (\\Seen \\Recent) UID 2)"])
        # a UID that is not there is no error, and touches nothing
        self.assertEqual(c.ok("UID STORE 99 +FLAGS (\\Seen)"), [])

    def test_store_bad_input(self):
        self.fill(2)
        c = self.connect("INBOX")
        for bad in ("STORE 1 +FLAGS (\\Bogus)", "STORE 1 XFLAGS (\\Seen)", "STORE 1 +FLAGS",
                    "STORE 0 +FLAGS (\\Seen)", "STORE 3 +FLAGS (\\Seen)",
                    "STORE 4294967296 +FLAGS (\\Seen)", "STORE 1:*:3 +FLAGS (\\Seen)",
                    "STORE 1 +FLAGS (\\Seen", "UID FROB 1", "UID"):
            _, tagged = c.cmd(bad)
            self.assertIn(b" BAD ", tagged, bad)
        # the session goes on, nothing changed on disk
        c.ok("NOOP")
        self.assertEqual(self.srv.flags_by_subject("alice"), {"m1": "", "m2": ""})

    def test_examine_is_read_only(self):
        """RFC 3501 §6.3.2: EXAMINE gives a read-only mailbox."""
        self.fill(1)
        c = self.connect()
        c.ok("EXAMINE INBOX")
        _, tagged = c.cmd("STORE 1 +FLAGS (\\Deleted)")
        self.assertIn(b" NO ", tagged)
        _, tagged = c.cmd("EXPUNGE")
        self.assertIn(b" NO ", tagged)
        self.assertEqual(self.srv.count_mail("alice"), 1)

    def test_wrong_state(self):
        c = self.connect()
        for cmd in ("STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "UID STORE 1 +FLAGS (\\Seen)"):
            _, tagged = c.cmd(cmd)
            self.assertIn(b" BAD ", tagged, cmd)

    def test_expunge(self):
        """RFC 3501 §7.4.1: each EXPUNGE names the number at that moment."""
        self.fill(5)
        c = self.connect("INBOX")
        c.ok("STORE 2,4,5 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("EXPUNGE")
        expunged = [int(x.split()[1]) for x in u if x.endswith(b"EXPUNGE")]
        # whatever order the server picks, replaying it must remove m2, m4, m5
        left = ["m1", "m2", "m3", "m4", "m5"]
        for n in expunged:
            del left[n - 1]
        self.assertEqual(left, ["m1", "m3"])
        self.assertEqual(sorted(self.srv.flags_by_subject("alice")), ["m1", "m3"])
        _, tagged = c.cmd("STORE 3 +FLAGS (\\Seen)")   # only 2 messages now
        self.assertIn(b" BAD ", tagged)

    def test_uid_expunge_only_its_set(self):
        """RFC 4315 §2.1: UID EXPUNGE removes only \\Deleted messages in its set."""
        self.fill(3)
        c = self.connect("INBOX")
        c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("UID EXPUNGE 2")
        self.assertEqual(u, [b"* 2 EXPUNGE"])
        self.assertEqual(sorted(self.srv.flags_by_subject("alice")), ["m1", "m3"])


class TestViewAcrossSessions(ImapTest):
    def test_deferred_expunge(self):
        """RFC 3501 §7.4.1: no EXPUNGE while answering STORE; the numbers stay
        until a command that may carry it (NOOP)."""
        self.fill(3)
        a = self.connect("INBOX")
        b = self.connect("INBOX")
        b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        time.sleep(0.2)   # let the watch see it
        u, tagged = a.cmd("STORE 2 +FLAGS (\\Seen)")
        self.assertFalse([x for x in u if x.endswith(b"EXPUNGE")], u)
        self.assertIn(b"* 2 FETCH (FLAGS (\\Seen", b"\n".join(u))
        u = a.ok("NOOP")
        self.assertIn(b"* 1 EXPUNGE", u)
        # and the numbering moved: message 2 is now m3 (flags unchanged)
        u = a.ok("STORE 2 +FLAGS (\\Flagged)")
        self.assertEqual(u, [b"* 2 FETCH (FLAGS (\\Flagged \\Recent))"])
        self.assertEqual(self.srv.flags_by_subject("alice"), {"m2": "S", "m3": "F"})

    def test_flag_changes_and_new_mail_reported(self):
        self.fill(2)
        a = self.connect("INBOX")
        b = self.connect("INBOX")
        b.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
        self.srv.deliver("alice", msg("m3"))
        time.sleep(0.2)
        u = a.ok("NOOP")
        self.assertIn(b"* 3 EXISTS", u)
        self.assertTrue([x for x in u if x.startswith(b"* 2 FETCH (FLAGS (\\Answered")], u)


    def test_uidvalidity_change_ends_session(self):
        """RFC 3501 §2.3.1.1: UIDs may not change meaning within a session.
        If the index is lost and the mailbox renumbered, the session is
        closed with BYE rather than shown wrong UIDs; a new one sees the
        new UIDVALIDITY."""
        self.fill(2)
        a = self.connect()
        before = [x for x in a.ok("SELECT INBOX") if b"UIDVALIDITY" in x][0]
        os.unlink(os.path.join(self.srv.maildir("alice"), "duomail-index"))
        self.srv.deliver("alice", msg("m3"))
        time.sleep(0.2)
        a.send("n1 NOOP\r\n")
        self.assertTrue(a.line().startswith(b"* BYE"))
        b = self.connect()
        after = [x for x in b.ok("SELECT INBOX") if b"UIDVALIDITY" in x][0]
        self.assertNotEqual(before, after)


class TestIdle(ImapTest):
    def idle(self, c):
        c.send("i1 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+ "))

    def done(self, c):
        c.send("DONE\r\n")
        u, tagged = c.until("i1")
        self.assertTrue(tagged.startswith(b"i1 OK"), tagged)
        return u

    def test_idle_sees_imap_flag_change_and_expunge(self):
        self.fill(2)
        a = self.connect("INBOX")
        b = self.connect("INBOX")
        self.idle(a)
        b.ok("STORE 1 +FLAGS (\\Flagged)")
        line, _ = self.wait_for(a, b"FETCH")
        self.assertTrue(line.startswith(b"* 1 FETCH (FLAGS (\\Flagged"), line)
        b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        self.wait_for(a, b"* 2 EXPUNGE")
        self.done(a)

    def test_idle_sees_delivery_and_foreign_drop(self):
        a = self.connect("INBOX")
        self.idle(a)
        self.assertEqual(self.srv.deliver("alice", msg("delivered")), 0)
        self.wait_for(a, b"* 1 EXISTS")
        # another program, the Maildir way: tmp/ then rename into new/
        md = self.srv.maildir("alice")
        tmp = os.path.join(md, "tmp", "123.foreign.host")
        with open(tmp, "wb") as f:
            f.write(msg("foreign"))
        os.rename(tmp, os.path.join(md, "new", "123.foreign.host"))
        self.wait_for(a, b"* 2 EXISTS")
        self.done(a)

    def test_append_to_selected_is_recent_there_not_in_the_idler(self):
        """RFC 3501 §6.3.11 and §2.3.2: a message APPENDed to the selected
        mailbox is \\Recent in the appending session.  The idler hears of
        it (EXISTS) but must not take the claim, however fast its push
        comes: the UID and the claim are given under one lock."""
        a = self.connect("INBOX")
        b = self.connect("INBOX")
        self.idle(a)
        for n in range(1, 11):
            m = msg("appended %d" % n)
            b.send("%s APPEND INBOX {%d+}\r\n" % ("ap%d" % n, len(m)))
            b.send(m + b"\r\n")
            u, tagged = b.until("ap%d" % n)
            self.assertTrue(tagged.startswith(b"ap%d OK" % n), tagged)
            self.assertIn(b"* %d RECENT" % n, u)
            self.wait_for(a, b"* %d EXISTS" % n)
        pushed = self.done(a)
        c = self.connect()
        self.assertEqual(c.ok("STATUS INBOX (RECENT)"), [b'* STATUS "INBOX" (RECENT 0)'])
        a.ok("NOOP")
        for line in pushed + a.ok("NOOP"):
            self.assertFalse(line.endswith(b"RECENT") and not line.startswith(b"* 0 "), line)

    def test_idle_sees_pop3_deletion(self):
        """One account, two protocols: a POP3 DELE committed at QUIT is an
        expunge that an idling IMAP client hears of at once."""
        self.fill(3)
        a = self.connect("INBOX")
        self.idle(a)
        p = Pop3Client(self.srv.port("pop3"))
        p.login("alice", "pw-alice")
        self.assertTrue(p.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        p.close()
        self.wait_for(a, b"* 2 EXPUNGE")
        self.done(a)
        u = a.ok("STORE 2 +FLAGS (\\Seen)")
        self.assertEqual(u, [b"* 2 FETCH (FLAGS (\\Seen \\Recent))"])
        self.assertEqual(self.srv.flags_by_subject("alice"), {"m1": "", "m3": "S"})

    def test_idle_in_authenticated_state(self):
        c = self.connect()
        self.idle(c)
        self.assertEqual(self.done(c), [])

    def test_idle_ended_by_garbage(self):
        """RFC 2177 §3: anything but DONE ends IDLE as an error; the session
        goes on."""
        c = self.connect("INBOX")
        self.idle(c)
        c.send("FROB\r\n")
        _, tagged = c.until("i1")
        self.assertIn(b" BAD ", tagged)
        c.ok("NOOP")

    def test_client_vanishes_in_idle(self):
        self.fill(1)
        for _ in range(5):
            a = RawImap(self.srv.port("imap"))
            a.login("alice", "pw-alice")
            a.ok("SELECT INBOX")
            self.idle(a)
            a.close()
        self.srv.deliver("alice", msg("after"))
        c = self.connect("INBOX")
        self.assertIn(b"* OK [UIDNEXT 3]", b"\n".join(c.ok("SELECT INBOX")))

    def test_many_idlers_one_mailbox(self):
        """Every session on one mailbox hears of a delivery: one watch in the
        worker fans out to all of them."""
        idlers = [self.connect("INBOX") for _ in range(20)]
        for c in idlers:
            self.idle(c)
        self.srv.deliver("alice", msg("for everyone"))
        for c in idlers:
            self.wait_for(c, b"* 1 EXISTS")
        for c in idlers:
            self.done(c)


if __name__ == "__main__":
    unittest.main()
