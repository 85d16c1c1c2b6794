"""`duomail user add|passwd|del|list`: the passwd-file edited as a file.
Concurrent runs lose no line, a hand edit made meanwhile is never
overwritten, comments/unknown fields/mode stay, bad names are refused, and
the running server's workers see each change without a reload."""
import os
import poplib
import re
import stat
import subprocess
import threading
import time
import unittest

import duotest


def user(srv, *args, password=None):
    return duotest.run_duomail(["user"] + list(args) + ["--config", srv.config_path],
                               input=None if password is None else password + "\n")


def pop3_login(srv, name, password):
    """True if a POP3 USER/PASS login works (loopback allows plaintext)."""
    p = poplib.POP3("127.0.0.1", srv.port("pop3"), timeout=30)
    try:
        p.user(name)
        p.pass_(password)
        p.quit()
        return True
    except poplib.error_proto:
        p.close()
        return False


def wait_login(srv, name, password, want, seconds=10):
    """Logs in several times (the connections spread over the workers)
    until every try gives want; bounded."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if all(pop3_login(srv, name, password) == want for _ in range(6)):
            return True
        time.sleep(0.2)
    return False


class TestUser(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(users={"alice": "a-secret"}, workers=2)
        # A file as an admin keeps it: comments, blank lines, a Dovecot
        # field duomail does not know, a restrictive mode.
        with open(self.srv.passwd, "a") as f:
            f.write("\n# staff\nzed:{PLAIN}z:1000:1000:Zed:/home/zed::userdb_mail=maildir:~/M\n")
        os.chmod(self.srv.passwd, 0o640)
        self.addCleanup(self.srv.stop)

    def lines(self):
        with open(self.srv.passwd) as f:
            return f.read().splitlines()

    def test_add_passwd_del_reach_the_running_server(self):
        self.srv.start()
        before = self.lines()
        r = user(self.srv, "add", "carol", password="c-pass-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        after = self.lines()
        # Every old line kept byte for byte, the new one appended.
        self.assertEqual(after[:-1], before)
        self.assertTrue(after[-1].startswith("carol:{SHA512-CRYPT}$6$"), after[-1])
        self.assertEqual(stat.S_IMODE(os.stat(self.srv.passwd).st_mode), 0o640)
        self.assertFalse([n for n in os.listdir(self.srv.dir) if ".duomail-" in n])
        self.assertTrue(wait_login(self.srv, "carol", "c-pass-1", True))
        # Every worker has its own copy of the users; each must have
        # re-read the file: logins until two workers (pids in the log)
        # have let carol in, bounded.
        for _ in range(60):
            pids = set(re.findall(r"\[(\d+)\] pop3#\d+ [^:]+:\d+: login user=carol",
                                  self.srv.log_text()))
            if len(pids) >= 2:
                break
            self.assertTrue(pop3_login(self.srv, "carol", "c-pass-1"))
        self.assertGreaterEqual(len(pids), 2, "carol logged in on one worker only")

        r = user(self.srv, "passwd", "-s", "SHA256-CRYPT", "carol", password="c-pass-2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.lines()[-1].startswith("carol:{SHA256-CRYPT}$5$"))
        self.assertTrue(wait_login(self.srv, "carol", "c-pass-1", False))
        self.assertTrue(wait_login(self.srv, "carol", "c-pass-2", True))

        # passwd keeps the other fields of the line.
        r = user(self.srv, "passwd", "zed", password="z2")
        self.assertEqual(r.returncode, 0, r.stderr)
        zed = [l for l in self.lines() if l.startswith("zed:")][0]
        self.assertTrue(zed.endswith(":1000:1000:Zed:/home/zed::userdb_mail=maildir:~/M"), zed)

        r = user(self.srv, "del", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.lines(),
                         [zed if l.startswith("zed:") else l for l in before])
        self.assertTrue(wait_login(self.srv, "carol", "c-pass-2", False))
        self.assertTrue(wait_login(self.srv, "alice", "a-secret", True))

    def test_list(self):
        r = user(self.srv, "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["alice", "zed"])
        r = user(self.srv, "list", "--json")
        import json
        data = json.loads(r.stdout)
        self.assertEqual([u["user"] for u in data], ["alice", "zed"])
        self.assertEqual(data[0]["scheme"], "SHA512-CRYPT")
        self.assertEqual(data[1]["home"], "/home/zed")
        self.assertEqual(data[1]["extra"], "userdb_mail=maildir:~/M")
        self.assertNotIn("$6$", r.stdout)     # never the hash

    def test_errors(self):
        before = self.lines()
        for bad in ("a:b", "a b", "a/b", ".hidden", "tab\tx", "nl\x01x", ""):
            r = user(self.srv, "add", bad, password="x")
            self.assertIn(r.returncode, (64, 65), (bad, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = user(self.srv, "add", "alice", password="x")
        self.assertEqual(r.returncode, 73)
        self.assertIn("exists", r.stderr)
        for action in ("passwd", "del"):
            r = user(self.srv, action, "nobody", password="x")
            self.assertEqual(r.returncode, 67, r.stderr)
            self.assertIn("no such user 'nobody'", r.stderr)
        r = user(self.srv, "add", "dan", password="")
        self.assertEqual(r.returncode, 64)
        r = user(self.srv, "add", "-s", "NOSUCH", "dan", password="x")
        self.assertEqual(r.returncode, 64)
        r = duotest.run_duomail(["user", "add", "dan", "--config", "/nonexistent.conf"])
        self.assertEqual(r.returncode, 2)
        r = duotest.run_duomail(["user", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: duomail user", r.stdout)
        # Users of a SQL database are not ours to edit; the commands that
        # only look users up work through the database (down here: 75).
        pg = duotest.write_temp(
            "[listen]\nimap = 127.0.0.1:%d\n[auth]\nuserdb = pgsql\n[pgsql]\n"
            "connect = host=/nonexistent dbname=x connect_timeout=2\n"
            "password_query = SELECT password FROM users WHERE name = $1\n"
            "[store]\nroot = %s\n" % (duotest.free_port(), self.srv.root))
        self.addCleanup(os.unlink, pg)
        r = duotest.run_duomail(["user", "add", "dan", "--config", pg], input="x\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn("only manages passwd-files", r.stderr)
        r = duotest.run_duomail(["mailbox", "list", "--config", pg, "alice"])
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertIn("user database is unavailable", r.stderr)
        # The password is never taken from the command line.
        r = duotest.run_duomail(["user", "add", "dan", "secret", "--config",
                                 self.srv.config_path])
        self.assertEqual(r.returncode, 64)
        self.assertEqual(self.lines(), before)

    def test_symlinked_file_stays_a_link(self):
        real = os.path.join(self.srv.dir, "users.real")
        os.rename(self.srv.passwd, real)
        os.symlink("users.real", self.srv.passwd)
        r = user(self.srv, "add", "-s", "PLAIN", "sym", password="p")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(self.srv.passwd))
        with open(real) as f:
            self.assertIn("sym:{PLAIN}p\n", f.read())

    def test_broken_file_is_not_made_worse(self):
        # A line the server would refuse (unknown scheme): adding a user
        # must not write a file that stops the server from starting.
        with open(self.srv.passwd, "a") as f:
            f.write("eve:{NOSUCH}xyz\n")
        before = self.lines()
        r = user(self.srv, "add", "dan", password="x")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("%s:%d: user eve: unknown password scheme" %
                      (self.srv.passwd, len(before)), r.stderr)
        self.assertEqual(self.lines(), before)

    def test_concurrent_adds_lose_nothing(self):
        names = ["u%02d" % i for i in range(16)]
        procs = [subprocess.Popen([duotest.DUOMAIL, "user", "add", "-s", "PLAIN", n,
                                   "--config", self.srv.config_path],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for n in names]
        for n, p in zip(names, procs):
            p.stdin.write("pw-" + n + "\n")
            p.stdin.close()
        for p in procs:
            self.assertEqual(p.wait(timeout=120), 0, p.stderr.read())
            p.stdout.close()
            p.stderr.close()
        users = [l.split(":")[0] for l in self.lines() if l and not l.startswith("#")]
        self.assertEqual(sorted(users), sorted(["alice", "zed"] + names))
        for n in names:
            self.assertIn("%s:{PLAIN}pw-%s" % (n, n), self.lines())

    def test_hand_edit_between_read_and_write(self):
        # `user add` locks and reads the file, then waits for the password
        # on stdin: edit the file by hand right then.  The command must see
        # it and write nothing, so the hand edit stays as it was.
        import fcntl
        p = subprocess.Popen([duotest.DUOMAIL, "user", "add", "dan", "--config",
                              self.srv.config_path], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = open(self.srv.passwd + ".lock", "a+")
        deadline = time.time() + 30
        while True:       # the command holds the lock (OFD and POSIX locks conflict)
            try:
                fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(lock, fcntl.LOCK_UN)
            except OSError:
                break
            self.assertLess(time.time(), deadline, "user add never took its lock")
            time.sleep(0.02)
        lock.close()
        time.sleep(0.3)   # it reads the file right after taking the lock
        with open(self.srv.passwd) as f:
            text = f.read() + "# edited by hand\n"
        with open(self.srv.passwd + ".new", "w") as f:
            f.write(text)
        os.rename(self.srv.passwd + ".new", self.srv.passwd)
        out, err = p.communicate("dan-pw\n", timeout=60)
        self.assertEqual(p.returncode, 75, err)
        self.assertIn("changed while this command ran", err)
        with open(self.srv.passwd) as f:
            self.assertEqual(f.read(), text)
        self.assertFalse([n for n in os.listdir(self.srv.dir) if ".duomail-" in n])

    def test_hand_edit_meanwhile_is_never_lost(self):
        # Someone edits the file by hand (their editor writes a new file
        # and renames it, without our lock) while `user add` runs keep
        # coming.  Every hand edit stays; every add that says it succeeded
        # is in the file; one that lost the race says so and writes nothing.
        stop = threading.Event()
        edits = []

        def editor():
            i = 0
            while not stop.is_set() and i < 200:
                with open(self.srv.passwd) as f:
                    text = f.read()
                line = "# hand edit %d" % i
                tmp = self.srv.passwd + ".vim"
                with open(tmp, "w") as f:
                    f.write(text + line + "\n")
                os.rename(tmp, self.srv.passwd)
                edits.append(line)
                i += 1
                time.sleep(0.005)

        t = threading.Thread(target=editor)
        t.start()
        ok, raced = [], 0
        try:
            for i in range(12):
                name = "h%02d" % i
                r = user(self.srv, "add", "-s", "PLAIN", name, password="p")
                if r.returncode == 0:
                    ok.append(name)
                else:
                    self.assertEqual(r.returncode, 75, r.stderr)
                    self.assertIn("changed while this command ran", r.stderr)
                    raced += 1
        finally:
            stop.set()
            t.join(timeout=60)
        lines = self.lines()
        # The editor read-modify-writes too, so it may drop an add of ours
        # that landed between its read and its rename; what must hold is
        # that *our* writes never drop *its* lines.
        for e in edits:
            self.assertIn(e, lines)
        self.assertEqual(len(ok) + raced, 12)


if __name__ == "__main__":
    unittest.main()
