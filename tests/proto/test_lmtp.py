"""LMTP (RFC 2033) against the running server, with Python's smtplib.LMTP and
with a raw client where the test needs exact bytes on the wire: LHLO and its
extensions, one reply per accepted recipient after DATA (RFC 2033 §4.2),
unknown users, the trace header lines and otherwise byte-exact storage,
dot-stuffing, pipelining (RFC 2920), out-of-order commands, SIZE and
oversized messages (RFC 1870), bare LF, NUL, a client leaving mid-DATA,
1000 recipients, 8BITMIME (RFC 6152), temporary store failures, the unix
socket Postfix uses, and mail visible over POP3 and IMAP (IDLE) at once."""
import os
import re
import signal
import smtplib
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import duotest
from duoimap import RawImap
from test_pop3 import Pop3Client

# RFC 3463 status code at the start of a reply's text (RFC 2034 §3).
ENHANCED = re.compile(rb"^[245]\.\d{1,3}\.\d{1,3} ")
TRACE = re.compile(rb"^Return-Path: <(?P<rp>[^>]*)>(?P<eol>\r?\n)Delivered-To: (?P<dt>[^\r\n]*)\r?\n"
                   rb"Received: from (?P<helo>\S+) (?P<peer>\([^)]*\))\r?\n"
                   rb"\tby (?P<by>\S+) \(duomail\) with LMTP id (?P<id>\S+)\r?\n"
                   rb"\tfor <(?P<for>[^>]*)>; (?P<date>[^\r\n]+)\r?\n")
MAX_SIZE = 1024 * 1024


