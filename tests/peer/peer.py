"""Side by side with Dovecot: start Debian's Dovecot and duomail next to each
other on loopback, with one passwd-file and one generated mail corpus.

Standard library only (run with Debian's /usr/bin/python3).  Used by the
differential tests here (tests/peer/test_diff_*.py), by the load benchmarks
(tests/bench) and by the Maildir import tests (a Maildir written by a real
Dovecot).

API
---
    ensure_dovecot()                 installs dovecot-imapd/-pop3d/-lmtpd if missing
                                     (root only; else raises DovecotMissing)
    make_users(path, {name: pw}, plain=())  writes one passwd-file (SHA512-CRYPT,
                                     {PLAIN} for names in plain) both servers read
    generate_corpus(seed, n)         -> [bytes]: n deterministic RFC 5322/MIME messages
    d = Dovecot(tmpdir, passwd_file, mail_root)
    m = Duomail(tmpdir, passwd_file, mail_root)
        .start() / .stop() / .ports {"imap", "imaps", "pop3", "pop3s", "lmtp"}
        .pids() (master and children)  .log_text()  .maildir(user)
    Pair(users, tmpdir=None, plain_users=())  both servers in one temporary folder
                                     (context manager); plain_users stored {PLAIN} (APOP)
    deliver_lmtp(port, rcpt, msg)    one LMTP transaction -> [reply lines]
    deliver_to_both(servers, user, messages)      over LMTP (servers add trace headers)
    append_to_both(servers, user, pw, messages)   over IMAP APPEND, byte for byte with a
                                     fixed INTERNALDATE (what the corpus comparisons use)

Dovecot runs unprivileged, with everything in the temporary folder:
`dovecot -F -c TMP/dovecot.conf`; base_dir, state_dir, the log and the mail are
under TMP, nothing under /etc/dovecot or /var is read or written.  Run by a
normal user, Dovecot runs as that user (all services, login and mail
processes alike, chroot off).  Run by root (CI), the harness first drops to
the `dovecot` system account the package created and runs the same way, so
the mail it writes belongs to that account, never to root.

Choices that make the two comparable (each also in the config comments):
- passdb and userdb from the same passwd-file, scheme SHA512-CRYPT; the
  userdb gives every user the run's uid/gid and home ROOT/USER.
- mail_location = maildir:~ : Maildir++ in ROOT/USER, folders ROOT/USER/.a.b,
  the layout duomail uses (separate roots per server).
- pop3_uidl_format = %f : the Maildir base name, as duomail's UIDLs are.
- auth_mechanisms = plain login apop: duomail's SASL mechanisms for this
  passwd-file (it offers CRAM-MD5 and SCRAM only when every user can use
  them, and these users mostly have crypt hashes), and APOP
  (RFC 1939 §7), which duomail always offers for {PLAIN} users; loopback
  counts as secure on both, so plaintext logins are allowed.
- ssl = yes with the same certificate as duomail, so both announce STARTTLS/STLS.
- hostname test.example on both.
- namespace inbox with separator "/" and the folders a new duomail account
  starts with (Sent, Drafts, Trash, Junk, Archive: auto = subscribe, with
  their special_use), so LIST and LSUB compare.
- Dovecot's LMTP Received header stays on (lmtp_add_received_header = yes, its
  default), since duomail also adds one.
"""
import os
import pwd
import grp
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duotest  # noqa: E402

DOVECOT_PACKAGES = ("dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd")
DOVECOT_BIN = os.environ.get("DOVECOT_BIN", "/usr/sbin/dovecot")
HOSTNAME = "test.example"
MIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mime")


class DovecotMissing(Exception):
    pass


def _installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return "install ok installed" in r.stdout


