"""Black-box test harness: runs the real `duomail serve` on loopback.

Standard library only (run with Debian's /usr/bin/python3).  A Server owns
a temporary directory with a passwd-file, a Maildir root, a self-signed
certificate and a config with free loopback ports; it starts the server,
waits (bounded) until it listens, and on stop checks the exit code and that
the log has no sanitizer report.
"""
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

DUOMAIL = os.environ.get("DUOMAIL_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "duomail")
KINDS = ("pop3", "pop3s", "imap", "imaps", "lmtp")
_CERT_DIR = None


def run_duomail(args, input=None, timeout=60):
    """Runs the binary; returns CompletedProcess with text output."""
    return subprocess.run([DUOMAIL] + list(args), input=input, capture_output=True,
                          timeout=timeout, text=not isinstance(input, bytes))


def write_temp(text, suffix=".conf"):
    fd, path = tempfile.mkstemp(prefix="duomail-test-", suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def hash_password(password, scheme="SHA512-CRYPT"):
    r = subprocess.run([DUOMAIL, "pw", "-s", scheme], input=password + "\n",
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("duomail pw failed: " + r.stderr)
    return r.stdout.strip()


def test_certificate():
    """(cert, key) paths of a self-signed certificate for localhost, made
    once per test process with certtool (gnutls-bin)."""
    global _CERT_DIR
    if _CERT_DIR is None:
        _CERT_DIR = tempfile.mkdtemp(prefix="duomail-cert-")
        atexit.register(shutil.rmtree, _CERT_DIR, True)
        key = os.path.join(_CERT_DIR, "key.pem")
        cert = os.path.join(_CERT_DIR, "cert.pem")
        tmpl = os.path.join(_CERT_DIR, "cert.tmpl")
        with open(tmpl, "w") as f:
            f.write("cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n"
                    "ip_address = ::1\nexpiration_days = 30\ntls_www_server\n"
                    "signing_key\nencryption_key\n")
        subprocess.run(["certtool", "--generate-privkey", "--key-type", "ecdsa",
                        "--outfile", key], check=True, capture_output=True, timeout=60)
        subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key,
                        "--template", tmpl, "--outfile", cert], check=True,
                       capture_output=True, timeout=60)
    return os.path.join(_CERT_DIR, "cert.pem"), os.path.join(_CERT_DIR, "key.pem")


def make_certificate(directory, name, dns_names, days=365, key_type="ecdsa"):
    """A self-signed certificate for dns_names (the first is the CN) made
    with certtool in directory: (cert, key) paths, NAME.pem and NAME.key."""
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".pem")
    tmpl = os.path.join(directory, name + ".tmpl")
    with open(tmpl, "w") as f:
        f.write("cn = %s\n" % dns_names[0])
        for n in dns_names:
            f.write("dns_name = %s\n" % n)
        f.write("expiration_days = %d\ntls_www_server\nsigning_key\nencryption_key\n" % days)
    subprocess.run(["certtool", "--generate-privkey", "--key-type", key_type,
                    "--outfile", key], check=True, capture_output=True, timeout=60)
    subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key,
                    "--template", tmpl, "--outfile", cert], check=True,
                   capture_output=True, timeout=60)
    os.unlink(tmpl)
    return cert, key


def _die_with_parent():
    # A test process that dies (killed, interrupted) takes its server along.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _own_group_die_with_parent():
    # A process group of its own, so kill9() reaches the master and all of
    # its workers with one signal, as a crash or an OOM kill would.
    os.setpgid(0, 0)
    _die_with_parent()


def _group_alive(pgid):
    """Is any process of group pgid still running (not a zombie)?"""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _listens(pid, port):
    """Does process pid hold a listening TCP socket on port?"""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    # local_address is HEXIP:HEXPORT; state 0A is LISTEN
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            pass
    if not inodes:
        return False
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(Exception):
    pass


