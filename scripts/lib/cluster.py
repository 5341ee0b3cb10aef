#!/usr/bin/env python3
"""Many copies, one database: three splitledger-server processes behind HAProxy.

Driven by scripts/test-cluster, which builds the server, installs HAProxy when missing,
creates a fresh PostgreSQL database and drops it afterwards. This program:

1. runs `splitledger-server migrate` once, then starts three copies (A, B, C) on free ports
   against that database and HAProxy (roundrobin, health check on GET /health/ready,
   `option redispatch`, `retries 3`) in front of them;
2. drives a mixed write load (expenses with every split kind and several payers, in two
   currencies, and settlements) from 8 client threads through HAProxy, each logical write with
   its own Idempotency-Key, retried with the same key and body on connection errors, 502, 503
   and 504 until acknowledged (201); halfway it SIGKILLs copy B and restarts it on its port;
3. checks that every acknowledged write exists exactly once (expenses and settlements listed
   page by page, and in the export), that replaying every key returns the same id and writes
   nothing, that the balances equal a recomputation from what is listed (nets add up to zero),
   that a session opened on one copy works on the others, and that the login throttle counts
   failures across copies (5 free failures, then 429 on any copy).

Every loop is bounded by a count. Any failed check prints `FAIL: ...` and exits 1.
The helpers above `main` are shared with scripts/lib/pg_restart.py.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from decimal import Decimal

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


class Failure(Exception):
    """A failed check: the message says what was expected and what came."""


def check(cond: bool, message: str) -> None:
    if not cond:
        raise Failure(message)


def log(message: str) -> None:
    print(message, flush=True)


class Reply:
    """One HTTP answer."""

    def __init__(self, status: int, headers: dict[str, str], text: str, started: float, ended: float):
        self.status = status
        self.headers = headers
        self.text = text
        self.started = started
        self.ended = ended

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError as e:
            raise Failure(f"answer is not JSON ({e}): {self.status} {self.text[:500]!r}") from None

    def describe(self) -> str:
        return f"{self.status} {self.header('content-type')} {self.text[:400]}"


CONNECTION_ERRORS = (OSError, http.client.HTTPException)


def request(base: str, method: str, path: str, body=None, token: str | None = None,
            headers: dict[str, str] | None = None, timeout: float = 15.0) -> Reply:
    """One request on its own connection (`Connection: close`). Raises a CONNECTION_ERRORS
    exception when no answer comes (refused, reset, closed, timed out)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    hdrs = {"Connection": "close", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    hdrs.update(headers or {})
    started = time.monotonic()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        got = {k.lower(): v for k, v in resp.getheaders()}
        return Reply(resp.status, got, raw.decode("utf-8", "replace"), started, time.monotonic())
    finally:
        conn.close()


def expect(reply: Reply, status: int, what: str):
    check(reply.status == status, f"{what}: expected {status}, got {reply.describe()}")
    return reply.json() if reply.text else None


def free_ports(n: int) -> list[int]:
    """n distinct ports free on 127.0.0.1 right now, below the ephemeral range when possible, so
    that no outgoing connection takes one while a process restarts on it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = list(range(max(1024, low - 12000), low)) if low > 2048 else []
    random.shuffle(candidates)
    socks, ports = [], []
    try:
        for port in candidates[:500]:
            if len(ports) == n:
                break
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(port)
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def child_env() -> dict[str, str]:
    """The environment for server processes: settings come from flags only."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "BIND", "TOKEN_TTL", "CORS_ORIGINS", "LOG_FORMAT", "COOKIE_SECURE",
                 "BODY_LIMIT", "SHUTDOWN_TIMEOUT", "SIGNUP", "OIDC_PROVIDERS", "METRICS_BIND",
                 "SENTRY_DSN", "FILES_URL", "PUBLIC_URL", "MAX_UPLOAD"):
        env.pop(name, None)
    env.setdefault("RUST_LOG", "info")
    return env