def ensure_dovecot():
    """Installs Debian's Dovecot packages when one is missing.  Root only;
    raises DovecotMissing otherwise.  The package's own service is not
    started by the harness (and policy-rc.d in containers keeps apt from
    starting it); nothing of its system config is used."""
    missing = [p for p in DOVECOT_PACKAGES if not _installed(p)]
    if not missing and os.access(DOVECOT_BIN, os.X_OK):
        return
    if os.geteuid() != 0:
        raise DovecotMissing("install %s (as root)" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
                           + missing, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        raise DovecotMissing("apt-get install %s failed: %s" % (" ".join(missing), r.stderr))


def make_users(path, users, scheme="SHA512-CRYPT", plain=()):
    """Writes a passwd-file both servers read: name -> password, stored as
    {scheme} hashes made by `duomail pw`, or as {PLAIN} for the names in
    plain (APOP needs the password itself, RFC 1939 §7).  World-readable,
    since the Dovecot side reads it as an unprivileged account."""
    lines = ["# users of both servers (tests/peer)"]
    for name, pw_ in users.items():
        stored = "{PLAIN}" + pw_ if name in plain else duotest.hash_password(pw_, scheme)
        lines.append("%s:%s" % (name, stored))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)
    return path


def _tree_pids(root_pid):
    """root_pid and all of its descendants that are alive."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _run_account():
    """(user, uid, gid) the Dovecot processes run as: ourselves, or the
    package's unprivileged `dovecot` account when we are root."""
    if os.geteuid() != 0:
        pw_ = pwd.getpwuid(os.geteuid())
        return pw_.pw_name, pw_.pw_uid, os.getegid()
    pw_ = pwd.getpwnam("dovecot")
    return pw_.pw_name, pw_.pw_uid, pw_.pw_gid


