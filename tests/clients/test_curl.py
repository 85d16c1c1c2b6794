"""curl as a POP3 client: pop3:// and pop3s://, LIST, RETR, UIDL, DELE."""
import subprocess

from clientlib import ClientTest, MESSAGES


def crlf(b):
    return b.replace(b"\n", b"\r\n")


class TestCurl(ClientTest):
    def curl(self, url, *extra, tls=False):
        args = ["curl", "-sS", "--max-time", "30"]
        if tls:
            args += ["--cacert", self.server.cert]
        r = subprocess.run(args + list(extra) + [url], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_list_and_retrieve(self):
        port = self.server.port("pop3")
        listing = self.curl("pop3://alice:secret@127.0.0.1:%d/" % port)
        sizes = [len(crlf(m)) for m in MESSAGES]
        self.assertEqual(listing, b"".join(b"%d %d\r\n" % (i + 1, s) for i, s in enumerate(sizes)))
        for i, m in enumerate(MESSAGES, 1):
            got = self.curl("pop3://alice:secret@127.0.0.1:%d/%d" % (port, i))
            self.assertEqual(got, crlf(m))

    def test_pop3s_and_stls(self):
        got = self.curl("pop3s://alice:secret@localhost:%d/2" % self.server.port("pop3s"), tls=True)
        self.assertEqual(got, crlf(MESSAGES[1]))
        got = self.curl("pop3://alice:secret@localhost:%d/3" % self.server.port("pop3"),
                        "--ssl-reqd", tls=True)
        self.assertEqual(got, crlf(MESSAGES[2]))

    def test_uidl_and_dele(self):
        url = "pop3://alice:secret@127.0.0.1:%d/" % self.server.port("pop3")
        uidl = self.curl(url, "-X", "UIDL").splitlines()
        self.assertEqual(len(uidl), 3)
        self.curl(url + "1", "-X", "DELE", "-I")
        self.assertEqual(self.server.count_mail("alice"), 2)
        # Numbers restart in the new session; the UIDLs stay (RFC 1939 §7).
        after = [l.split()[1] for l in self.curl(url, "-X", "UIDL").splitlines()]
        self.assertEqual(after, [l.split()[1] for l in uidl[1:]])
