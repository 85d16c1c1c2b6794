"""The live admin subcommands (issue 7, part 1) against a real `duomail serve`
with two workers, while real clients (Python's poplib and imaplib, curl) act
on the account: who, trace, stats, compare, dns, the OpenMetrics page and the
autoconfig XML of the HTTP listener, the admin socket itself, bad input.
README "Administration" describes what is checked here."""
import http.client
import imaplib
import json
import os
import poplib
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

import duotest

USER, PASSWORD = "alice", "pw-Sekr3t-alice"
BODY_MARK = "body-marker-7f3a9"          # must never show in trace output
APPEND_MARK = "append-marker-51c0d"


def msg(subject, body=BODY_MARK):
    return ("From: a@example.test\r\nTo: alice@example.test\r\nSubject: %s\r\n\r\n%s\r\n"
            % (subject, body)).encode()


def run(srv, *args, timeout=30):
    return duotest.run_duomail([args[0], "--config", srv.config_path] + list(args[1:]),
                               timeout=timeout)


def run_json(test, srv, *args):
    r = run(srv, *args, "--json")
    test.assertEqual(r.returncode, 0, r.stderr)
    return json.loads(r.stdout)


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class LiveBase(unittest.TestCase):
    """One server for the class: POP3, POP3S, IMAP, IMAPS, HTTP, an admin
    socket in its own directory."""

    @classmethod
    def setUpClass(cls):
        cls.sockdir = duotest.tempfile.mkdtemp(prefix="duomail-admin-")
        cls.sock = os.path.join(cls.sockdir, "admin.sock")
        cls.srv = duotest.Server(users={USER: PASSWORD, "bob": "pw-bob"},
                                 listen=("pop3", "pop3s", "imap", "imaps", "http"),
                                 config={"server": {"admin_socket": cls.sock}})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.sockdir, ignore_errors=True)

    def setUp(self):
        self.srv.clear_mail(USER)

    def pop3(self, tls=False):
        if tls:
            ctx = self.srv.client_tls_context()
            ctx.check_hostname = False
            p = poplib.POP3_SSL("127.0.0.1", self.srv.port("pop3s"), context=ctx, timeout=20)
        else:
            p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=20)
        p.user(USER)
        p.pass_(PASSWORD)
        return p

    def imap(self, tls=False, client_id=None):
        if tls:
            ctx = self.srv.client_tls_context()
            ctx.check_hostname = False
            i = imaplib.IMAP4_SSL("127.0.0.1", self.srv.port("imaps"), ssl_context=ctx,
                                  timeout=20)
        else:
            i = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=20)
        if client_id:
            # RFC 2971 ID, before login as clients usually send it
            typ, _ = i.xatom("ID", '("name" "%s" "version" "9.1")' % client_id)
            self.assertEqual(typ, "OK")
        i.login(USER, PASSWORD)
        return i