class Dovecot:
    """Debian's Dovecot as an unprivileged process on free loopback ports.

    tmpdir: a folder for its config, runtime files and log (made if missing);
    passwd_file: shared passwd-file; mail_root: USER's Maildir++ is
    mail_root/USER.  extra_config: text appended to dovecot.conf."""

    KINDS = ("imap", "imaps", "pop3", "pop3s", "lmtp")

    def __init__(self, tmpdir, passwd_file, mail_root, extra_config=""):
        ensure_dovecot()
        self.dir = os.path.abspath(tmpdir)
        self.passwd = os.path.abspath(passwd_file)
        self.root = os.path.abspath(mail_root)
        self.extra_config = extra_config
        self.user, self.uid, self.gid = _run_account()
        self.group = grp.getgrgid(self.gid).gr_name
        self.config_path = os.path.join(self.dir, "dovecot.conf")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.ports = {}
        self.proc = None
        for d in (self.dir, self.root, os.path.join(self.dir, "run"),
                  os.path.join(self.dir, "state")):
            os.makedirs(d, exist_ok=True)
        cert, key = duotest.test_certificate()
        # Copies: the originals sit in a folder only their creator reads.
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        shutil.copyfile(cert, self.cert)
        shutil.copyfile(key, self.key)
        if os.geteuid() == 0:
            for d in (self.dir, self.root):
                self._chown_tree(d)
            os.chmod(self.dir, 0o755)
            # Every folder above mail_root and tmpdir must be passable.
            for d in (self.dir, self.root):
                parent = os.path.dirname(d)
                while parent not in ("/", ""):
                    st = os.stat(parent)
                    if not st.st_mode & 0o001:
                        os.chmod(parent, st.st_mode | 0o711)
                    parent = os.path.dirname(parent)

    def _chown_tree(self, top):
        os.chown(top, self.uid, self.gid)
        for base, dirs, files in os.walk(top):
            for n in dirs + files:
                os.lchown(os.path.join(base, n), self.uid, self.gid)

    def _config(self):
        p = self.ports
        return """# Written by tests/peer/peer.py: a Dovecot of its own, unprivileged,
# everything under {dir}; /etc/dovecot is not read.
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = duomail-peer-{uid}-{port}
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
hostname = {host}
postmaster_address = postmaster@{host}
# one account for every process: no root, no privilege separation
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid_min}
last_valid_uid = 0
first_valid_gid = 0
mail_privileged_group =
mail_access_groups =
# same users as duomail (the same passwd-file), same hash scheme
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/%u
}}
auth_mechanisms = plain login apop
# no 2 s wait after a failed login (duotest turns duomail's penalty off too)
auth_failure_delay = 0
# loopback counts as secure in both servers
disable_plaintext_auth = yes
# Maildir++ at ROOT/USER, like duomail's [store] root
mail_location = maildir:~
# UIDL = the Maildir base name, as in duomail
pop3_uidl_format = %f
# IDLE: besides inotify, look every second (duomail pushes at once; a
# loaded machine must not make the comparison wait for Dovecot's 30 s)
mailbox_idle_check_interval = 1 secs
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service anvil {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service managesieve-login {{
  chroot =
}}
# the folders and hierarchy separator a new duomail account has (RFC 6154)
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    auto = subscribe
    special_use = \\Sent
  }}
  mailbox Drafts {{
    auto = subscribe
    special_use = \\Drafts
  }}
  mailbox Trash {{
    auto = subscribe
    special_use = \\Trash
  }}
  mailbox Junk {{
    auto = subscribe
    special_use = \\Junk
  }}
  mailbox Archive {{
    auto = subscribe
    special_use = \\Archive
  }}
}}
protocol lmtp {{
  # RCPT user@domain -> user, as duomail's LMTP does
  auth_username_format = %Ln
}}
{extra}
""".format(dir=self.dir, uid=self.uid, gid=self.gid, user=self.user, group=self.group,
           uid_min=min(self.uid, 500), passwd=self.passwd, root=self.root, host=HOSTNAME,
           cert=self.cert, key=self.key, port=p["imap"], extra=self.extra_config, **p)

    def _preexec(self):
        os.setsid()
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)
        # after setuid, which clears the parent-death signal (prctl(2))
        duotest._die_with_parent()

    def start(self):
        for attempt in range(4):
            self.ports = {k: duotest.free_port() for k in self.KINDS}
            with open(self.config_path, "w") as f:
                f.write(self._config())
            os.chmod(self.config_path, 0o644)
            if self._start():
                return self
        raise RuntimeError("dovecot did not start:\n" + self.log_text()[-5000:])

    def _start(self):
        if os.geteuid() == 0 and os.path.exists(self.log_path):
            os.chown(self.log_path, self.uid, self.gid)
        self.out = open(os.path.join(self.dir, "dovecot.stderr"), "ab")
        if os.geteuid() == 0:
            os.chown(self.out.name, self.uid, self.gid)
        self.proc = subprocess.Popen([DOVECOT_BIN, "-F", "-c", self.config_path],
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     preexec_fn=self._preexec, cwd=self.dir,
                                     env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        deadline = time.time() + 20
        # The listeners belong to the master; a port another test took in
        # the meantime shows as the master exiting with "Address in use".
        pending = dict(self.ports)
        while pending:
            if self.proc.poll() is not None:
                self.out.close()
                text = self.log_text()
                self.proc = None
                if "Address already in use" in text:
                    return False
                raise RuntimeError("dovecot exited:\n" + text[-5000:])
            for kind, port in list(pending.items()):
                if duotest._listens(self.proc.pid, port):
                    del pending[kind]
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("dovecot did not listen:\n" + self.log_text()[-5000:])
            time.sleep(0.05)
        return True

    def port(self, kind):
        return self.ports[kind]

    def pids(self):
        return _tree_pids(self.proc.pid) if self.proc else []

    def stop(self):
        """SIGTERM to the master (it stops its children), bounded wait."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        code = self.proc.returncode
        self.proc = None
        self.out.close()
        return code

    def log_text(self):
        text = ""
        for name in (self.log_path, os.path.join(self.dir, "dovecot.stderr")):
            try:
                with open(name, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        return text

    def maildir(self, user):
        return os.path.join(self.root, user)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Duomail(duotest.Server):
    """duotest.Server on a given passwd-file and mail root, listening on
    imap, imaps, pop3, pop3s and lmtp; tmpdir holds its config and log."""

    def __init__(self, tmpdir, passwd_file, mail_root, config=None, workers=2,
                 listen=("imap", "imaps", "pop3", "pop3s", "lmtp")):
        merged = {"server": {"hostname": HOSTNAME}}
        for sec, kv in (config or {}).items():
            merged.setdefault(sec, {}).update(kv)
        os.makedirs(mail_root, exist_ok=True)
        super().__init__(config=merged, workers=workers, listen=listen, dir=tmpdir,
                         passwd_file=passwd_file, root=mail_root)

    def pids(self):
        return _tree_pids(self.proc.pid) if self.proc else []


class Pair:
    """Both servers with the same users, in one temporary folder:
    .dovecot, .duomail, .servers (dovecot first), .passwd, .dir."""

    def __init__(self, users, tmpdir=None, duomail_config=None, dovecot_config="",
                 plain_users=()):
        self.own_dir = tmpdir is None
        self.dir = tmpdir or tempfile.mkdtemp(prefix="duomail-peer-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.users = dict(users)
        self.passwd = make_users(os.path.join(self.dir, "users"), self.users,
                                 plain=plain_users)
        self.dovecot = Dovecot(os.path.join(self.dir, "dovecot"), self.passwd,
                               os.path.join(self.dir, "dovecot", "mail"), dovecot_config)
        self.duomail = Duomail(os.path.join(self.dir, "duomail"), self.passwd,
                               os.path.join(self.dir, "duomail", "mail"), duomail_config)
        self.servers = (self.dovecot, self.duomail)

    def start(self):
        self.dovecot.start()
        try:
            self.duomail.start()
        except Exception:
            self.dovecot.stop()
            raise
        return self

    def stop(self, check=True):
        try:
            self.dovecot.stop()
        finally:
            self.duomail.stop(check=check, keep=True)
            if self.own_dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)


# ---- delivery ----

def _reply(f):
    """One (possibly multi-line) SMTP/LMTP reply -> (code, [lines])."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("LMTP server closed; got %r" % lines)
        line = line.rstrip(b"\r\n")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), lines