class Processes:
    """Child processes, each in its own session, written to WORK/pids so that the bash entry's
    trap can end them (by pid) if this program dies without cleaning up."""

    def __init__(self, work: str):
        self.work = work
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, str] = {}
        self.lock = threading.Lock()

    def start(self, name: str, args: list[str], env=None) -> subprocess.Popen:
        log_path = os.path.join(self.work, f"{name}.log")
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.work, env=env or child_env(), start_new_session=True)
        with self.lock:
            self.procs[name] = proc
            self.logs[name] = log_path
        with open(os.path.join(self.work, "pids"), "a") as f:
            f.write(f"{proc.pid}\n")
        return proc

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=30)

    def tail(self, name: str, lines: int = 20) -> str:
        try:
            with open(self.logs[name], encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop_all(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in list(self.procs.items()):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_ready(procs: Processes, name: str, base: str, attempts: int = 300, pause: float = 0.05) -> float:
    """Polls GET /health/ready until 200 (at most `attempts` times); returns when it answered."""
    last = "no answer"
    for _ in range(attempts):
        proc = procs.procs[name]
        if proc.poll() is not None:
            raise Failure(f"{name} exited with {proc.returncode} before it was ready:\n{procs.tail(name)}")
        try:
            r = request(base, "GET", "/health/ready", timeout=5)
            if r.status == 200:
                return time.monotonic()
            last = r.describe()
        except CONNECTION_ERRORS as e:
            last = repr(e)
        time.sleep(pause)
    raise Failure(f"{name} at {base} not ready after {attempts} polls (last: {last}):\n{procs.tail(name)}")


def exit_on_signals() -> None:
    """SIGTERM/SIGINT/SIGHUP raise SystemExit so that `finally` blocks clean up."""
    def handler(signum, _frame):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # one interruption is enough: let cleanup run
        log(f"interrupted by signal {signum}; cleaning up")
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)


def sign_up_and_login(base: str, email: str, password: str, name: str, send=None) -> dict:
    send = send or (lambda *a, **k: request(base, *a, **k))
    user = expect(send("POST", "/api/v1/auth/signup",
                       {"email": email, "password": password, "display_name": name}), 201, f"sign up {email}")
    login = expect(send("POST", "/api/v1/auth/login", {"email": email, "password": password}), 200,
                   f"log in {email}")
    check(isinstance(login.get("access_token"), str) and login["access_token"], f"no access_token: {login}")
    return {"id": user["id"], "email": email, "password": password, "name": name, "token": login["access_token"]}


def list_all(send, path: str, token: str, max_pages: int = 100) -> list[dict]:
    """Every item of a paginated list (`limit=200`, following `next_cursor`)."""
    items: list[dict] = []
    cursor = None
    for _ in range(max_pages):
        q = {"limit": "200"}
        if cursor:
            q["cursor"] = cursor
        page = expect(send("GET", f"{path}?{urllib.parse.urlencode(q)}", token=token), 200, f"GET {path}")
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items
    raise Failure(f"{path}: still a next_cursor after {max_pages} pages")


def recompute_and_compare(balances_doc: dict, expenses: list[dict], settlements: list[dict]) -> dict:
    """Recomputes paid, owed, sent, received and net per (currency, member) from the listed
    expenses and settlements and compares them with GET /balances. Returns the nets."""
    zero = Decimal("0")
    calc: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: {"paid": zero, "owed": zero, "sent": zero, "received": zero})
    for e in expenses:
        amount = Decimal(e["amount"])
        cur = e["currency"]
        sign = -1 if e.get("kind") == "income" else 1
        paid = sum((Decimal(p["amount"]) for p in e["payers"]), zero)
        owed = sum((Decimal(s["amount"]) for s in e["shares"]), zero)
        check(paid == amount, f"expense {e['id']}: payers add up to {paid}, amount {amount}")
        check(owed == amount, f"expense {e['id']}: shares add up to {owed}, amount {amount}")
        for p in e["payers"]:
            calc[(cur, p["user_id"])]["paid"] += sign * Decimal(p["amount"])
        for s in e["shares"]:
            calc[(cur, s["user_id"])]["owed"] += sign * Decimal(s["amount"])
    for s in settlements:
        amount = Decimal(s["amount"])
        calc[(s["currency"], s["from_user"])]["sent"] += amount
        calc[(s["currency"], s["to_user"])]["received"] += amount

    served: dict[tuple[str, str], dict] = {}
    for block in balances_doc["balances"]:
        for m in block["members"]:
            served[(block["currency"], m["user_id"])] = m
    nets: dict[str, Decimal] = defaultdict(lambda: zero)
    for key in set(calc) | set(served):
        mine = calc[key]
        theirs = served.get(key)
        check(theirs is not None or all(v == zero for v in mine.values()),
              f"balances lack {key}, recomputed {mine}")
        if theirs is None:
            continue
        for field in ("paid", "owed", "sent", "received"):
            if field in theirs:
                check(Decimal(theirs[field]) == mine[field],
                      f"balance {field} of {key}: server {theirs[field]}, recomputed {mine[field]}")
        converted = Decimal(theirs.get("converted", "0"))
        check(converted == zero, f"balance converted of {key}: {converted} (no conversion was made)")
        net = mine["paid"] - mine["owed"] + mine["sent"] - mine["received"] + converted
        check(Decimal(theirs["net"]) == net, f"balance net of {key}: server {theirs['net']}, recomputed {net}")
        nets[key[0]] += Decimal(theirs["net"])
    for cur, total in nets.items():
        check(total == zero, f"nets in {cur} add up to {total}, not 0")
    return dict(nets)


