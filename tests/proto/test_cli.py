"""The subcommands' contract (CONTRACT.md): deliver's sysexits codes, pw,
--help, and usage/config errors."""
import os
import unittest

import duotest


class TestDeliver(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Not started: deliver needs only the config, users and store.
        cls.srv = duotest.Server(users={"alice": "secret"})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def run_deliver(self, user, data):
        return duotest.run_duomail(["deliver", "--config", self.srv.config_path, user],
                                   input=data)

    def test_delivered(self):
        r = self.run_deliver("alice", b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.srv.message_files("alice")
        self.assertEqual(len(files), 1)
        # Maildir: new/ with S= and W= sizes in the name, nothing left in tmp/.
        name = os.path.basename(files[0])
        self.assertIn(",S=17,W=20", name)
        self.assertEqual(os.listdir(os.path.join(self.srv.maildir("alice"), "tmp")), [])
        with open(files[0], "rb") as f:
            self.assertEqual(f.read(), b"Subject: x\n\nbody\n")

    def test_exit_codes(self):
        self.assertEqual(self.run_deliver("nobody", b"Subject: x\n\nb\n").returncode, 67)
        self.assertEqual(self.run_deliver("alice", b"").returncode, 65)
        self.assertEqual(self.run_deliver("alice", b"\x00\x01 not a message\n").returncode, 65)
        r = duotest.run_duomail(["deliver", "--config", self.srv.config_path])
        self.assertEqual(r.returncode, 64)
        r = duotest.run_duomail(["deliver", "--config", "/nonexistent", "alice"], input=b"x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent", r.stderr.decode())

    def test_store_unwritable_is_temporary(self):
        if os.geteuid() == 0:
            self.skipTest("root ignores directory permissions")
        os.chmod(self.srv.root, 0o500)
        try:
            self.assertEqual(self.run_deliver("alice", b"Subject: x\n\nb\n").returncode, 75)
        finally:
            os.chmod(self.srv.root, 0o700)


class TestPwAndHelp(unittest.TestCase):
    def test_pw(self):
        for scheme in ("SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "PLAIN"):
            r = duotest.run_duomail(["pw", "-s", scheme], input="s3cret\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("{%s}" % scheme), r.stdout)
        r = duotest.run_duomail(["pw"], input="s3cret\n")
        self.assertTrue(r.stdout.startswith("{SHA512-CRYPT}$6$"))
        self.assertEqual(duotest.run_duomail(["pw", "-s", "ROT13"], input="x\n").returncode, 64)
        self.assertEqual(duotest.run_duomail(["pw"], input="").returncode, 64)

    def test_help_and_usage(self):
        for cmd in (["--help"], ["serve", "--help"], ["deliver", "--help"], ["pw", "--help"]):
            r = duotest.run_duomail(cmd)
            self.assertEqual(r.returncode, 0)
            self.assertIn("usage", r.stdout)
        self.assertEqual(duotest.run_duomail(["frobnicate"]).returncode, 64)
        self.assertEqual(duotest.run_duomail(["serve", "--bogus"]).returncode, 64)

    def test_bad_config_values(self):
        srv = duotest.Server(users={"alice": "secret"})
        self.addCleanup(srv.stop)
        with open(srv.config_path, "a") as f:
            f.write("[pop3]\nidle_timeout = 5\n")
        r = duotest.run_duomail(["serve", "--config", srv.config_path])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"duomail\.conf:\d+: \[pop3\] idle_timeout:")
        # An unreadable passwd-file is reported at start-up, with the key.
        srv2 = duotest.Server(users={"alice": "secret"})
        self.addCleanup(srv2.stop)
        os.unlink(srv2.passwd)
        r = duotest.run_duomail(["serve", "--config", srv2.config_path])
        self.assertEqual(r.returncode, 2)
        self.assertIn("[auth] passwd_file", r.stderr)


if __name__ == "__main__":
    unittest.main()
