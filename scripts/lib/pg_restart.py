#!/usr/bin/env python3
"""PostgreSQL restart under load: one splitledger-server on a private PostgreSQL cluster.

Driven by scripts/test-pg-restart, which builds the server and makes a temporary folder owned
by the `postgres` user (removed afterwards). This program:

1. initdb's a private cluster (as `postgres`, trust auth) into that folder and starts it with
   pg_ctl on a free port (listen_addresses=127.0.0.1, its unix socket in the folder), then
   starts one server on it (database `postgres`);
2. signs up two users, makes a group, adds the second, and writes expenses and settlements
   from 4 client threads, each with its own Idempotency-Key, retried with the same key and body
   on 503 and connection errors;
3. a third of the way in, stops the cluster (`pg_ctl stop -m fast`) and keeps sending (the
   clients' writes plus rounds of reads, writes, a login and /health/ready), then starts it
   again;
4. checks that every answer while the database was down was 503 `unavailable` problem+json
   with `Retry-After` (never a 500, never a dropped connection or a hang), that the same server
   process answers again within a bounded number of polls once the database is back, that
   every acknowledged write is stored exactly once, and that the balances equal a recomputation.

Every loop is bounded by a count. Any failed check prints `FAIL: ...` and exits 1.
"""

from __future__ import annotations

import argparse
import os
import pwd
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import (  # noqa: E402  (shared helpers)
    CONNECTION_ERRORS,
    Failure,
    Load,
    Processes,
    Reply,
    check,
    exit_on_signals,
    expect,
    free_ports,
    log,
    make_write,
    request,
    run_threads,
    sign_up_and_login,
    verify_ledger,
    wait_ready,
)

CLIENTS = 4
WRITES_PER_CLIENT = 60
MAX_ATTEMPTS = 150          # per logical write; an outage costs each client ~2 s per attempt at most
RETRY_PAUSE = 0.2
OUTAGE_ROUNDS = 4           # rounds of probes while the database is down
OUTAGE_PAUSE = 0.5
RECOVERY_POLLS = 200        # GET /users/me after the restart, 0.05 s apart
HANG_SECONDS = 8.0          # an answer slower than this during the outage counts as a hang
PASSWORD = "correct horse battery"


def as_postgres() -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"]
    if pwd.getpwuid(os.geteuid()).pw_name == "postgres":
        return []
    return ["sudo", "-u", "postgres", "--"]


