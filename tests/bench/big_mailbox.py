#!/usr/bin/python3
"""Benchmark (prints figures, asserts nothing): an INBOX of N messages
(written straight into cur/), then the time of SELECT, of NOOP with nothing
changed, of a flag change and the NOOP after it, of FETCH 1:* (UID FLAGS)
and of STORE 1:* on one IMAP session.

  tests/bench/big_mailbox.py [N]                  (build/duomail by default)
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duotest                      # noqa: E402
from duoimap import RawImap         # noqa: E402


def timed(label, fn):
    start = time.time()
    fn()
    print("%-34s %8.3f s" % (label, time.time() - start))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    srv = duotest.Server(users={"alice": "pw"}, listen=("imap",), workers=1)
    srv.start()
    try:
        srv.deliver("alice", b"Subject: first\n\nx\n")
        cur = os.path.join(srv.maildir("alice"), "cur")
        for i in range(n):
            with open(os.path.join(cur, "%d.M%dP1.bench:2,S" % (1700000000 + i, i)), "wb") as f:
                f.write(b"From: a@example.test\nSubject: message %d\n\nbody\n" % i)
        c = RawImap(srv.port("imap"))
        c.login("alice", "pw")
        print("INBOX of %d messages" % (n + 1))
        timed("SELECT (first: UIDs assigned)", lambda: c.ok("SELECT INBOX"))
        timed("SELECT again", lambda: c.ok("SELECT INBOX"))
        time.sleep(1.1)     # let the directories' times settle (maildir_stamp.c)
        c.ok("NOOP")
        timed("NOOP, nothing changed", lambda: c.ok("NOOP"))
        timed("STORE 5 +FLAGS (\\Flagged)", lambda: c.ok("STORE 5 +FLAGS (\\Flagged)"))
        time.sleep(0.1)
        timed("NOOP after the change", lambda: c.ok("NOOP"))
        timed("FETCH 1:* (UID FLAGS)", lambda: c.ok("FETCH 1:* (UID FLAGS)"))
        timed("STORE 1:* +FLAGS.SILENT (\\Seen)", lambda: c.ok("STORE 1:* +FLAGS.SILENT (\\Seen)"))
        c.close()
    finally:
        srv.stop(check=False)


if __name__ == "__main__":
    main()
