"""Robustness of the running server: clients that vanish mid-handshake, a
worker that crashes, secrets kept out of the log, EXPIRE N days, IPv6, and
the privilege drop.  Each asserts the server keeps serving everyone else."""
import base64
import os
import pwd
import signal
import socket
import time
import unittest
import zlib

import duotest
from test_pop3 import Pop3Client


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except (OSError, IndexError):
                pass
    return out


class TestRobust(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "secret-A1", "bob": "secret-B2"})
        self.srv.start()
        self.srv.deliver("alice", b"Subject: one\n\nbody\n")

    def tearDown(self):
        if self.srv.proc is not None:
            self.srv.stop()

    def login_works(self, user="alice", pw="secret-A1"):
        c = Pop3Client(self.srv.port("pop3"))
        c.login(user, pw)
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        c.close()

    def test_vanish_mid_handshake(self):
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", self.srv.port("pop3s")), timeout=5)
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello
            s.close()
            c = Pop3Client(self.srv.port("pop3"))
            self.assertTrue(c.cmd("STLS").startswith("+OK"))
            c.sock.sendall(b"\x16\x03\x01\x00")
            c.close()
        self.login_works()

    def test_secrets_not_logged(self):
        c = Pop3Client(self.srv.port("pop3"))
        c.cmd("USER alice")
        c.cmd("PASS wrong-Z9q")
        c.cmd("AUTH PLAIN " + base64.b64encode(b"\0bob\0secret-B2").decode())
        c.cmd("QUIT")
        c.close()
        self.login_works()
        self.srv.stop()
        log = self.srv.log_text() if os.path.exists(self.srv.log_path) else ""
        for secret in ("secret-A1", "secret-B2", "wrong-Z9q",
                       base64.b64encode(b"\0bob\0secret-B2").decode()):
            self.assertNotIn(secret, log)

    def test_worker_crash_is_contained(self):
        # DESIGN.md: a crash in one worker does not take the others down.
        idle = Pop3Client(self.srv.port("pop3"))
        idle.login("alice", "secret-A1")
        workers = children(self.srv.proc.pid)
        self.assertEqual(len(workers), 2)
        os.kill(workers[0], signal.SIGKILL)
        for _ in range(10):
            self.login_works("bob", "secret-B2")
        deadline = time.time() + 10
        while len(children(self.srv.proc.pid)) < 2 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(len(children(self.srv.proc.pid)), 2, "the master restarts a worker")
        self.assertIn("killed by signal 9", self.srv.log_text())
        idle.close()
        # The log names the kill on purpose; the stop itself is clean.
        self.assertEqual(self.srv.stop(check=False), 0)

    def test_ipv6_loopback(self):
        srv = duotest.Server(users={"carol": "pw-C"}, listen=("pop3",))
        with open(srv.config_path) as f:
            text = f.read()
        port = duotest.free_port()
        with open(srv.config_path, "w") as f:
            f.write(text.replace("pop3 = 127.0.0.1:%d" % srv.ports["pop3"],
                                 "pop3 = [::1]:%d" % port))
        srv.ports["pop3"] = port
        try:
            srv.proc = None
            srv.log = open(srv.log_path, "wb")
            import subprocess
            srv.proc = subprocess.Popen([duotest.DUOMAIL, "serve", "--config", srv.config_path],
                                        stdout=srv.log, stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while True:
                try:
                    c = Pop3Client(port, host="::1")
                    break
                except OSError:
                    self.assertLess(time.time(), deadline)
                    time.sleep(0.05)
            # ::1 is loopback: plaintext login is allowed.
            c.login("carol", "pw-C")
            c.close()
        finally:
            self.assertEqual(srv.stop(), 0)


class TestExpireDays(unittest.TestCase):
    def test_expire_after_n_days(self):
        # RFC 2449 §6.7: EXPIRE 2 -- retrieved mail may go after 2 days.
        srv = duotest.Server(users={"alice": "pw"}, config={"pop3": {"expire": "2"}})
        srv.start()
        try:
            for subj in (b"old", b"fresh", b"unread"):
                srv.deliver("alice", b"Subject: " + subj + b"\n\nbody\n")
            c = Pop3Client(srv.port("pop3"))
            c.login("alice", "pw")
            c.cmd("CAPA")
            self.assertIn("EXPIRE 2", c.multiline())
            for n in (1, 2):
                self.assertTrue(c.cmd("RETR %d" % n).startswith("+OK"))
                c.multiline()
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            self.assertTrue(c.closed_by_server())
            # Make message 1's retrieval three days old.
            index = os.path.join(srv.maildir("alice"), "duomail-index")
            with open(index) as f:
                lines = f.read().splitlines()
            # each line ends in the CRC-32 of the rest (store/maildir/maildir_index.c)
            uid, vs, ps, when, base = lines[1].rsplit(" ", 1)[0].split(" ", 4)
            edited = " ".join([uid, vs, ps, str(int(when) - 3 * 86400), base])
            lines[1] = "%s %08x" % (edited, zlib.crc32(edited.encode()))
            with open(index, "w") as f:
                f.write("\n".join(lines) + "\n")
            c = Pop3Client(srv.port("pop3"))
            self.assertIn("2 messages", c.login("alice", "pw"))
            self.assertTrue(c.cmd("TOP 1 0").startswith("+OK"))
            self.assertIn("Subject: fresh", c.multiline())
            c.close()
        finally:
            srv.stop()


@unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
class TestPrivilegeDrop(unittest.TestCase):
    def test_workers_run_as_configured_user(self):
        nobody = pwd.getpwnam("nobody")
        srv = duotest.Server(users={"alice": "pw"}, config={"server": {"user": "nobody"}})
        for path in (srv.dir, srv.root):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        # passwd-file and TLS key stay root-only: the master reads them
        # and hands them to the workers.
        srv.start()
        try:
            workers = children(srv.proc.pid)
            self.assertTrue(workers)
            for w in workers + [srv.proc.pid]:
                with open("/proc/%d/status" % w) as f:
                    uid_line = [l for l in f if l.startswith("Uid:")][0]
                # The master stays root (it re-reads root-only files on
                # SIGHUP; README "Security model"); the workers do not.
                want = "0" if w == srv.proc.pid else str(nobody.pw_uid)
                self.assertEqual(set(uid_line.split()[1:]), {want})
            srv.deliver("alice", b"Subject: x\n\ny\n")
            os.system("chown -R nobody %s" % srv.maildir("alice"))
            c = Pop3Client(srv.port("pop3"))
            self.assertIn("1 messages", c.login("alice", "pw"))
            c.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