def deliver_lmtp(port, recipients, message, sender="sender@example.org", host="127.0.0.1",
                 timeout=60):
    """One LMTP transaction (RFC 2033): message (bytes, CRLF) to recipients
    (a name or a list).  Returns the final reply line of each recipient
    accepted at RCPT, or the RCPT reply for one refused.  Raises on a
    protocol failure before DATA."""
    if isinstance(recipients, str):
        recipients = [recipients]
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")
        _reply(f)
        s.sendall(b"LHLO client.example\r\n")
        code, _ = _reply(f)
        if code != 250:
            raise ConnectionError("LHLO: %d" % code)
        s.sendall(b"MAIL FROM:<%s>\r\n" % sender.encode())
        code, lines = _reply(f)
        if code != 250:
            raise ConnectionError("MAIL: %r" % lines)
        results, accepted = [], []
        for r in recipients:
            s.sendall(b"RCPT TO:<%s>\r\n" % r.encode())
            code, lines = _reply(f)
            results.append(lines[-1])
            if code == 250:
                accepted.append(len(results) - 1)
        if not accepted:
            s.sendall(b"QUIT\r\n")
            return results
        s.sendall(b"DATA\r\n")
        code, lines = _reply(f)
        if code != 354:
            raise ConnectionError("DATA: %r" % lines)
        body = message if message.endswith(b"\r\n") else message + b"\r\n"
        # dot-stuffing (RFC 5321 §4.5.2)
        body = re.sub(rb"(?m)^\.", b"..", body)
        s.sendall(body + b".\r\n")
        for i in accepted:
            results[i] = _reply(f)[1][-1]
        s.sendall(b"QUIT\r\n")
        return results