def split_cents(rng: random.Random, cents: int, parts: int) -> list[int]:
    """`cents` cut into `parts` positive pieces."""
    cuts = sorted(rng.sample(range(1, cents), parts - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [cents])]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def make_write(rng: random.Random, key: str, me: str, members: list[str]) -> tuple[str, dict]:
    """A random logical write: ("expense" | "settlement", body). The key is in the text."""
    roll = rng.random()
    if roll < 0.15:
        other = rng.choice([m for m in members if m != me])
        return "settlement", {"from_user": me, "to_user": other, "amount": money(rng.randint(100, 20000)),
                              "note": f"load {key}"}
    cents = rng.randint(300, 50000)
    body: dict = {"description": f"load {key}", "amount": money(cents)}
    if rng.random() < 0.1:
        body["currency"] = "USD"
    kind = rng.choice(["equal", "equal-some", "exact", "percent", "shares"])
    if kind == "equal":
        body["split"] = {"type": "equal"}
    elif kind == "equal-some":
        body["split"] = {"type": "equal", "members": rng.sample(members, rng.randint(2, len(members)))}
    elif kind == "exact":
        some = rng.sample(members, rng.randint(1, len(members)))
        body["split"] = {"type": "exact", "shares": [
            {"user_id": u, "amount": money(c)} for u, c in zip(some, split_cents(rng, cents, len(some)))]}
    elif kind == "percent":
        table = rng.choice([t for t in ([["25", "25", "25", "25"], ["40", "30", "20", "10"],
                                         ["33.33", "33.33", "33.34"], ["12.5", "87.5"]])
                            if len(t) <= len(members)])
        some = rng.sample(members, len(table))
        body["split"] = {"type": "percent", "shares": [{"user_id": u, "percent": p} for u, p in zip(some, table)]}
    else:
        weights = rng.choice([w for w in ([["2", "1", "1"], ["1", "3"], ["1", "1", "1", "2"]])
                              if len(w) <= len(members)])
        some = rng.sample(members, len(weights))
        body["split"] = {"type": "shares", "shares": [{"user_id": u, "weight": w} for u, w in zip(some, weights)]}
    if rng.random() < 0.2:
        two = rng.sample(members, 2)
        body["payers"] = [{"user_id": u, "amount": money(c)} for u, c in zip(two, split_cents(rng, cents, 2))]
    else:
        body["paid_by"] = rng.choice(members)
    return "expense", body


RETRYABLE = (502, 503, 504)


