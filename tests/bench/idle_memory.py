#!/usr/bin/python3
"""Benchmark (prints figures, asserts nothing): N IMAP sessions logged in,
INBOX selected, in IDLE, on one worker; prints the worker's resident memory
per connection and how long one delivery takes to reach every idler.

  tests/bench/idle_memory.py [N] [plain|tls]      (build/duomail by default)
"""
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duotest                      # noqa: E402
from duoimap import RawImap         # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    tls = len(sys.argv) > 2 and sys.argv[2] == "tls"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n * 2 + 100), hard))
    srv = duotest.Server(users={"alice": "pw"}, listen=("imap", "imaps"), workers=1)
    srv.start()
    try:
        srv.deliver("alice", b"Subject: first\n\nbody\n")
        worker = int(subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True,
                                    text=True).stdout.split()[0])
        base = rss_kib(worker)
        ctx = srv.client_tls_context() if tls else None
        clients = []
        start = time.time()
        for _ in range(n):
            c = RawImap(srv.port("imaps" if tls else "imap"), tls_context=ctx)
            c.login("alice", "pw")
            c.ok("SELECT INBOX")
            c.send("i IDLE\r\n")
            c.line()
            clients.append(c)
        setup = time.time() - start
        time.sleep(1)
        per_conn = (rss_kib(worker) - base) / n
        start = time.time()
        srv.deliver("alice", b"Subject: for everyone\n\nbody\n")
        for c in clients:
            c.sock.settimeout(30)
            while b"EXISTS" not in c.line():
                pass
        fanout = time.time() - start
        print("idle IMAP%s sessions: %d (set up in %.1f s)" % ("S" if tls else "", n, setup))
        print("worker memory per session: %.1f KiB" % per_conn)
        print("one delivery (duomail deliver, then EXISTS to all): %.3f s" % fanout)
        for c in clients:
            c.close()
    finally:
        srv.stop(check=False)


if __name__ == "__main__":
    main()