def deliver_to_both(servers, user, messages, sender="sender@example.org"):
    """Delivers every message to user on each server over LMTP, in order.
    Both servers add trace headers (Return-Path, Delivered-To, Received)
    that differ, so stored sizes differ: use append_to_both where bytes
    must match."""
    for srv in servers:
        for msg in messages:
            reply = deliver_lmtp(srv.port("lmtp"), user, msg, sender)
            if not reply[0].startswith(b"250"):
                raise RuntimeError("LMTP to %s: %r" % (type(srv).__name__, reply))


INTERNALDATE_BASE = 1767225600  # 2026-01-01 00:00:00 UTC


def internaldate(i):
    """The INTERNALDATE append_to_both gives message i (one hour apart, +0000)."""
    return time.strftime('"%d-%b-%Y %H:%M:%S +0000"', time.gmtime(INTERNALDATE_BASE + 3600 * i))


def append_to_both(servers, user, password, messages, mailbox="INBOX", flags=""):
    """APPENDs every message to mailbox on each server (RFC 3501 §6.3.11),
    byte for byte, message i with internaldate(i).  flags: e.g. "\\\\Seen"."""
    from duoimap import RawImap
    for srv in servers:
        c = RawImap(srv.port("imap"), timeout=60)
        try:
            c.login(user, password)
            for i, msg in enumerate(messages):
                tag = c.tag()
                c.send(b"%s APPEND %s (%s) %s {%d}\r\n" % (
                    tag.encode(), mailbox.encode(), flags.encode(),
                    internaldate(i).encode(), len(msg)))
                line = c.line()
                if not line.startswith(b"+"):
                    raise RuntimeError("APPEND refused: %r" % line)
                c.send(msg + b"\r\n")
                _, tagged = c.until(tag)
                if b" OK" not in tagged:
                    raise RuntimeError("APPEND to %s: %r" % (type(srv).__name__, tagged))
            c.cmd("LOGOUT")
        finally:
            c.close()


# ---- corpus ----

def _crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


def mime_samples():
    """tests/data/mime messages that are well-formed enough to compare,
    with CRLF line ends (IMAP's wire form)."""
    out = []
    for name in sorted(os.listdir(MIME_DIR)):
        if name.endswith(".eml") and not name.startswith("broken") and name != "huge_header.eml":
            with open(os.path.join(MIME_DIR, name), "rb") as f:
                out.append(_crlf(f.read()))
    return out


_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
          "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
          "zulu invoice meeting report draft urgent budget").split()
_NAMES = (("Alice Example", "alice@example.org"), ("Bob", "bob@example.com"),
          ("Carol \"CJ\" Jones", "carol@example.net"), ("Dave", "dave@sub.example.org"),
          ("Erin O'Brien", "erin@example.org"), (None, "frank@example.com"),
          ("Gr\u00e9goire M\u00fcller", "greg@example.de"), ("\u5f20\u4f1f", "zhang@example.cn"))


def _b64(data):
    import base64
    enc = base64.b64encode(data).decode()
    return "\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def _qp(text):
    import quopri
    lf = text.replace("\r\n", "\n").encode("utf-8")
    return quopri.encodestring(lf).decode().replace("\n", "\r\n")


def _encoded_word(text, rnd):
    import base64
    import quopri
    raw = text.encode("utf-8")
    if rnd.random() < 0.5:
        return "=?UTF-8?B?%s?=" % base64.b64encode(raw).decode()
    q = quopri.encodestring(raw, header=True).decode().replace("\n", "")
    return "=?utf-8?q?%s?=" % q