class Server:
    """duomail serve with its own users, mail and ports.

    users: name -> password (stored SHA512-CRYPT); plain_users: stored
    {PLAIN} (needed for APOP).  config: extra {section: {key: value}}.
    dir, passwd_file, root: an existing folder, passwd-file and mail root to
    use instead of fresh ones (tests/peer shares them with Dovecot); a
    given passwd_file is read as it is, users are then not written.
    """

    def __init__(self, users=None, plain_users=None, config=None, workers=2,
                 listen=("pop3", "pop3s"), own_group=False, dir=None, passwd_file=None,
                 root=None):
        self.own_group = own_group   # needed for kill9()
        if dir is not None:
            os.makedirs(dir, exist_ok=True)
        self.dir = dir or tempfile.mkdtemp(prefix="duomail-srv-")
        self.root = root or os.path.join(self.dir, "mail")
        os.makedirs(self.root, exist_ok=True)
        self.passwd = passwd_file or os.path.join(self.dir, "users")
        self.config_path = os.path.join(self.dir, "duomail.conf")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.cert, self.key = test_certificate()
        self.ports = {k: free_port() for k in listen}
        self.proc = None
        self._lines = []
        for name, pw in (users or {}).items():
            self._lines.append("%s:%s" % (name, hash_password(pw)))
        for name, pw in (plain_users or {}).items():
            self._lines.append("%s:{PLAIN}%s" % (name, pw))
        if passwd_file is None:
            self._write_passwd()
        # Every test client comes from 127.0.0.1: the abuse defences
        # (failure penalty, per-IP and per-user limits; on by default) are
        # off here unless a test sets them, so one test's failed logins or
        # many connections do not slow or refuse the next (test_abuse.py
        # tests them).
        sections = {
            # admin_socket off: its default path is one per machine, and
            # tests that want it name their own (test_admin_live.py).
            "server": {"hostname": "test.example", "workers": str(workers),
                       "max_connections_per_ip": "0", "max_connections_per_user": "0",
                       "admin_socket": "off"},
            "listen": {k: "127.0.0.1:%d" % p for k, p in self.ports.items()},
            "tls": {"cert": self.cert, "key": self.key},
            "auth": {"passwd_file": self.passwd, "penalty_max": "0"},
            "store": {"root": self.root},
        }
        for sec, kv in (config or {}).items():
            sections.setdefault(sec, {}).update(kv)
        # Run as root, most tests keep the mail as root (they write into it
        # directly): that needs the explicit override (core/privilege.h).
        if os.geteuid() == 0 and "user" not in sections["server"]:
            sections["server"].setdefault("allow_root", "yes")
        with open(self.config_path, "w") as f:
            for sec, kv in sections.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))

    def _write_passwd(self):
        tmp = self.passwd + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("# test users\n" + "\n".join(self._lines) + "\n")
        os.rename(tmp, self.passwd)

    def add_user(self, name, password, extra=None):
        """extra: the passwd-file's extra field (per-user settings), e.g.
        "pop3_delete=hide quota_storage=1M"."""
        line = "%s:%s" % (name, hash_password(password))
        if extra is not None:
            line += "::::::" + extra
        self._lines.append(line)
        self._write_passwd()

    def set_user_extra(self, name, extra):
        """Replaces user name's extra field (the server re-reads the file)."""
        for i, line in enumerate(self._lines):
            fields = line.split(":", 2)
            if fields[0] == name:
                base = ":".join(line.split(":")[:2])
                self._lines[i] = base + ("::::::" + extra if extra else "")
        self._write_passwd()

    def port(self, kind):
        return self.ports[kind]

    def start(self):
        # Another test may grab a port between free_port() and our bind:
        # then pick new ports and try again.
        for attempt in range(3):
            try:
                return self._start()
            except PortTaken:
                self.ports = {k: free_port() for k in self.ports}
                with open(self.config_path) as f:
                    text = f.read()
                text = re.sub(r"^(\w+) = 127\.0\.0\.1:\d+$",
                              lambda m: "%s = 127.0.0.1:%d" % (m.group(1), self.ports[m.group(1)])
                              if m.group(1) in self.ports else m.group(0), text, flags=re.M)
                with open(self.config_path, "w") as f:
                    f.write(text)
        return self._start()

    def _start(self):
        self.log = open(self.log_path, "wb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99")
        self.proc = subprocess.Popen([DUOMAIL, "serve", "--config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=_own_group_die_with_parent if self.own_group
                                     else _die_with_parent)
        deadline = time.time() + 15
        for kind, port in self.ports.items():
            while True:
                if self.proc.poll() is not None:
                    self.log.close()
                    if "cannot listen" in self.log_text():
                        self.proc = None
                        raise PortTaken()
                    raise RuntimeError("server exited %d:\n%s" % (self.proc.returncode,
                                                                   self.log_text()))
                # Our master's own listening socket, not just anything on
                # the port: a server of another test run can take a port
                # between free_port() and our bind, and a connect probe
                # would then report that one ready.
                if _listens(self.proc.pid, port):
                    break
                if time.time() > deadline:
                    raise RuntimeError("server did not listen on %s" % kind)
                time.sleep(0.05)
        return self

    def kill9(self):
        """SIGKILL to the master and its workers at once (own_group=True);
        returns the log of the run, which the caller checks."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        # The workers die too, but a big (ASan) process takes a while to,
        # and until it has, its copy of the listening sockets still takes
        # connections, which a new server's start-up probe would mistake
        # for its own.
        deadline = time.time() + 30
        while _group_alive(self.proc.pid) and time.time() < deadline:
            time.sleep(0.01)
        self.proc = None
        self.log.close()
        return self.log_text()

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def restart(self):
        """Stops the server (checked as stop() does) and starts it again on
        the same mail, users and config."""
        self.stop(keep=True)
        return self.start()

    def stop(self, check=True, keep=False):
        """SIGTERM, wait (bounded); returns the exit code.  keep: leave the
        directory (mail, users, config) for a restart."""
        if self.proc is None:
            if not keep:
                shutil.rmtree(self.dir, ignore_errors=True)
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        code = self.proc.returncode
        self.proc = None
        self.log.close()
        text = self.log_text()
        if check:
            bad = re.findall(r".*(AddressSanitizer|LeakSanitizer|runtime error|killed by signal).*",
                             text)
            if bad or code != 0:
                raise AssertionError("server exit %s, log:\n%s" % (code, text[-20000:]))
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ---- mail ----

    def maildir(self, user):
        return os.path.join(self.root, user)

    def deliver(self, user, data):
        r = subprocess.run([DUOMAIL, "deliver", "--config", self.config_path, user],
                           input=data, capture_output=True, timeout=60)
        return r.returncode

    def message_files(self, user, folder=""):
        base = os.path.join(self.maildir(user), folder)
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
        return out

    def count_mail(self, user):
        return len(self.message_files(user))

    def clear_mail(self, user):
        shutil.rmtree(self.maildir(user), ignore_errors=True)

    def flags_by_subject(self, user):
        """Subject -> Maildir flag letters, from the files on disk."""
        result = {}
        for path in self.message_files(user):
            with open(path, "rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
            m = re.search(r"^Subject: (.*)$", head, re.M)
            name = os.path.basename(path)
            result[m.group(1).strip() if m else name] = (
                name.split(":2,", 1)[1] if ":2," in name else "")
        return result

    # ---- clients ----

    def client_tls_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = True
        return ctx