class Cluster:
    """The private PostgreSQL cluster."""

    def __init__(self, pg_bin: str, work: str, pg_dir: str, port: int):
        self.pg_bin = pg_bin
        self.work = work
        self.pg_dir = pg_dir  # owned by postgres: the data folder, the socket and the log
        self.data = os.path.join(pg_dir, "data")
        self.port = port
        self.log = os.path.join(pg_dir, "postgres.log")

    def _run(self, args: list[str], what: str, timeout: float = 120) -> None:
        with open(os.path.join(self.work, "pg_ctl.out"), "ab") as out:
            r = subprocess.run(as_postgres() + args, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
        if r.returncode != 0:
            raise Failure(f"{what} exited with {r.returncode}:\n{self.tail(os.path.join(self.work, 'pg_ctl.out'))}"
                          f"{self.tail(self.log)}")

    @staticmethod
    def tail(path: str, lines: int = 15) -> str:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def init(self) -> None:
        self._run([os.path.join(self.pg_bin, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                   "-E", "UTF8", "--no-sync"], "initdb")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.pg_dir} -c listen_addresses=127.0.0.1"
        self._run([os.path.join(self.pg_bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-o", opts,
                   "-w", "-t", "60", "start"], "pg_ctl start")

    def stop(self, mode: str = "fast") -> None:
        self._run([os.path.join(self.pg_bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"],
                  f"pg_ctl stop -m {mode}")

    def running(self) -> bool:
        pid_file = os.path.join(self.data, "postmaster.pid")
        return subprocess.run(as_postgres() + ["test", "-f", pid_file], stdin=subprocess.DEVNULL).returncode == 0


class Observed:
    """Every answer (or failure to answer) the server gave, with its times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records: list[dict] = []

    def add(self, what: str, reply: Reply | None, error: BaseException | None, started: float, ended: float):
        rec = {"what": what, "started": started, "ended": ended, "error": repr(error) if error else None,
               "status": None, "retry_after": None, "content_type": None, "code": None, "body": ""}
        if reply is not None:
            rec.update(status=reply.status, retry_after=reply.header("retry-after"),
                       content_type=reply.header("content-type"), body=reply.text[:300])
            try:
                doc = reply.json() if reply.text else None
                if isinstance(doc, dict):
                    rec["code"] = doc.get("code")
            except Failure:
                pass
        with self.lock:
            self.records.append(rec)


def describe(rec: dict) -> str:
    if rec["error"]:
        return f"{rec['what']}: no answer ({rec['error']}) after {rec['ended'] - rec['started']:.2f} s"
    return (f"{rec['what']}: {rec['status']} retry-after={rec['retry_after']} content-type={rec['content_type']} "
            f"after {rec['ended'] - rec['started']:.2f} s body={rec['body']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="the splitledger-server binary")
    ap.add_argument("--pg-bin", required=True, help="PostgreSQL's bin folder (initdb, pg_ctl)")
    ap.add_argument("--work", required=True, help="a temporary folder for logs")
    ap.add_argument("--pg-dir", required=True, help="an empty folder owned by postgres for the cluster")
    args = ap.parse_args()
    exit_on_signals()
    t_begin = time.monotonic()
    procs = Processes(args.work)
    pg_port, api_port = free_ports(2)
    cluster = Cluster(args.pg_bin, args.work, args.pg_dir, pg_port)
    try:
        run(args, procs, cluster, api_port, t_begin)
        return 0
    except Failure as e:
        log(f"FAIL: {e}")
        for name in procs.procs:
            log(f"--- last lines of {name}.log ---\n{procs.tail(name, 12)}")
        return 1
    finally:
        procs.stop_all()
        if cluster.running():
            try:
                cluster.stop("immediate")
            except (Failure, subprocess.SubprocessError) as e:
                log(f"warning: could not stop the private cluster: {e}")


def run(args, procs: Processes, cluster: Cluster, api_port: int, t_begin: float) -> None:
    server = os.path.abspath(args.server)
    rnd = random.Random(secrets.randbits(64))
    run_id = secrets.token_hex(4)

    log(f"== private PostgreSQL cluster on port {cluster.port}")
    cluster.init()
    cluster.start()
    db_url = f"postgres://postgres@127.0.0.1:{cluster.port}/postgres"
    base = f"http://127.0.0.1:{api_port}"
    log(f"== server on port {api_port}")
    proc = procs.start("server", [server, "--bind", f"127.0.0.1:{api_port}", "--database-url", db_url])
    wait_ready(procs, "server", base)

    ann = sign_up_and_login(base, f"ann-{run_id}@example.com", PASSWORD, "Ann")
    bob = sign_up_and_login(base, f"bob-{run_id}@example.com", PASSWORD, "Bob")
    group = expect(request(base, "POST", "/api/v1/groups", {"name": f"restart {run_id}", "currency": "EUR"},
                           token=ann["token"]), 201, "create group")["id"]
    expect(request(base, "POST", f"/api/v1/groups/{group}/members", {"email": bob["email"]}, token=ann["token"]),
           201, "add Bob")
    members = [ann["id"], bob["id"]]
    users = [ann, bob]

    seen = Observed()
    # 503 is the only retryable answer without a proxy: a 502 or 504 from the server itself
    # is a failure.
    load = Load(base, group, MAX_ATTEMPTS, RETRY_PAUSE,
                observe=lambda r, e, s, t: seen.add("POST write", r, e, s, t), retryable=(503,))
    total = CLIENTS * WRITES_PER_CLIENT
    plans = []
    for c in range(CLIENTS):
        user = users[c % 2]
        writes = []
        for i in range(WRITES_PER_CLIENT):
            key = f"{run_id}-c{c}-w{i}"
            kind, body = make_write(rnd, key, user["id"], members)
            writes.append((key, kind, body))
        plans.append((user, writes))

    def client(user, writes):
        def go():
            for key, kind, body in writes:
                load.write(key, kind, body, user["token"])
        return go

    log(f"== load: {CLIENTS} clients x {WRITES_PER_CLIENT} writes; the database stops a third of the way in")
    errors: list[BaseException] = []
    done = threading.Event()

    def drive():
        errors.extend(run_threads([client(u, w) for u, w in plans]))
        done.set()
        with load.lock:
            load.lock.notify_all()

    t_load = time.monotonic()
    runner = threading.Thread(target=drive, daemon=True)
    runner.start()
    with load.lock:
        load.lock.wait_for(lambda: len(load.acked) >= total // 3 or done.is_set(), timeout=300)
        acked_at_stop = len(load.acked)
    if errors:
        raise errors[0] if isinstance(errors[0], Failure) else Failure(f"a client crashed: {errors[0]!r}")
    check(acked_at_stop < total, "the load finished before the database could be stopped")

    t_stop = time.monotonic()
    cluster.stop("fast")
    t_stopped = time.monotonic()
    log(f"   pg_ctl stop -m fast after {acked_at_stop} acknowledged writes ({t_stopped - t_stop:.2f} s)")

    probe_writes = []
    for r in range(OUTAGE_ROUNDS):
        key = f"{run_id}-probe-{r}"
        kind, body = make_write(rnd, key, ann["id"], members)
        probe_writes.append((key, kind, body))
        probes = {
            "GET /users/me": ("GET", "/api/v1/users/me", None, ann["token"], None),
            "GET balances": ("GET", f"/api/v1/groups/{group}/balances", None, bob["token"], None),
            "GET expenses": ("GET", f"/api/v1/groups/{group}/expenses?limit=5", None, ann["token"], None),
            "POST write (probe)": ("POST", load.path_of(kind), body, ann["token"], {"Idempotency-Key": key}),
            "POST login": ("POST", "/api/v1/auth/login", {"email": bob["email"], "password": PASSWORD}, None,
                           None),
            "GET /health/ready": ("GET", "/health/ready", None, None, None),
        }

        def probe(what, spec):
            def go():
                method, path, body_, token, headers = spec
                started = time.monotonic()
                try:
                    reply = request(base, method, path, body_, token=token, headers=headers, timeout=15)
                    seen.add(what, reply, None, started, time.monotonic())
                except CONNECTION_ERRORS as e:
                    seen.add(what, None, e, started, time.monotonic())
            return go

        run_threads([probe(w, s) for w, s in probes.items()])
        time.sleep(OUTAGE_PAUSE)

    t_start = time.monotonic()
    cluster.start()
    t_started = time.monotonic()
    log(f"   database down for {t_start - t_stopped:.2f} s; pg_ctl start took {t_started - t_start:.2f} s")

    t_recovered = None
    polls = 0
    for polls in range(1, RECOVERY_POLLS + 1):
        started = time.monotonic()
        try:
            r = request(base, "GET", "/api/v1/users/me", token=ann["token"])
            seen.add("GET /users/me (recovery)", r, None, started, time.monotonic())
            if r.status == 200:
                t_recovered = time.monotonic()
                break
        except CONNECTION_ERRORS as e:
            seen.add("GET /users/me (recovery)", None, e, started, time.monotonic())
        time.sleep(0.05)
    check(t_recovered is not None,
          f"the server still fails {RECOVERY_POLLS} polls after the database came back: "
          f"{describe(seen.records[-1])}")
    check(proc.poll() is None and procs.procs["server"] is proc, "the server process did not survive")

    runner.join()
    if errors:
        raise errors[0] if isinstance(errors[0], Failure) else Failure(f"a client crashed: {errors[0]!r}")
    # The probe writes refused during the outage are sent again, same key, until acknowledged.
    for key, kind, body in probe_writes:
        load.write(key, kind, body, ann["token"])
    t_load_end = time.monotonic()
    check(len(load.acked) == total + len(probe_writes),
          f"acknowledged {len(load.acked)} of {total + len(probe_writes)} writes")

    log("== answers while the database was down")
    records = sorted(seen.records, key=lambda r: r["started"])
    during = [r for r in records if r["started"] >= t_stopped and r["ended"] <= t_start]
    during_ids = {id(r) for r in during}
    around = [r for r in records
              if r["ended"] > t_stop and r["started"] < t_recovered and id(r) not in during_ids]
    bad_500 = [r for r in records if r["status"] is not None and r["status"] >= 500 and r["status"] != 503]
    dropped = [r for r in records if r["error"]]
    if bad_500:
        raise Failure(f"{len(bad_500)} answers were 5xx other than 503, first: {describe(bad_500[0])}")
    if dropped:
        raise Failure(f"{len(dropped)} requests got no answer, first: {describe(dropped[0])}")
    check(len(during) >= 10, f"only {len(during)} requests fell inside the outage")

    def is_unavailable(r):
        return (r["status"] == 503 and r["retry_after"] is not None
                and (r["content_type"] or "").startswith("application/problem+json") and r["code"] == "unavailable")

    not_503 = [r for r in during if not is_unavailable(r)]
    check(not not_503, f"{len(not_503)} of {len(during)} answers during the outage were not 503 unavailable "
          f"problem+json with Retry-After, first: {describe(not_503[0]) if not_503 else ''}")
    odd_around = [r for r in around if r["status"] not in (200, 201) and not is_unavailable(r)]
    check(not odd_around, f"around the stop/start: {describe(odd_around[0]) if odd_around else ''}")
    latencies = sorted(r["ended"] - r["started"] for r in during)
    slowest = latencies[-1]
    check(slowest < HANG_SECONDS, f"an answer during the outage took {slowest:.2f} s")
    by_what = Counter(r["what"] for r in during)
    retry_after_values = Counter(r["retry_after"] for r in during)

    log("== every acknowledged write exactly once; balances equal a recomputation")

    def send(method, path, body=None, token=None, headers=None):
        return request(base, method, path, body, token=token, headers=headers)

    expenses, settlements, nets = verify_ledger(send, group, ann["token"], load.acked)

    log("")
    log("figures:")
    log(f"  requests sent (writes):          {load.sent}, retries {load.retries} on {len(load.retried_keys)} keys "
        f"({', '.join(f'{k}: {v}' for k, v in load.retry_causes.most_common()) or 'none'})")
    log(f"  acknowledged writes:             {len(load.acked)} ({len(expenses)} expenses, "
        f"{len(settlements)} settlements)")
    log(f"  database down:                   {t_start - t_stopped:.2f} s (stop took {t_stopped - t_stop:.2f} s)")
    log(f"  requests during the outage:      {len(during)} "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(by_what.items()))})")
    log(f"  all 503 unavailable + Retry-After: yes (Retry-After {dict(retry_after_values)}); "
        f"answer times {latencies[0]:.2f}/{latencies[len(latencies) // 2]:.2f}/{slowest:.2f} s "
        f"(min/median/max); around stop/start: {len(around)} requests, "
        f"{sum(1 for r in around if r['status'] in (200, 201))} succeeded, "
        f"{sum(1 for r in around if r['status'] == 503)} were 503")
    log(f"  time to recover:                 {t_recovered - t_started:.2f} s after pg_ctl start returned, "
        f"{t_recovered - t_start:.2f} s after it began ({polls} polls, same server process)")
    log(f"  load duration:                   {t_load_end - t_load:.1f} s")
    log(f"  nets:                            {', '.join(f'{c} {n}' for c, n in sorted(nets.items()))}")
    log(f"  total:                           {time.monotonic() - t_begin:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
