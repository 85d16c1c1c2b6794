"""One account, two protocols at the same time (issue 4; README "POP3 and IMAP
on one account"): a POP3 and an IMAP client on the same mailbox, against the
real server with two workers.  Each test names the rule it checks.  What
test_pop3.py and test_imap_sync.py already cover (UIDL after index loss with
POP3 alone, IDLE seeing a POP3 DELE, [IN-USE] between two POP3 sessions) is
not repeated; these add the other protocol's side of each rule, restarts,
renumbering during a session, and changes that cross workers."""
import os
import re
import signal
import socket
import threading
import time
import unittest

import duotest
from duoimap import ImapError, RawImap
from test_pop3 import Pop3Client

PUSH_BOUND = 3.0   # generous; the design target is well under a second
USER, PASSWORD = "alice", "pw-one-account"


def msg(subject, body="body\n"):
    return ("From: a@example.test\nTo: b@example.test\nMessage-ID: <%s@one.test>\n"
            "Subject: %s\n\n%s" % (subject, subject, body)).encode()


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(out)


def socket_inodes(pid):
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def worker_of(srv, client_sock):
    """The worker process serving our connection: the one holding the
    server's end of it (found in /proc/net/tcp by our port).  Retried for
    a while: on a loaded machine /proc can lag the accept by a moment."""
    deadline = time.monotonic() + 5
    while True:
        pid = worker_of_once(srv, client_sock)
        if pid is not None or time.monotonic() > deadline:
            return pid
        time.sleep(0.05)


def worker_of_once(srv, client_sock):
    port = client_sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            # remote is us and local is one of the server's ports: the
            # server's socket (another connection on this busy machine
            # may have our port as its remote one)
            if (int(fields[2].split(":")[1], 16) == port and fields[9] != "0" and
                    int(fields[1].split(":")[1], 16) in srv.ports.values()):
                inode = fields[9]
    for pid in children(srv.proc.pid):
        if inode in socket_inodes(pid):
            return pid
    return None


class OneAccount(unittest.TestCase):
    workers = 2

    def setUp(self):
        self.srv = duotest.Server(plain_users={USER: PASSWORD}, listen=("imap", "pop3"),
                                  workers=self.workers)
        self.srv.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.stop()

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

    def fill(self, *subjects):
        for s in subjects:
            self.assertEqual(self.srv.deliver(USER, msg(s)), 0)

    def uidvalidity(self, untagged):
        return int(re.search(rb"\[UIDVALIDITY (\d+)\]", b"\n".join(untagged)).group(1))

    def uids_by_subject(self, c):
        out = {}
        for line in c.ok("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"):
            m = re.search(rb"UID (\d+) .*Subject: (\S+)", line, re.S)
            if m:
                out[m.group(2).decode()] = int(m.group(1))
        return out

    def uidl_by_subject(self, p):
        self.assertTrue(p.cmd("UIDL").startswith("+OK"))
        out = {}
        for num, uidl in (line.split() for line in p.multiline()):
            self.assertTrue(p.cmd("TOP %s 0" % num).startswith("+OK"))
            subject = [x for x in p.multiline() if x.startswith("Subject: ")][0][9:]
            out[subject] = uidl
        return out

    def remove_index(self, folder=""):
        os.unlink(os.path.join(self.srv.maildir(USER), folder, "duomail-index"))

    def idle(self, c):
        c.send("i1 IDLE\r\n")
        line = c.line()
        self.assertTrue(line.startswith(b"+ "), line)

    def done(self, c):
        c.send("DONE\r\n")
        u, tagged = c.until("i1")
        self.assertTrue(tagged.startswith(b"i1 OK"), tagged)
        return u

    def wait_for(self, c, pattern, since, timeout=PUSH_BOUND):
        """Reads pushed lines until one matches; the seconds since `since`."""
        c.sock.settimeout(timeout)
        seen = []
        try:
            while True:
                line = c.line()
                seen.append(line)
                if re.search(pattern, line):
                    return time.time() - since
        except socket.timeout:
            self.fail("no %r pushed within %.1fs; got %r" % (pattern, timeout, seen))
        finally:
            c.sock.settimeout(10)


