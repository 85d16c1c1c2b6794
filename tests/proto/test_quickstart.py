"""The README's first command: etc/quickstart on a copy of the tree builds,
creates the demo account once, and serves it; curl then reads the first
demo message over imap, imaps, pop3 and pop3s with the generated
certificate, mbsync syncs the demo INBOX over imaps, and a message
delivered over LMTP as the help says shows up (CONTRACT.md, "README: two
commands")."""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

SOURCE = os.environ.get("DUOMAIL_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the server does
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@unittest.skipUnless(os.geteuid() == 0, "etc/quickstart is documented to run as root")
class TestQuickstart(unittest.TestCase):
    def setUp(self):
        if not all(port_free(p) for p in (1110, 1995, 1143, 1993, 1024)):
            self.skipTest("ports 1110/1995/1143/1993/1024 are taken (another quickstart running?)")
        self.tree = tempfile.mkdtemp(prefix="duomail-qs-")
        # What a clone would have, plus files not committed yet (but not
        # ignored ones such as build trees).
        files = subprocess.run(["git", "-C", SOURCE, "ls-files", "-z", "--cached", "--others",
                                "--exclude-standard"], capture_output=True,
                               check=True).stdout.split(b"\0")
        for f in filter(None, files):
            src = os.path.join(SOURCE, f.decode())
            if not os.path.exists(src):
                continue    # deleted in the work tree
            dst = os.path.join(self.tree, f.decode())
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
        self.proc = None

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        shutil.rmtree(self.tree, ignore_errors=True)

    def start(self):
        self.log = open(os.path.join(self.tree, "qs.log"), "wb")
        self.proc = subprocess.Popen(["etc/quickstart"], cwd=self.tree, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 300
        while True:
            self.assertIsNone(self.proc.poll(), self.read_log())
            try:
                for port in (1995, 1993, 1024):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                self.assertLess(time.time(), deadline, self.read_log())
                time.sleep(0.2)

    def read_log(self):
        with open(os.path.join(self.tree, "qs.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0, self.read_log()[-4000:])

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "--max-time", "20"] + list(args), cwd=self.tree,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def mbsync_count(self):
        """Syncs the demo INBOX over imaps into a fresh Maildir, as the
        quick start's help tells; returns how many messages arrived."""
        home = os.path.join(self.tree, "mbsync-home")
        local = os.path.join(home, "mail")
        os.makedirs(local)
        with open(os.path.join(home, "rc"), "w") as f:
            f.write("IMAPAccount demo\nHost localhost\nPort 1993\nUser demo\nPass demo\n"
                    "SSLType IMAPS\nCertificateFile %s/demo/cert.pem\n\n"
                    "IMAPStore remote\nAccount demo\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/INBOX\n\n"
                    "Channel demo\nFar :remote:INBOX\nNear :local:INBOX\nCreate Near\n"
                    "SyncState *\n" % (self.tree, local, local))
        r = subprocess.run(["mbsync", "-c", os.path.join(home, "rc"), "-a"], cwd=home,
                           capture_output=True, timeout=120, env=dict(os.environ, HOME=home))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        inbox = os.path.join(local, "INBOX")
        return sum(len(os.listdir(os.path.join(inbox, d))) for d in ("new", "cur"))

    def test_quickstart_serves_demo(self):
        with open(os.path.join(SOURCE, "etc/demo-mail/01-welcome.eml"), "rb") as f:
            first = f.read().replace(b"\n", b"\r\n")
        self.start()
        self.assertIn("curl pop3://demo:demo@127.0.0.1:1110/", self.read_log())
        self.assertEqual(self.curl("pop3://demo:demo@127.0.0.1:1110/1"), first)
        self.assertEqual(self.curl("--cacert", "demo/cert.pem",
                                   "pop3s://demo:demo@localhost:1995/1"), first)
        listing = self.curl("pop3://demo:demo@127.0.0.1:1110/")
        self.assertEqual(len(listing.splitlines()), 5)
        self.assertIn("curl imap://demo:demo@127.0.0.1:1143/", self.read_log())
        self.assertEqual(self.curl("imap://demo:demo@127.0.0.1:1143/INBOX;UID=1"), first)
        self.assertEqual(self.curl("--cacert", "demo/cert.pem",
                                   "imaps://demo:demo@localhost:1993/INBOX;UID=1"), first)
        self.assertEqual(self.mbsync_count(), 5)
        # LMTP 1024, as the help shows it.
        self.assertIn('smtplib.LMTP("127.0.0.1", 1024)', self.read_log())
        lmtp = smtplib.LMTP("127.0.0.1", 1024, timeout=30)
        self.assertEqual(lmtp.sendmail("me@example.org", "demo@localhost",
                                       b"Subject: via LMTP\r\n\r\nhello\r\n"), {})
        lmtp.quit()
        sixth = self.curl("pop3://demo:demo@127.0.0.1:1110/6")
        self.assertTrue(sixth.startswith(b"Return-Path: <me@example.org>\r\n"
                                         b"Delivered-To: demo@localhost\r\n"), sixth)
        self.assertTrue(sixth.endswith(b"\r\nSubject: via LMTP\r\n\r\nhello\r\n"), sixth)
        self.stop()
        # Run again: the account, mail and certificate are not made anew.
        with open(os.path.join(self.tree, "demo/cert.pem"), "rb") as f:
            cert = f.read()
        self.start()
        self.assertEqual(len(self.curl("pop3://demo:demo@127.0.0.1:1110/").splitlines()), 6)
        with open(os.path.join(self.tree, "demo/cert.pem"), "rb") as f:
            self.assertEqual(f.read(), cert)
        self.stop()


if __name__ == "__main__":
    unittest.main()
