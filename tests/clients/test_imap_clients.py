"""Real IMAP clients against the running server: curl (imap://, imaps://,
STARTTLS, upload), mbsync (isync) and offlineimap3 syncing a mailbox both
ways (new mail, flags, deletions, folders), and mutt reading mail through a
terminal.  Each checks the result on both sides: what the client holds and
what the server's Maildir holds."""
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

import duotest
from clientlib import MESSAGES, read_maildir
from duoimap import RawImap


def crlf(b):
    return b.replace(b"\n", b"\r\n")


def maildir_files(path):
    """name -> flags letters of a local Maildir's messages."""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for n in os.listdir(d):
                out[os.path.join(d, n)] = n.split(":2,", 1)[1] if ":2," in n else ""
    return out


def subject_of(path):
    with open(path, "rb") as f:
        m = re.search(rb"^Subject: (.*?)\r?$", f.read(8192), re.M)
    return m.group(1).decode() if m else None


def by_subject(path):
    """Subject -> flag letters for a local Maildir."""
    return {subject_of(p): fl for p, fl in maildir_files(path).items()}


def set_local_flags(path, subject, letters):
    for p in maildir_files(path):
        if subject_of(p) == subject:
            base = os.path.basename(p).split(":2,", 1)[0]
            os.rename(p, os.path.join(os.path.dirname(os.path.dirname(p)), "cur",
                                      base + ":2," + "".join(sorted(letters))))
            return
    raise AssertionError("no local message %r" % subject)


def remove_local(path, subject):
    for p in maildir_files(path):
        if subject_of(p) == subject:
            os.unlink(p)
            return
    raise AssertionError("no local message %r" % subject)


def add_local(path, name, data):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    tmp = os.path.join(path, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(path, "new", name))


class ImapClientTest(unittest.TestCase):
    def setUp(self):
        self.server = duotest.Server(users={"alice": "secret"}, listen=("imap", "imaps"))
        self.server.start()
        for m in MESSAGES:
            self.assertEqual(self.server.deliver("alice", m), 0)
        self.home = tempfile.mkdtemp(prefix="duomail-client-")

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def server_subjects(self, folder=""):
        return {subject_of(p): fl for p, fl in
                ((p, os.path.basename(p).split(":2,", 1)[1] if ":2," in p else "")
                 for p in self.server.message_files("alice", folder))}


class TestCurl(ImapClientTest):
    def curl(self, url, *extra, tls=False, check=True):
        args = ["curl", "-sS", "--max-time", "30"]
        if tls:
            args += ["--cacert", self.server.cert]
        r = subprocess.run(args + list(extra) + [url], capture_output=True, timeout=60)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_list_fetch_search(self):
        base = "imap://alice:secret@127.0.0.1:%d/" % self.server.port("imap")
        listing = self.curl(base).stdout
        names = re.findall(rb'^\* LIST \([^)]*\) "/" "?([^"\r]*)"?\r$', listing, re.M)
        for name in (b"INBOX", b"Sent", b"Trash"):
            self.assertIn(name, names)
        for i, m in enumerate(MESSAGES, 1):
            self.assertEqual(self.curl(base + "INBOX;UID=%d" % i).stdout, crlf(m))
        # a section: curl's ;SECTION= is BODY[section]
        got = self.curl(base + "INBOX;UID=2;SECTION=TEXT").stdout
        self.assertEqual(got, crlf(MESSAGES[1].split(b"\n\n", 1)[1]))
        found = self.curl(base + "INBOX?SUBJECT%20three").stdout
        self.assertEqual(found.strip(), b"* SEARCH 3")
        # EXAMINE-style reads leave \Seen alone only with PEEK; curl uses
        # BODY[], so the fetched messages are \Seen now (RFC 3501 §6.4.5)
        self.assertEqual(sorted(self.server_subjects().values()), ["S", "S", "S"])

    def test_imaps_and_starttls(self):
        got = self.curl("imaps://alice:secret@localhost:%d/INBOX;UID=1" % self.server.port("imaps"),
                        tls=True).stdout
        self.assertEqual(got, crlf(MESSAGES[0]))
        got = self.curl("imap://alice:secret@localhost:%d/INBOX;UID=3" % self.server.port("imap"),
                        "--ssl-reqd", tls=True).stdout
        self.assertEqual(got, crlf(MESSAGES[2]))

    def test_upload_appends(self):
        path = os.path.join(self.home, "up.eml")
        data = b"From: up@example.test\r\nSubject: uploaded\r\n\r\nhello\r\n"
        with open(path, "wb") as f:
            f.write(data)
        base = "imap://alice:secret@127.0.0.1:%d/" % self.server.port("imap")
        self.curl(base + "Sent", "-T", path)
        files = self.server.message_files("alice", ".Sent")
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            self.assertEqual(f.read(), data)

    def test_wrong_password(self):
        r = self.curl("imap://alice:wrong@127.0.0.1:%d/" % self.server.port("imap"), check=False)
        self.assertEqual(r.returncode, 67)   # curl: login denied


