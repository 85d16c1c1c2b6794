#!/usr/bin/python3
"""Smoke run of duomail-loadgen (ctest bench/smoke): every workload for a few
seconds against duomail alone, plain and TLS.  It checks that each ran
without a protocol error and did what it says (sessions, messages, every
IDLE session got the push), never how fast: figures are tests/bench/compare's.
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duotest                      # noqa: E402

LOADGEN = os.environ.get("DUOMAIL_LOADGEN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "bench", "loadgen",
    "duomail-loadgen")
USERS = ["bench%d" % i for i in range(4)]


class LoadgenSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(plain_users={u: "pw-" + u for u in USERS},
                                 listen=("imap", "imaps", "pop3", "lmtp"), workers=2)
        cls.srv.start()
        # The mail every later workload reads, delivered by the LMTP workload.
        cls.run_loadgen("lmtp", "deliver", clients=4, count=4 * 25, msg_size=2000)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    @classmethod
    def run_loadgen(cls, protocol, workload, clients, count=None, duration=None, tls=False,
                    extra=(), msg_size=4096):
        port = cls.srv.port(("imaps" if tls else "imap") if protocol == "imap" else protocol)
        args = [LOADGEN, "--port", str(port), "--protocol", protocol, "--workload", workload,
                "--clients", str(clients), "--pid", str(cls.srv.proc.pid),
                "--msg-size", str(msg_size), "--label", "smoke"]
        args += ["--count", str(count)] if count else ["--duration", str(duration or 2)]
        for u in USERS:
            args += ["--user", "%s:pw-%s" % (u, u)]
        if tls:
            args.append("--tls")
        args += list(extra)
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("loadgen exit %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
        print(r.stdout.splitlines()[1])
        figures = json.loads(r.stdout.splitlines()[0])
        if figures["errors"]:
            raise AssertionError("protocol errors:\n%s%s" % (r.stdout, r.stderr))
        return figures

    def test_lmtp_delivered_and_stored(self):
        # setUpClass delivered 100 messages, 25 to each user (round robin).
        for u in USERS:
            self.assertGreaterEqual(self.srv.count_mail(u), 25)

    def test_imap_mixed(self):
        f = self.run_loadgen("imap", "mixed", clients=4, duration=2)
        self.assertGreater(f["sessions"], 0)
        # A full session is 12 tagged replies (LOGIN ... LOGOUT).
        self.assertGreaterEqual(f["ops"], 12 * f["sessions"])
        self.assertGreater(f["server_cpu_s"], 0)

    def test_imap_mixed_tls(self):
        f = self.run_loadgen("imap", "mixed", clients=2, duration=1, tls=True)
        self.assertGreater(f["sessions"], 0)

    def test_imap_select_fetch(self):
        f = self.run_loadgen("imap", "select-fetch", clients=2, count=6)
        self.assertEqual(f["sessions"], 6)
        self.assertEqual(f["ops"], 6)
        self.assertGreaterEqual(f["msgs"], 6 * 25)   # one FETCH line per message

    def test_imap_idle_push(self):
        lmtp = "127.0.0.1:%d" % self.srv.port("lmtp")
        for tls in (False, True):
            f = self.run_loadgen("imap", "idle", clients=40, tls=tls,
                                 extra=["--lmtp", lmtp, "--settle", "0.5"])
            self.assertEqual(f["idle_sessions"], 40)
            # RFC 2177 §3: each IDLE session is told of the new message.
            self.assertEqual(f["push_received"], 40)
            self.assertIn("mem_per_conn_kib", f)

    def test_pop3_retr_all(self):
        f = self.run_loadgen("pop3", "retr-all", clients=4, count=4)
        self.assertEqual(f["sessions"], 4)
        self.assertGreaterEqual(f["msgs"], 4 * 25)

    def test_pop3_mixed_keeps_the_maildrop(self):
        before = {u: self.srv.count_mail(u) for u in USERS}
        f = self.run_loadgen("pop3", "mixed", clients=4, count=4)
        self.assertEqual(f["sessions"], 4)
        # DELE then RSET: RFC 1939 §5, nothing is deleted.
        self.assertEqual(before, {u: self.srv.count_mail(u) for u in USERS})


if __name__ == "__main__":
    unittest.main(verbosity=2)