class Load:
    """Counts and records of a write load; `write` sends one logical write until it is
    acknowledged, retrying with the same key and body."""

    def __init__(self, base: str, group: str, max_attempts: int, pause: float, observe=None,
                 retryable: tuple[int, ...] = RETRYABLE):
        self.base = base
        self.retryable = retryable
        self.group = group
        self.max_attempts = max_attempts
        self.pause = pause
        self.observe = observe  # called with (Reply | None, error | None, started, ended)
        self.lock = threading.Condition()
        self.sent = 0
        self.retries = 0
        self.retried_keys: set[str] = set()
        self.retry_causes: Counter = Counter()
        self.acked: dict[str, dict] = {}
        self.successes: list[tuple[float, str | None]] = []

    def path_of(self, kind: str) -> str:
        return f"/api/v1/groups/{self.group}/{'expenses' if kind == 'expense' else 'settlements'}"

    def write(self, key: str, kind: str, body: dict, token: str, record: bool = True) -> dict:
        path = self.path_of(kind)
        for attempt in range(1, self.max_attempts + 1):
            started = time.monotonic()
            reply = error = None
            try:
                reply = request(self.base, "POST", path, body, token=token, headers={"Idempotency-Key": key})
            except CONNECTION_ERRORS as e:
                error = e
            ended = time.monotonic()
            if self.observe:
                self.observe(reply, error, started, ended)
            with self.lock:
                self.sent += 1
                if error is not None or reply.status in self.retryable:
                    self.retries += 1
                    self.retried_keys.add(key)
                    cause = type(error).__name__ if error is not None else str(reply.status)
                    self.retry_causes[cause] += 1
            if error is None and reply.status == 201:
                doc = reply.json()
                check(isinstance(doc.get("id"), str), f"{kind} {key}: 201 without an id: {reply.describe()}")
                served_by = reply.header("x-served-by")
                if record:
                    with self.lock:
                        check(key not in self.acked, f"key {key} acknowledged twice")
                        self.acked[key] = {"kind": kind, "id": doc["id"], "body": body, "token": token,
                                           "attempts": attempt, "served_by": served_by, "doc": doc}
                        self.successes.append((ended, served_by))
                        self.lock.notify_all()
                return doc
            if error is None and reply.status not in self.retryable:
                raise Failure(f"POST {path} key {key} (attempt {attempt}): unexpected {reply.describe()}")
            time.sleep(self.pause)
        raise Failure(f"POST {path} key {key}: not acknowledged after {self.max_attempts} attempts "
                      f"(last: {reply.describe() if reply else repr(error)})")