class RawLmtp:
    """A line-level LMTP client: sends exactly what the test says and reads
    replies as (code, [text lines])."""

    def __init__(self, port=None, path=None, timeout=30):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; buffered %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), line
        return line[:-1]

    def reply(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line[4:])
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=10):
        """True if the server closes the connection (bounded wait)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except OSError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def msg(subject, body="body\r\n", eol="\r\n"):
    return ("From: a@example.org%sTo: b@example.test%sSubject: %s%s%s%s"
            % (eol, eol, subject, eol, eol, body)).encode()


class LmtpTest(unittest.TestCase):
    USERS = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol"}
    LISTEN = ("lmtp", "pop3", "imap")
    CONFIG = {}

    @classmethod
    def setUpClass(cls):
        cls.spool = tempfile.mkdtemp(prefix="duomail-lmtp-spool-")
        config = {"lmtp": {"max_message_size": str(MAX_SIZE), "spool_dir": cls.spool}}
        for sec, kv in cls.CONFIG.items():
            config.setdefault(sec, {}).update(kv)
        cls.srv = duotest.Server(users=cls.USERS, listen=cls.LISTEN, config=config)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        os.rmdir(cls.spool)     # empty: the spool leaves no file behind

    def setUp(self):
        for u in self.USERS:
            self.srv.clear_mail(u)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.assertEqual(os.listdir(self.spool), [])

    def lmtp(self):
        c = smtplib.LMTP("127.0.0.1", self.srv.port("lmtp"), timeout=60)
        self.clients.append(c)
        code, _ = c.ehlo("client.example")
        self.assertEqual(code, 250)
        return c

    def raw(self, **kw):
        c = RawLmtp(self.srv.port("lmtp"), **kw)
        self.clients.append(c)
        return c

    def transaction(self, c, sender, rcpts, data, options=()):
        """MAIL, RCPTs, DATA through smtplib.LMTP, reading the one reply per
        accepted recipient that smtplib's sendmail() would not (RFC 2033
        §4.2).  Returns ({rcpt: reply}, [data replies])."""
        code, text = c.mail(sender, list(options))
        self.assertEqual(code, 250, text)
        rcpt_replies, accepted = {}, []
        for r in rcpts:
            rcpt_replies[r] = c.rcpt(r)
            if rcpt_replies[r][0] == 250:
                accepted.append(r)
        if not accepted:
            return rcpt_replies, []
        first = c.data(data)
        return rcpt_replies, [first] + [c.getreply() for _ in accepted[1:]]

    def files(self, user):
        out = []
        for path in self.srv.message_files(user):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def only(self, user):
        files = self.files(user)
        self.assertEqual(len(files), 1, files)
        return files[0]

    def nothing_on_disk(self, user):
        md = self.srv.maildir(user)
        for sub in ("tmp", "new", "cur"):
            d = os.path.join(md, sub)
            self.assertEqual(os.listdir(d) if os.path.isdir(d) else [], [], sub)

    def split_trace(self, data):
        m = TRACE.match(data)
        self.assertIsNotNone(m, data[:400])
        return m, data[m.end():]


class TestDelivery(LmtpTest):
    def test_one_recipient(self):
        """The stored message is the trace lines (RFC 5321 §4.4) and then
        the bytes sent, exactly; 250 comes once it is durable."""
        c = self.lmtp()
        body = msg("one", "line 1\r\nline 2\r\n")
        rr, dr = self.transaction(c, "sender@example.org", ["alice@example.test"], body)
        self.assertEqual(rr["alice@example.test"][0], 250)
        self.assertEqual(dr[0][0], 250)
        self.assertTrue(dr[0][1].startswith(b"2.0.0 <alice@example.test>"), dr)
        m, rest = self.split_trace(self.only("alice"))
        self.assertEqual(rest, body)
        self.assertEqual(m.group("rp"), b"sender@example.org")
        self.assertEqual(m.group("eol"), b"\r\n")
        self.assertEqual(m.group("dt"), b"alice@example.test")
        self.assertEqual(m.group("helo"), b"client.example")
        self.assertEqual(m.group("peer"), b"([127.0.0.1])")
        self.assertEqual(m.group("by"), b"test.example")    # [server] hostname
        self.assertEqual(m.group("for"), b"alice@example.test")
        self.assertRegex(m.group("date"), rb"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$")
        # The id in the reply is the one in Received.
        self.assertIn(b"(" + m.group("id") + b")", dr[0][1])
        # Nothing half-written anywhere.
        self.assertEqual(os.listdir(os.path.join(self.srv.maildir("alice"), "tmp")), [])

    def test_several_recipients_one_reply_each(self):
        """RFC 2033 §4.2: after the final dot, one reply per successful RCPT,
        in RCPT order; an unknown user got 550 5.1.1 at RCPT and gets none."""
        c = self.lmtp()
        body = msg("many")
        rcpts = ["alice@example.test", "nobody@example.test", "bob@other.example", "carol"]
        rr, dr = self.transaction(c, "", rcpts, body)
        self.assertEqual(rr["nobody@example.test"][0], 550)
        self.assertTrue(rr["nobody@example.test"][1].startswith(b"5.1.1 "))
        for r in ("alice@example.test", "bob@other.example", "carol"):
            self.assertEqual(rr[r], (250, b"2.1.5 <%s> OK" % r.encode()))
        self.assertEqual([code for code, _ in dr], [250, 250, 250])
        for (code, text), r in zip(dr, ("alice@example.test", "bob@other.example", "carol")):
            self.assertTrue(text.startswith(b"2.0.0 <%s>" % r.encode()), text)
        # One copy each, each naming its own recipient; <> for the null sender.
        for user, addr in (("alice", b"alice@example.test"), ("bob", b"bob@other.example"),
                           ("carol", b"carol")):
            m, rest = self.split_trace(self.only(user))
            self.assertEqual(m.group("rp"), b"")
            self.assertEqual(m.group("dt"), addr)
            self.assertEqual(m.group("for"), addr)
            self.assertEqual(rest, body)
        # The session goes on: a second transaction on the same connection.
        rr, dr = self.transaction(c, "x@y", ["alice"], msg("again"))
        self.assertEqual(dr[0][0], 250)
        self.assertEqual(len(self.files("alice")), 2)
        self.assertEqual(c.quit()[0], 221)

    def test_recipient_mapping(self):
        """The domain plays no part; case and a +detail are forgiven; a quoted
        local part is unquoted; Delivered-To keeps the address as given."""
        c = self.lmtp()
        rcpts = ["Alice@Example.TEST", "alice+lists@example.test", '"alice"@example.test',
                 "<@relay.example:alice@example.test>", "ALICE+X"]
        rr, dr = self.transaction(c, "s@x", rcpts, msg("map"))
        self.assertEqual([rr[r][0] for r in rcpts], [250] * 5, rr)
        self.assertEqual([code for code, _ in dr], [250] * 5)
        got = sorted(self.split_trace(f)[0].group("dt") for f in self.files("alice"))
        self.assertEqual(got, sorted([b"Alice@Example.TEST", b"alice+lists@example.test",
                                      b'"alice"@example.test', b"alice@example.test",
                                      b"ALICE+X"]))
        # Unknown stays unknown, with or without a detail.
        rr, _ = self.transaction(c, "s@x", ["zed+alice@x", "ali@x", "alice-x@x"], msg("no"))
        self.assertEqual([rr[r][0] for r in rr], [550, 550, 550])

    def test_dot_stuffing(self):
        """RFC 5321 §4.5.2: smtplib stuffs leading dots, the server removes
        them, and lines that are "." or ".." inside the text survive."""
        c = self.lmtp()
        body = msg("dots", ".\r\n..\r\n.leading\r\nmid.dle\r\n...\r\n.")
        _, dr = self.transaction(c, "s@x", ["alice"], body)
        self.assertEqual(dr[0][0], 250)
        _, rest = self.split_trace(self.only("alice"))
        # smtplib ends a message without a final CRLF with one.
        self.assertEqual(rest, body + b"\r\n")

    def test_8bitmime(self):
        """RFC 6152: BODY=8BITMIME is announced and the 8-bit body is kept as
        sent; BODY=7BIT is fine too; other BODY values and unknown
        parameters are refused (RFC 5321 §4.1.1.11)."""
        c = self.lmtp()
        self.assertTrue(c.has_extn("8bitmime"))
        body = ("Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; "
                "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                "Grüße, ça va? Ωμέγα ✓\r\n").encode()
        _, dr = self.transaction(c, "s@x", ["alice"], body, options=["BODY=8BITMIME"])
        self.assertEqual(dr[0][0], 250)
        self.assertEqual(self.split_trace(self.only("alice"))[1], body)
        _, dr = self.transaction(c, "s@x", ["bob"], msg("seven"), options=["BODY=7BIT"])
        self.assertEqual(dr[0][0], 250)
        code, text = c.docmd("MAIL FROM:<s@x> BODY=BINARYMIME")
        self.assertEqual((code, text[:5]), (501, b"5.5.4"))
        code, text = c.docmd("MAIL FROM:<s@x> RET=FULL")
        self.assertEqual((code, text[:5]), (555, b"5.5.4"))
        code, text = c.docmd("MAIL FROM:<s@x>")
        self.assertEqual(code, 250)
        code, text = c.docmd("RCPT TO:<alice> NOTIFY=NEVER")
        self.assertEqual((code, text[:5]), (555, b"5.5.4"))

    def test_visible_over_pop3_and_imap(self):
        """One store: an IMAP client in IDLE hears of the delivery at once
        (RFC 2177), and POP3 and IMAP serve the stored bytes."""
        imap = RawImap(self.srv.port("imap"))
        self.clients.append(imap)
        imap.login("alice", "pw-alice")
        imap.ok("SELECT INBOX")
        imap.send("i1 IDLE\r\n")
        self.assertTrue(imap.line().startswith(b"+ "))
        c = self.lmtp()
        body = msg("pushed")
        _, dr = self.transaction(c, "s@x", ["alice"], body)
        self.assertEqual(dr[0][0], 250)
        imap.sock.settimeout(3)
        seen = []
        while b"* 1 EXISTS" not in seen:
            seen.append(imap.line())
        imap.sock.settimeout(10)
        imap.send("DONE\r\n")
        _, tagged = imap.until("i1")
        self.assertTrue(tagged.startswith(b"i1 OK"), tagged)
        stored = self.only("alice")
        untagged, _ = imap.cmd("FETCH 1 BODY.PEEK[]")
        self.assertTrue(untagged[0].endswith(stored + b")"), untagged[0][-200:])
        p = Pop3Client(self.srv.port("pop3"))
        p.login("alice", "pw-alice")
        self.assertEqual(p.cmd("STAT").split()[:2], ["+OK", "1"])
        self.assertTrue(p.cmd("RETR 1").startswith("+OK"))
        self.assertEqual("\r\n".join(p.multiline()).encode() + b"\r\n", stored)
        p.cmd("QUIT")
        p.close()


class TestProtocol(LmtpTest):
    def test_greeting_lhlo_and_codes(self):
        """RFC 2033 §4.1: LHLO lists the extensions; HELO and EHLO get 500.
        RFC 2034 §3: every 2xx/4xx/5xx reply but the greeting and LHLO's
        carries an enhanced status code."""
        c = self.raw()
        self.assertEqual(c.greeting[0], 220)
        self.assertIn(b"LMTP", c.greeting[1][0])
        for verb in ("HELO client.example", "EHLO client.example"):
            code, text = c.cmd(verb)
            self.assertEqual(code, 500)
            self.assertTrue(text[0].startswith(b"5.5.1 "), text)
        code, lines = c.cmd("LHLO client.example")
        self.assertEqual(code, 250)
        self.assertEqual(lines, [b"test.example", b"PIPELINING", b"ENHANCEDSTATUSCODES",
                                 b"8BITMIME", b"SIZE %d" % MAX_SIZE])
        replies = [c.cmd(x) for x in ("NOOP", "NOOP ignored argument", "VRFY alice", "HELP",
                                      "EXPN list", "FROB", "", "RSET", "RSET x",
                                      "MAIL FROM:<s@x>", "RCPT TO:<alice>", "RCPT TO:<ghost>",
                                      "RCPT TO:bad", "DATA now", "QUIT")]
        for code, text in replies:
            self.assertRegex(text[0], ENHANCED, (code, text))
        self.assertEqual([code for code, _ in replies],
                         [250, 250, 252, 214, 502, 500, 500, 250, 501, 250, 250, 550, 501, 501,
                          221])
        self.assertTrue(c.closed())

    def test_out_of_order(self):
        """RFC 5321 §4.1.4 / §3.3: a transaction needs LHLO, then MAIL, then
        RCPT, then DATA; RFC 2033 §4.2: DATA without a successful RCPT is
        503.  Errors leave the session usable."""
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<s@x>")[0], 503)
        c.cmd("LHLO client.example")
        for cmd in ("RCPT TO:<alice>", "DATA"):
            code, text = c.cmd(cmd)
            self.assertEqual((code, text[0][:5]), (503, b"5.5.1"), cmd)
        self.assertEqual(c.cmd("MAIL FROM:<s@x>")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<s@x>")[0], 503)     # nested
        self.assertEqual(c.cmd("RCPT TO:<nobody>")[0], 550)
        code, text = c.cmd("DATA")          # no valid recipients
        self.assertEqual((code, text[0][:5]), (503, b"5.5.1"))
        self.assertEqual(c.cmd("RCPT TO:<alice>")[0], 250)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice>")[0], 503)     # RSET ended it
        # A second LHLO also resets the transaction.
        c.cmd("MAIL FROM:<s@x>")
        self.assertEqual(c.cmd("LHLO again.example")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice>")[0], 503)
        # Bad syntax is 501 with the address status (RFC 3463 X.1.7, X.1.3).
        self.assertEqual(c.cmd("MAIL FROM:no-brackets")[1][0][:5], b"5.1.7")
        self.assertEqual(c.cmd("MAIL FROM:<s@x>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<a b@x>")[1][0][:5], b"5.1.3")
        self.assertEqual(c.cmd("RCPT TO:<j\xf6rg@x>")[1][0][:5], b"5.6.7")
        self.assertEqual(c.cmd("LHLO")[0], 501)
        # A command line too long (RFC 5321 §4.3.2: 500), then on as before.
        code, text = c.cmd("NOOP " + "x" * 5000)
        self.assertEqual((code, text[0][:5]), (500, b"5.5.2"))
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.nothing_on_disk("alice")

    def test_pipelining(self):
        """RFC 2920: a whole group in one write, answered in order; two whole
        transactions and QUIT in a single write work too, since the server
        takes the text right after its 354."""
        c = self.raw()
        c.send("LHLO client.example\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\n"
               "RCPT TO:<nobody>\r\nRCPT TO:<bob>\r\nDATA\r\n")
        self.assertEqual(c.reply()[0], 250)
        codes = [c.reply()[0] for _ in range(5)]
        self.assertEqual(codes, [250, 250, 550, 250, 354])
        c.send(b"Subject: p1\r\n\r\nfirst\r\n.\r\nMAIL FROM:<t@x>\r\nRCPT TO:<carol>\r\n"
               b"DATA\r\nSubject: p2\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(7)]
        self.assertEqual(codes, [250, 250, 250, 250, 354, 250, 221])
        self.assertTrue(c.closed())
        self.assertEqual(self.split_trace(self.only("alice"))[1], b"Subject: p1\r\n\r\nfirst\r\n")
        self.assertEqual(self.split_trace(self.only("bob"))[1], b"Subject: p1\r\n\r\nfirst\r\n")
        self.assertEqual(self.split_trace(self.only("carol"))[1],
                         b"Subject: p2\r\n\r\nsecond\r\n")

    def test_bare_lf_and_nul(self):
        """LF without CR ends lines and the data (".\\n"), as it ends command
        lines; the message keeps its LFs and the added lines use LF too.
        NUL bytes are data and kept (IMAP FETCH sends them as 0x80)."""
        c = self.raw()
        c.send("LHLO client.example\nMAIL FROM:<s@x>\nRCPT TO:<alice>\nDATA\n")
        self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 250, 354])
        body = b"Subject: lf\n\nline\n..stuffed\nnul\x00here\r\n\rlone CR\n"
        c.send(body.replace(b"\n..", b"\n...") + b".\nNOOP\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 250)     # NOOP: the end was where it should be
        m, rest = self.split_trace(self.only("alice"))
        self.assertEqual(m.group("eol"), b"\n")
        self.assertEqual(rest, body)

    def test_oversized(self):
        """RFC 1870: SIZE= over the limit is 552 5.3.4 at MAIL; a message that
        turns out too big is read to its end and refused per recipient
        with 552 5.3.4, nothing stored, and the session goes on."""
        c = self.lmtp()
        self.assertEqual(int(c.esmtp_features["size"]), MAX_SIZE)
        code, text = c.docmd("MAIL FROM:<s@x> SIZE=%d" % (MAX_SIZE + 1))
        self.assertEqual((code, text[:5]), (552, b"5.3.4"))
        self.assertEqual(c.docmd("MAIL FROM:<s@x> SIZE=%d" % MAX_SIZE)[0], 250)
        c.rset()
        big = msg("big", "x" * 998 + "\r\n") * (MAX_SIZE // 1000 + 50)
        rr, dr = self.transaction(c, "s@x", ["alice", "bob"], big)
        self.assertEqual([code for code, _ in dr], [552, 552])
        self.assertTrue(all(t.startswith(b"5.3.4 ") for _, t in dr), dr)
        self.nothing_on_disk("alice")
        self.nothing_on_disk("bob")
        # The limit counts the message as stored (unstuffed): exactly at it is fine.
        head = b"Subject: fits\r\n\r\n"
        exact = head + b"." * (MAX_SIZE - len(head) - 2) + b"\r\n"
        self.assertEqual(len(exact), MAX_SIZE)
        _, dr = self.transaction(c, "s@x", ["alice"], exact)
        self.assertEqual(dr[0][0], 250)
        self.assertEqual(self.split_trace(self.only("alice"))[1], exact)

    def test_large_message_through_the_spool(self):
        """Past 256 KiB the message waits in an unnamed spool file; every
        recipient gets every byte."""
        c = self.lmtp()
        body = b"Subject: large\r\n\r\n" + b"".join(b"%07d %s\r\n" % (i, b"y" * 70)
                                                   for i in range(9000))
        _, dr = self.transaction(c, "s@x", ["alice", "bob"], body)
        self.assertEqual([code for code, _ in dr], [250, 250])
        self.assertEqual(self.split_trace(self.only("alice"))[1], body)
        self.assertEqual(self.split_trace(self.only("bob"))[1], body)

    def test_disconnect_mid_data(self):
        """A client that leaves before the final dot has nothing delivered
        and leaves no file: not in the Maildir, not in the spool."""
        dropped = "in DATA: the message is dropped"
        before = self.srv.log_text().count(dropped)
        for n, size in enumerate((100, 600 * 1024)):    # in memory, past the spool chunk
            c = self.raw()
            c.send("LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
            self.assertEqual([c.reply()[0] for _ in range(5)], [250, 250, 250, 250, 354])
            c.send(b"Subject: cut\r\n\r\n" + b"z" * size)
            time.sleep(0.3)
            c.close()
            self.clients.remove(c)
            deadline = time.time() + 10
            while self.srv.log_text().count(dropped) < before + n + 1:
                self.assertLess(time.time(), deadline, self.srv.log_text()[-2000:])
                time.sleep(0.05)
            self.nothing_on_disk("alice")
            self.nothing_on_disk("bob")
            self.assertEqual(os.listdir(self.spool), [])
        # The server is fine.
        _, dr = self.transaction(self.lmtp(), "s@x", ["alice"], msg("after"))
        self.assertEqual(dr[0][0], 250)

    def test_thousand_recipients(self):
        """RFC 5321 §4.5.3.1.10: 1000 recipients are taken ([lmtp]
        max_recipients), the next gets 452 4.5.3; all 1000 get their copy
        and their own reply."""
        c = self.lmtp()
        rcpts = ["alice+%d@example.test" % i for i in range(1001)]
        rr, dr = self.transaction(c, "s@x", rcpts, msg("crowd"))
        self.assertEqual(sum(1 for r in rcpts if rr[r][0] == 250), 1000)
        self.assertEqual(rr[rcpts[-1]][0], 452)
        self.assertTrue(rr[rcpts[-1]][1].startswith(b"4.5.3 "))
        self.assertEqual(len(dr), 1000)
        self.assertTrue(all(code == 250 for code, _ in dr))
        files = self.files("alice")
        self.assertEqual(len(files), 1000)
        self.assertEqual(sorted(self.split_trace(f)[0].group("dt") for f in files),
                         sorted(r.encode() for r in rcpts[:1000]))

    def test_store_unwritable_is_temporary(self):
        """A store that cannot take the message is a temporary failure (451
        4.3.0) for that recipient only: the others get their 250."""
        self.lmtp()     # the store for alice is made by a first delivery:
        _, dr = self.transaction(self.clients[-1], "s@x", ["alice"], msg("first"))
        self.assertEqual(dr[0][0], 250)
        tmp = os.path.join(self.srv.maildir("alice"), "tmp")
        os.rmdir(tmp)
        with open(tmp, "w") as f:       # a file where tmp/ should be (root ignores modes)
            f.write("in the way\n")
        try:
            _, dr = self.transaction(self.clients[-1], "s@x", ["bob", "alice", "carol"],
                                     msg("second"))
            self.assertEqual([code for code, _ in dr], [250, 451, 250])
            self.assertTrue(dr[1][1].startswith(b"4.3.0 <alice>"), dr[1])
        finally:
            os.unlink(tmp)
            os.mkdir(tmp)
        self.assertEqual(len(self.files("alice")), 1)
        self.assertIn("deliver to alice failed", self.srv.log_text())


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
class TestDiskFull(unittest.TestCase):
    """A full disk is 452 4.3.1 (RFC 3463 X.3.1), in the store and in the
    spool alike, and nothing partial stays."""

    def mount(self, size):
        d = tempfile.mkdtemp(prefix="duomail-full-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", d],
                           capture_output=True)
        if r.returncode != 0:
            os.rmdir(d)
            self.skipTest("cannot mount tmpfs: %s" % r.stderr.decode().strip())
        self.addCleanup(os.rmdir, d)
        self.addCleanup(subprocess.run, ["umount", d])
        return d

    def test_disk_full(self):
        store = self.mount("200k")
        spool = self.mount("300k")
        srv = duotest.Server(users={"alice": "pw", "bob": "pw"}, listen=("lmtp",),
                             config={"lmtp": {"spool_dir": spool}})
        srv.root = store
        with open(srv.config_path) as f:
            text = f.read()
        with open(srv.config_path, "w") as f:
            f.write(re.sub(r"^root = .*$", "root = " + store, text, flags=re.M))
        srv.start()
        try:
            c = smtplib.LMTP("127.0.0.1", srv.port("lmtp"), timeout=60)
            c.ehlo("client.example")
            # Spooled fine (300k), but the store has room for none of it.
            body = b"Subject: big\r\n\r\n" + b"w" * 250 * 1024 + b"\r\n"
            _, dr = LmtpTest.transaction(self, c, "s@x", ["alice", "bob"], body)
            self.assertEqual([code for code, _ in dr], [452, 452], dr)
            self.assertTrue(all(t.startswith(b"4.3.1 ") for _, t in dr), dr)
            for u in ("alice", "bob"):
                for sub in ("tmp", "new", "cur"):
                    self.assertEqual(os.listdir(os.path.join(store, u, sub)), [])
            # Too big for the spool itself: the same answer for everyone.
            body = b"Subject: bigger\r\n\r\n" + b"w" * 600 * 1024 + b"\r\n"
            _, dr = LmtpTest.transaction(self, c, "s@x", ["alice", "bob"], body)
            self.assertEqual([code for code, _ in dr], [452, 452], dr)
            self.assertEqual(os.listdir(spool), [])
            # Small mail still goes through.
            _, dr = LmtpTest.transaction(self, c, "s@x", ["alice"], msg("small"))
            self.assertEqual(dr[0][0], 250)
            c.quit()
        finally:
            srv.stop()


class TestQuota(unittest.TestCase):
    """Over quota (README "Account policy"): 552 5.2.2 by default, a bounce
    the MTA reports at once (RFC 3463 X.2.2 mailbox full), or 452 4.2.2 with
    [lmtp] quota_full_tempfail = yes, so the MTA keeps the mail and retries;
    only the recipient over quota is refused."""

    def run_with(self, tempfail):
        config = {"lmtp": {"quota_full_tempfail": "yes" if tempfail else "no"}}
        srv = duotest.Server(users={"bob": "pw"}, listen=("lmtp",), config=config)
        srv.add_user("alice", "pw", extra="quota_storage=4K")
        srv.start()
        try:
            c = smtplib.LMTP("127.0.0.1", srv.port("lmtp"), timeout=60)
            c.ehlo("client.example")
            _, dr = LmtpTest.transaction(self, c, "s@x", ["alice", "bob"], msg("fits"))
            self.assertEqual([code for code, _ in dr], [250, 250], dr)
            body = b"Subject: too big for alice\r\n\r\n" + b"q" * 8000 + b"\r\n"
            _, dr = LmtpTest.transaction(self, c, "s@x", ["alice", "bob"], body)
            want = (452, b"4.2.2 ") if tempfail else (552, b"5.2.2 ")
            self.assertEqual(dr[0][0], want[0], dr)
            self.assertTrue(dr[0][1].startswith(want[1]), dr)
            self.assertEqual(dr[1][0], 250, dr)
            c.quit()
            self.assertEqual(len(srv.message_files("alice")), 1)
            self.assertEqual(len(srv.message_files("bob")), 2)
        finally:
            srv.stop()

    def test_over_quota_bounces(self):
        self.run_with(tempfail=False)

    def test_over_quota_tempfail(self):
        self.run_with(tempfail=True)


class TestUnixSocket(unittest.TestCase):
    """[listen] lmtp = unix:/path, as Postfix's virtual_transport =
    lmtp:unix:/path uses it: made with [lmtp] socket_mode, a stale one is
    replaced at start, a live one or a non-socket is not touched, and it is
    removed at stop."""

    def server(self, path, extra=None):
        config = {"listen": {"lmtp": "unix:" + path}, "lmtp": {"socket_mode": "0600"}}
        for sec, kv in (extra or {}).items():
            config.setdefault(sec, {}).update(kv)
        return duotest.Server(users={"alice": "pw"}, listen=("pop3",), config=config)

    def wait_socket(self, srv, path):
        deadline = time.time() + 15
        while True:
            self.assertIsNone(srv.proc.poll(), srv.log_text())
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                s.close()
                return
            except OSError:
                self.assertLess(time.time(), deadline, srv.log_text())
                time.sleep(0.05)

    def test_unix_socket(self):
        d = tempfile.mkdtemp(prefix="duomail-sock-")
        path = os.path.join(d, "lmtp.sock")
        # A stale socket (its server gone) is in the way: it is replaced.
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()
        srv = self.server(path)
        srv.start()
        try:
            self.wait_socket(srv, path)
            st = os.stat(path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            self.assertIn("removed the stale socket", srv.log_text())
            # smtplib.LMTP takes a path for a unix socket.
            c = smtplib.LMTP(path, timeout=30)
            code, _ = c.ehlo("postfix.example")
            self.assertEqual(code, 250)
            _, dr = LmtpTest.transaction(self, c, "s@x", ["alice@example.test"], msg("unix"))
            self.assertEqual(dr[0][0], 250)
            c.quit()
            with open(srv.message_files("alice")[0], "rb") as f:
                m = TRACE.match(f.read())
            self.assertEqual(m.group("peer"), b"(unix socket)")
            # A second server on the same path refuses to take it over.
            other = self.server(path)
            r = duotest.run_duomail(["serve", "--config", other.config_path], timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("in use", r.stderr)
            other.stop()
            self.wait_socket(srv, path)     # still ours, still there
        finally:
            srv.stop()
        self.assertFalse(os.path.exists(path), "the socket is removed at stop")
        # A file that is not a socket is never removed.
        with open(path, "w") as f:
            f.write("not a socket\n")
        other = self.server(path)
        r = duotest.run_duomail(["serve", "--config", other.config_path], timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("is not a socket", r.stderr)
        self.assertIn("[listen] lmtp", r.stderr)
        other.stop()
        os.unlink(path)
        os.rmdir(d)


class TestShutdown(unittest.TestCase):
    def test_sigterm(self):
        """SIGTERM: a session between commands gets 421 4.3.2 (RFC 5321
        §3.8); one in DATA is finished first, its message delivered."""
        srv = duotest.Server(users={"alice": "pw"}, listen=("lmtp",))
        srv.start()
        try:
            idle = RawLmtp(srv.port("lmtp"))
            idle.cmd("LHLO c")
            busy = RawLmtp(srv.port("lmtp"))
            busy.send("LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nDATA\r\n")
            self.assertEqual([busy.reply()[0] for _ in range(4)], [250, 250, 250, 354])
            busy.send("Subject: last\r\n\r\nhalf")
            time.sleep(0.2)
            srv.proc.send_signal(signal.SIGTERM)
            code, text = idle.reply()
            self.assertEqual((code, text[0][:5]), (421, b"4.3.2"))
            self.assertTrue(idle.closed())
            busy.send(" and the rest\r\n.\r\n")
            self.assertEqual(busy.reply()[0], 250)
            code, text = busy.reply()
            self.assertEqual((code, text[0][:5]), (421, b"4.3.2"))
            self.assertEqual(srv.count_mail("alice"), 1)
            idle.close()
            busy.close()
            # It stops by itself (a second SIGTERM from stop() would kill).
            self.assertEqual(srv.proc.wait(timeout=30), 0)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