class TestWho(LiveBase):
    def test_sessions_with_tls_client_id_and_mailbox(self):
        self.assertEqual(self.srv.deliver(USER, msg("one")), 0)
        p = self.pop3(tls=True)
        i = self.imap(client_id="Thunderbird")
        i.select("INBOX")
        i2 = self.imap(tls=True)
        try:
            def sessions():
                s = run_json(self, self.srv, "who", USER)["sessions"]
                return s if len([x for x in s if x["user"] == USER]) == 3 else None
            s = wait_for(sessions)
            self.assertIsNotNone(s, run(self.srv, "who").stdout)
            pop = [x for x in s if x["protocol"] == "pop3"]
            imap = sorted([x for x in s if x["protocol"] == "imap"], key=lambda x: x["tls"])
            self.assertEqual(len(pop), 1)
            self.assertTrue(pop[0]["tls"])                       # POP3S
            self.assertEqual(pop[0]["last_command"], "PASS")     # the name, never the argument
            self.assertEqual(len(imap), 2)
            self.assertFalse(imap[0]["tls"])
            self.assertEqual(imap[0]["client_id"], "Thunderbird 9.1")
            self.assertEqual(imap[0]["mailbox"], "INBOX")
            self.assertEqual(imap[0]["last_command"], "SELECT")
            self.assertTrue(imap[1]["tls"])                      # IMAPS
            self.assertEqual(imap[1]["mailbox"], "")
            for x in s:
                self.assertTrue(x["client"].startswith("127.0.0.1:"), x)
                self.assertLessEqual(abs(x["since"] - time.time()), 60)
            # The text table: one line per session, TLS yes/no, the ID.
            text = run(self.srv, "who").stdout
            self.assertRegex(text, r"(?m)^w\d+\.\d+ +alice +pop3 +127\.0\.0\.1:\d+ +yes ")
            self.assertRegex(text, r"(?m)^w\d+\.\d+ +alice +imap +127\.0\.0\.1:\d+ +no +"
                                   r"Thunderbird 9\.1 +INBOX ")
            self.assertNotIn(PASSWORD, text)
            # who USER filters; another user has no sessions.
            self.assertEqual(run_json(self, self.srv, "who", "bob")["sessions"], [])
        finally:
            p.quit()
            i.logout()
            i2.logout()
        # Closed sessions leave the list.
        self.assertTrue(wait_for(lambda: run_json(self, self.srv, "who", USER)["sessions"] == []))

    def test_starttls_counts_as_tls(self):
        """A session that did STARTTLS (RFC 2595) shows TLS yes from then on."""
        i = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=20)
        try:
            def tls_of_mine():
                s = run_json(self, self.srv, "who")["sessions"]
                return [x["tls"] for x in s if x["protocol"] == "imap"]
            self.assertEqual(wait_for(tls_of_mine), [False])
            ctx = self.srv.client_tls_context()
            ctx.check_hostname = False
            i.starttls(ssl_context=ctx)
            i.login(USER, PASSWORD)
            self.assertEqual(tls_of_mine(), [True])
        finally:
            i.logout()

    def test_unknown_user(self):
        r = run(self.srv, "who", "nosuchuser")
        self.assertEqual(r.returncode, 67)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("no such user 'nosuchuser'", r.stderr)

    def test_socket_mode_and_owner(self):
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())

    def test_raw_protocol_bounds(self):
        """The socket answers its own versioned protocol only: a wrong
        version, an unknown command, an overlong request each get one
        error line and the connection is closed."""
        def ask(data):
            out = b""
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(self.sock)
                try:
                    s.sendall(data)
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        out += chunk
                except ConnectionResetError:
                    # Closed with our unread excess still queued: the
                    # kernel resets instead of a clean end.
                    out += b"<reset>"
            return out
        self.assertTrue(ask(b"duomail-admin 2 who\n").startswith(b"error "))
        self.assertTrue(ask(b"duomail-admin 1 reboot\n").startswith(b"error "))
        long = ask(b"duomail-admin 1 who " + b"x" * 2000 + b"\n")
        self.assertTrue(long.startswith(b"error ") or long == b"<reset>", long)
        self.assertEqual(ask(b"duomail-admin 1 who\n").splitlines()[0], b"ok")

class TestDeadWorker(LiveBase):
    """Its own server: a worker killed on purpose is in the log."""

    @classmethod
    def tearDownClass(cls):
        code = cls.srv.stop(check=False)
        shutil.rmtree(cls.sockdir, ignore_errors=True)
        assert code == 0, code

    def test_client_flood_capped(self):
        """More than 256 clients at once: the extra ones are closed at once,
        the others keep their 5 s to send a request, and the socket works
        again as soon as they are gone."""
        socks = []
        try:
            for _ in range(262):
                c = socket.socket(socket.AF_UNIX)
                c.connect(self.sock)    # blocking: waits while the backlog is full
                c.settimeout(3)
                socks.append(c)
            def closed(c):
                try:
                    return c.recv(1) == b""
                except socket.timeout:
                    return False
                except ConnectionResetError:
                    return True
            self.assertTrue(closed(socks[-1]))
            self.assertTrue(closed(socks[-2]))
        finally:
            for c in socks:
                c.close()
        self.assertTrue(wait_for(lambda: run(self.srv, "who").returncode == 0))

    def test_dead_worker_does_not_hang_who(self):
        """A worker killed with -9 takes its sessions; who answers at once
        from the others and no longer lists them."""
        p = self.pop3()
        try:
            s = wait_for(lambda: run_json(self, self.srv, "who", USER)["sessions"])
            pid = s[0]["worker_pid"]
            os.kill(pid, signal.SIGKILL)
            t0 = time.time()
            gone = wait_for(lambda: all(x["worker_pid"] != pid for x in
                                        run_json(self, self.srv, "who")["sessions"]))
            self.assertTrue(gone)
            self.assertLess(time.time() - t0, 10)
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError, EOFError):
                pass
        # The master restarts the worker; the server still serves.
        self.assertTrue(wait_for(lambda: self._login_works(), timeout=20))

    def _login_works(self):
        try:
            self.pop3().quit()
            return True
        except (poplib.error_proto, OSError):
            return False


