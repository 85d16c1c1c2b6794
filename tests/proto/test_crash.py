"""Crash safety (issue 4): the server is killed with SIGKILL in a loop while
deliveries (`duomail deliver`, LMTP, a foreign program writing into new/), IMAP
sessions (flags, UID EXPUNGE, COPY, MOVE, APPEND) and POP3 sessions (RETR,
DELE, QUIT) run against one account, and `duomail deliver` processes are
killed in the middle of their input or while they commit.  Between rounds the
index is sometimes deleted, truncated or damaged.  After every restart the
test proves, from the files on disk and through both protocols:

- every acknowledged message (deliver exit 0, LMTP 250, APPEND OK, COPY/MOVE
  OK, a foreign rename into new/) is there exactly once, every committed deletion (POP3 QUIT +OK, UID EXPUNGE
  or MOVE OK) is gone, and nothing unacknowledged shows up twice;
- no half-written message is visible: every file in new/ and cur/ is whole
  (each message carries its own length and SHA-1), and clients see only
  those (tmp/ is never shown);
- a UID is never reused within one UIDVALIDITY, a message keeps its UID
  unless its index entry was damaged, a new UIDVALIDITY is greater and only
  comes with a damaged or lost index (RFC 3501 §2.3.1.1);
- a message's POP3 UIDL never changes (RFC 1939 §7);
- acknowledged flag changes stay, and a RETR committed at QUIT left \\Seen.

Short mode (ctest): DUOMAIL_CRASH_ROUNDS rounds (20), bounded by
DUOMAIL_CRASH_SECONDS (100; at least 5 rounds run).  Long mode by hand, on
the release build, from tests/proto:
  DUOMAIL_BIN=$PWD/../../build/duomail PYTHONPATH=../lib DUOMAIL_CRASH_ROUNDS=500 \\
  DUOMAIL_CRASH_SECONDS=3600 /usr/bin/python3 -m unittest -v test_crash
DUOMAIL_CRASH_SEED repeats a run's random choices (the seed is printed),
though not its timing.  A failing run keeps its directory (mail, log).
"""
import hashlib
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import traceback
import unittest
import zlib

import duotest
from duoimap import ImapError, RawImap
from test_pop3 import Pop3Client

ROUNDS = int(os.environ.get("DUOMAIL_CRASH_ROUNDS", "20"))
SECONDS = float(os.environ.get("DUOMAIL_CRASH_SECONDS", "100"))
SEED = int(os.environ.get("DUOMAIL_CRASH_SEED", str(int(time.time() * 1000) % 1000000)))
MIN_ROUNDS = 5           # a slow machine still does this many
MAX_INBOX = 250          # deliveries pause above this many messages
USER, PASSWORD = "alice", "crash-pw"
FOLDERS = ("INBOX", "Archive")

PRESENT, GONE, PENDING = "present", "gone", "pending"
# what a client sees when the server is killed under it
NET_ERRORS = (OSError, ImapError, ConnectionError, socket.timeout, smtplib.SMTPException)


def make_message(rnd, mid, big=False, crlf=False):
    """A message that proves itself whole: its body's length and SHA-1 are
    in its header.  Lines may start with '.' (POP3 dot-stuffing)."""
    size = rnd.randrange(200_000, 400_000) if big else rnd.choice((60, 300, 1500, 6000))
    words = []
    n = 0
    while n < size:
        w = "".join(rnd.choice("abcdefghij.klmnop") for _ in range(rnd.randrange(1, 12)))
        words.append(w)
        n += len(w) + 1
    lines = []
    for i in range(0, len(words), 9):
        lines.append(" ".join(words[i:i + 9]))
    body = ("\n".join(lines) + "\n").encode()
    head = ("Message-ID: <%s@crash.test>\nFrom: crash@example.test\nTo: alice@example.test\n"
            "Subject: crash %s\nX-Crash-Length: %d\nX-Crash-Sum: %s\n\n"
            % (mid, mid, len(body), hashlib.sha1(body).hexdigest())).encode()
    data = head + body
    return data.replace(b"\n", b"\r\n") if crlf else data


