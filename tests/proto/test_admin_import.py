"""`duomail import --from dovecot`: a Maildir written by a real Dovecot
(Debian's, started unprivileged by tests/peer/peer.py) moves into duomail,
and afterwards curl over POP3 sees the same UIDLs (RFC 1939 §7: a UIDL
never changes for the life of a message) and Python's imaplib the same
UIDVALIDITY and UIDs (RFC 3501 §2.3.1.1: then a client's cache stays
valid), flags, keywords and subscriptions as it saw at Dovecot.  Plus the
bad inputs: unknown users, accounts with mail, a corrupt dovecot-uidlist
(one-line error with file and line, non-zero exit, nothing written), and a
hand-written Dovecot-format fixture with the P (POP3 UIDL) extension."""
import imaplib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peer"))
import duotest  # noqa: E402
import peer  # noqa: E402

USER, PASSWORD = "bob", "bobs-secret"


def curl_uidls(port):
    """UIDL over POP3 with curl (the client, not our own code): {n: uidl}."""
    r = subprocess.run(["curl", "-s", "-S", "--max-time", "30", "-X", "UIDL",
                        "pop3://%s:%s@127.0.0.1:%d/" % (USER, PASSWORD, port)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("curl UIDL failed: %s" % r.stderr)
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[int(parts[0])] = parts[1]
    return out


def imap_state(port, folders):
    """{folder: (uidvalidity, {uid: (flags without \\Recent, sorted)})} and
    the LSUB names, seen with imaplib."""
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        c.login(USER, PASSWORD)
        state = {}
        for folder in folders:
            typ, _ = c.select('"%s"' % folder, readonly=True)
            assert typ == "OK", (folder, typ)
            validity = int(c.response("UIDVALIDITY")[1][0])
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            msgs = {}
            for item in data:
                if item is None:
                    continue
                text = item.decode() if isinstance(item, bytes) else item[0].decode()
                m = re.search(r"UID (\d+)", text)
                f = re.search(r"FLAGS \(([^)]*)\)", text)
                if m:
                    flags = sorted(x for x in f.group(1).split() if x != "\\Recent")
                    msgs[int(m.group(1))] = tuple(flags)
            state[folder] = (validity, msgs)
            c.close()
        typ, data = c.lsub()
        subs = sorted(re.search(rb'"([^"]*)"$|(\S+)$', d).group(0).strip(b'"').decode()
                      for d in data if d)
        c.logout()
        return state, subs
    finally:
        try:
            c.shutdown()
        except Exception:
            pass


class TestImportFromDovecot(unittest.TestCase):
    def dovecot_history(self, dove):
        """Mail delivered to Dovecot and used there by IMAP and POP3
        clients; returns what those clients saw, after Dovecot stopped."""
        corpus = peer.generate_corpus(seed=7, n=8)
        for msg in corpus[:6]:
            reply = peer.deliver_lmtp(dove.port("lmtp"), USER, msg)
            self.assertTrue(reply[0].startswith(b"250"), reply)
        c = imaplib.IMAP4("127.0.0.1", dove.port("imap"), timeout=30)
        c.login(USER, PASSWORD)
        typ, data = c.list('""', '""')
        sep = re.search(rb'\(.*?\) "(.)"', data[0]).group(1).decode()
        work, sub = "Work", "Work" + sep + "2026"
        self.assertEqual(c.create(work)[0], "OK")
        self.assertEqual(c.create(sub)[0], "OK")
        self.assertEqual(c.subscribe(work)[0], "OK")
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Seen)")
        c.store("2", "+FLAGS", "(\\Flagged $Forwarded Project)")
        c.store("4", "+FLAGS", "(\\Answered Project)")
        c.copy("2:3", sub)
        c.store("3", "+FLAGS", "(\\Deleted)")
        c.expunge()          # a gap in the UIDs: 1 2 4 5 6
        c.select(sub)
        c.store("1", "+FLAGS", "(\\Seen Other)")
        c.logout()
        for msg in corpus[6:8]:
            peer.deliver_lmtp(dove.port("lmtp"), USER, msg)
        uidls = curl_uidls(dove.port("pop3"))
        state, subs = imap_state(dove.port("imap"), ["INBOX", work, sub])
        dove.stop()
        # Mail another program dropped in after Dovecot last looked:
        # it is not in dovecot-uidlist yet and gets the next UID.
        late = os.path.join(dove.maildir(USER), "new", "1999999999.M1P1.late")
        with open(late, "wb") as f:
            f.write(b"Subject: late\r\n\r\nlate\r\n")
        self.assertEqual(sorted(state["INBOX"][1]), [1, 2, 4, 5, 6, 7, 8])
        self.assertIn("Project", state["INBOX"][1][2])
        self.assertIn("$Forwarded", state["INBOX"][1][2])
        self.assertIn("Other", state[sub][1][1])
        self.assertIn(work, subs)
        self.assertEqual(len(uidls), 7)
        return uidls, state, subs, work, sub

    def assert_same_to_clients(self, duo, before_uidls, before, work, sub):
        # POP3: the same UIDL for every message Dovecot listed, in order.
        after_uidls = curl_uidls(duo.port("pop3"))
        self.assertEqual(len(after_uidls), 8)
        self.assertEqual({n: after_uidls[n] for n in before_uidls}, before_uidls)
        # IMAP: same UIDVALIDITY, UIDs and flags in every folder.
        after, after_subs = imap_state(duo.port("imap"), ["INBOX", "Work", "Work/2026"])
        late_uid = max(after["INBOX"][1])
        self.assertEqual(late_uid, 9)
        del after["INBOX"][1][late_uid]
        self.assertEqual(after["INBOX"], before["INBOX"])
        self.assertEqual(after["Work"], before[work])
        self.assertEqual(after["Work/2026"], before[sub])
        # Subscriptions: Dovecot's names with its separator, ours with '/'.
        self.assertIn("Work", after_subs)

    def test_clients_see_no_change(self):
        # Dovecot's default POP3 UIDL (%08Xu%08Xv, not stored in the
        # uidlist), not the peer's %f: the importer must compute it.
        pair = peer.Pair({USER: PASSWORD},
                         dovecot_config="pop3_uidl_format = %08Xu%08Xv\n")
        with pair:
            uidls, before, _, work, sub = self.dovecot_history(pair.dovecot)
            r = duotest.run_duomail(["import", "--from", "dovecot", "--config",
                                     pair.duomail.config_path, pair.dovecot.maildir(USER),
                                     USER])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("imported 10 messages in 3 folders", r.stdout)
            self.assert_same_to_clients(pair.duomail, uidls, before, work, sub)
            # The source is left as it was.
            self.assertTrue(os.path.exists(os.path.join(pair.dovecot.maildir(USER),
                                                         "dovecot-uidlist")))

    def test_in_place(self):
        # The store root already holds Dovecot's Maildir (the admin pointed
        # duomail at Dovecot's mail): imported where it is, by hard links.
        pair = peer.Pair({USER: PASSWORD},
                         dovecot_config="pop3_uidl_format = %08Xu%08Xv\n")
        with pair:
            uidls, before, _, work, sub = self.dovecot_history(pair.dovecot)
            account = pair.duomail.maildir(USER)
            os.rename(pair.dovecot.maildir(USER), account)
            r = duotest.run_duomail(["import", "--from", "dovecot", "--json", "--config",
                                     pair.duomail.config_path, account, USER])
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            self.assertEqual(out["messages"], 10)
            kept = out["kept"]
            self.assertTrue(os.path.exists(os.path.join(kept, "dovecot-uidlist")))
            self.assertIn(kept, r.stderr)
            for name in os.listdir(os.path.join(account, "cur")):
                self.assertGreaterEqual(os.stat(os.path.join(account, "cur", name)).st_nlink, 2)
            self.assert_same_to_clients(pair.duomail, uidls, before, work, sub)
            # Once duomail has numbered it, it is duomail's: no second import.
            shutil.rmtree(kept)
            r = duotest.run_duomail(["import", "--from", "dovecot", "--config",
                                     pair.duomail.config_path, account, USER])
            self.assertEqual(r.returncode, 73, r.stderr)
            self.assertIn("has duomail's index already", r.stderr)


class TestImportSavedUidls(unittest.TestCase):
    def test_uidls_dovecot_saved_win(self):
        # pop3_save_uidl: Dovecot writes each UIDL it showed into the
        # uidlist (the P field); those must survive even with another
        # --uidl-format (the one the import would otherwise apply).
        pair = peer.Pair({USER: PASSWORD},
                         dovecot_config="pop3_uidl_format = %v.%u\npop3_save_uidl = yes\n")
        with pair:
            dove, duo = pair.dovecot, pair.duomail
            for msg in peer.generate_corpus(seed=3, n=3)[:3]:
                peer.deliver_lmtp(dove.port("lmtp"), USER, msg)
            before = curl_uidls(dove.port("pop3"))
            dove.stop()
            with open(os.path.join(dove.maildir(USER), "dovecot-uidlist")) as f:
                uidlist = f.read()
            r = duotest.run_duomail(["import", "--from", "dovecot", "--config",
                                     duo.config_path, "--uidl-format", "%08Xu%08Xv",
                                     dove.maildir(USER), USER])
            self.assertEqual(r.returncode, 0, r.stderr)
            after = curl_uidls(duo.port("pop3"))
        self.assertEqual(len(before), 3)
        self.assertRegex(before[1], r"^\d+\.1$")
        self.assertIn(" P" + before[1], uidlist)      # it was saved, and read from there
        self.assertEqual(after, before)


class TestImportBadInput(unittest.TestCase):
    """Hand-written Dovecot-format fixtures (not written by Dovecot)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(users={USER: PASSWORD, "carol": "c", "dave": "d"},
                                 listen=("pop3", "imap"))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.src = tempfile.mkdtemp(prefix="duomail-dovecot-fixture-")
        for d in ("cur", "new", "tmp"):
            os.mkdir(os.path.join(self.src, d))
        self.addCleanup(shutil.rmtree, self.src, True)

    def write(self, name, data):
        with open(os.path.join(self.src, name), "wb") as f:
            f.write(data)

    def imp(self, user="carol", *extra):
        return duotest.run_duomail(["import", "--from", "dovecot", "--config",
                                    self.srv.config_path] + list(extra) + [self.src, user])

    def test_p_extension_and_keywords(self):
        # Two messages, one with a stored UIDL (P), one in new/ with none.
        self.write("cur/1700000000.M1P1.host,S=20,W=22:2,Sa", b"Subject: one\n\nbody\n")
        self.write("cur/1700000001.M2P1.host:2,", b"Subject: two\n\nbody\n")
        self.write("dovecot-uidlist",
                   b"3 V1234567 N40 Gabcdef\n"
                   b"7 Pold-uidl-7 W22 :1700000000.M1P1.host,S=20,W=22\n"
                   b"30 :1700000001.M2P1.host\n")
        self.write("dovecot-keywords", b"0 $Label1\n")
        self.write("subscriptions", b"V\t2\n\nArchive\n")
        r = self.imp("carol", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"messages": 2', r.stdout)
        pop = duotest.run_duomail(["mailbox", "status", "--config", self.srv.config_path,
                                   "--json", "carol", "INBOX"])
        self.assertIn('"uidnext": 40', pop.stdout)
        self.assertIn('"uidvalidity": 1234567', pop.stdout)
        uidls = {}
        import poplib
        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=30)
        p.user("carol")
        p.pass_("c")
        for line in p.uidl()[1]:
            n, u = line.decode().split()
            uidls[int(n)] = u
        p.quit()
        # P wins; without it Dovecot's default %08Xu%08Xv (30 = 1e, 1234567 =
        # 12d687; Dovecot's X is lower-case hex, as the real-Dovecot test shows).
        self.assertEqual(uidls, {1: "old-uidl-7", 2: "0000001e0012d687"})
        c = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=30)
        c.login("carol", "c")
        c.select("INBOX")
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode()
        self.assertRegex(text, r"UID 7 FLAGS \((\\Seen \$Label1|\$Label1 \\Seen)\)")
        self.assertIn("UID 30 FLAGS ()", text)
        c.logout()
        # The UIDLs are not in the index, which may be lost at any time
        # (README "Crashes, damage"): after a rebuild they are the same.
        os.unlink(os.path.join(self.srv.maildir("carol"), "duomail-index"))
        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=30)
        p.user("carol")
        p.pass_("c")
        again = {int(l.split()[0]): l.split()[1].decode() for l in p.uidl()[1]}
        p.quit()
        self.assertEqual(again, uidls)

    def test_dry_run_writes_nothing(self):
        self.write("cur/1700000000.M1P1.host:2,", b"Subject: one\n\nbody\n")
        self.write("dovecot-uidlist", b"3 V123 N10\n5 :1700000000.M1P1.host\n")
        before = sorted(os.listdir(self.srv.root))
        r = self.imp("carol", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "would import 1 messages in 1 folders for carol")
        self.assertEqual(sorted(os.listdir(self.srv.root)), before)
        self.write("dovecot-uidlist", b"3 V123 N10\n5 :1700000000.M1P1.host\n5 :x\n")
        r = self.imp("carol", "--dry-run")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertEqual(sorted(os.listdir(self.srv.root)), before)

    def test_corrupt_uidlist(self):
        self.write("cur/1700000000.M1P1.host:2,", b"Subject: one\n\nbody\n")
        cases = [
            (b"3 V123 N10\n5 :1700000000.M1P1.host\n4 :x\n", ":3: UID 4 not ascending"),
            (b"3 V123 N10\nabc :1700000000.M1P1.host\n", ":2: expected a UID"),
            (b"3 V123 N10\n5 1700000000.M1P1.host\n", ":2: no ':FILENAME'"),
            (b"9 V123 N10\n", ":1: not a dovecot-uidlist header"),
            (b"3 V123 N10\n5 :1700000000.M1P1.host\n5 :y\n", ":3: UID 5 not ascending"),
            (b"3 V0 N10\n5 :1700000000.M1P1.host\n", ":1: no UIDVALIDITY"),
            (b"3 V123 N10\n5 :1700000000.M1P1.host", ":2: line cut short"),
        ]
        for data, want in cases:
            self.write("dovecot-uidlist", data)
            before = sorted(os.listdir(self.srv.root))
            r = self.imp("carol")
            self.assertEqual(r.returncode, 65, (data, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(os.path.join(self.src, "dovecot-uidlist") + want, lines[0])
            self.assertIn("nothing was imported", lines[0])
            # Nothing written: no account, no staging directory left.
            self.assertEqual(sorted(os.listdir(self.srv.root)), before)
            self.assertFalse(os.path.exists(self.srv.maildir("carol")) and
                             self.srv.count_mail("carol"))

    def test_mail_delivered_during_the_import_is_kept(self):
        # The MTA goes on delivering while the import runs: every message
        # `duomail deliver` acknowledged (exit 0) must be in the account
        # afterwards, once; one that failed (75) the MTA would retry.
        import threading
        lines = [b"3 V5555 N400\n"]
        for i in range(1, 301):
            name = "1700000%03d.M%dP1.host" % (i, i)
            self.write("cur/%s:2,S" % name, b"Subject: old %d\n\nbody\n" % i)
            lines.append(b"%d :%s\n" % (i, name.encode()))
        self.write("dovecot-uidlist", b"".join(lines))
        results = {}
        stop = threading.Event()

        def mta():
            i = 0
            while not stop.is_set() and i < 200:
                results[i] = self.srv.deliver("dave", b"Subject: live %d\n\nx\n" % i)
                i += 1

        # The deliveries start once the import has looked at the account
        # (its staging directory exists), so they land during the copy.
        imp = subprocess.Popen([duotest.DUOMAIL, "import", "--from", "dovecot", "--config",
                                self.srv.config_path, self.src, "dave"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not [n for n in os.listdir(self.srv.root) if n.startswith(".duomail-import.")]:
            self.assertIsNone(imp.poll(), imp.stderr.read() if imp.poll() is not None else "")
            self.assertLess(time.time(), deadline)
            time.sleep(0.005)
        t = threading.Thread(target=mta)
        t.start()
        try:
            out, err = imp.communicate(timeout=120)
        finally:
            stop.set()
            t.join(timeout=120)
        r = subprocess.CompletedProcess(imp.args, imp.returncode, out, err)
        self.assertEqual(r.returncode, 0, r.stderr)
        subjects = []
        for path in self.srv.message_files("dave"):
            with open(path, "rb") as f:
                subjects.append(f.readline().strip().decode())
        acked = ["Subject: live %d" % i for i, rc in results.items() if rc == 0]
        self.assertTrue(acked)
        self.assertEqual(sorted(s for s in subjects if "live" in s), sorted(acked))
        self.assertEqual(len([s for s in subjects if "old" in s]), 300)
        self.assertEqual([n for n in os.listdir(self.srv.root) if n.startswith(".")], [])
        st = duotest.run_duomail(["mailbox", "status", "--config", self.srv.config_path,
                                  "dave", "INBOX"])
        self.assertIn("uidvalidity=5555", st.stdout)
        self.assertIn("messages=%d" % (300 + len(acked)), st.stdout)

    def test_unknown_user_and_account_with_mail(self):
        self.write("cur/1700000000.M1P1.host:2,", b"Subject: one\n\nbody\n")
        r = self.imp("nobody")
        self.assertEqual(r.returncode, 67)
        self.assertIn("no such user 'nobody'", r.stderr)
        self.assertEqual(self.srv.deliver(USER, b"Subject: x\n\ny\n"), 0)
        r = self.imp(USER)
        self.assertEqual(r.returncode, 73, r.stderr)
        self.assertIn("already has mail", r.stderr)
        self.assertEqual(self.srv.count_mail(USER), 1)
        r = duotest.run_duomail(["import", "--from", "dovecot", "--config",
                                 self.srv.config_path, "/nonexistent", "carol"])
        self.assertEqual(r.returncode, 66)
        r = duotest.run_duomail(["import", "--config", self.srv.config_path, self.src, "carol"])
        self.assertEqual(r.returncode, 64)
        r = duotest.run_duomail(["import", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: duomail import", r.stdout)


if __name__ == "__main__":
    unittest.main()
