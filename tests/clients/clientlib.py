"""Shared helpers for the real-client tests: a server with three messages,
and checks that a client's download holds each exactly once."""
import email
import os
import shutil
import tempfile
import unittest

import duotest

MESSAGES = [
    b"From: a@example.test\nSubject: client test one\nMessage-ID: <one@test>\n\nfirst body\n",
    b"From: b@example.test\nSubject: client test two\nMessage-ID: <two@test>\n\n.dot line\nsecond\n",
    b"From: c@example.test\nSubject: client test three\nMessage-ID: <three@test>\n\n"
    + b"x" * 5000 + b"\nthird\n",
]


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.server = duotest.Server(users={"alice": "secret"})
        self.server.start()
        for m in MESSAGES:
            self.assertEqual(self.server.deliver("alice", m), 0)
        self.home = tempfile.mkdtemp(prefix="duomail-client-")

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def run_cycle(self, **how):
        """Download keeping mail, again (UIDL: nothing new), then delete.
        self.fetch(keep, **how) returns every message the client holds."""
        self.assert_each_once(self.fetch(keep=True, **how))
        self.assertEqual(len(self.fetch(keep=True, **how)), 3,
                         "a second run with keep must fetch nothing new")
        self.assertEqual(self.server.count_mail("alice"), 3)
        self.fetch(keep=False, **how)
        self.assertEqual(self.server.count_mail("alice"), 0)

    def assert_each_once(self, raw_messages):
        """raw_messages: bytes of each downloaded message."""
        ids = []
        for raw in raw_messages:
            msg = email.message_from_bytes(raw)
            ids.append(msg["Message-ID"])
            body = msg.get_payload(decode=True).replace(b"\r\n", b"\n")
            want = [m for m in MESSAGES if msg["Message-ID"].encode() in m][0]
            self.assertEqual(body, want.split(b"\n\n", 1)[1])
        self.assertEqual(sorted(ids), sorted(["<one@test>", "<two@test>", "<three@test>"]))


def read_maildir(path):
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for n in sorted(os.listdir(d)):
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
    return out
