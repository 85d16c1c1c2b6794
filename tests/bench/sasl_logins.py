#!/usr/bin/python3
"""Benchmark (prints figures, asserts nothing): what a login costs per
mechanism and stored scheme.  N sequential IMAP logins each, on one worker,
from loopback (no failure penalty); prints logins per second and the mean
time of one.  The server-side work (PBKDF2 for SCRAM, Argon2's 64 MiB)
runs on the thread pool; the client's SCRAM work (one PBKDF2) is included.

  tests/bench/sasl_logins.py [N]      (build/duomail by default)
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duotest                                                       # noqa: E402
from duosasl import (LineConn, ScramClient, cram_md5, imap_authenticate,  # noqa: E402
                     scram_responder, scram_stored_keys)

CASES = [  # (label, user, mechanism)
    ("LOGIN, {PLAIN}", "plain", "LOGIN"),
    ("LOGIN, {SHA512-CRYPT}", "crypt", "LOGIN"),
    ("LOGIN, {ARGON2ID} m=64MiB t=3", "argon", "LOGIN"),
    ("LOGIN, {SCRAM-SHA-256} keys", "keys", "LOGIN"),
    ("CRAM-MD5, {PLAIN}", "plain", "CRAM-MD5"),
    ("SCRAM-SHA-256, {PLAIN} (derived per login)", "plain", "SCRAM-SHA-256"),
    ("SCRAM-SHA-256, stored keys", "keys", "SCRAM-SHA-256"),
    ("SCRAM-SHA-1, {PLAIN}", "plain", "SCRAM-SHA-1"),
]


def login(srv, user, mech):
    c = LineConn.tcp(srv.port("imap"))
    try:
        c.readline()
        if mech == "LOGIN":
            c.send('a1 LOGIN %s "pw"' % user)
            line = c.readline()
        elif mech == "CRAM-MD5":
            line, _ = imap_authenticate(c, mech, lambda ch: cram_md5(user, "pw", ch))
        else:
            client = ScramClient("sha256" if "256" in mech else "sha1", user, "pw")
            line, _ = imap_authenticate(c, mech, scram_responder(client),
                                        initial=client.first())
        if not line.startswith("a1 OK"):
            raise RuntimeError("%s %s: %s" % (user, mech, line))
        c.send("a2 LOGOUT")
    finally:
        c.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    srv = duotest.Server(users={"crypt": "pw"}, plain_users={"plain": "pw"},
                         listen=("imap",), workers=1,
                         config={"auth": {"penalty_exempt_loopback": "yes"}})
    srv._lines.append("argon:" + duotest.hash_password("pw", "ARGON2ID"))
    srv._lines.append("keys:" + scram_stored_keys("sha256", "pw"))
    srv._write_passwd()
    srv.start()
    try:
        print("%-46s %10s %10s" % ("mechanism, stored password", "logins/s", "ms each"))
        for label, user, mech in CASES:
            login(srv, user, mech)      # warm up
            t0 = time.monotonic()
            for _ in range(n):
                login(srv, user, mech)
            took = time.monotonic() - t0
            print("%-46s %10.1f %10.2f" % (label, n / took, 1000 * took / n))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