class TestUidl(OneAccount):
    def test_uidl_fixed_across_restart_index_loss_and_protocols(self):
        """Rule: a POP3 UIDL is fixed for the life of a message, across
        restarts, index rebuilds, a lost index with a new UIDVALIDITY, and
        whichever protocol looked first (RFC 1939 §7; RFC 3501 §2.3.1.1)."""
        self.fill("a", "b", "c")
        p = self.pop3()
        first = self.uidl_by_subject(p)
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        c = self.imap()
        uv1 = self.uidvalidity(c.selected)
        uids1 = self.uids_by_subject(c)
        c.ok("LOGOUT")

        # a restart keeps everything: UIDL, UIDVALIDITY and UIDs
        self.srv.restart()
        c = self.imap()
        self.assertEqual(self.uidvalidity(c.selected), uv1)
        self.assertEqual(self.uids_by_subject(c), uids1)
        c.ok("LOGOUT")
        p = self.pop3()
        self.assertEqual(self.uidl_by_subject(p), first)
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))

        # index lost, IMAP looks first: new UIDVALIDITY, same UIDLs
        self.remove_index()
        c = self.imap()
        uv2 = self.uidvalidity(c.selected)
        self.assertGreater(uv2, uv1)
        c.ok("LOGOUT")
        p = self.pop3()
        self.assertEqual(self.uidl_by_subject(p), first)
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))

        # index lost, POP3 looks first: same UIDLs, and IMAP then sees a
        # UIDVALIDITY greater than any before
        self.remove_index()
        p = self.pop3()
        self.assertEqual(self.uidl_by_subject(p), first)
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        c = self.imap()
        self.assertGreater(self.uidvalidity(c.selected), uv2)

    def test_leave_on_server_never_downloads_twice(self):
        """Rule: re-downloading with "leave on server" never produces a
        duplicate.  A client that keeps the UIDLs it has fetched (as
        fetchmail, mpop and Thunderbird do) finds exactly the new messages
        new, whatever IMAP, a restart and a lost index did meanwhile."""
        self.fill("a", "b", "c", "d")
        have = {}
        p = self.pop3()
        for subject, uidl in self.uidl_by_subject(p).items():
            have[uidl] = subject
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))

        c = self.imap()
        c.ok("STORE 1 +FLAGS (\\Flagged \\Seen)")      # renames the file
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")                                # b is gone
        c.ok("MOVE 2 Archive")                         # c leaves INBOX
        c.ok("LOGOUT")
        self.fill("e")
        self.remove_index()
        self.srv.restart()
        self.fill("f")

        p = self.pop3()
        now = self.uidl_by_subject(p)
        fresh = sorted(s for s, u in now.items() if u not in have)
        self.assertEqual(fresh, ["e", "f"])
        self.assertEqual(sorted(now), ["a", "d", "e", "f"])
        for subject, uidl in now.items():
            if uidl in have:
                self.assertEqual(have[uidl], subject)


