"""Least privilege (issue 5): started as root, `duomail serve` binds its ports
and reads its root-only files in the master, and every worker runs as
[server] user / group for its whole life, with no other groups and no
capabilities (checked in /proc/PID/status); root never serves mail without
a user unless allow_root = yes says so; `duomail deliver` run as root
writes the mail as that user.  The root-only parts skip when not root."""
import grp
import os
import pwd
import re
import signal
import smtplib
import time
import unittest

import duotest
from duoimap import RawImap

AS_ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody")


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def status(pid):
    """Uid, Gid (4 ids each), Groups and CapEff from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "NoNewPrivs"):
                out[key] = value.split()
    return out


def rewrite(srv, fn):
    with open(srv.config_path) as f:
        text = f.read()
    with open(srv.config_path, "w") as f:
        f.write(fn(text))


def as_user(srv, user, group=None):
    """Config for a server whose workers run as user: its mail is theirs."""
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
    extra = "user = %s\n" % user + ("group = %s\n" % group if group else "")
    rewrite(srv, lambda t: t.replace("allow_root = yes\n", extra))
    os.chmod(srv.dir, 0o711)
    os.chown(srv.root, pw.pw_uid, gid)
    return pw.pw_uid, gid


@unittest.skipUnless(AS_ROOT, "needs root")
class TestWorkersUnprivileged(unittest.TestCase):
    def start(self, group=None):
        srv = duotest.Server(users={"alice": "pw"}, listen=("imap", "lmtp"), workers=2,
                             own_group=True)
        uid, gid = as_user(srv, "nobody", group)
        srv.start()
        self.addCleanup(srv.stop)
        return srv, uid, gid

    def workers(self, srv, n=2, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pids = children(srv.proc.pid)
            if len(pids) == n:
                return pids
            time.sleep(0.05)
        self.fail("master has children %r" % children(srv.proc.pid))

    def assert_dropped(self, pid, uid, gid):
        st = status(pid)
        self.assertEqual(st["Uid"], [str(uid)] * 4, pid)        # real, effective, saved, fs
        self.assertEqual(st["Gid"], [str(gid)] * 4, pid)
        self.assertEqual(st["Groups"], [str(gid)], pid)         # root's groups are gone
        self.assertEqual(int(st["CapEff"][0], 16), 0, pid)
        self.assertEqual(int(st["CapPrm"][0], 16), 0, pid)
        self.assertEqual(st["NoNewPrivs"], ["1"], pid)

    def test_workers_run_as_user_for_their_whole_life(self):
        srv, uid, gid = self.start()
        self.assertEqual(status(srv.proc.pid)["Uid"][1], "0")  # the master stays root
        first = self.workers(srv)
        for pid in first:
            self.assert_dropped(pid, uid, gid)
        # mail made by a session is the user's
        c = RawImap(srv.port("imap"))
        c.login("alice", "pw")
        c.ok("CREATE Project")
        c.close()
        st = os.stat(os.path.join(srv.maildir("alice"), ".Project", "cur"))
        self.assertEqual((st.st_uid, st.st_gid), (uid, gid))
        # after a reload, and in a worker started again after a crash
        srv.reload()
        os.kill(first[0], signal.SIGKILL)
        deadline = time.time() + 10
        while True:
            pids = children(srv.proc.pid)
            if len(pids) == 2 and first[0] not in pids:
                break
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        for pid in pids:
            self.assert_dropped(pid, uid, gid)
        c = RawImap(srv.port("imap"))
        c.login("alice", "pw")
        c.ok("LOGOUT")
        log = srv.log_text()
        self.assertEqual(srv.stop(check=False), 0)   # the kill -9 is in the log
        self.assertNotRegex(log, "Sanitizer|runtime error")

    def test_admin_process_unprivileged_too(self):
        """The admin process answers a socket and HTTP: it runs as the user
        like the workers (the master makes its socket as root first)."""
        srv = duotest.Server(users={"alice": "pw"}, listen=("imap",), workers=1,
                             own_group=True)
        uid, gid = as_user(srv, "nobody")
        sock = os.path.join(srv.dir, "admin.sock")
        rewrite(srv, lambda t: t.replace("admin_socket = off", "admin_socket = " + sock))
        srv.start()
        self.addCleanup(srv.stop)
        pids = self.workers(srv, n=2)           # the worker and the admin process
        for pid in pids:
            self.assert_dropped(pid, uid, gid)
        st = os.stat(sock)
        self.assertEqual(st.st_uid, uid)

    def test_group_key(self):
        srv, uid, gid = self.start(group="mail")
        self.assertEqual(gid, grp.getgrnam("mail").gr_gid)
        for pid in self.workers(srv):
            self.assert_dropped(pid, uid, gid)
        with smtplib.LMTP("127.0.0.1", srv.port("lmtp")) as l:
            l.sendmail("a@example.test", ["alice"], b"Subject: hi\r\n\r\nbody\r\n")
        files = srv.message_files("alice")
        self.assertEqual(len(files), 1)
        st = os.stat(files[0])
        self.assertEqual((st.st_uid, st.st_gid), (uid, gid))


class TestRootRefused(unittest.TestCase):
    def serve(self, edit):
        srv = duotest.Server(listen=("imap",))
        rewrite(srv, edit)
        return srv, duotest.run_duomail(["serve", "--config", srv.config_path], timeout=30)

    @unittest.skipUnless(AS_ROOT, "needs root")
    def test_root_without_user(self):
        srv, r = self.serve(lambda t: t.replace("allow_root = yes\n", ""))
        self.assertEqual(r.returncode, 2)
        self.assertIn(srv.config_path + ": [server] user: missing", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    @unittest.skipUnless(AS_ROOT, "needs root")
    def test_user_root(self):
        srv, r = self.serve(lambda t: t.replace("allow_root = yes\n", "user = root\n"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("[server] user: 'root' is root", r.stderr)

    def test_unknown_user_and_group(self):
        srv, r = self.serve(lambda t: t.replace("[server]\n", "[server]\nuser = no-such-user-x\n"))
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, re.escape(srv.config_path) +
                         r":2: \[server\] user: no such system user 'no-such-user-x'")
        srv, r = self.serve(lambda t: t.replace("[server]\n", "[server]\ngroup = no-such-grp\n"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(":2: [server] group: no such system group", r.stderr)
        srv, r = self.serve(lambda t: t.replace("[server]\n", "[server]\nallow_root = maybe\n"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("[server] allow_root: 'maybe' is not yes or no", r.stderr)

    @unittest.skipUnless(AS_ROOT, "needs root")
    def test_store_root_checked_as_the_user(self):
        """root could write there; nobody cannot: that is found at start-up."""
        srv, r = self.serve(lambda t: t.replace("allow_root = yes\n", "user = nobody\n"))
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, re.escape("[store] root: %s" % srv.root) +
                         ".*(Permission denied|not a writable directory) for user nobody")


@unittest.skipUnless(AS_ROOT, "needs root")
class TestDeliverAsRoot(unittest.TestCase):
    def test_deliver_drops_to_the_user(self):
        srv = duotest.Server(users={"alice": "pw"}, listen=("imap",))
        uid, gid = as_user(srv, "nobody")
        os.chmod(srv.passwd, 0o600)     # read as root, before the drop
        r = duotest.run_duomail(["deliver", "--config", srv.config_path, "alice"],
                                input=b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = srv.message_files("alice")
        self.assertEqual(len(files), 1)
        for path in (files[0], srv.maildir("alice"), os.path.dirname(files[0])):
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid), (uid, gid), path)

    def test_deliver_as_root_without_user_refused(self):
        srv = duotest.Server(users={"alice": "pw"}, listen=("imap",))
        rewrite(srv, lambda t: t.replace("allow_root = yes\n", ""))
        r = duotest.run_duomail(["deliver", "--config", srv.config_path, "alice"],
                                input=b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"[server] user: missing", r.stderr)
        self.assertEqual(os.listdir(srv.root), [])


if __name__ == "__main__":
    unittest.main()