class TestCompare(LiveBase):
    def rows(self):
        return run_json(self, self.srv, "compare", USER)

    def test_pop3_dele_pending_then_quit_and_imap_flags(self):
        for s in ("first", "second", "third"):
            self.assertEqual(self.srv.deliver(USER, msg(s)), 0)
        before = self.rows()
        self.assertEqual([m["imap"]["subject"] for m in before["messages"]],
                         ["first", "second", "third"])
        self.assertEqual([m["pop3"]["number"] for m in before["messages"]], [1, 2, 3])
        self.assertFalse(any(m["pop3"]["pending_delete"] for m in before["messages"]))
        self.assertTrue(before["live"]["server"])
        self.assertIsNone(before["live"]["pop3_session"])
        self.assertIn("Sent", [f["name"] for f in before["imap_only_folders"]])

        p = self.pop3()
        uidls = {int(n): u.decode() for n, u in
                 (line.split() for line in p.uidl()[1])}
        # POP3's UIDL and size are what compare shows (RFC 1939 §7, CRLF octets)
        lst = {int(n): int(sz) for n, sz in (line.split() for line in p.list()[1])}
        for m in before["messages"]:
            self.assertEqual(m["pop3"]["uidl"], uidls[m["pop3"]["number"]])
            self.assertEqual(m["pop3"]["size"], lst[m["pop3"]["number"]])
            self.assertEqual(m["imap"]["size"], m["pop3"]["size"])
        p.dele(2)
        i = self.imap()
        i.select("INBOX")
        uid_first = before["messages"][0]["imap"]["uid"]
        self.assertEqual(i.uid("STORE", str(uid_first), "+FLAGS", r"(\Flagged)")[0], "OK")

        during = self.rows()
        by_subject = {m["imap"]["subject"]: m for m in during["messages"]}
        self.assertEqual(len(during["messages"]), 3)          # nothing deleted before QUIT
        self.assertTrue(by_subject["second"]["pop3"]["pending_delete"])
        self.assertFalse(by_subject["first"]["pop3"]["pending_delete"])
        self.assertIn(r"\Flagged", by_subject["first"]["imap"]["flags"])
        self.assertEqual(during["live"]["pop3_session"]["pending_deletions"], 1)
        text = run(self.srv, "compare", USER).stdout
        self.assertRegex(text, r"(?m)^INBOX +\d+ +- +\d+ .*second .*\| +2 +\S+ +\d+ "
                               r"DELE pending")
        self.assertRegex(text, r"(?m)^INBOX +\d+ +\\Flagged +\d+ .*first")
        self.assertIn("1 DELE pending until QUIT", text)

        p.quit()                                             # RFC 1939 §6 UPDATE
        after = self.rows()
        self.assertEqual([m["imap"]["subject"] for m in after["messages"]], ["first", "third"])
        self.assertEqual([m["pop3"]["number"] for m in after["messages"]], [1, 2])
        self.assertIsNone(after["live"]["pop3_session"])
        i.logout()

    def test_hidden_and_decoded_subject(self):
        self.srv.set_user_extra(USER, "pop3_delete=hide")
        try:
            self.assertEqual(self.srv.deliver(
                USER, msg("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=")), 0)
            self.assertEqual(self.srv.deliver(USER, msg("kept")), 0)
            time.sleep(1.1)     # the passwd-file is re-read when its mtime moves
            p = self.pop3()
            p.dele(1)
            p.quit()
            rows = self.rows()["messages"]
            self.assertEqual(rows[0]["imap"]["subject"], "Grüße aus Köln")   # RFC 2047
            self.assertTrue(rows[0]["pop3"]["hidden"])
            self.assertIsNone(rows[0]["pop3"]["number"])
            self.assertEqual(rows[1]["pop3"]["number"], 1)
            text = run(self.srv, "compare", USER).stdout
            self.assertIn("hidden", text)
            self.assertIn("delete=hide", text)
        finally:
            self.srv.set_user_extra(USER, None)
            time.sleep(1.1)

    def test_pop3_folders_merged(self):
        """pop3_folders=INBOX,Junk: Junk's messages are POP3's too, numbered
        after INBOX's, with their folder-qualified UIDLs; Junk is then not
        an IMAP-only folder."""
        self.srv.set_user_extra(USER, "pop3_folders=INBOX,Junk")
        try:
            time.sleep(1.1)
            self.assertEqual(self.srv.deliver(USER, msg("inbox one")), 0)
            i = self.imap()
            self.assertEqual(i.append("Junk", None, None, msg("spam one"))[0], "OK")
            i.logout()
            c = self.rows()
            rows = c["messages"]
            self.assertEqual([(m["folder"], m["pop3"]["number"]) for m in rows],
                             [("INBOX", 1), ("Junk", 2)])
            p = self.pop3()
            uidls = dict(line.decode().split() for line in p.uidl()[1])
            p.quit()
            self.assertEqual(rows[1]["pop3"]["uidl"], uidls["2"])
            self.assertTrue(rows[1]["pop3"]["uidl"].startswith("Junk/"))
            names = [f["name"] for f in c["imap_only_folders"]]
            self.assertNotIn("Junk", names)
            self.assertIn("Trash", names)
        finally:
            self.srv.set_user_extra(USER, None)
            time.sleep(1.1)

    def test_unknown_user(self):
        r = run(self.srv, "compare", "nosuchuser")
        self.assertEqual(r.returncode, 67)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class TestTrace(LiveBase):
    def start_trace(self, *extra):
        proc = subprocess.Popen([duotest.DUOMAIL, "trace", "--config", self.srv.config_path]
                                + list(extra) + [USER],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Running once the server counts a trace reader: until then events
        # could be missed.  A NOOP by another user shows nothing; poll who.
        time.sleep(0.5)
        self.assertIsNone(proc.poll(), proc.stderr.read() if proc.poll() is not None else "")
        return proc

    def stop_trace(self, proc):
        time.sleep(0.3)     # the admin process polls the rings every 25 ms
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)     # Ctrl-C is a clean stop
        return out, err

    def test_both_protocols_redacted(self):
        self.assertEqual(self.srv.deliver(USER, msg("traced")), 0)
        proc = self.start_trace()
        try:
            p = self.pop3()
            p.retr(1)
            p.dele(1)
            p.rset()
            p.quit()
            i = self.imap()
            i.select("INBOX")
            i.fetch("1", "(BODY[])")
            body = ("Subject: appended\r\n\r\n%s\r\n" % APPEND_MARK).encode()
            i.append("INBOX", None, None, body)
            i.store("1", "+FLAGS", r"(\Seen)")
            i.logout()
            # AUTH PLAIN with an initial response (RFC 5034): redacted too
            p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=20)
            import base64
            ir = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()
            self.assertTrue(p._shortcmd("AUTH PLAIN " + ir).startswith(b"+OK"))
            p.quit()
            # Another user's session is not in alice's trace.
            b = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=20)
            b.user("bob")
            b.pass_("pw-bob")
            b.stat()
            b.quit()
        finally:
            out, err = self.stop_trace(proc)
        text = out.decode()
        # both protocols, commands and status summaries
        self.assertRegex(text, r"(?m) pop3 +w\d+\.\d+ +C: PASS <redacted>$")
        self.assertRegex(text, r"(?m) pop3 +w\d+\.\d+ +S: \+OK Logged in\.")
        self.assertRegex(text, r"(?m) pop3 +w\d+\.\d+ +C: RETR 1$")
        self.assertRegex(text, r"(?m) pop3 +w\d+\.\d+ +S: \+OK \d+ octets$")
        self.assertRegex(text, r"(?m) pop3 +w\d+\.\d+ +C: DELE 1$")
        self.assertRegex(text, r"(?m) pop3 +w\d+\.\d+ +C: AUTH PLAIN <redacted>$")
        self.assertRegex(text, r"(?m) imap +w\d+\.\d+ +C: \w+ LOGIN alice <redacted>$")
        self.assertRegex(text, r"(?m) imap +w\d+\.\d+ +C: \w+ SELECT INBOX$")
        self.assertRegex(text, r"(?m) imap +w\d+\.\d+ +C: \w+ FETCH 1 \(BODY\[\]\)$")
        self.assertRegex(text, r"(?m) imap +w\d+\.\d+ +S: \w+ OK Fetch completed\.$")
        self.assertRegex(text, r"(?m) imap +w\d+\.\d+ +C: \w+ APPEND INBOX \{%d octets\}$"
                         % len(body))
        self.assertRegex(text, r"(?m) imap +w\d+\.\d+ +C: \w+ STORE 1 \+FLAGS \(\\Seen\)$")
        self.assertRegex(text, r"(?m)^\d\d:\d\d:\d\d\.\d{6} ")
        # never a password, a SASL response or message data (bytes checked)
        for secret in (PASSWORD, ir, BODY_MARK, APPEND_MARK, "pw-bob"):
            self.assertNotIn(secret.encode(), out)
            self.assertNotIn(secret.encode(), err)
        self.assertNotIn(b"bob", out)

    def test_json_lines(self):
        proc = self.start_trace("--json")
        try:
            i = self.imap()
            i.noop()
            i.logout()
        finally:
            out, _ = self.stop_trace(proc)
        events = [json.loads(line) for line in out.decode().splitlines()]
        self.assertTrue(events)
        noop = [e for e in events if e["direction"] == "C" and e["text"].endswith(" NOOP")]
        self.assertEqual(len(noop), 1, events)
        self.assertEqual(noop[0]["protocol"], "imap")
        self.assertEqual(noop[0]["user"], USER)
        self.assertLess(abs(noop[0]["time_us"] / 1e6 - time.time()), 60)
        for e in events:
            self.assertNotIn(PASSWORD, e["text"])

    def test_idle_and_literal_login(self):
        """IDLE's DONE is traced as a client line (RFC 2177 §3); a password
        sent as a literal (RFC 3501 §4.3) shows as its size, never its
        bytes."""
        from duoimap import RawImap
        proc = self.start_trace()
        try:
            c = RawImap(self.srv.port("imap"))
            c.send("a1 LOGIN {%d}\r\n" % len(USER))
            self.assertTrue(c.line().startswith(b"+"))
            c.send("%s {%d}\r\n" % (USER, len(PASSWORD)))
            self.assertTrue(c.line().startswith(b"+"))
            c.send(PASSWORD + "\r\n")
            self.assertIn(b"a1 OK", c.until("a1")[1])
            c.ok("SELECT INBOX")
            c.send("a2 IDLE\r\n")
            self.assertTrue(c.line().startswith(b"+"))
            c.send("DONE\r\n")
            self.assertIn(b"a2 OK", c.until("a2")[1])
            c.close()
        finally:
            out, _ = self.stop_trace(proc)
        text = out.decode()
        self.assertRegex(text, r"C: a1 LOGIN \{%d octets\} <redacted>" % len(USER))
        self.assertRegex(text, r"(?m)C: a2 IDLE\n.*C: DONE\n.*S: a2 OK")
        self.assertNotIn(PASSWORD.encode(), out)

    def test_failed_login_is_traced_without_password(self):
        proc = self.start_trace()
        try:
            i = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=20)
            with self.assertRaises(imaplib.IMAP4.error):
                i.login(USER, "wrong-password-zz9")
            i.logout()
        finally:
            out, _ = self.stop_trace(proc)
        self.assertRegex(out.decode(), r"C: \w+ LOGIN alice <redacted>")
        self.assertRegex(out.decode(), r"S: \w+ NO \[AUTHENTICATIONFAILED\]")
        self.assertNotIn(b"wrong-password-zz9", out)

    def test_unknown_user(self):
        r = run(self.srv, "trace", "nosuchuser")
        self.assertEqual(r.returncode, 67)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


