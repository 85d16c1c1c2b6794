"""fetchmail: keep, fetch again (UIDL: no duplicates), then fetch and delete.
Over plain POP3 on loopback and over pop3s."""
import os
import subprocess

from clientlib import ClientTest


class TestFetchmail(ClientTest):
    def fetch(self, keep, ssl=False):
        # The MDA stores each message in a file of its own.
        inbox = os.path.join(self.home, "inbox")
        os.makedirs(inbox, exist_ok=True)
        mda = os.path.join(self.home, "mda.sh")
        with open(mda, "w") as f:
            f.write('#!/bin/sh\ncat > "$(mktemp %s/msg.XXXXXX)"\n' % inbox)
        os.chmod(mda, 0o755)
        rc = os.path.join(self.home, "fetchmailrc")
        port = self.server.port("pop3s" if ssl else "pop3")
        with open(rc, "w") as f:
            f.write("set no syslog\n"
                    "poll localhost protocol pop3 uidl port %d\n"
                    "  user alice password secret %s\n"
                    "  mda %s\n"
                    "  %s\n"
                    % (port, "keep" if keep else "nokeep flush", mda,
                       ("ssl sslcertck sslcertfile %s" % self.server.cert) if ssl
                       else "sslproto ''"))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.home, FETCHMAILHOME=self.home)
        r = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], env=env,
                           capture_output=True, timeout=120)
        # 0: mail fetched, 1: no mail
        self.assertIn(r.returncode, (0, 1), r.stdout.decode() + r.stderr.decode())
        out = []
        for n in sorted(os.listdir(inbox)):
            with open(os.path.join(inbox, n), "rb") as f:
                out.append(f.read())
        return out

    def test_plain(self):
        self.run_cycle(ssl=False)

    def test_pop3s(self):
        self.run_cycle(ssl=True)