class TestMbsync(ImapClientTest):
    def mbsync(self, *channels):
        local = os.path.join(self.home, "mail")
        os.makedirs(local, exist_ok=True)
        rc = os.path.join(self.home, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("""IMAPAccount test
Host localhost
Port %d
User alice
Pass secret
SSLType IMAPS
CertificateFile %s

IMAPStore remote
Account test

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
""" % (self.server.port("imaps"), self.server.cert, local, local))
        r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, timeout=120,
                           cwd=self.home, env=dict(os.environ, HOME=self.home))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return local

    def test_sync_both_ways(self):
        local = self.mbsync()
        inbox = os.path.join(local, "INBOX")
        # mbsync marks what it copies with an X-TUID header of its own
        got = [re.sub(rb"^X-TUID: .*\n", b"", m, flags=re.M) for m in read_maildir(inbox)]
        self.assertEqual(sorted(got), sorted(MESSAGES))
        self.assertTrue(os.path.isdir(os.path.join(local, "Sent")))
        # near side: mark one read and flagged, delete one, write a new one
        set_local_flags(inbox, "client test one", "FS")
        remove_local(inbox, "client test two")
        add_local(inbox, "1.local.host", b"From: me@example.test\nSubject: written here\n\nhi\n")
        # far side: new mail arrives meanwhile
        self.assertEqual(self.server.deliver("alice", b"Subject: arrived later\n\nnew\n"), 0)
        self.mbsync()
        srv = self.server_subjects()
        self.assertEqual(srv.get("client test one"), "FS")
        self.assertNotIn("client test two", srv)
        self.assertIn("written here", srv)
        self.assertIn("arrived later", by_subject(inbox))
        # a folder made on the server reaches the client, and back again
        add_local(os.path.join(local, "Work"), "2.local.host", b"Subject: in work\n\nw\n")
        self.mbsync()
        self.assertEqual(list(self.server_subjects(".Work")), ["in work"])
        # nothing changes on a sync with nothing to do
        before = (self.server_subjects(), by_subject(inbox))
        self.mbsync()
        self.assertEqual((self.server_subjects(), by_subject(inbox)), before)


class TestOfflineimap(ImapClientTest):
    def offlineimap(self):
        local = os.path.join(self.home, "mail")
        rc = os.path.join(self.home, "offlineimaprc")
        with open(rc, "w") as f:
            f.write("""[general]
accounts = test
metadata = %s/meta

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
type = IMAP
remotehost = localhost
remoteport = %d
remoteuser = alice
remotepass = secret
ssl = yes
sslcacertfile = %s
""" % (self.home, local, self.server.port("imaps"), self.server.cert))
        r = subprocess.run(["offlineimap", "-c", rc, "-o", "-u", "basic"], capture_output=True,
                           timeout=180, cwd=self.home, env=dict(os.environ, HOME=self.home))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(b"ERROR", r.stdout + r.stderr)
        return local

    def test_sync_both_ways(self):
        local = self.offlineimap()
        inbox = os.path.join(local, "INBOX")
        self.assertEqual(sorted(m.split(b"\n", 1)[1] if m.startswith(b"X-OfflineIMAP") else m
                                for m in read_maildir(inbox)), sorted(MESSAGES))
        set_local_flags(inbox, "client test three", "RS")
        remove_local(inbox, "client test one")
        add_local(inbox, "1.local.host", b"From: me@example.test\nSubject: offline new\n\nhi\n")
        self.assertEqual(self.server.deliver("alice", b"Subject: later\n\nnew\n"), 0)
        self.offlineimap()
        srv = self.server_subjects()
        self.assertEqual(srv.get("client test three"), "RS")
        self.assertNotIn("client test one", srv)
        self.assertIn("offline new", srv)
        self.assertIn("later", by_subject(inbox))
        # folders both ways: one made on the server, one made locally
        self.assertEqual(self.server.deliver("alice", b"Subject: for archive\n\nx\n"), 0)
        imap = RawImap(self.server.port("imap"))
        imap.login("alice", "secret")
        imap.ok("CREATE Projects")
        imap.ok("SELECT INBOX")
        imap.ok("UID MOVE 1:* Projects")
        imap.close()
        add_local(os.path.join(local, "Local"), "3.local.host", b"Subject: made here\n\nl\n")
        self.offlineimap()
        self.assertIn("for archive", by_subject(os.path.join(local, "Projects")))
        self.assertEqual(list(self.server_subjects(".Local")), ["made here"])


class TestMutt(ImapClientTest):
    def run_in_terminal(self, args, timeout=60):
        """Runs a full-screen program on a pseudo-terminal until it exits."""
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["TERM"] = "xterm"
            os.environ["HOME"] = self.home
            os.execvp(args[0], args)
        out = b""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    out += chunk
        finally:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(fd)
        return out

    def test_mutt_reads_and_saves(self):
        """mutt opens the INBOX over IMAPS, pipes message 2 to a file and
        copies message 3 into the Archive folder, then quits."""
        out = os.path.join(self.home, "piped.eml")
        rc = os.path.join(self.home, "muttrc")
        with open(rc, "w") as f:
            f.write("""set folder="imaps://alice@localhost:%d/"
set imap_pass="secret"
set spoolfile="+INBOX"
set ssl_ca_certificates_file="%s"
set certificate_file="%s/certs"
set header_cache=""
set message_cachedir=""
set wait_key=no
set confirmappend=no
set pipe_decode=no
set mark_old=no
set move=no
set sort=date-sent
""" % (self.server.port("imaps"), self.server.cert, self.home))
        keys = ('push "<next-entry><pipe-message>cat > %s<enter>'
                '<next-entry><copy-message>=Archive<enter><quit>"') % out
        screen = self.run_in_terminal(["mutt", "-n", "-F", rc, "-e", keys])
        self.assertTrue(os.path.exists(out), screen[-3000:])
        with open(out, "rb") as f:
            piped = f.read().replace(b"\r\n", b"\n")
        self.assertIn(b"Subject: client test two", piped)
        self.assertIn(b"second", piped)
        self.assertEqual([subject_of(p) for p in self.server.message_files("alice", ".Archive")],
                         ["client test three"])


if __name__ == "__main__":
    unittest.main()