def _address(rnd, name_addr):
    name, addr = name_addr
    if name is None:
        return addr
    if any(ord(c) > 127 for c in name):
        return "%s <%s>" % (_encoded_word(name, rnd), addr)
    if '"' in name or "'" in name or "." in name:
        return '"%s" <%s>' % (name.replace('"', '\\"'), addr)
    return "%s <%s>" % (name, addr)


def _sentence(rnd, n):
    return " ".join(rnd.choice(_WORDS) for _ in range(n))


def _text(rnd, lines, long_lines=False):
    out = []
    for _ in range(lines):
        out.append(_sentence(rnd, rnd.randint(3, 12)))
    if long_lines:
        out.append(_sentence(rnd, 200))   # a ~1.4 KB line: legal up to 998 is RFC 5322 §2.1.1,
        out[-1] = out[-1][:990]           # so keep it within the limit
    return "\r\n".join(out) + "\r\n"


def _part_text(rnd, subtype="plain"):
    kind = rnd.randint(0, 3)
    if kind == 0:
        return ("Content-Type: text/%s; charset=us-ascii\r\n\r\n" % subtype) + _text(rnd, 4)
    if kind == 1:
        body = _text(rnd, 3) + "Gr\u00fc\u00dfe, Fran\u00e7ois \u2014 \u20ac 100\r\n"
        return ("Content-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: "
                "quoted-printable\r\n\r\n" % subtype) + _qp(body)
    if kind == 2:
        body = _text(rnd, 3) + "na\u00efve caf\u00e9\r\n"
        return ("Content-Type: text/%s; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: "
                "base64\r\n\r\n" % subtype) + _b64(body.encode()) + "\r\n"
    return ("Content-Type: TEXT/%s; CHARSET=ISO-8859-1; format=flowed\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" % subtype.upper()) + _text(rnd, 3) \
        + "8-bit: caf\u00e9 \u00fcber\r\n"


def _attachment(rnd):
    data = bytes(rnd.randrange(256) for _ in range(rnd.randint(10, 600)))
    name = rnd.choice(("report.pdf", "photo.jpg", "data.bin", "notes.txt"))
    ctype = {"report.pdf": "application/pdf", "photo.jpg": "image/jpeg",
             "data.bin": "application/octet-stream", "notes.txt": "text/plain"}[name]
    disp = rnd.choice(('attachment; filename="%s"' % name,
                       "attachment;\r\n filename=%s; size=%d" % (name, len(data)),
                       "inline"))
    extra = ""
    if rnd.random() < 0.3:
        extra += "Content-ID: <part%d@example.org>\r\n" % rnd.randint(1, 999)
    if rnd.random() < 0.3:
        extra += "Content-Description: a %s\r\n" % name
    if rnd.random() < 0.2:
        extra += "Content-Language: en, de\r\n"
    if rnd.random() < 0.2:
        extra += "Content-Location: http://example.org/%s\r\n" % name
    return ("Content-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: %s\r\n%s\r\n" % (ctype, name, disp, extra)) \
        + _b64(data) + "\r\n"