# ---- OpenMetrics ----

def parse_openmetrics(test, text):
    """A strict reading of the OpenMetrics 1.0 text format as far as we use
    it: families declared with # TYPE before their samples, counters as
    NAME_total, histograms with cumulative _bucket{le} ending at +Inf equal
    to _count, a _sum, and # EOF as the last line.  Returns
    {(name, frozenset(labels)): value}."""
    lines = text.split("\n")
    test.assertEqual(lines[-1], "", "ends with a newline")
    test.assertEqual(lines[-2], "# EOF")
    types, samples, seen_families = {}, {}, []
    sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in lines[:-2]:
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            test.assertNotIn(name, types, "family declared once")
            test.assertIn(typ, ("counter", "gauge", "histogram"))
            types[name] = typ
            seen_families.append(name)
            continue
        if line.startswith("# HELP ") or line.startswith("# UNIT "):
            test.assertIn(line.split(" ")[2], types)
            continue
        m = sample_re.match(line)
        test.assertIsNotNone(m, "sample line: %r" % line)
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        family = seen_families[-1]
        typ = types[family]
        if typ == "counter":
            test.assertEqual(name, family + "_total")
        elif typ == "histogram":
            test.assertIn(name, (family + "_bucket", family + "_count", family + "_sum"))
        else:
            test.assertEqual(name, family)
        lab = dict(label_re.findall(labels))
        samples[(name, frozenset(lab.items()))] = float(value)
    # histograms: cumulative, +Inf == count
    buckets = {}
    for (name, lab), v in samples.items():
        if name.endswith("_bucket"):
            d = dict(lab)
            le = d.pop("le")
            buckets.setdefault((name, frozenset(d.items())), []).append(
                (float("inf") if le == "+Inf" else float(le), v))
    for (name, lab), bs in buckets.items():
        bs.sort()
        test.assertEqual(bs[-1][0], float("inf"))
        vals = [v for _, v in bs]
        test.assertEqual(vals, sorted(vals), "buckets are cumulative")
        count = samples[(name[:-len("_bucket")] + "_count", lab)]
        test.assertEqual(vals[-1], count)
    return samples


