"""Real clients logging in with the challenge-response mechanisms: mpop
(POP3, through GNU SASL) and mbsync (IMAP, through Cyrus SASL) with
SCRAM-SHA-256, SCRAM-SHA-1 and CRAM-MD5, for a {PLAIN} user and for users
with stored SCRAM keys.  The server refuses plaintext logins here
([auth] plaintext_on_loopback = no, no TLS), so a successful download can
only have come through the mechanism the client was told to use."""
import os
import shutil
import subprocess
import tempfile
import unittest

import duotest
from clientlib import read_maildir

MESSAGE = b"From: a@example.test\nSubject: sasl client\nMessage-ID: <sasl@test>\n\nbody\n"


class SaslClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = duotest.Server(plain_users={"alice": "secret"}, listen=("pop3", "imap"),
                                    # users with different secrets: auto
                                    # would offer none of the three
                                    config={"auth": {"plaintext_on_loopback": "no",
                                                     "penalty_exempt_loopback": "yes",
                                                     "mechanisms":
                                                     "cram-md5 scram-sha-1 scram-sha-256"}})
        for user, scheme in (("bob", "SCRAM-SHA-256"), ("carol", "SCRAM-SHA-1")):
            cls.server._lines.append("%s:%s" % (user, duotest.hash_password("pw-" + user,
                                                                            scheme)))
        cls.server._write_passwd()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="duomail-client-")
        for user in ("alice", "bob", "carol"):
            self.server.clear_mail(user)
            self.assertEqual(self.server.deliver(user, MESSAGE), 0)

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def mpop(self, user, password, auth):
        maildir = os.path.join(self.home, "Maildir-%s-%s" % (user, auth))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        rc = os.path.join(self.home, "mpoprc")
        with open(rc, "w") as f:
            f.write("account test\nhost 127.0.0.1\nport %d\nuser %s\npassword %s\nauth %s\n"
                    "tls off\ndelivery maildir %s\nkeep on\nuidls_file %s/uidls-%s-%s\n"
                    % (self.server.port("pop3"), user, password, auth, maildir, self.home, user, auth))
        os.chmod(rc, 0o600)
        r = subprocess.run(["mpop", "-C", rc, "test"], capture_output=True, timeout=120,
                           env=dict(os.environ, HOME=self.home))
        return r, read_maildir(maildir)

    def mbsync(self, user, password, mech):
        local = os.path.join(self.home, "mail-%s-%s" % (user, mech))
        os.makedirs(local, exist_ok=True)
        rc = os.path.join(self.home, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("IMAPAccount test\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\n"
                    "SSLType None\nAuthMechs %s\n\nIMAPStore remote\nAccount test\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/INBOX\n\n"
                    "Channel test\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\n"
                    "SyncState *\n"
                    % (self.server.port("imap"), user, password, mech, local, local))
        r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, timeout=120,
                           cwd=self.home, env=dict(os.environ, HOME=self.home))
        return r, read_maildir(os.path.join(local, "INBOX"))

    def test_mpop(self):
        for user, auth in (("alice", "scram-sha-256"), ("alice", "scram-sha-1"),
                           ("alice", "cram-md5"), ("bob", "scram-sha-256"),
                           ("carol", "scram-sha-1")):
            password = "secret" if user == "alice" else "pw-" + user
            r, got = self.mpop(user, password, auth)
            self.assertEqual(r.returncode, 0, (user, auth, r.stdout + r.stderr))
            self.assertEqual(len(got), 1, (user, auth))
            self.assertIn(b"Subject: sasl client", got[0])
        # plaintext is refused here, and a wrong password fails
        r, _ = self.mpop("alice", "secret", "plain")
        self.assertNotEqual(r.returncode, 0)
        r, _ = self.mpop("bob", "wrong", "scram-sha-256")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"authentication failed (method SCRAM-SHA-256)", r.stdout + r.stderr)

    def test_mbsync(self):
        for user, mech in (("alice", "SCRAM-SHA-256"), ("alice", "SCRAM-SHA-1"),
                           ("alice", "CRAM-MD5"), ("bob", "SCRAM-SHA-256"),
                           ("carol", "SCRAM-SHA-1")):
            password = "secret" if user == "alice" else "pw-" + user
            r, got = self.mbsync(user, password, mech)
            self.assertEqual(r.returncode, 0, (user, mech, r.stdout + r.stderr))
            self.assertEqual(len(got), 1, (user, mech))
            self.assertIn(b"Subject: sasl client", got[0])
        r, _ = self.mbsync("bob", "wrong", "SCRAM-SHA-256")
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