def _odd_part(rnd):
    """MIME header syntax that is legal but unusual (RFC 2045 §5.1, RFC 2231,
    RFC 2183): parameter continuations and charsets, comments, quoted
    pairs, upper case names and values, an empty body, Content-MD5."""
    choice = rnd.randint(0, 6)
    if choice == 0:
        head = ("Content-Type: application/octet-stream;\r\n name*0=\"long file \";\r\n"
                " name*1=\"name.bin\"\r\nContent-Transfer-Encoding: BASE64\r\n"
                "Content-Disposition: ATTACHMENT;\r\n"
                " filename*=utf-8''%E2%82%AC%20rates.bin\r\n")
        body = _b64(bytes(rnd.randrange(256) for _ in range(90))) + "\r\n"
    elif choice == 1:
        head = ("Content-Type: text/plain (plain text) ; charset = \"us-ascii\" (the default)"
                " ;\r\n\tformat=flowed; delsp=yes\r\n")
        body = _text(rnd, 2)
    elif choice == 2:
        head = ('Content-Type: text/plain; charset="utf-8"; name="a \\"quoted\\" name.txt"\r\n'
                "Content-ID: <odd.%d@example.org>\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
                % rnd.randint(1, 999))
        body = _text(rnd, 1)
    elif choice == 3:
        head = "Content-Type: text/plain\r\n"
        body = ""                                       # an empty body
    elif choice == 4:
        head = ("Content-Type: Text/Plain; Charset=ISO-8859-15\r\n"
                "Content-Transfer-Encoding: Quoted-Printable\r\n")
        body = "caf=E9 =A4 10\r\nsoft line=\r\n break\r\n"
    elif choice == 5:
        head = ("Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n"
                "Content-Disposition: inline\r\n")
        body = _message(rnd, 2)
    else:
        head = ("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
                "Content-Disposition: inline; filename=pic.png;\r\n"
                " creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"\r\n")
        body = _b64(b"\x89PNG\r\n\x1a\n" + bytes(30)) + "\r\n"
    return head + "\r\n" + body


def _multipart(rnd, subtype, parts, depth):
    quoted = rnd.random() < 0.5
    # "=" is a tspecial (RFC 2045 §5.1): only a quoted boundary may hold it
    boundary = ("=_b%d_%d" if quoted else "b%d_%d.x") % (depth, rnd.randint(0, 99999))
    head = "Content-Type: multipart/%s;\r\n\tboundary=%s\r\n\r\n" % (
        subtype, '"%s"' % boundary if quoted else boundary)
    body = ""
    if rnd.random() < 0.3:
        body += "This is a multi-part message in MIME format.\r\n"
    for p in parts:
        body += "--%s\r\n%s" % (boundary, p)
    body += "--%s--\r\n" % boundary
    if rnd.random() < 0.3:
        body += "epilogue text\r\n"
    return head + body


def _body(rnd, depth):
    """A MIME entity (headers + body) for a part."""
    kind = rnd.randint(0, 5 if depth < 2 else 1)
    if kind <= 1:
        return _part_text(rnd)
    if kind == 2:
        return _multipart(rnd, "alternative", [_part_text(rnd, "plain"),
                                               _part_text(rnd, "html")], depth)
    if kind == 3:
        parts = [_body(rnd, depth + 1)] + [_attachment(rnd) for _ in range(rnd.randint(1, 2))]
        if rnd.random() < 0.4:
            parts.append(_odd_part(rnd))
        return _multipart(rnd, "mixed", parts, depth)
    if kind == 4:
        inner = _message(rnd, depth + 1)
        return "Content-Type: message/rfc822\r\n\r\n" + inner
    return _multipart(rnd, rnd.choice(("related", "x-unknown")),
                      [_part_text(rnd, "html"), _attachment(rnd)], depth)


def _date(rnd):
    t = INTERNALDATE_BASE - rnd.randint(0, 400 * 86400)
    zone = rnd.choice(("+0000", "-0500", "+0100", "+0530", "-0800"))
    s = time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(t)) + " " + zone
    if rnd.random() < 0.15:
        s = s[5:]                       # day-of-week is optional (RFC 5322 §3.3)
    if rnd.random() < 0.1:
        s += " (UTC)"                   # a comment after the zone
    return s