class TestStatsAndMetrics(LiveBase):
    def metrics(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port("http"), timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("application/openmetrics-text"))
        body = r.read().decode()
        c.close()
        return parse_openmetrics(self, body)

    @staticmethod
    def val(samples, name, **labels):
        return samples.get((name, frozenset(labels.items())), 0.0)

    def test_counters_move(self):
        self.assertEqual(self.srv.deliver(USER, msg("counted")), 0)
        m0 = self.metrics()
        p = self.pop3()
        p.retr(1)
        p.quit()
        bad = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=20)
        bad.user(USER)
        with self.assertRaises(poplib.error_proto):
            bad.pass_("not-the-password")
        bad.quit()
        i = self.imap()
        i.select("INBOX")
        i.noop()
        i.logout()
        m1 = self.metrics()
        d = lambda name, **l: self.val(m1, name, **l) - self.val(m0, name, **l)
        self.assertEqual(d("duomail_connections_total", protocol="pop3"), 2)
        self.assertEqual(d("duomail_connections_total", protocol="imap"), 1)
        self.assertEqual(d("duomail_auth_total", protocol="pop3", result="success"), 1)
        self.assertEqual(d("duomail_auth_total", protocol="pop3", result="failure"), 1)
        self.assertEqual(d("duomail_auth_total", protocol="imap", result="success"), 1)
        # USER PASS RETR QUIT + USER PASS QUIT
        self.assertEqual(d("duomail_commands_total", protocol="pop3"), 7)
        self.assertEqual(d("duomail_commands_total", protocol="imap"), 5)  # CAPABILITY LOGIN SELECT NOOP LOGOUT
        self.assertGreater(d("duomail_sent_bytes_total", protocol="pop3"), len(msg("counted")))
        self.assertGreater(d("duomail_received_bytes_total", protocol="imap"), 0)
        self.assertEqual(d("duomail_command_duration_seconds_count", protocol="pop3",
                           command="RETR"), 1)
        self.assertEqual(d("duomail_command_duration_seconds_count", protocol="imap",
                           command="SELECT"), 1)
        self.assertEqual(self.val(m1, "duomail_workers"), 2)
        # the abuse defence's counters (README "Abuse defence") are shown too
        self.assertEqual(d("duomail_abuse_events_total", event="login_failed"), 1)

        # duomail stats says the same (and --json parses).
        st = run_json(self, self.srv, "stats")
        counters = {(c["name"], frozenset(c["labels"].items())): c["value"]
                    for c in st["counters"]}
        key = ("duomail_auth_total", frozenset({"protocol": "pop3", "result": "failure"}.items()))
        self.assertEqual(counters[key], self.val(m1, *key[:1], **dict(key[1])))
        self.assertEqual(st["workers"], {"running": 2, "configured": 2})
        lat = [x for x in st["latency"] if x["protocol"] == "pop3" and x["command"] == "RETR"]
        self.assertEqual(len(lat), 1)
        self.assertEqual(lat[0]["buckets"][-1]["le"], "+Inf")
        text = run(self.srv, "stats").stdout
        self.assertRegex(text, r'(?m)^duomail_auth_total\{protocol="pop3",result="failure"\} +\d+$')
        self.assertRegex(text, r"(?m)^pop3 +RETR +\d+ ")

    def test_sessions_gauge(self):
        p = self.pop3()
        try:
            self.assertTrue(wait_for(lambda: self.val(self.metrics(), "duomail_sessions",
                                                      protocol="pop3") >= 1))
        finally:
            p.quit()

    def test_deliveries_counted_over_lmtp_only(self):
        # `duomail deliver` is its own process: not the server's counter.
        m0 = self.metrics()
        self.assertEqual(self.srv.deliver(USER, msg("x")), 0)
        m1 = self.metrics()
        self.assertEqual(self.val(m1, "duomail_deliveries_total", result="success"),
                         self.val(m0, "duomail_deliveries_total", result="success"))


