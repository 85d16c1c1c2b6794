#!/usr/bin/python3
"""Benchmark (prints figures, asserts nothing): IMAP logins per second with
C concurrent clients, users from the passwd-file and from PostgreSQL (a
real server started here, tests/lib/duopg.py) with pool sizes 1 and 4, one
worker.  {PLAIN} passwords, so the figure is the user database's cost, not
the hash's; plus the same with SHA512-CRYPT for scale.

  tests/bench/userdb_logins.py [LOGINS [CLIENTS]]   (build/duomail by default)
"""
import imaplib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import duopg                        # noqa: E402
import duotest                      # noqa: E402

USERS = 50


def run(srv, logins, clients, password):
    errors = []
    per = logins // clients

    def client(k):
        for i in range(per):
            user = "u%d" % ((k * per + i) % USERS)
            c = imaplib.IMAP4("127.0.0.1", srv.port("imap"), timeout=60)
            try:
                c.login(user, password)
                c.logout()
            except imaplib.IMAP4.error as e:
                errors.append(str(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    return per * clients / elapsed, len(errors)


def main():
    logins = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    why = duopg.available()
    pg = None
    if why is None:
        pg = duopg.Postgres().start()
        pg.sql("CREATE TABLE users (name text PRIMARY KEY, password text NOT NULL);")
    print("%d IMAP logins, %d clients, 1 worker" % (logins, clients))
    try:
        for scheme in ("PLAIN", "SHA512-CRYPT"):
            stored = {("u%d" % i): ("{PLAIN}pw" if scheme == "PLAIN" else
                                    duotest.hash_password("pw", scheme)) for i in range(USERS)}
            srv = duotest.Server(listen=("imap",), workers=1)
            srv._lines = ["%s:%s" % kv for kv in stored.items()]
            srv._write_passwd()
            srv.start()
            rate, errs = run(srv, logins, clients, "pw")
            srv.stop()
            print("%-14s passwd-file          %8.0f logins/s  (%d failed)" % (scheme, rate, errs))
            if pg is None:
                continue
            pg.sql("TRUNCATE users;" + "".join(
                "INSERT INTO users VALUES ('%s', '%s');" % (u, p.replace("'", "''"))
                for u, p in stored.items()))
            for pool in ("1", "4"):
                srv = duotest.Server(listen=("imap",), workers=1, config={
                    "auth": {"userdb": "pgsql"},
                    "pgsql": {"connect": pg.connect_string(),
                              "password_query": "SELECT password FROM users WHERE name = $1",
                              "pool_size": pool}})
                srv.start()
                rate, errs = run(srv, logins, clients, "pw")
                srv.stop()
                print("%-14s pgsql, pool_size %s  %8.0f logins/s  (%d failed)" % (
                    scheme, pool, rate, errs))
        if pg is None:
            print("(PostgreSQL skipped: %s)" % why)
    finally:
        if pg is not None:
            pg.destroy()


if __name__ == "__main__":
    main()
