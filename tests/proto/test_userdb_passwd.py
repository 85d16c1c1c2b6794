"""The passwd-file user database on the real server: an edit of the file
while the server runs applies in every worker without a restart or a
SIGHUP (each worker re-reads it when its mtime/inode/size changed, checked
at most once a second): a new user logs in, a removed one no longer can,
a changed password or protocols= field applies.  Per-user maildir= and
protocols= in the extra field.
"""
import imaplib
import os
import time
import unittest

import duotest
from test_pop3 import Pop3Client

WORKERS = 4
TRIES = 24      # new connections per check: with 4 workers, all of them answer some


def imap_login(srv, user, password):
    c = imaplib.IMAP4("127.0.0.1", srv.port("imap"), timeout=30)
    try:
        c.login(user, password)
        c.logout()
        return "OK"
    except imaplib.IMAP4.error as e:
        c.shutdown()
        return str(e)


def pop3_login(srv, user, password):
    c = Pop3Client(srv.port("pop3"))
    try:
        c.cmd("USER " + user)
        answer = c.cmd("PASS " + password)
        c.cmd("QUIT")
        return answer
    finally:
        c.sock.close()


def worker_pids(srv):
    """The pids that logged a login: proof that several workers answered."""
    pids = set()
    for line in srv.log_text().splitlines():
        if " login user=" in line:
            pids.add(line.split("[", 1)[1].split("]", 1)[0])
    return pids


class TestPasswdFileReload(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "pw-alice"}, workers=WORKERS,
                                  listen=("imap", "pop3"))
        self.srv.start()

    def tearDown(self):
        self.srv.stop()

    def edit(self, change):
        change()
        # the workers look at the file at most once a second
        time.sleep(1.2)

    def test_edit_applies_in_every_worker(self):
        self.assertIn("AUTHENTICATIONFAILED", imap_login(self.srv, "newbie", "pw-new"))
        self.edit(lambda: self.srv.add_user("newbie", "pw-new"))
        self.assertEqual([imap_login(self.srv, "newbie", "pw-new") for _ in range(TRIES)],
                         ["OK"] * TRIES)
        # more than one worker took those logins, and all knew the new user
        self.assertGreater(len(worker_pids(self.srv)), 1)

        def remove():
            self.srv._lines = [l for l in self.srv._lines if not l.startswith("newbie:")]
            self.srv._write_passwd()
        self.edit(remove)
        answers = [imap_login(self.srv, "newbie", "pw-new") for _ in range(TRIES)]
        self.assertTrue(all("AUTHENTICATIONFAILED" in a for a in answers), answers)
        self.assertEqual(imap_login(self.srv, "alice", "pw-alice"), "OK")
        self.assertRegex(self.srv.log_text(), r"users changed: 1 users")

    def test_protocols_field_and_reload(self):
        self.edit(lambda: self.srv.add_user("ivy", "pw-ivy", "protocols=pop3"))
        self.assertTrue(pop3_login(self.srv, "ivy", "pw-ivy").startswith("+OK"))
        self.assertIn("AUTHENTICATIONFAILED", imap_login(self.srv, "ivy", "pw-ivy"))
        self.assertIn("login of ivy refused: protocol imap is not allowed", self.srv.log_text())
        self.edit(lambda: self.srv.set_user_extra("ivy", "protocols=imap,pop3"))
        self.assertEqual([imap_login(self.srv, "ivy", "pw-ivy") for _ in range(8)], ["OK"] * 8)
        # a bad value refuses that user with a temporary failure, others go on
        self.edit(lambda: self.srv.set_user_extra("ivy", "protocols=smtp"))
        self.assertIn("UNAVAILABLE", imap_login(self.srv, "ivy", "pw-ivy"))
        self.assertIn("protocols: 'smtp' is not imap, pop3 or none", self.srv.log_text())
        self.assertEqual(imap_login(self.srv, "alice", "pw-alice"), "OK")

    def test_maildir_field(self):
        inside = os.path.join(self.srv.root, "vol1", "jay")
        os.mkdir(os.path.join(self.srv.root, "vol1"))
        self.edit(lambda: self.srv.add_user("jay", "pw-jay", "maildir=" + inside))
        self.assertEqual(self.srv.deliver("jay", b"Subject: hi\r\n\r\nbody\r\n"), 0)
        self.assertEqual(len(os.listdir(os.path.join(inside, "new"))), 1)
        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        c.login("jay", "pw-jay")
        self.assertEqual(c.select("INBOX"), ("OK", [b"1"]))
        c.logout()
        # relative paths and '..' never get past the parser
        self.edit(lambda: self.srv.set_user_extra("jay", "maildir=%s/../x" % self.srv.root))
        self.assertIn("UNAVAILABLE", imap_login(self.srv, "jay", "pw-jay"))
        self.assertIn("has a '.' or '..' component", self.srv.log_text())


if __name__ == "__main__":
    unittest.main()
