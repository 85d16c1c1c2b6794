#!/usr/bin/python3
"""Benchmark (prints figures, asserts nothing): what the live admin state
costs a session.  N pipelined IMAP NOOPs on one session, timed three ways:
nobody tracing; `duomail trace` following another user; `duomail trace`
following this very user (every command and reply goes to the ring and
out to the reader).  Then `duomail who` and `duomail stats` wall time with
that many commands counted.

  tests/bench/trace_cost.py [N]                   (build/duomail by default)
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duotest                      # noqa: E402
from duoimap import RawImap         # noqa: E402


def noops(c, n):
    start = time.time()
    c.send("".join("n%d NOOP\r\n" % i for i in range(n)))
    c.until("n%d" % (n - 1))
    return time.time() - start


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    sockdir = tempfile.mkdtemp(prefix="duomail-bench-")
    srv = duotest.Server(users={"alice": "pw", "bob": "pw"}, listen=("imap",), workers=1,
                         config={"server": {"admin_socket": os.path.join(sockdir, "a.sock")}})
    srv.start()
    try:
        c = RawImap(srv.port("imap"), timeout=120)
        c.login("alice", "pw")
        noops(c, 1000)      # warm up
        for label, user in (("nobody traced", None), ("another user traced", "bob"),
                            ("this user traced", "alice")):
            tracer = None
            if user:
                tracer = subprocess.Popen([duotest.DUOMAIL, "trace", "--config",
                                           srv.config_path, user],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(0.5)
            t = noops(c, n)
            print("%-22s %6d NOOPs %7.3f s  %8.0f commands/s" % (label, n, t, n / t))
            if tracer:
                tracer.send_signal(signal.SIGINT)
                err = tracer.communicate(timeout=30)[1].decode()
                if "lost" in err:
                    print("%-22s %s" % ("", err.strip()))
        for cmd in ("who", "stats"):
            start = time.time()
            subprocess.run([duotest.DUOMAIL, cmd, "--config", srv.config_path],
                           stdout=subprocess.DEVNULL, check=True)
            print("duomail %-14s %7.3f s" % (cmd, time.time() - start))
        c.close()
    finally:
        srv.stop(check=False)


if __name__ == "__main__":
    main()