class TestLmtpDeliveries(unittest.TestCase):
    def test_lmtp_counted(self):
        sockdir = duotest.tempfile.mkdtemp(prefix="duomail-admin-")
        srv = duotest.Server(users={USER: PASSWORD}, listen=("lmtp", "http"),
                             config={"server": {"admin_socket": os.path.join(sockdir, "a.sock")}})
        with srv:
            import smtplib
            lm = smtplib.LMTP("127.0.0.1", srv.port("lmtp"))
            lm.sendmail("a@example.test", ["alice@example.test", "nobody@example.test"],
                        msg("via lmtp"))
            lm.quit()
            c = http.client.HTTPConnection("127.0.0.1", srv.port("http"), timeout=10)
            c.request("GET", "/metrics")
            s = parse_openmetrics(self, c.getresponse().read().decode())
            self.assertEqual(s[("duomail_deliveries_total",
                                frozenset({"result": "success"}.items()))], 1)
            self.assertEqual(s[("duomail_connections_total",
                                frozenset({"protocol": "lmtp"}.items()))], 1)
            # LHLO MAIL RCPT RCPT DATA QUIT; the refused RCPT is no delivery
            self.assertEqual(s[("duomail_commands_total",
                                frozenset({"protocol": "lmtp"}.items()))], 6)
            self.assertEqual(s[("duomail_deliveries_total",
                                frozenset({"result": "failure"}.items()))], 0)
            self.assertEqual(s[("duomail_command_duration_seconds_count",
                                frozenset({"protocol": "lmtp", "command": "DATA"}.items()))], 1)
        shutil.rmtree(sockdir, ignore_errors=True)


