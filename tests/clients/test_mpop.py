"""mpop: keep, again (no duplicates), then delete; with STARTTLS and pop3s."""
import os
import subprocess

from clientlib import ClientTest, read_maildir


class TestMpop(ClientTest):
    def fetch(self, keep, tls):
        maildir = os.path.join(self.home, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        rc = os.path.join(self.home, "mpoprc")
        starttls = tls == "starttls"
        port = self.server.port("pop3s" if tls == "pop3s" else "pop3")
        with open(rc, "w") as f:
            f.write("account test\nhost localhost\nport %d\nuser alice\npassword secret\n"
                    "auth user\ntls %s\ntls_starttls %s\ntls_trust_file %s\n"
                    "delivery maildir %s\nkeep %s\nuidls_file %s/uidls\n"
                    % (port, "on" if tls else "off", "on" if starttls else "off",
                       self.server.cert, maildir, "on" if keep else "off", self.home))
        os.chmod(rc, 0o600)
        r = subprocess.run(["mpop", "-C", rc, "test"], capture_output=True, timeout=120,
                           env=dict(os.environ, HOME=self.home))
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        return read_maildir(maildir)

    def test_plain(self):
        self.run_cycle(tls=None)

    def test_starttls(self):
        self.run_cycle(tls="starttls")

    def test_pop3s(self):
        self.run_cycle(tls="pop3s")