def run_threads(targets: list) -> list[BaseException]:
    """Runs callables in threads, returns the exceptions they raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrap(fn):
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=wrap, args=(fn,), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def verify_ledger(send, group: str, token: str, acked: dict[str, dict]) -> tuple[list, list, dict]:
    """Checks that every acknowledged write is listed exactly once and nothing else is, and that
    the balances equal a recomputation. Returns (expenses, settlements, nets)."""
    expenses = list_all(send, f"/api/v1/groups/{group}/expenses", token)
    settlements = list_all(send, f"/api/v1/groups/{group}/settlements", token)
    for name, items in (("expenses", expenses), ("settlements", settlements)):
        ids = Counter(i["id"] for i in items)
        dups = [i for i, n in ids.items() if n > 1]
        check(not dups, f"{name} listed more than once: {dups[:5]}")
    by_text: dict[str, list[str]] = defaultdict(list)
    for e in expenses:
        by_text[e["description"]].append(e["id"])
    for s in settlements:
        by_text[s.get("note") or ""].append(s["id"])
    dup_texts = {t: ids for t, ids in by_text.items() if len(ids) > 1}
    check(not dup_texts, f"one logical write stored more than once: {list(dup_texts.items())[:5]}")
    want_e = {a["id"] for a in acked.values() if a["kind"] == "expense"}
    want_s = {a["id"] for a in acked.values() if a["kind"] == "settlement"}
    got_e = {e["id"] for e in expenses}
    got_s = {s["id"] for s in settlements}
    check(got_e == want_e, f"expenses listed {len(got_e)} vs acknowledged {len(want_e)}: missing "
          f"{sorted(want_e - got_e)[:5]}, unexpected {sorted(got_e - want_e)[:5]}")
    check(got_s == want_s, f"settlements listed {len(got_s)} vs acknowledged {len(want_s)}: missing "
          f"{sorted(want_s - got_s)[:5]}, unexpected {sorted(got_s - want_s)[:5]}")
    for key, a in acked.items():
        text = f"load {key}"
        check(by_text.get(text) == [a["id"]], f"key {key}: acknowledged id {a['id']}, stored {by_text.get(text)}")
    balances = expect(send("GET", f"/api/v1/groups/{group}/balances", token=token), 200, "GET balances")
    nets = recompute_and_compare(balances, expenses, settlements)
    return expenses, settlements, nets


# ---------------------------------------------------------------------------------------------
# The cluster test
# ---------------------------------------------------------------------------------------------

CLIENTS = 8
WRITES_PER_CLIENT = 50
MAX_ATTEMPTS = 80
USERS = ["Ann", "Bob", "Cat", "Dan"]
PASSWORD = "correct horse battery"


def haproxy_config(port: int, servers: dict[str, int]) -> str:
    lines = [
        "global",
        "    maxconn 512",
        "defaults",
        "    mode http",
        "    timeout connect 1s",
        "    timeout client 20s",
        "    timeout server 20s",
        "    timeout http-request 5s",
        "    timeout queue 5s",
        "    retries 3",
        "    option redispatch",
        "frontend api",
        f"    bind 127.0.0.1:{port}",
        "    default_backend copies",
        "backend copies",
        "    balance roundrobin",
        "    option httpchk GET /health/ready",
        "    http-check expect status 200",
        "    default-server inter 300ms fastinter 200ms downinter 300ms fall 2 rise 2",
        "    http-response set-header X-Served-By %[srv_name]",
    ]
    lines += [f"    server {name} 127.0.0.1:{p} check" for name, p in servers.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="the splitledger-server binary")
    ap.add_argument("--database-url", required=True, help="a fresh, empty PostgreSQL database")
    ap.add_argument("--work", required=True, help="a temporary folder for configs and logs")
    ap.add_argument("--haproxy", default="haproxy")
    args = ap.parse_args()
    exit_on_signals()
    t_begin = time.monotonic()
    procs = Processes(args.work)
    try:
        run(args, procs, t_begin)
        return 0
    except Failure as e:
        log(f"FAIL: {e}")
        for name in procs.procs:
            log(f"--- last lines of {name}.log ---\n{procs.tail(name, 12)}")
        return 1
    finally:
        procs.stop_all()


def run(args, procs: Processes, t_begin: float) -> None:
    server = os.path.abspath(args.server)
    rnd = random.Random(secrets.randbits(64))
    run_id = secrets.token_hex(4)

    log("== migrate")
    m = subprocess.run([server, "--database-url", args.database_url, "migrate"], env=child_env(),
                       cwd=args.work, capture_output=True, text=True, timeout=120)
    check(m.returncode == 0, f"migrate exited with {m.returncode}:\n{m.stdout}{m.stderr}")

    ports = free_ports(4)
    copies = {"A": ports[0], "B": ports[1], "C": ports[2]}
    proxy_port = ports[3]
    direct = {name: f"http://127.0.0.1:{p}" for name, p in copies.items()}

    def start_copy(name: str):
        return procs.start(f"server-{name}", [server, "--bind", f"127.0.0.1:{copies[name]}",
                                              "--database-url", args.database_url])

    log(f"== three copies on ports {', '.join(f'{n}={p}' for n, p in copies.items())}")
    for name in copies:
        start_copy(name)
    for name in copies:
        wait_ready(procs, f"server-{name}", direct[name])

    cfg = os.path.join(args.work, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(haproxy_config(proxy_port, copies))
    c = subprocess.run([args.haproxy, "-c", "-f", cfg], capture_output=True, text=True)
    check(c.returncode == 0, f"haproxy rejects its config:\n{c.stdout}{c.stderr}")
    log(f"== HAProxy on port {proxy_port}")
    procs.start("haproxy", [args.haproxy, "-db", "-f", cfg], env=dict(os.environ))
    proxy = f"http://127.0.0.1:{proxy_port}"

    # Every copy must be in rotation before the load starts.
    seen: set[str] = set()
    for _ in range(200):
        if procs.procs["haproxy"].poll() is not None:
            raise Failure(f"haproxy exited:\n{procs.tail('haproxy')}")
        try:
            r = request(proxy, "GET", "/health/ready", timeout=5)
            if r.status == 200 and r.header("x-served-by"):
                seen.add(r.header("x-served-by"))
        except CONNECTION_ERRORS:
            pass
        if seen == set(copies):
            break
        time.sleep(0.05)
    check(seen == set(copies), f"through HAProxy only {sorted(seen)} answered")

    def via_proxy(method, path, body=None, token=None, headers=None):
        """A request through HAProxy, retried on connection errors and 502/503/504 (setup and
        checks only; the load counts its own)."""
        last = None
        for _ in range(40):
            try:
                r = request(proxy, method, path, body, token=token, headers=headers)
                if r.status not in RETRYABLE:
                    return r
                last = r.describe()
            except CONNECTION_ERRORS as e:
                last = repr(e)
            time.sleep(0.1)
        raise Failure(f"{method} {path} through HAProxy: no answer after 40 attempts (last: {last})")

    log("== users and a group")
    users = [sign_up_and_login(proxy, f"{n.lower()}-{run_id}@example.com", PASSWORD, n, send=via_proxy)
             for n in USERS]
    owner = users[0]
    group = expect(via_proxy("POST", "/api/v1/groups", {"name": f"cluster {run_id}", "currency": "EUR"},
                             token=owner["token"]), 201, "create group")["id"]
    for u in users[1:]:
        expect(via_proxy("POST", f"/api/v1/groups/{group}/members", {"email": u["email"]}, token=owner["token"]),
               201, f"add {u['email']}")
    member_ids = [u["id"] for u in users]

    total = CLIENTS * WRITES_PER_CLIENT
    load = Load(proxy, group, MAX_ATTEMPTS, pause=0.1)
    plans = []
    for t in range(CLIENTS):
        user = users[t % len(users)]
        writes = []
        for i in range(WRITES_PER_CLIENT):
            key = f"{run_id}-c{t}-w{i}"
            kind, body = make_write(rnd, key, user["id"], member_ids)
            writes.append((key, kind, body))
        plans.append((user, writes))
    done = threading.Event()

    def client(user, writes):
        def go():
            for key, kind, body in writes:
                load.write(key, kind, body, user["token"])
        return go

    log(f"== load: {CLIENTS} clients x {WRITES_PER_CLIENT} writes through HAProxy; copy B is killed halfway")
    t_load = time.monotonic()
    errors: list[BaseException] = []
    runner = threading.Thread(target=lambda: (errors.extend(run_threads([client(u, w) for u, w in plans])),
                                              done.set(), _notify(load)), daemon=True)
    runner.start()
    with load.lock:
        load.lock.wait_for(lambda: len(load.acked) >= total // 2 or done.is_set(), timeout=300)
        acked_at_kill = len(load.acked)
    check(not done.is_set() or not errors, f"load failed before the kill: {errors[:1]}")
    check(acked_at_kill < total, "the load finished before copy B could be killed")
    t_kill = time.monotonic()
    procs.kill("server-B", signal.SIGKILL)
    log(f"   SIGKILL copy B after {acked_at_kill} acknowledged writes")
    time.sleep(0.5)
    t_restart = time.monotonic()
    start_copy("B")
    t_b_ready = wait_ready(procs, "server-B", direct["B"])
    log(f"   copy B restarted on port {copies['B']}, ready {t_b_ready - t_kill:.2f} s after the kill")
    runner.join()
    if errors:
        raise errors[0] if isinstance(errors[0], Failure) else Failure(f"a client crashed: {errors[0]!r}")
    t_load_end = time.monotonic()

    # The first acknowledged write served by the restarted copy; when the load ended before
    # HAProxy took B back, a few more writes (bounded) find it.
    def first_via_b():
        after = [t for t, srv in load.successes if srv == "B" and t > t_restart]
        return min(after) if after else None

    extra = 0
    while first_via_b() is None and extra < 100:
        key = f"{run_id}-extra-{extra}"
        kind, body = make_write(rnd, key, owner["id"], member_ids)
        load.write(key, kind, body, owner["token"])
        extra += 1
        time.sleep(0.05)
    t_first_b = first_via_b()
    check(t_first_b is not None, f"no write went through the restarted copy B ({extra} extra writes)")
    check(len(load.acked) == total + extra, f"acknowledged {len(load.acked)} of {total + extra} writes")

    log("== (a, b) every acknowledged write exactly once; replaying every key returns the same id")
    sent_load, retries_load = load.sent, load.retries
    verify_ledger(via_proxy, group, owner["token"], load.acked)
    replay = Load(proxy, group, MAX_ATTEMPTS, pause=0.1)
    keys = list(load.acked.items())

    def replayer(part):
        def go():
            for key, a in part:
                doc = replay.write(key, a["kind"], a["body"], a["token"], record=False)
                check(doc["id"] == a["id"], f"key {key} replayed: id {doc['id']}, first acknowledged {a['id']}")
        return go

    errs = run_threads([replayer(keys[i::CLIENTS]) for i in range(CLIENTS)])
    if errs:
        raise errs[0] if isinstance(errs[0], Failure) else Failure(f"replay crashed: {errs[0]!r}")
    log("== (c) balances equal a recomputation from the listed writes; nets add up to zero")
    expenses, settlements, nets = verify_ledger(via_proxy, group, owner["token"], load.acked)
    export = expect(via_proxy("GET", f"/api/v1/groups/{group}/export?format=json", token=owner["token"]), 200,
                    "export")
    if isinstance(export, dict) and isinstance(export.get("expenses"), list):
        exported = Counter(e.get("id") for e in export["expenses"])
        check(set(exported) == {e["id"] for e in expenses} and max(exported.values(), default=1) == 1,
              f"export has {sum(exported.values())} expenses, the list {len(expenses)}")

    log("== (d) a session opened on copy A works on B and C")
    login = expect(request(direct["A"], "POST", "/api/v1/auth/login",
                           {"email": users[1]["email"], "password": PASSWORD}), 200, "log in on A")
    for name in ("A", "B", "C"):
        me = expect(request(direct[name], "GET", "/api/v1/users/me", token=login["access_token"]), 200,
                    f"GET /users/me on copy {name} with A's token")
        check(me["id"] == users[1]["id"], f"copy {name} says the token is {me['id']}, not {users[1]['id']}")

    log("== (e) the login throttle counts failures across copies")
    email = f"throttle-{run_id}@example.com"
    expect(request(direct["C"], "POST", "/api/v1/auth/signup",
                   {"email": email, "password": PASSWORD, "display_name": "Throttled"}), 201, "sign up on C")
    wrong = {"email": email, "password": "not the password"}
    for i, name in enumerate(["A", "B", "C", "A", "B"], 1):
        r = request(direct[name], "POST", "/api/v1/auth/login", wrong)
        check(r.status == 401, f"wrong password #{i} on copy {name}: expected 401, got {r.describe()}")
    sixth: dict[str, Reply] = {}

    def attempt(name):
        def go():
            sixth[name] = request(direct[name], "POST", "/api/v1/auth/login", wrong)
        return go

    errs = run_threads([attempt(n) for n in ("A", "B", "C")])
    check(not errs, f"throttled attempt failed: {errs[:1]}")
    for name, r in sorted(sixth.items()):
        check(r.status == 429, f"wrong password #6 on copy {name}: expected 429, got {r.describe()}")
        check(r.header("retry-after") is not None, f"429 on copy {name} without Retry-After")
        check(r.json().get("code") == "throttled", f"429 on copy {name}: {r.describe()}")

    log("")
    log("figures:")
    log(f"  load requests sent:             {sent_load} (replay: {replay.sent})")
    log(f"  retries:                        {retries_load} on {len(load.retried_keys)} keys "
        f"({', '.join(f'{k}: {v}' for k, v in load.retry_causes.most_common()) or 'none'}; replay: {replay.retries})")
    log(f"  acknowledged writes:            {len(load.acked)} ({len(expenses)} expenses, {len(settlements)} "
        f"settlements; {extra} extra to reach the restarted copy)")
    log(f"  kill -> B ready (direct):       {t_b_ready - t_kill:.2f} s")
    log(f"  kill -> first write through B:  {t_first_b - t_kill:.2f} s")
    log(f"  load duration:                  {t_load_end - t_load:.1f} s")
    log(f"  nets:                           {', '.join(f'{c} {n}' for c, n in sorted(nets.items()))}")
    log(f"  total:                          {time.monotonic() - t_begin:.1f} s")


def _notify(load: Load) -> None:
    with load.lock:
        load.lock.notify_all()


if __name__ == "__main__":
    sys.exit(main())
