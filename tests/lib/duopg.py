"""A real PostgreSQL 15 server (Debian's postgresql package) for tests.

PostgreSQL refuses to run as root, so the server runs as `nobody` with its
data directory and unix socket in a temporary directory, listening on a
free TCP port on 127.0.0.1.  Local (socket) connections are trusted for
the test's own psql; TCP ones need a password (SCRAM), as duomail would
meet in production.  Standard library only.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from duotest import _die_with_parent, free_port

BIN = "/usr/lib/postgresql/15/bin"
RUN_AS = "nobody"


class PortTaken(Exception):
    pass


def available():
    """None if a server can be run here, else why not."""
    for prog in ("initdb", "postgres", "psql"):
        if not os.access(os.path.join(BIN, prog), os.X_OK):
            return "%s/%s missing (apt-get install postgresql)" % (BIN, prog)
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        return "no system user %s to run PostgreSQL as" % RUN_AS
    return None


def _own_session():
    # Its own session (a ^C to the test is not a ^C to the database), and
    # it goes when the test process dies.
    os.setsid()
    _die_with_parent()


class Postgres:
    def __init__(self, password="db-secret"):
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="duomail-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "postgres.log")
        pw = pwd.getpwnam(RUN_AS)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        for d in (self.data, self.sock):
            os.mkdir(d, 0o700)
            os.chown(d, self.uid, self.gid)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        os.chown(pwfile, self.uid, self.gid)
        self._run([os.path.join(BIN, "initdb"), "-D", self.data, "-U", "postgres",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", pwfile,
                   "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"])
        os.unlink(pwfile)
        self.port = free_port()
        self.proc = None

    def _run(self, argv, **kw):
        r = subprocess.run(argv, user=self.uid, group=self.gid, cwd=self.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, **kw)
        if r.returncode != 0:
            raise RuntimeError("%s failed:\n%s" % (argv[0], r.stdout.decode(errors="replace")))
        return r.stdout.decode()

    def start(self):
        # Another program may take the port between free_port() and the
        # bind: then take another (a restart keeps it when it can).
        for attempt in range(3):
            try:
                return self._start()
            except PortTaken:
                self.port = free_port()
        return self._start()

    def _start(self):
        log = open(self.log_path, "ab")
        mark = os.path.getsize(self.log_path)
        # fsync off: a test database, restarted by the test, never crashes.
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "postgres"), "-D", self.data, "-p", str(self.port),
             "-k", self.sock, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "max_connections=100"],
            user=self.uid, group=self.gid, cwd=self.dir, stdout=log, stderr=log,
            preexec_fn=_own_session)
        log.close()
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                if "could not bind" in self.log_text()[mark:]:
                    raise PortTaken()
                raise RuntimeError("postgres exited:\n" + self.log_text())
            r = subprocess.run([os.path.join(BIN, "psql"), "-h", self.sock, "-p", str(self.port),
                                "-U", "postgres", "-d", "postgres", "-Atc", "SELECT 1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
            if r.returncode == 0 and r.stdout.strip() == b"1":
                return self
            if time.time() > deadline:
                raise RuntimeError("postgres did not start:\n" + self.log_text())
            time.sleep(0.1)

    def stop(self):
        """Fast shutdown (SIGINT): clients are told and disconnected."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, text):
        """Runs SQL as the superuser over the unix socket; returns psql's output."""
        r = subprocess.run([os.path.join(BIN, "psql"), "-h", self.sock, "-p", str(self.port),
                            "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                            "-Atq"], input=text.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql failed:\n" + r.stdout.decode(errors="replace"))
        return r.stdout.decode()

    def connect_string(self, user="postgres", password=None):
        return "host=127.0.0.1 port=%d dbname=postgres user=%s password=%s connect_timeout=5" % (
            self.port, user, password if password is not None else self.password)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
