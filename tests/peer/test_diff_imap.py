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
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffkit  # noqa: E402
import peer  # noqa: E402

USERS = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol"}
CORPUS_SEED, CORPUS_SIZE = 6, 80


class DiffImapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pair = peer.Pair(USERS)
        cls.pair.start()
        cls.corpus = peer.generate_corpus(CORPUS_SEED, CORPUS_SIZE)
        peer.append_to_both(cls.pair.servers, "alice", "pw-alice", cls.corpus)
        peer.append_to_both(cls.pair.servers, "bob", "pw-bob", cls.corpus[:8])
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
        self.differ([s.encode("latin-1") if "\xc3" in s or "\xe6" in s else s
                     for s in script], ("alice", "pw-alice"), "search")


if __name__ == "__main__":
    unittest.main()