# ---- HTTP: autoconfig and errors ----

class TestHttp(LiveBase):
    def raw(self, data):
        s = socket.create_connection(("127.0.0.1", self.srv.port("http")), timeout=15)
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        return out

    def status(self, data):
        return int(self.raw(data).split(b" ", 2)[1])

    def test_autoconfig_with_curl(self):
        curl = shutil.which("curl")
        if curl is None:
            self.skipTest("curl not installed")
        for path in ("/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"):
            r = subprocess.run([curl, "-sf", "http://127.0.0.1:%d%s?emailaddress=alice%%40example.org"
                                % (self.srv.port("http"), path)],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            root = ET.fromstring(r.stdout)
            self.assertEqual(root.tag, "clientConfig")
            prov = root.find("emailProvider")
            self.assertEqual(prov.get("id"), "example.org")
            self.assertEqual(prov.findtext("domain"), "example.org")
            servers = [(s.get("type"), int(s.findtext("port")), s.findtext("socketType"),
                        s.findtext("hostname"), s.findtext("username"))
                       for s in prov.findall("incomingServer")]
            self.assertEqual(servers, [
                ("imap", self.srv.port("imaps"), "SSL", "test.example", "%EMAILLOCALPART%"),
                ("imap", self.srv.port("imap"), "STARTTLS", "test.example", "%EMAILLOCALPART%"),
                ("pop3", self.srv.port("pop3s"), "SSL", "test.example", "%EMAILLOCALPART%"),
                ("pop3", self.srv.port("pop3"), "STARTTLS", "test.example", "%EMAILLOCALPART%"),
            ])

    def test_errors(self):
        # RFC 9110 §15.5.6: only GET and HEAD here, with Allow
        r = self.raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 405 "))
        self.assertIn(b"\r\nAllow: GET, HEAD\r\n", r)
        self.assertEqual(self.status(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"), 404)
        self.assertEqual(self.status(b"GET /metrics HTTP/1.1\r\n\r\n"), 400)   # RFC 9112 §3.2 Host
        self.assertEqual(self.status(b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n"), 505)
        self.assertEqual(self.status(b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
        self.assertEqual(self.status(b"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n"), 400)
        self.assertEqual(self.status(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n"), 400)
        self.assertEqual(self.status(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: "
                                     + b"a" * 9000 + b"\r\n\r\n"), 431)
        self.assertEqual(self.status(b"GET /metrics HTTP/1.0\r\n\r\n"), 200)
        head = self.raw(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "))
        self.assertTrue(head.endswith(b"\r\n\r\n"), "HEAD: no body")

    def test_slow_client_timed_out(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port("http")), timeout=30)
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        t0 = time.time()
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        self.assertLess(time.time() - t0, 20)
        s.close()


class TestDns(unittest.TestCase):
    def test_srv_records(self):
        srv = duotest.Server(listen=("imaps", "pop3", "pop3s"))
        try:
            r = duotest.run_duomail(["dns", "--config", srv.config_path, "example.org"])
            self.assertEqual(r.returncode, 0, r.stderr)
            records = [l.split() for l in r.stdout.splitlines() if not l.startswith(";")]
            srvs = {x[0]: x for x in records if x[3] == "SRV"}
            # RFC 6186 §3: _service._tcp.domain. TTL IN SRV prio weight port target
            self.assertEqual(srvs["_imaps._tcp.example.org."][4:],
                             ["0", "1", str(srv.port("imaps")), "test.example."])
            self.assertEqual(srvs["_pop3s._tcp.example.org."][4:],
                             ["20", "1", str(srv.port("pop3s")), "test.example."])
            self.assertEqual(srvs["_pop3._tcp.example.org."][4:],
                             ["30", "1", str(srv.port("pop3")), "test.example."])
            # RFC 6186 §4: "." as the target: not offered (no imap listener)
            self.assertEqual(srvs["_imap._tcp.example.org."][4:], ["0", "0", "0", "."])
            self.assertIn("_submission", r.stdout)       # said to be out of scope
            self.assertIn("[listen] http is off", r.stdout)
            bad = duotest.run_duomail(["dns", "--config", srv.config_path, "exa mple..org"])
            self.assertEqual(bad.returncode, 64)
            self.assertEqual(len(bad.stderr.strip().splitlines()), 1)
        finally:
            srv.stop()


class TestStopSignals(unittest.TestCase):
    def test_sigterm_to_the_process_group_stops_cleanly(self):
        """systemd (KillMode=control-group), a shell's kill -- -PGID and the
        quick start's Ctrl-C send SIGTERM to every process at once, and the
        master forwards its own: the admin process and the workers get
        two.  The second must not kill them mid-stop (libuv puts the
        default action back when a signal handle closes), or the stop is
        reported failed: exit 1 and "killed by signal 15" (found by CI in
        test_quickstart)."""
        sockdir = duotest.tempfile.mkdtemp(prefix="duomail-admin-")
        try:
            for attempt in range(8):
                srv = duotest.Server(users={USER: PASSWORD}, own_group=True,
                                     config={"server": {"admin_socket":
                                                        os.path.join(sockdir, "a.sock")}})
                srv.start()
                self.assertEqual(run(srv, "who").returncode, 0)
                os.killpg(srv.proc.pid, signal.SIGTERM)
                try:
                    srv.proc.wait(timeout=30)
                    # stop() checks the exit code and the log
                    srv.stop()
                except AssertionError as e:
                    self.fail("round %d: %s" % (attempt, e))
        finally:
            shutil.rmtree(sockdir, ignore_errors=True)


# ---- no server, bad input, --help ----

class TestNoServer(unittest.TestCase):
    def test_dead_and_missing_socket(self):
        sockdir = duotest.tempfile.mkdtemp(prefix="duomail-admin-")
        path = os.path.join(sockdir, "admin.sock")
        srv = duotest.Server(users={USER: PASSWORD}, config={"server": {"admin_socket": path}})
        try:
            self.assertEqual(srv.deliver(USER, msg("offline")), 0)
            for args in (["who"], ["stats"], ["trace", USER]):
                r = duotest.run_duomail([args[0], "--config", srv.config_path] + args[1:])
                self.assertEqual(r.returncode, 69, (args, r.stderr))
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn(path, r.stderr)
            # a dead socket: a file nobody listens on
            s = socket.socket(socket.AF_UNIX)
            s.bind(path)
            s.close()
            r = duotest.run_duomail(["who", "--config", srv.config_path])
            self.assertEqual(r.returncode, 69)
            self.assertIn("Connection refused", r.stderr)
            # compare still shows the store, and says why pending deletions are unknown
            r = duotest.run_duomail(["compare", "--config", srv.config_path, USER])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("pending POP3 deletions unknown", r.stdout)
            self.assertRegex(r.stdout, r"(?m)^INBOX +1 .* offline +\| +1 ")
            # the stale socket file is replaced when the server starts
            srv.start()
            r = duotest.run_duomail(["who", "--config", srv.config_path, "--json"])
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            srv.stop()
            shutil.rmtree(sockdir, ignore_errors=True)

    def test_socket_in_missing_directory_stops_start(self):
        """A configured admin socket that cannot be made is a start-up
        error naming the key (the default path only warns)."""
        srv = duotest.Server(config={"server": {"admin_socket": "/nonexistent-dir/a.sock"}})
        try:
            with self.assertRaises(RuntimeError) as cm:
                srv.start()
            self.assertIn("[server] admin_socket:", str(cm.exception))
            self.assertIn("server exited 2", str(cm.exception))
        finally:
            srv.proc = None
            srv.stop()

    def test_admin_socket_off(self):
        srv = duotest.Server()          # duotest turns it off
        try:
            r = duotest.run_duomail(["who", "--config", srv.config_path])
            self.assertEqual(r.returncode, 69)
            self.assertIn("admin_socket is off", r.stderr)
        finally:
            srv.stop()

    def test_bad_config_and_usage(self):
        bad = duotest.write_temp("[server]\nadmin_socket = relative.sock\n")
        try:
            r = duotest.run_duomail(["who", "--config", bad])
            self.assertEqual(r.returncode, 2)
            self.assertIn("%s:2: [server] admin_socket:" % bad, r.stderr)
        finally:
            os.unlink(bad)
        bad = duotest.write_temp("[http]\nautoconfig_username = everything\n")
        try:
            r = duotest.run_duomail(["stats", "--config", bad])
            self.assertEqual(r.returncode, 2)
            self.assertIn(":2: [http] autoconfig_username:", r.stderr)
        finally:
            os.unlink(bad)
        self.assertEqual(duotest.run_duomail(["trace"]).returncode, 64)       # USER missing
        self.assertEqual(duotest.run_duomail(["compare", "a", "b"]).returncode, 64)
        self.assertEqual(duotest.run_duomail(["who", "--frobnicate"]).returncode, 64)

    def test_help(self):
        for cmd in ("who", "trace", "stats", "compare", "dns"):
            r = duotest.run_duomail([cmd, "--help"])
            self.assertEqual(r.returncode, 0, cmd)
            self.assertTrue(r.stdout.startswith("usage: duomail %s " % cmd), r.stdout)
            self.assertIn("--config", r.stdout)
        top = duotest.run_duomail(["--help"]).stdout
        for cmd in ("who", "trace", "stats", "compare", "dns"):
            self.assertRegex(top, r"(?m)^  %s " % cmd)


if __name__ == "__main__":
    unittest.main()