def check_message(data):
    """(mid, problem): the message's id and None if it is whole."""
    data = data.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    m = re.search(rb"^Message-ID: <([^@>]+)@crash\.test>$", head, re.M)
    mid = m.group(1).decode() if m else None
    if not sep:
        return mid, "no end of header"
    ln = re.search(rb"^X-Crash-Length: (\d+)$", head, re.M)
    sm = re.search(rb"^X-Crash-Sum: ([0-9a-f]{40})$", head, re.M)
    if mid is None or ln is None or sm is None:
        return mid, "header incomplete: %r" % head[:200]
    if len(body) != int(ln.group(1)):
        return mid, "body is %d bytes, not %s" % (len(body), ln.group(1).decode())
    if hashlib.sha1(body).hexdigest().encode() != sm.group(1):
        return mid, "body checksum differs"
    return mid, None


def mid_of_header(text):
    m = re.search(rb"Message-ID: <([^@>]+)@crash\.test>", text, re.I)
    return m.group(1).decode() if m else None


class Ledger:
    """What the clients were told, which is what the store must keep."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state = {f: {} for f in FOLDERS}      # folder -> mid -> PRESENT/GONE/PENDING
        self.claimed = set()                        # mids a thread is deleting/moving
        self.uid_of = {f: {} for f in FOLDERS}     # folder -> mid -> (uidvalidity, uid, epoch)
        self.mid_of = {}                            # (folder, uidvalidity, uid) -> mid
        self.uidvalidity = {f: None for f in FOLDERS}
        self.epoch = {f: 0 for f in FOLDERS}        # bumped when the test damages an index
        self.uidl_of = {}                           # mid -> POP3 UIDL
        self.mid_of_uidl = {}
        self.flag_ok = {}                           # mid -> allowed \\Flagged states
        self.flag_acked = {}
        self.seen_required = set()
        self.failures = []
        self.counts = {}
        self.history = {}                           # mid -> what happened, for failures

    def fail(self, text):
        with self.lock:
            self.failures.append(text)

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def set(self, folder, mid, state):
        with self.lock:
            self.state[folder][mid] = state

    def get(self, folder, mid):
        with self.lock:
            return self.state[folder].get(mid)

    def present(self, folder):
        with self.lock:
            return [m for m, s in self.state[folder].items() if s == PRESENT]

    def claim(self, mid, folder="INBOX", need_absent_in=None):
        """Takes mid for a change of its presence, if it is PRESENT in
        folder and nobody else has it."""
        with self.lock:
            if mid in self.claimed or self.state[folder].get(mid) != PRESENT:
                return False
            if need_absent_in is not None and mid in self.state[need_absent_in]:
                return False
            self.claimed.add(mid)
            return True

    def release(self, mid):
        with self.lock:
            self.claimed.discard(mid)

    def saw_uid(self, folder, uidvalidity, uid, mid, where):
        """A client saw mid as (uidvalidity, uid) in folder."""
        with self.lock:
            if mid is None or all(mid not in self.state[f] for f in FOLDERS):
                self.failures.append("%s: unknown message %r as %s UID %d/%d"
                                     % (where, mid, folder, uidvalidity, uid))
                return
            key = (folder, uidvalidity, uid)
            other = self.mid_of.setdefault(key, mid)
            if other != mid:
                self.failures.append("%s: %s UID %d/%d reused: was %s, now %s"
                                     % (where, folder, uidvalidity, uid, other, mid))
            before = self.uid_of[folder].get(mid)
            now = (uidvalidity, uid, self.epoch[folder])
            if (before is not None and before[0] == uidvalidity and before[1] != uid and
                    before[2] == self.epoch[folder]):
                self.failures.append("%s: %s of %s changed UID %d -> %d in UIDVALIDITY %d "
                                     "with its index intact" % (where, mid, folder, before[1],
                                                                uid, uidvalidity))
            self.uid_of[folder][mid] = now

    def saw_uidl(self, mid, uidl, where):
        with self.lock:
            if self.uidl_of.setdefault(mid, uidl) != uidl:
                self.failures.append("%s: UIDL of %s changed: %s -> %s"
                                     % (where, mid, self.uidl_of[mid], uidl))
            if self.mid_of_uidl.setdefault(uidl, mid) != mid:
                self.failures.append("%s: UIDL %s names %s and %s"
                                     % (where, uidl, self.mid_of_uidl[uidl], mid))

    def flag_pending(self, mid, want, who):
        with self.lock:
            self.flag_ok[mid] = {self.flag_acked.get(mid, False), want}
            self.history.setdefault(mid, []).append("%.3f %s %s sent" % (time.time(), who, want))

    def flag_done(self, mid, want, who):
        with self.lock:
            self.flag_acked[mid] = want
            self.flag_ok[mid] = {want}
            self.history.setdefault(mid, []).append("%.3f %s %s acked" % (time.time(), who, want))

    def note(self, mid, text):
        with self.lock:
            self.history.setdefault(mid, []).append("%.3f %s" % (time.time(), text))


class Round:
    """The load of one round: threads that stop when the server dies."""

    def __init__(self, test, rnd):
        self.t = test
        self.srv = test.srv
        self.ledger = test.ledger
        self.rnd = rnd
        self.stop = threading.Event()
        self.threads = []
        self.conns = []       # closed at the end of the round

    def spawn(self, name, fn, *args):
        seed = self.rnd.random()

        def run():
            try:
                fn(random.Random(seed), *args)
            except NET_ERRORS:
                pass      # the server died under this client
            except Exception:
                self.ledger.fail("%s crashed:\n%s" % (name, traceback.format_exc()))
        th = threading.Thread(target=run, name=name, daemon=True)
        th.start()
        self.threads.append(th)

    def join(self):
        """After the kill: the clients fail and stop by themselves (their
        connections were closed by the kernel), then their sockets go."""
        self.stop.set()
        deadline = time.time() + 60
        for th in self.threads:
            th.join(max(0.1, deadline - time.time()))
            if th.is_alive():
                self.ledger.fail("thread %s did not stop" % th.name)
        for c in self.conns:
            c.close()

    def new_mid(self, rnd):
        return "m%06d-%s" % (self.t.next_id(), "".join(rnd.choice("abcdef") for _ in range(4)))

    # ---- the clients ----

    def deliverer(self, rnd):
        while not self.stop.is_set():
            if len(self.ledger.present("INBOX")) > MAX_INBOX:
                time.sleep(0.05)
                continue
            mid = self.new_mid(rnd)
            data = make_message(rnd, mid, big=rnd.random() < 0.1)
            r = rnd.random()
            kill = r < 0.15              # in the middle of its input
            kill_late = 0.15 <= r < 0.25  # after its input, maybe while it commits
            self.ledger.set("INBOX", mid, PENDING)
            p = subprocess.Popen([duotest.DUOMAIL, "deliver", "--config", self.srv.config_path,
                                  USER], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            if kill:
                try:
                    p.stdin.write(data[:rnd.randrange(1, len(data))])
                    p.stdin.flush()
                    time.sleep(rnd.random() * 0.03)
                except BrokenPipeError:
                    pass
                p.kill()
                p.wait()
                for f in (p.stdin, p.stderr):
                    try:
                        f.close()
                    except BrokenPipeError:
                        pass
                # It never saw the end of its input, so it cannot have
                # committed: the message must never appear.
                self.ledger.set("INBOX", mid, GONE)
                self.ledger.count("deliver killed")
                continue
            if kill_late:
                try:
                    p.stdin.write(data)
                    p.stdin.close()
                except BrokenPipeError:
                    pass
                time.sleep(rnd.random() * 0.03)
                p.kill()
                p.wait()
                p.stderr.close()
                # either whole or not there (PENDING), never half, never twice
                self.ledger.count("deliver killed after its input")
                continue
            _, err = p.communicate(data, timeout=60)
            if b"Sanitizer" in err or b"runtime error" in err:
                self.ledger.fail("deliver: %s" % err.decode("utf-8", "replace"))
            if p.returncode == 0:
                self.ledger.set("INBOX", mid, PRESENT)
                self.ledger.count("delivered")
            else:
                self.ledger.count("deliver exit %d" % p.returncode)

    def lmtp(self, rnd):
        """An MTA handing mail over by LMTP (RFC 2033): one 250 per
        recipient after the final dot means the message is durable."""
        c = smtplib.LMTP("127.0.0.1", self.srv.port("lmtp"), timeout=15)
        self.conns.append(c)
        c.ehlo("mta.example")
        while not self.stop.is_set():
            if len(self.ledger.present("INBOX")) > MAX_INBOX:
                time.sleep(0.05)
                continue
            mid = self.new_mid(rnd)
            data = make_message(rnd, mid, big=rnd.random() < 0.1, crlf=True)
            self.ledger.set("INBOX", mid, PENDING)
            try:
                refused = c.sendmail("sender@example.test", [USER + "@example.test"], data)
            except smtplib.SMTPRecipientsRefused as e:
                refused = e.recipients
            except smtplib.SMTPServerDisconnected:
                return
            except smtplib.SMTPResponseException as e:
                if e.smtp_code == 421:
                    return   # the server goes away
                refused = {USER: (e.smtp_code, e.smtp_error)}
            if refused:
                self.ledger.count("lmtp refused")
            else:
                self.ledger.set("INBOX", mid, PRESENT)
                self.ledger.count("lmtp delivered")
            time.sleep(rnd.random() * 0.05)

    def foreign(self, rnd):
        """Another program delivering the Maildir way (tmp/, then a rename
        into new/): its message is there once the rename is durable."""
        md = self.srv.maildir(USER)
        while not self.stop.is_set():
            if len(self.ledger.present("INBOX")) > MAX_INBOX:
                time.sleep(0.05)
                continue
            mid = self.new_mid(rnd)
            name = "%d.M%dP%d.foreign" % (time.time(), self.t.next_id(), os.getpid())
            self.ledger.set("INBOX", mid, PENDING)
            with open(os.path.join(md, "tmp", name), "wb") as f:
                f.write(make_message(rnd, mid))
                f.flush()
                os.fsync(f.fileno())
            os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
            fd = os.open(os.path.join(md, "new"), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            self.ledger.set("INBOX", mid, PRESENT)
            self.ledger.count("foreign delivered")
            time.sleep(rnd.random() * 0.1)

    def imap(self, folder="INBOX"):
        c = RawImap(self.srv.port("imap"), timeout=15)
        self.conns.append(c)
        c.login(USER, PASSWORD)
        u = c.ok("SELECT %s" % folder)
        m = re.search(rb"\[UIDVALIDITY (\d+)\]", b"\n".join(u))
        c.uidvalidity = int(m.group(1))
        c.folder = folder
        c.uids = {}      # uid -> mid, as this session learnt them
        c.top = 0
        self.refresh(c)
        return c

    def refresh(self, c):
        """Learns the UIDs above the highest known one."""
        u = c.ok("UID FETCH %d:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" % (c.top + 1))
        for line in u:
            m = re.match(rb"\* \d+ FETCH \(.*UID (\d+)", line)
            if not m or b"BODY[HEADER" not in line:
                continue
            uid = int(m.group(1))
            if uid <= c.top:
                continue      # "n:*" with n past the end names the last message
            mid = mid_of_header(line)
            self.ledger.saw_uid(c.folder, c.uidvalidity, uid, mid, "imap load")
            c.uids[uid] = mid
        if c.uids:
            c.top = max(c.top, max(c.uids))

    def pick(self, c, rnd):
        cands = [(u, m) for u, m in c.uids.items()
                 if self.ledger.get(c.folder, m) == PRESENT]
        return rnd.choice(cands) if cands else (None, None)

    def verify_body(self, c, uid, mid):
        untagged, tagged = c.cmd("UID FETCH %d BODY.PEEK[]" % uid)
        for line in untagged:
            m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
            if m:
                start = m.end()
                got, problem = check_message(line[start:start + int(m.group(1))])
                if problem or got != mid:
                    self.ledger.fail("imap FETCH of %s (UID %d): %s %s" % (mid, uid, got, problem))
                self.ledger.count("imap body checked")

    def flagger(self, rnd):
        c = self.imap()
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 6 == 0:
                self.refresh(c)
            uid, mid = self.pick(c, rnd)
            if uid is None:
                time.sleep(0.05)
                self.refresh(c)
                continue
            # one flag changer per message at a time, so the acknowledged
            # order is the order on disk
            if not self.ledger.claim(mid):
                continue
            try:
                want = rnd.random() < 0.5
                who = "%s/%s" % (threading.current_thread().name, c.sock.getsockname()[1])
                self.ledger.flag_pending(mid, want, who)
                _, tagged = c.cmd("UID STORE %d %sFLAGS.SILENT (\\Flagged)"
                                  % (uid, "+" if want else "-"))
                if b" OK " in tagged:
                    self.ledger.flag_done(mid, want, who)
                    self.ledger.count("flag stored")
            finally:
                self.ledger.release(mid)
            if n % 3 == 0:
                self.verify_body(c, uid, mid)

    def expunger(self, rnd):
        c = self.imap()
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 4 == 0:
                self.refresh(c)
            uid, mid = self.pick(c, rnd)
            if uid is None or not self.ledger.claim(mid):
                time.sleep(0.05)
                self.refresh(c)
                continue
            try:
                self.ledger.set("INBOX", mid, PENDING)
                c.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
                # RFC 4315 §2.1: only this message, not others' \\Deleted ones
                untagged, tagged = c.cmd("UID EXPUNGE %d" % uid)
                if b" OK " in tagged and any(x.endswith(b" EXPUNGE") for x in untagged):
                    self.ledger.set("INBOX", mid, GONE)
                    self.ledger.count("imap expunged")
                    del c.uids[uid]
                elif b" OK " in tagged:
                    self.ledger.fail("UID EXPUNGE %d (%s) said OK without an EXPUNGE: %r"
                                     % (uid, mid, untagged))
            finally:
                self.ledger.release(mid)
            time.sleep(rnd.random() * 0.05)

    def mover(self, rnd):
        c = self.imap()
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 4 == 0:
                self.refresh(c)
            uid, mid = self.pick(c, rnd)
            if uid is None or not self.ledger.claim(mid, need_absent_in="Archive"):
                time.sleep(0.05)
                self.refresh(c)
                continue
            try:
                move = rnd.random() < 0.5
                if move:
                    self.ledger.set("INBOX", mid, PENDING)
                self.ledger.set("Archive", mid, PENDING)
                untagged, tagged = c.cmd("UID %s %d Archive" % ("MOVE" if move else "COPY", uid))
                if b" OK " not in tagged:
                    continue
                m = re.search(rb"\[COPYUID (\d+) (\d+) (\d+)\]", b"\n".join(untagged + [tagged]))
                if m is None:
                    self.ledger.fail("%s of %s: OK without COPYUID: %r"
                                     % ("MOVE" if move else "COPY", mid, tagged))
                    continue
                self.ledger.set("Archive", mid, PRESENT)
                self.ledger.saw_uid("Archive", int(m.group(1)), int(m.group(3)), mid, "COPYUID")
                if move:
                    self.ledger.set("INBOX", mid, GONE)
                    del c.uids[uid]
                self.ledger.count("moved" if move else "copied")
            finally:
                self.ledger.release(mid)
            time.sleep(rnd.random() * 0.05)

    def appender(self, rnd):
        c = RawImap(self.srv.port("imap"), timeout=15)
        self.conns.append(c)
        c.login(USER, PASSWORD)
        while not self.stop.is_set():
            if len(self.ledger.present("INBOX")) > MAX_INBOX:
                time.sleep(0.05)
                continue
            mid = self.new_mid(rnd)
            data = make_message(rnd, mid, big=rnd.random() < 0.05, crlf=True)
            self.ledger.set("INBOX", mid, PENDING)
            tag = c.tag()
            c.send("%s APPEND INBOX {%d}\r\n" % (tag, len(data)))
            line = c.line()
            while line.startswith(b"* "):
                line = c.line()
            if not line.startswith(b"+"):
                self.ledger.fail("APPEND got no continuation: %r" % line)
                return
            c.send(data + b"\r\n")
            _, tagged = c.until(tag)
            m = re.search(rb" OK \[APPENDUID (\d+) (\d+)\]", tagged)
            if m:
                self.ledger.set("INBOX", mid, PRESENT)
                self.ledger.saw_uid("INBOX", int(m.group(1)), int(m.group(2)), mid, "APPENDUID")
                self.ledger.count("appended")
            elif b" OK " in tagged:
                self.ledger.set("INBOX", mid, PRESENT)   # saved; its UID comes later
                self.ledger.count("appended")
            time.sleep(rnd.random() * 0.1)

    def pop3(self, rnd):
        while not self.stop.is_set():
            c = Pop3Client(self.srv.port("pop3"), timeout=15)
            try:
                self.pop3_session(c, rnd)
            finally:
                c.close()
            time.sleep(rnd.random() * 0.1)

    def pop3_session(self, c, rnd):
        c.cmd("USER " + USER)
        reply = c.cmd("PASS " + PASSWORD)
        if not reply.startswith("+OK"):
            if "[IN-USE]" not in reply and "[SYS/TEMP]" not in reply:
                self.ledger.fail("POP3 login: %s" % reply)
            return
        if not c.cmd("UIDL").startswith("+OK"):
            self.ledger.fail("POP3 UIDL failed")
            return
        listing = [line.split() for line in c.multiline()]
        if not listing:
            c.cmd("QUIT")
            return
        picked = rnd.sample(listing, min(len(listing), rnd.randrange(1, 6)))
        mids = {}
        for num, uidl in picked:
            reply = c.cmd("TOP %s 0" % num)
            if not reply.startswith("-ERR"):
                mid = mid_of_header("\n".join(c.multiline()).encode())
                self.ledger.saw_uidl(mid, uidl, "pop3 load")
                mids[num] = mid
        retrieved = []
        if mids and rnd.random() < 0.7:
            num = rnd.choice(sorted(mids))
            if c.cmd("RETR %s" % num).startswith("+OK"):
                data = "\r\n".join(c.multiline()).encode() + b"\r\n"
                got, problem = check_message(data)
                if problem or got != mids[num]:
                    self.ledger.fail("pop3 RETR of %s: %s %s" % (mids[num], got, problem))
                retrieved.append(mids[num])
                self.ledger.count("pop3 retrieved")
        deleting = []
        try:
            for num, mid in list(mids.items())[:rnd.randrange(0, 3)]:
                if self.ledger.claim(mid):
                    deleting.append(mid)
                    self.ledger.set("INBOX", mid, PENDING)
                    reply = c.cmd("DELE %s" % num)
                    if not reply.startswith("+OK"):
                        self.ledger.fail("POP3 DELE of %s: %s" % (mid, reply))
            reply = c.cmd("QUIT")
            if reply.startswith("+OK"):
                for mid in deleting:
                    self.ledger.set("INBOX", mid, GONE)
                self.ledger.count("pop3 deleted", len(deleting))
                with self.ledger.lock:
                    self.ledger.seen_required.update(m for m in retrieved if m not in deleting)
        finally:
            for mid in deleting:
                self.ledger.release(mid)


class TestCrash(unittest.TestCase):
    def setUp(self):
        self.srv = duotest.Server(plain_users={USER: PASSWORD},
                                  listen=("imap", "pop3", "lmtp"), workers=2, own_group=True)
        self.ledger = Ledger()
        self.ids = 0
        self.ids_lock = threading.Lock()
        self.passed = False

    def tearDown(self):
        if self.srv.proc is not None:
            self.srv.kill9()
        if self.passed:
            self.srv.stop(check=False)   # removes the directory
        else:
            print("crash test: keeping %s for inspection; the server's log ends:\n%s"
                  % (self.srv.dir, self.srv.log_text()[-6000:]), file=sys.stderr)

    def next_id(self):
        with self.ids_lock:
            self.ids += 1
            return self.ids

    # ---- checks at a quiet moment: nothing runs but the fresh server ----

    def folder_dir(self, folder):
        md = self.srv.maildir(USER)
        return md if folder == "INBOX" else os.path.join(md, "." + folder)

    def scan_disk(self, folder):
        """mid -> [file names] of the messages on disk, each checked whole."""
        found = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.folder_dir(folder), sub)
            for name in os.listdir(d):
                try:
                    with open(os.path.join(d, name), "rb") as f:
                        data = f.read()
                except FileNotFoundError:
                    self.ledger.fail("%s/%s vanished while nothing ran" % (sub, name))
                    continue
                mid, problem = check_message(data)
                if problem:
                    self.ledger.fail("%s %s/%s is not whole (%s): %s"
                                     % (folder, sub, name, mid, problem))
                found.setdefault(mid, []).append(name)
        return found

    def check_presence(self, folder, disk):
        L = self.ledger
        for mid, names in disk.items():
            if len(names) > 1:
                L.fail("%s: %s is there %d times: %s" % (folder, mid, len(names), names))
            state = L.state[folder].get(mid)
            if state is None:
                L.fail("%s: %s on disk was never sent there: %s" % (folder, mid, names))
            elif state == GONE:
                L.fail("%s: %s is back after its deletion was acknowledged (or it was "
                       "never acknowledged and killed): %s" % (folder, mid, names))
        for mid, state in list(L.state[folder].items()):
            if state == PRESENT and mid not in disk:
                L.fail("%s: acknowledged %s is lost" % (folder, mid))
            elif state == PENDING:
                # what the crash decided; it must stay so from now on
                L.state[folder][mid] = PRESENT if mid in disk else GONE

    def check_flags(self, disk):
        L = self.ledger
        for mid, names in disk.items():
            info = names[0].split(":2,", 1)[1] if ":2," in names[0] else ""
            flagged = "F" in info
            allowed = L.flag_ok.get(mid, {False})
            if flagged not in allowed:
                L.fail("INBOX: %s has \\Flagged=%s, clients were told %s (%s); history:\n  %s"
                       % (mid, flagged, allowed, names[0], "\n  ".join(L.history.get(mid, []))))
            L.flag_acked[mid] = flagged
            L.flag_ok[mid] = {flagged}
            if mid in L.seen_required and "S" not in info:
                L.fail("INBOX: %s was RETRieved and QUIT said +OK, but has no \\Seen (%s)"
                       % (mid, names[0]))

    def check_imap(self, folder, disk, damaged):
        L = self.ledger
        c = RawImap(self.srv.port("imap"), timeout=30)
        try:
            c.login(USER, PASSWORD)
            u = c.ok("SELECT %s" % folder)
            text = b"\n".join(u)
            uv = int(re.search(rb"\[UIDVALIDITY (\d+)\]", text).group(1))
            exists = int(re.search(rb"\* (\d+) EXISTS", text).group(1))
            before = L.uidvalidity[folder]
            if before is not None and uv != before:
                if uv < before:
                    L.fail("%s: UIDVALIDITY went down %d -> %d" % (folder, before, uv))
                if not damaged:
                    L.fail("%s: UIDVALIDITY changed %d -> %d with the index intact"
                           % (folder, before, uv))
                L.count("new uidvalidity")
            elif before is not None and damaged:
                L.count("uidvalidity kept after damage")
            L.uidvalidity[folder] = uv
            u = c.ok("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            seen = {}
            for line in u:
                m = re.match(rb"\* \d+ FETCH \(.*UID (\d+)", line)
                if m:
                    mid = mid_of_header(line)
                    L.saw_uid(folder, uv, int(m.group(1)), mid, "imap check")
                    seen[mid] = int(m.group(1))
            if len(seen) != exists or set(seen) != set(disk):
                L.fail("%s: IMAP shows %d (EXISTS %d), disk has %d; only IMAP: %s, only disk: %s"
                       % (folder, len(seen), exists, len(disk), sorted(set(seen) - set(disk))[:5],
                          sorted(set(disk) - set(seen))[:5]))
            # a few bodies whole through the protocol too
            r = Round(self, random.Random(len(seen)))
            c.folder = folder
            for mid in random.Random(uv + len(seen)).sample(sorted(seen), min(5, len(seen))):
                r.verify_body(c, seen[mid], mid)
            c.ok("LOGOUT")
        finally:
            c.close()

    def check_pop3(self, disk):
        L = self.ledger
        c = Pop3Client(self.srv.port("pop3"), timeout=30)
        try:
            c.login(USER, PASSWORD)
            assert c.cmd("UIDL").startswith("+OK")
            listing = [line.split() for line in c.multiline()]
            # RFC 2449 §6.6 PIPELINING: all the TOPs at once
            c.send("".join("TOP %s 0\r\n" % num for num, _ in listing))
            mids = set()
            for num, uidl in listing:
                reply = c.line()
                if not reply.startswith("+OK"):
                    L.fail("POP3 TOP %s: %s" % (num, reply))
                    continue
                mid = mid_of_header("\n".join(c.multiline()).encode())
                L.saw_uidl(mid, uidl, "pop3 check")
                mids.add(mid)
            if mids != set(disk):
                L.fail("POP3 shows %d, disk has %d; only POP3: %s, only disk: %s"
                       % (len(mids), len(disk), sorted(mids - set(disk))[:5],
                          sorted(set(disk) - mids)[:5]))
            assert c.cmd("QUIT").startswith("+OK")
        finally:
            c.close()

    def check_index(self, folder):
        """After the checks' syncs the index is whole again: every line
        carries the CRC-32 of the rest (store/maildir/maildir_index.c)."""
        path = os.path.join(self.folder_dir(folder), "duomail-index")
        try:
            with open(path, "rb") as f:
                lines = f.read().split(b"\n")
        except FileNotFoundError:
            self.ledger.fail("%s: no index after a sync" % folder)
            return
        if not lines[0].startswith(b"duomail-index 3 ") or lines[-1] != b"":
            self.ledger.fail("%s: index not rebuilt: %r" % (folder, lines[0][:80]))
            return
        for line in lines[:-1]:
            text, _, crc = line.rpartition(b" ")
            if b"%08x" % zlib.crc32(text) != crc:
                self.ledger.fail("%s: index line %r does not check out" % (folder, line[:100]))

    def verify(self, damaged):
        disks = {f: self.scan_disk(f) for f in FOLDERS}
        for f in FOLDERS:
            self.check_presence(f, disks[f])
        self.check_flags(disks["INBOX"])
        for f in FOLDERS:
            self.check_imap(f, disks[f], damaged[f])
        self.check_pop3(disks["INBOX"])
        for f in FOLDERS:
            self.check_index(f)
        self.assertEqual(self.ledger.failures, [], "\n".join(self.ledger.failures[:20]))

    # ---- damage while the server is down ----

    def damage(self, rnd):
        """Does something to an index; returns the folders whose index
        entries may be lost."""
        damaged = {f: False for f in FOLDERS}
        folder = "INBOX" if rnd.random() < 0.8 else "Archive"
        path = os.path.join(self.folder_dir(folder), "duomail-index")
        r = rnd.random()
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return damaged
        if r < 0.10:
            os.unlink(path)
            what = "deleted"
        elif r < 0.18:
            with open(path, "r+b") as f:
                f.truncate(rnd.randrange(0, len(data) + 1))
            what = "truncated"
        elif r < 0.26:
            buf = bytearray(data)
            for _ in range(rnd.randrange(1, 4)):
                buf[rnd.randrange(len(buf))] = rnd.randrange(256)
            with open(path, "wb") as f:
                f.write(bytes(buf))
            what = "bytes changed"
        elif r < 0.29:
            with open(path, "wb") as f:
                f.write(os.urandom(rnd.randrange(1, 200)))
            what = "garbage"
        elif r < 0.34:
            # a writer killed before its rename leaves this; it must not matter
            with open(os.path.join(self.folder_dir(folder), "duomail-index.tmp"), "wb") as f:
                f.write(data[:len(data) // 2])
            self.ledger.count("stale index.tmp")
            return damaged
        else:
            return damaged
        damaged[folder] = True
        self.ledger.epoch[folder] += 1
        self.ledger.count("index " + what)
        return damaged

    def test_kill_loop(self):
        rnd = random.Random(SEED)
        print("\ncrash test: seed %d, %d rounds, at most %.0f s" % (SEED, ROUNDS, SECONDS),
              file=sys.stderr)
        start = time.time()
        self.srv.start()
        c = RawImap(self.srv.port("imap"))
        c.login(USER, PASSWORD)    # makes the account with its Archive folder
        c.ok("LOGOUT")
        c.close()
        damaged = {f: False for f in FOLDERS}
        rounds = 0
        kill_times = []
        while rounds < ROUNDS and (rounds < MIN_ROUNDS or time.time() - start < SECONDS):
            rounds += 1
            self.verify(damaged)
            if rounds % 50 == 0:
                print("crash test: %d rounds checked, %.0f s" % (rounds, time.time() - start),
                      file=sys.stderr)
            load = Round(self, rnd)
            for _ in range(2):
                load.spawn("deliver", load.deliverer)
            load.spawn("foreign", load.foreign)
            load.spawn("lmtp", load.lmtp)
            load.spawn("flags1", load.flagger)
            load.spawn("flags2", load.flagger)
            load.spawn("expunge", load.expunger)
            load.spawn("move", load.mover)
            load.spawn("append", load.appender)
            load.spawn("pop3", load.pop3)
            time.sleep(rnd.uniform(0.4, 2.0))
            if rnd.random() < 0.2:
                # one worker dies, the master starts another, work goes on
                workers = [p for p in os.listdir("/proc") if p.isdigit() and
                           self._ppid(int(p)) == self.srv.proc.pid]
                if workers:
                    os.kill(int(rnd.choice(workers)), signal.SIGKILL)
                    self.ledger.count("worker killed")
                time.sleep(rnd.uniform(0.2, 0.8))
            t0 = time.time()
            with self.ledger.lock:     # the clients are still running
                for events in self.ledger.history.values():
                    events.append("%.3f kill" % t0)
            log = self.srv.kill9()
            kill_times.append(time.time() - t0)
            load.join()
            bad = re.findall(r".*(?:AddressSanitizer|LeakSanitizer|runtime error).*", log)
            if bad:
                self.ledger.fail("round %d, server log:\n%s" % (rounds, log[-20000:]))
            damaged = self.damage(rnd)
            self.srv.start()
        self.verify(damaged)
        elapsed = time.time() - start
        counts = ", ".join("%s %d" % kv for kv in sorted(self.ledger.counts.items()))
        print("crash test: %d rounds in %.1f s; %s" % (rounds, elapsed, counts), file=sys.stderr)
        for f in FOLDERS:
            left = sum(1 for s in self.ledger.state[f].values() if s == PRESENT)
            print("crash test: %s holds %d messages at the end" % (f, left), file=sys.stderr)
        self.passed = True

    @staticmethod
    def _ppid(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None


if __name__ == "__main__":
    unittest.main()