class TestPop3DeleIsExpunge(OneAccount):
    def test_dele_at_quit_is_an_expunge_for_imap(self):
        """Rule: a POP3 DELE committed at QUIT is an expunge (RFC 1939 §6):
        an IMAP session in IDLE gets `* n EXPUNGE` at once (RFC 2177), one
        that is not idling at its next command (RFC 3501 §7.4.1), and both
        count EXISTS right afterwards.  Nothing happens before QUIT."""
        self.fill("a", "b", "c", "d")
        idler = self.imap()
        other = self.imap()
        p = self.pop3()
        self.assertTrue(p.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(p.cmd("DELE 4").startswith("+OK"))
        time.sleep(0.3)
        self.assertFalse([x for x in other.ok("NOOP") if b"EXPUNGE" in x])
        self.idle(idler)
        t0 = time.time()
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        t4 = self.wait_for(idler, rb"^\* 4 EXPUNGE$", t0)
        t2 = self.wait_for(idler, rb"^\* 2 EXPUNGE$", t0)
        print("\nPOP3 QUIT -> IDLE EXPUNGE: %.3f s, %.3f s" % (t4, t2))
        self.done(idler)
        u = other.ok("NOOP")
        self.assertEqual([x for x in u if x.endswith(b"EXPUNGE")],
                         [b"* 4 EXPUNGE", b"* 2 EXPUNGE"])
        # the numbers both sessions now use are right, and so is EXISTS
        for c in (idler, other):
            u = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertEqual(len(u), 2)
            self.assertIn(b"Subject: a", u[0])
            self.assertIn(b"Subject: c", u[1])
        self.idle(idler)
        t0 = time.time()
        self.fill("e")
        self.wait_for(idler, rb"^\* 3 EXISTS$", t0)
        self.done(idler)
        self.assertIn(b"* 3 EXISTS", other.ok("NOOP"))


class TestImapChangesUnderPop3(OneAccount):
    def check_pop3_after_loss(self, p, gone, kept):
        """The POP3 side of an IMAP removal: numbering kept (RFC 1939's
        snapshot), RETR/TOP of the gone message -ERR with a clear text and
        the session goes on, DELE of it harmless, QUIT fine."""
        self.assertTrue(p.cmd("STAT").startswith("+OK 4 "))
        for cmd in ("RETR %d" % gone, "TOP %d 0" % gone):
            reply = p.cmd(cmd)
            self.assertTrue(reply.startswith("-ERR"), reply)
            self.assertIn("removed by another session", reply)
        self.assertTrue(p.cmd("NOOP").startswith("+OK"))
        self.assertTrue(p.cmd("RETR %d" % kept).startswith("+OK"))
        self.assertIn("Subject: d", p.multiline())
        lst = p.cmd("LIST %d" % gone)
        self.assertTrue(lst.startswith("+OK %d " % gone), lst)   # still numbered
        self.assertTrue(p.cmd("DELE %d" % gone).startswith("+OK"))
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        self.assertTrue(p.closed_by_server())

    def test_imap_expunge_while_pop3_open(self):
        """Rule: an IMAP EXPUNGE while a POP3 session is open."""
        self.fill("a", "b", "c", "d")
        p = self.pop3()
        c = self.imap()
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        self.check_pop3_after_loss(p, gone=2, kept=4)
        subjects = sorted(self.srv.flags_by_subject(USER))
        self.assertEqual(subjects, ["a", "c", "d"])
        self.assertEqual(self.srv.flags_by_subject(USER)["d"], "S")   # RETR'd

    def test_imap_move_while_pop3_open(self):
        """Rule: a MOVE out of INBOX while a POP3 session is open; the
        moved message is safe in its new folder from the POP3 DELE of it."""
        self.fill("a", "b", "c", "d")
        p = self.pop3()
        c = self.imap()
        u = c.ok("MOVE 3 Archive")
        self.assertIn(b"* 3 EXPUNGE", u)
        self.check_pop3_after_loss(p, gone=3, kept=4)
        self.assertEqual(sorted(self.srv.flags_by_subject(USER)), ["a", "b", "d"])
        archive = os.path.join(self.srv.maildir(USER), ".Archive")
        self.assertEqual(len(os.listdir(os.path.join(archive, "cur")) +
                             os.listdir(os.path.join(archive, "new"))), 1)
        a = self.imap("Archive")
        u = a.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: c", u[0])

    def test_pop3_quit_after_renumbering(self):
        """Rule: the POP3 snapshot keeps naming its messages even when the
        index is lost and IMAP renumbers the mailbox (new UIDVALIDITY)
        during the POP3 session: QUIT removes what was DELEted, nothing
        else, and sets \\Seen on what was RETRieved."""
        self.fill("a", "b", "c", "d")
        c = self.imap()
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")           # so a renumbering shifts every UID
        c.ok("LOGOUT")
        p = self.pop3()           # b c d as 1 2 3
        self.remove_index()
        c = self.imap()           # renumbers: b c d get new UIDs
        self.assertTrue(p.cmd("RETR 1").startswith("+OK"))
        self.assertIn("Subject: b", p.multiline())
        self.assertTrue(p.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        self.assertTrue(p.closed_by_server())
        self.assertEqual(self.srv.flags_by_subject(USER), {"b": "S", "d": ""})

    def test_uid_expunge_after_renumbering(self):
        """Rule: UIDs never name another message within one UIDVALIDITY
        (RFC 3501 §2.3.1.1).  An IMAP session whose mailbox was renumbered
        behind it (lost index, POP3 looked first) must not apply its old
        UIDs to the new numbering: UID EXPUNGE ends the session with BYE and
        removes nothing."""
        self.fill("a", "b", "c")
        c = self.imap()
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")                           # b=2, c=3 now
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")  # c, to be expunged later
        time.sleep(0.3)
        c.ok("NOOP")
        self.remove_index()
        p = self.pop3()                           # renumbers: b=1, c=2
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        c.send("x1 UID EXPUNGE 2\r\n")            # meaning b, not \\Deleted
        lines = []
        try:
            while True:
                lines.append(c.line())
        except ImapError:
            pass
        self.assertTrue([x for x in lines if x.startswith(b"* BYE")], lines)
        self.assertFalse([x for x in lines if x.endswith(b"EXPUNGE")], lines)
        self.assertEqual(sorted(self.srv.flags_by_subject(USER)), ["b", "c"])


class TestSeenAndLocking(OneAccount):
    def test_retr_sets_seen_for_imap_top_does_not(self):
        """Rule: POP3 RETR sets \\Seen, visible to IMAP (pushed to an idling
        session); TOP does not.  It is set in the UPDATE state, at QUIT
        (RFC 1939 §6), like the deletions."""
        self.fill("a", "b")
        c = self.imap()
        p = self.pop3()
        self.assertTrue(p.cmd("RETR 1").startswith("+OK"))
        p.multiline()
        self.assertTrue(p.cmd("TOP 2 5").startswith("+OK"))
        p.multiline()
        u = c.ok("FETCH 1:2 (FLAGS)")
        self.assertNotIn(b"\\Seen", b"".join(u))
        self.idle(c)
        t0 = time.time()
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        t = self.wait_for(c, rb"^\* 1 FETCH \(FLAGS \(\\Seen", t0)
        print("\nPOP3 RETR+QUIT -> IDLE \\Seen: %.3f s" % t)
        self.done(c)
        u = c.ok("FETCH 1:2 (FLAGS)")
        self.assertIn(b"\\Seen", u[0])
        self.assertNotIn(b"\\Seen", u[1])

    def test_one_pop3_session_imap_sessions_alongside(self):
        """Rule: one POP3 session per account at a time ([IN-USE],
        RFC 2449 §8.1.2); IMAP sessions run concurrently with it and with
        each other, changing the mailbox meanwhile."""
        self.fill("a", "b", "c")
        p = self.pop3()
        second = Pop3Client(self.srv.port("pop3"))
        self.clients.append(second)
        self.assertTrue(second.cmd("USER " + USER).startswith("+OK"))
        reply = second.cmd("PASS " + PASSWORD)
        self.assertTrue(reply.startswith("-ERR [IN-USE]"), reply)
        imaps = [self.imap() for _ in range(3)]
        imaps[0].ok("STORE 1 +FLAGS (\\Flagged)")
        tag = imaps[1].tag()
        imaps[1].send("%s APPEND INBOX {22}\r\n" % tag)
        self.assertTrue(imaps[1].line().startswith(b"+"))
        imaps[1].send("Subject: appended\r\n\r\nx\r\n")
        _, tagged = imaps[1].until(tag)
        self.assertIn(b"OK [APPENDUID", tagged)
        time.sleep(0.3)
        u = imaps[2].ok("NOOP")
        self.assertIn(b"* 4 EXISTS", u)
        self.assertTrue(p.cmd("STAT").startswith("+OK 3 "))   # its snapshot
        self.assertTrue(p.cmd("QUIT").startswith("+OK"))
        self.assertTrue(p.closed_by_server())
        again = self.pop3()
        self.assertTrue(again.cmd("STAT").startswith("+OK 4 "))
        self.assertTrue(again.cmd("QUIT").startswith("+OK"))


class TestAcrossWorkers(OneAccount):
    def session_on(self, worker, select="INBOX"):
        """An IMAP session served by worker: the other workers are stopped
        while it connects, so only worker can accept it."""
        others = [w for w in children(self.srv.proc.pid) if w != worker]
        for w in others:
            os.kill(w, signal.SIGSTOP)
        try:
            c = RawImap(self.srv.port("imap"))
        finally:
            for w in others:
                os.kill(w, signal.SIGCONT)
        self.clients.append(c)
        self.assertEqual(worker_of(self.srv, c.sock), worker)
        c.login(USER, PASSWORD)
        c.ok("SELECT %s" % select)
        return c

    def test_changes_reach_sessions_in_same_and_other_worker(self):
        """Rule: flags, new mail and expunges made by one IMAP session reach
        every other session of the account, in the same worker or not,
        within a second (each worker watches the mailbox once and fans the
        change out, DESIGN.md)."""
        self.fill("a", "b", "c")
        workers = children(self.srv.proc.pid)
        self.assertEqual(len(workers), 2)
        actor = self.session_on(workers[0])
        same = self.session_on(workers[0])
        other = self.session_on(workers[1])
        watchers = {"same worker": same, "other worker": other}
        latencies = {}

        def expect(what, pattern, action):
            for c in watchers.values():
                self.idle(c)
            t0 = time.time()
            action()
            results = {}

            def wait(name, c):
                try:
                    results[name] = self.wait_for(c, pattern, t0)
                except AssertionError as e:
                    results[name] = e
            threads = [threading.Thread(target=wait, args=kv) for kv in watchers.items()]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for name, r in results.items():
                if isinstance(r, AssertionError):
                    raise r
                latencies["%s, %s" % (what, name)] = r
            for c in watchers.values():
                self.done(c)

        expect("flags", rb"^\* 2 FETCH \(FLAGS \(\\Flagged",
               lambda: actor.ok("STORE 2 +FLAGS (\\Flagged)"))

        def append():
            tag = actor.tag()
            actor.send("%s APPEND INBOX {22}\r\n" % tag)
            self.assertTrue(actor.line().startswith(b"+"))
            actor.send("Subject: appended\r\n\r\nx\r\n")
            _, tagged = actor.until(tag)
            self.assertIn(b" OK ", tagged)
        expect("new mail", rb"^\* 4 EXISTS$", append)

        def expunge():
            actor.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
            actor.ok("EXPUNGE")
        expect("expunge", rb"^\* 1 EXPUNGE$", expunge)
        # each arrived within PUSH_BOUND (wait_for); the target is a second
        print()
        for what, t in sorted(latencies.items()):
            print("IMAP change -> IDLE push, %s: %.3f s" % (what, t))


if __name__ == "__main__":
    unittest.main()