def _message(rnd, depth=0):
    frm = rnd.choice(_NAMES)
    to = rnd.sample(_NAMES, rnd.randint(1, 3))
    subj = _sentence(rnd, rnd.randint(1, 6))
    style = rnd.randint(0, 5)
    if style == 1:
        subj = _encoded_word("R\u00e9union " + subj, rnd)
    elif style == 2:
        subj = "Re: " + subj
    elif style == 3:
        subj = subj + "\r\n " + _sentence(rnd, 4)     # folded (RFC 5322 §2.2.3)
    elif style == 4:
        subj = "[list] " + _encoded_word("\u65e5\u672c " + subj, rnd) + " tail"
    h = []
    h.append("From: %s" % _address(rnd, frm))
    if rnd.random() < 0.2:
        h.append("Sender: %s" % _address(rnd, rnd.choice(_NAMES)))
    if rnd.random() < 0.2:
        h.append("Reply-To: %s" % _address(rnd, rnd.choice(_NAMES)))
    tos = ",\r\n    ".join(_address(rnd, a) for a in to) if rnd.random() < 0.5 \
        else ", ".join(_address(rnd, a) for a in to)
    if rnd.random() < 0.25:
        # odd but legal address forms (RFC 5322 §3.4, §4.4 obsolete ones)
        tos += ", " + rnd.choice((
            '"john.doe"@example.org', "Jane (the boss) <jane@example.org>",
            "postmaster@[192.0.2.1]", "<@relay.example:route@example.org>",
            "bare@example.org (Bare Comment)", '"Quoted, Comma" <qc@example.org>',
            "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
            "Mary Smith <mary@x.test>, jdoe@example.org", "A Group:a@x.test,b@x.test;",
            "empty:;", "<angle-only@example.org>", "\"odd\"@example.org"))
    h.append("To: %s" % tos)
    if rnd.random() < 0.1:
        h.append("Cc: undisclosed-recipients:;")          # group syntax
    elif rnd.random() < 0.3:
        h.append("Cc: %s" % _address(rnd, rnd.choice(_NAMES)))
    if rnd.random() < 0.1:
        h.append("Bcc: friends: %s, %s;" % (_address(rnd, _NAMES[0]), _NAMES[1][1]))
    subj_name = rnd.choice(("Subject", "Subject", "SUBJECT", "subject"))
    if rnd.random() > 0.05:
        h.append("%s: %s" % (subj_name, subj))
    if rnd.random() > 0.05:
        h.append("Date: %s" % _date(rnd))
    if rnd.random() > 0.1:
        h.append("Message-ID: <%d.%d@example.org>" % (depth, rnd.randint(0, 10 ** 9)))
    if rnd.random() < 0.3:
        h.append("In-Reply-To: <%d@example.org>" % rnd.randint(0, 10 ** 6))
    if rnd.random() < 0.3:
        h.append("References: <%d@example.org>\r\n <%d@example.org>" % (
            rnd.randint(0, 999), rnd.randint(0, 999)))
    if rnd.random() < 0.3:
        h.append("X-Priority: %d" % rnd.randint(1, 5))
    if rnd.random() < 0.3:
        h.append("X-Mailer: peer-corpus/1.0 (odd; comment)")
    if rnd.random() < 0.1:
        h.append("X-Empty:")
    if rnd.random() < 0.1:
        h.append("X-Spaces:    lots   of   space   ")
    if rnd.random() < 0.7:
        h.append("MIME-Version: 1.0" + (" (produced by peer)" if rnd.random() < 0.2 else ""))
    if depth < 2 and rnd.random() < 0.75:
        entity = _body(rnd, depth)
        head, body = entity.split("\r\n\r\n", 1)
        h.append(head)
    else:
        body = _text(rnd, rnd.randint(1, 30), long_lines=rnd.random() < 0.2)
        if rnd.random() < 0.1:
            body = body.rstrip("\r\n")                  # no final line end
    return "\r\n".join(h) + "\r\n\r\n" + body


def generate_corpus(seed=1, n=60, samples=True):
    """n deterministic messages (same seed, same bytes), CRLF line ends:
    plain text, multipart/mixed and /alternative, nested message/rfc822,
    base64 and quoted-printable parts, RFC 2047 encoded words, 8-bit text,
    long lines, attachments, folded and odd-but-legal header syntax; then
    (samples=True) the well-formed tests/data/mime messages."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        msg = _message(rnd)
        out.append(msg.encode("utf-8"))
    if samples:
        out += mime_samples()
    return out
