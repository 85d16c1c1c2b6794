"""IMAP side by side with Dovecot (issue 6): the same conversations sent to
Debian's Dovecot and to duomail, both with the same users and the same
APPENDed corpus; responses normalized (diffkit.py says how) and compared.
A difference fails the test unless tests/peer/known-differences lists it
with the RFC section that allows it.

Corpus-wide (RFC 3501 §6.4.5, §7.4.2): BODYSTRUCTURE, BODY, ENVELOPE,
RFC822.SIZE, INTERNALDATE, BODY[HEADER], BODY[TEXT], BODY[n], BODY[n.MIME],
BODY[HEADER.FIELDS (...)], .NOT, partials, of every message; SEARCH
(§6.4.4) with every key over the whole corpus.  Then one conversation
through every command and extension duomail offers, error cases and
odd-but-legal syntax."""
import base64
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffkit  # noqa: E402
import peer  # noqa: E402

USERS = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol", "dave": "pw-dave"}
# another corpus by hand: DUOMAIL_PEER_SEED=7 DUOMAIL_PEER_MESSAGES=1000
CORPUS_SEED = int(os.environ.get("DUOMAIL_PEER_SEED", "6"))
CORPUS_SIZE = int(os.environ.get("DUOMAIL_PEER_MESSAGES", "150"))


class DiffImapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pair = peer.Pair(USERS)
        cls.pair.start()
        cls.corpus = peer.generate_corpus(CORPUS_SEED, CORPUS_SIZE)
        peer.append_to_both(cls.pair.servers, "alice", "pw-alice", cls.corpus)
        peer.append_to_both(cls.pair.servers, "bob", "pw-bob", cls.corpus[:8])
        peer.append_to_both(cls.pair.servers, "dave", "pw-dave", cls.corpus[:4])
        cls.known = diffkit.Known()

    @classmethod
    def tearDownClass(cls):
        cls.pair.stop()

    def differ(self, script, login, name):
        convs = [diffkit.converse_imap(s.port("imap"), script, login)
                 for s in self.pair.servers]
        problems, excused = diffkit.compare("imap " + name, convs[0], convs[1], self.known)
        if problems:
            self.fail("%d differences not in known-differences (%d excused):\n%s" % (
                len(problems), excused, "\n".join(problems[:200])))
        return convs

    # ---- corpus-wide ----

    def test_fetch_structure_whole_corpus(self):
        n = len(self.corpus)
        script = ["EXAMINE INBOX"]
        for i in range(1, n + 1):
            script.append("FETCH %d (BODYSTRUCTURE BODY ENVELOPE RFC822.SIZE INTERNALDATE FLAGS "
                          "UID)" % i)
        self.differ(script, ("alice", "pw-alice"), "structure")

    def test_fetch_sections_whole_corpus(self):
        n = len(self.corpus)
        shapes = diffkit.structures(self.pair.duomail.port("imap"), ("alice", "pw-alice"), n)
        script = ["EXAMINE INBOX"]
        for i in range(1, n + 1):
            # every section this message has, as the structure says
            # (identical on both, test_fetch_structure_whole_corpus)
            paths = diffkit.section_paths(shapes[i])
            items = ["BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[]", "BODY.PEEK[1]"]
            items += ["BODY.PEEK[%s]" % p for p in paths if p != "1"]
            script.append("FETCH %d (%s)" % (i, " ".join(items)))
            script.append("FETCH %d (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE X-Empty)] "
                          "BODY.PEEK[HEADER.FIELDS.NOT (TO CC MESSAGE-ID)] "
                          "BODY.PEEK[]<0.100> BODY.PEEK[TEXT]<7.33> BODY.PEEK[1]<2.10> "
                          "BODY.PEEK[]<100000.10> RFC822.HEADER RFC822.SIZE)" % i)
            if "2" in paths:
                script.append("FETCH %d (BODY.PEEK[2.MIME]<3.20> BODY.PEEK[2]<0.1>)" % i)
        self.differ(script, ("alice", "pw-alice"), "sections")

    def test_search_whole_corpus(self):
        keys = [
            "ALL", "SUBJECT report", "SUBJECT \"r\xe9union\"", "SUBJECT Re:",
            "FROM alice", "FROM \"Erin O'Brien\"", "FROM example.org", "TO bob", "CC carol",
            "BCC friends", "HEADER X-Priority 3", "HEADER X-Mailer \"\"", "HEADER Message-ID 0.",
            "BODY invoice", "BODY \"caf\xe9\"", "TEXT budget", "TEXT \"na\xefve\"",
            "BODY bravo", "LARGER 1000", "SMALLER 500", "LARGER 3000",
            "SENTBEFORE 1-Jun-2025", "SENTSINCE 1-Jun-2025", "SENTON 13-Oct-2025",
            "BEFORE 2-Jan-2026", "SINCE 3-Jan-2026", "ON 2-Jan-2026",
            "OR SUBJECT report FROM bob", "NOT SUBJECT report", "NOT NOT FROM alice",
            "OR OR TO bob TO carol NOT LARGER 800", "(FROM alice SUBJECT draft)",
            "UNSEEN", "SEEN", "NEW", "OLD", "RECENT", "ANSWERED", "UNANSWERED", "DELETED",
            "UNDELETED", "FLAGGED", "UNFLAGGED", "DRAFT", "UNDRAFT", "KEYWORD $Forwarded",
            "UNKEYWORD $Forwarded", "1:10", "5,7,9:*", "UID 3:20", "UID 1:*", "*",
            "1:* NOT 2:5", "CHARSET UTF-8 SUBJECT \xe6\x97\xa5\xe6\x9c\xac",
            "CHARSET UTF-8 FROM M\xc3\xbcller", "CHARSET US-ASCII BODY golf",
            "HEADER Content-Type multipart", "HEADER content-transfer-encoding base64",
            "TEXT Content-Type", "BODY Content-Type", "SUBJECT \"\"", "FROM <alice",
        ]
        script = ["EXAMINE INBOX"] + ["SEARCH " + k for k in keys] \
            + ["UID SEARCH " + k for k in keys[:20]]
        # literal forms of a search string (RFC 3501 §4.3)
        script.append("SEARCH CHARSET UTF-8 BODY {5}\r\ncaf\xc3\xa9")
        script.append("SEARCH SUBJECT {6}\r\nreport")
        convs = self.differ([s.encode("latin-1") if "\xc3" in s or "\xe6" in s else s
                             for s in script], ("alice", "pw-alice"), "search")
        # BODY: duomail also searches headers inside the body (attached
        # messages, MIME headers), Dovecot text only; so duomail finds at
        # least what Dovecot finds (known-differences: search-body-scope)
        for (step, d_lines), (_, m_lines) in zip(*convs):
            if "BODY " not in step:
                continue
            found = [set(l.split()[2:]) for lines in (d_lines, m_lines) for l in lines
                     if l.startswith("* SEARCH")]
            self.assertEqual(len(found), 2, step)
            self.assertLessEqual(found[0], found[1], step)

    # ---- every command, extension and error case ----

    def test_capability_sets(self):
        # the CAPABILITY lines differ as whole lines (known-differences);
        # here, what duomail announces beyond Dovecot is exactly what
        # Dovecot (in this configuration) lacks: QUOTA
        def caps(srv, login):
            conv = diffkit.converse_imap(srv.port("imap"), ["CAPABILITY"], login)
            line = [l for l in conv[-1][1] if l.startswith("* CAPABILITY")][0]
            return set(line.split()[2:])
        for login, extra in ((None, set()),
                             (("carol", "pw-carol"),
                              {"QUOTA", "QUOTA=RES-MESSAGE", "QUOTA=RES-STORAGE"})):
            dovecot, duomail = (caps(s, login) for s in self.pair.servers)
            self.assertEqual(duomail - dovecot, extra, (login, duomail, dovecot))
            self.assertIn("IMAP4REV1", duomail)

    def test_not_authenticated(self):
        # RFC 3501 §6.1, §6.2; SASL-IR (RFC 4959); AUTH=LOGIN; ID (RFC 2971)
        plain = base64.b64encode(b"\0carol\0pw-carol").decode()
        # (two wrong-state commands only: Dovecot's login process closes
        # after three, duomail after 20, RFC 3501 §7.1.5 lets both)
        script = ["CAPABILITY", "NOOP", "SELECT INBOX", "FETCH 1 FLAGS",
                  'LOGIN carol wrong', 'LOGIN "carol" {8}\r\npw-carol', "LOGOUT"]
        self.differ(script, None, "nonauth-login-literal")
        self.differ([("auth", "AUTHENTICATE PLAIN " + plain, []), "CAPABILITY", "LOGOUT"],
                    None, "nonauth-sasl-ir")
        self.differ([("auth", "AUTHENTICATE PLAIN", [plain]), "LOGOUT"], None, "nonauth-plain")
        self.differ([("auth", "AUTHENTICATE LOGIN",
                      [base64.b64encode(b"carol").decode(),
                       base64.b64encode(b"pw-carol").decode()]), "NOOP", "LOGOUT"],
                    None, "nonauth-login-mech")
        self.differ([("auth", "AUTHENTICATE PLAIN", ["*"]),
                     ("auth", "AUTHENTICATE PLAIN", ["!!notbase64"]),
                     ("auth", "AUTHENTICATE X-UNKNOWN", []), "LOGIN", "LOGIN a",
                     'LOGIN "car\\"ol" x', "LOGOUT"], None, "nonauth-errors")

    def test_folders(self):
        # RFC 3501 §6.3: CREATE, DELETE, RENAME, SUBSCRIBE, LIST, LSUB,
        # STATUS; NAMESPACE (RFC 2342), CHILDREN (RFC 3348), SPECIAL-USE
        script = [
            'LIST "" ""', 'LIST "" *', 'LIST "" %', "LSUB \"\" *", "NAMESPACE",
            "CREATE Projects", "CREATE Projects/2026", 'CREATE "Projects/with space"',
            'CREATE "Caf&AOk-"', "CREATE INBOX", "CREATE Projects", 'LIST "" Projects*',
            'LIST "" "Projects/%"', 'LIST Projects %', "SUBSCRIBE Projects/2026",
            "LSUB \"\" Projects*", "UNSUBSCRIBE Projects/2026", "LSUB \"\" Projects*",
            "RENAME Projects/2026 Projects/2027", "RENAME Nonexistent Other",
            "RENAME Projects/2027 Projects", 'LIST "" *',
            "STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN UIDVALIDITY)",
            "STATUS Projects (MESSAGES)", "STATUS Nonexistent (MESSAGES)",
            "STATUS INBOX (BOGUS)", "DELETE \"Projects/with space\"", "DELETE Projects/2027",
            "DELETE Nonexistent", "DELETE INBOX", 'LIST "" *', "lIsT \"\" \"*\"",
            "SELECT Nonexistent", "EXAMINE Nonexistent", "ENABLE X-NOTHING",
        ]
        self.differ(script, ("carol", "pw-carol"), "folders")

    def test_selected_state(self):
        # RFC 3501 §6.4: SELECT, FETCH, STORE, COPY, SEARCH, EXPUNGE, CLOSE,
        # the UID forms; UIDPLUS (RFC 4315), MOVE (RFC 6851), UNSELECT
        # (RFC 3691), IDLE (RFC 2177), LITERAL+ (RFC 7888)
        msg = b"From: x@example.org\r\nSubject: appended\r\n\r\nhello\r\n"
        script = [
            "SELECT INBOX", "FETCH 1:* (FLAGS UID RFC822.SIZE)", "FETCH 1 FAST", "FETCH 2 ALL",
            "FETCH 3 FULL", "FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])", "FETCH 1 FLAGS",
            "STORE 1 +FLAGS (\\Flagged)", "STORE 1:2 -FLAGS.SILENT (\\Seen)",
            "STORE 2 FLAGS ($Forwarded \\Answered)", "STORE 3 +FLAGS.SILENT (Junk)",
            "FETCH 1:4 FLAGS", "UID FETCH 1:* (FLAGS)", "UID STORE 4 +FLAGS (\\Deleted)",
            "SEARCH DELETED", "SEARCH KEYWORD Junk", "UID SEARCH FLAGGED",
            "COPY 1:2 Archive", "UID COPY 3 Archive", "COPY 1 Nonexistent",
            "MOVE 5 Trash", "UID MOVE 7 Trash", "FETCH 1:* UID", "EXPUNGE",
            "FETCH 1:* (UID FLAGS)", "STATUS Archive (MESSAGES UIDNEXT)",
            b"APPEND INBOX (\\Draft) \"05-Mar-2026 10:00:00 +0100\" {%d+}\r\n" % len(msg) + msg,
            b"APPEND INBOX {%d}\r\n" % len(msg) + msg,
            b"APPEND Nonexistent {%d+}\r\n" % len(msg) + msg,
            "NOOP", "FETCH 1:* (UID FLAGS INTERNALDATE)", "UID EXPUNGE 1:*",
            "STORE 1 +FLAGS (\\Deleted)", "UID EXPUNGE 1", "CHECK", ("idle",),
            "UNSELECT", "FETCH 1 FLAGS", "EXAMINE Archive", "FETCH 1:* (FLAGS UID)",
            "STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "CLOSE", "SELECT Trash",
            "STORE 1:* +FLAGS (\\Deleted)", "CLOSE", "STATUS Trash (MESSAGES)",
        ]
        self.differ(script, ("bob", "pw-bob"), "selected")

    def test_errors_and_odd_syntax(self):
        # bad syntax and bad sequence sets get BAD (RFC 3501 §6, §9),
        # wrong-state commands BAD or NO; odd but legal forms work
        script = [
            "FETCH 1 FLAGS", "SELECT INBOX", "FETCH 0 FLAGS", "FETCH 99 FLAGS", "FETCH 1:99 FLAGS",
            "FETCH * FLAGS", "FETCH 2:1 (UID)", "FETCH 1,3:2,* UID", "FETCH 1 FOO",
            "FETCH 1 (FLAGS", "FETCH 1", "FETCH x FLAGS", "UID FETCH 999 FLAGS",
            "UID FETCH 0:* UID", "STORE 1 +FLAGS (\\Recent)", "STORE 1 FOO (\\Seen)",
            "SEARCH FOO", "SEARCH", "SEARCH 99", "SEARCH CHARSET X-BOGUS ALL",
            "SEARCH UNDELETED (", "COPY 99 Archive", "UNKNOWN", "fEtCh 1 (fLaGs uId)",
            "uid fetch 1:* flags", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (\"SUBJECT\" From)])",
            "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]<0.5>",
            "FETCH 1 (BODY.PEEK[HEADER.FIELDS ({7}\r\nSubject FROM)] UID)",
        ]
        self.differ(script, ("bob", "pw-bob"), "errors")
        # a second session: a server may close after many bad commands
        # (RFC 3501 §7.1.5), and the two count differently
        script = [
            "SELECT INBOX", 'SEARCH SUBJECT {3+}\r\nthe', "SEARCH  ALL", "NOOP ", 'CREATE "a\\"q"',
            'LIST "" "a\\"q"', 'DELETE "a\\"q"', b'SEARCH SUBJECT "caf\xc3\xa9"',
            "SEARCH OR OR SEEN UNSEEN DELETED", "SEARCH NOT (OR 1 2)", "SEARCH 1:*",
            "SEARCH UID 2:1", "CLOSE", "CLOSE", "EXPUNGE", "UNSELECT",
        ]
        self.differ(script, ("bob", "pw-bob"), "errors2")

    def test_two_sessions(self):
        # what one session learns of another's changes (RFC 3501 §7.3.1,
        # §7.4.1, §5.2): new mail, flag changes, expunges, in NOOP, in
        # IDLE (RFC 2177) and in FETCH (EXPUNGE is held back, §7.4.1)
        msg = b"From: y@example.org\r\nSubject: from session 1\r\n\r\nbody\r\n"
        append = b"APPEND INBOX (\\Seen) \"07-Mar-2026 08:00:00 +0000\" {%d+}\r\n" % len(msg) + msg
        script = [
            (0, "SELECT INBOX"), (1, "SELECT INBOX"), (1, append), (0, "NOOP"),
            (1, "STORE 1 +FLAGS (\\Flagged)"), (0, "NOOP"), (0, "FETCH 1 FLAGS"),
            (1, "STORE 2 +FLAGS.SILENT (\\Deleted)"), (1, "EXPUNGE"), (0, ("sleep", 1.0)),
            (0, "FETCH 1:* UID"),
            (0, "STORE 1 -FLAGS (\\Flagged)"), (0, "SEARCH ALL"), (0, "NOOP"),
            (1, "NOOP"), (1, "STATUS Archive (MESSAGES)"), (1, "COPY 1 Archive"),
            (0, "STATUS Archive (MESSAGES UIDNEXT)"), (1, "MOVE 1 Trash"), (0, "NOOP"),
            (0, ("idle",)), (1, "SELECT INBOX"),
            (0, ("idle_during", 1, append, rb"EXISTS")),
            (0, ("idle_during", 1, "STORE 1 +FLAGS (\\Answered)", rb"FETCH")),
            (1, "STORE 1 +FLAGS.SILENT (\\Deleted)"),
            (0, ("idle_during", 1, "EXPUNGE", rb"EXPUNGE")),
            (1, "UNSELECT"), (0, "CLOSE"), (1, "SELECT Trash"),
            (1, "FETCH 1:* (FLAGS UID)"),
        ]
        convs = [diffkit.converse_imap_sessions(s.port("imap"), script,
                                                [("dave", "pw-dave")] * 2)
                 for s in self.pair.servers]
        problems, excused = diffkit.compare("imap sessions", convs[0], convs[1], self.known)
        if problems:
            self.fail("%d differences not in known-differences (%d excused):\n%s" % (
                len(problems), excused, "\n".join(problems[:200])))

    def test_tls(self):
        # imaps and STARTTLS (RFC 3501 §6.2.1, RFC 8314): the same answers
        # over TLS; STARTTLS again, or after login, is refused
        ctx = self.pair.duomail.client_tls_context()
        convs = [diffkit.converse_imap(s.port("imaps"), ["CAPABILITY", "NOOP", "STARTTLS"],
                                       ("carol", "pw-carol"), tls=ctx)
                 for s in self.pair.servers]
        problems, _ = diffkit.compare("imap imaps", convs[0], convs[1], self.known)
        self.assertEqual(problems, [], "\n".join(problems))
        script = [("starttls", ctx), "CAPABILITY", ("starttls", ctx),
                  'LOGIN "carol" "pw-carol"', "SELECT INBOX", ("starttls", ctx)]
        self.differ(script, None, "starttls")

    def test_quota_and_id(self):
        # QUOTA (RFC 9208) and ID (RFC 2971) after login
        self.differ(["GETQUOTAROOT INBOX", "GETQUOTA \"\"", 'ID ("name" "peer-test")', "ID NIL"],
                    ("carol", "pw-carol"), "quota-id")


if __name__ == "__main__":
    unittest.main()
