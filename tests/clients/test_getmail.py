"""getmail6: keep, again (no duplicates), then delete; plain and pop3s."""
import os
import subprocess

from clientlib import ClientTest, read_maildir


class TestGetmail(ClientTest):
    def fetch(self, keep, ssl):
        maildir = os.path.join(self.home, "Maildir") + "/"
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        as_user = ""
        if os.geteuid() == 0:
            # getmail refuses to deliver as root; deliver as nobody instead.
            as_user = "user = nobody\n"
            for root, dirs, files in os.walk(self.home):
                for name in [root] + [os.path.join(root, d) for d in dirs]:
                    os.chown(name, 65534, 65534)
        rcdir = os.path.join(self.home, "getmail")
        os.makedirs(rcdir, exist_ok=True)
        rc = os.path.join(rcdir, "getmailrc")
        with open(rc, "w") as f:
            f.write("[retriever]\ntype = %s\nserver = localhost\nport = %d\n"
                    "username = alice\npassword = secret\n%s\n"
                    "[destination]\ntype = Maildir\npath = %s\n%s"
                    "[options]\ndelete = %s\nread_all = false\nverbose = 0\n"
                    % ("SimplePOP3SSLRetriever" if ssl else "SimplePOP3Retriever",
                       self.server.port("pop3s" if ssl else "pop3"),
                       ("ca_certs = %s" % self.server.cert) if ssl else "",
                       maildir, as_user, "false" if keep else "true"))
        r = subprocess.run(["getmail", "--getmaildir", rcdir, "--rcfile", "getmailrc"],
                           capture_output=True, timeout=120, env=dict(os.environ, HOME=self.home))
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        return read_maildir(maildir)

    def test_plain(self):
        self.run_cycle(ssl=False)

    def test_pop3s(self):
        self.run_cycle(ssl=True)
