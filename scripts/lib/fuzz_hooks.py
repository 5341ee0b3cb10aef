"""Schemathesis hooks for scripts/test-fuzz, and the seeding of the server it fuzzes.

`python fuzz_hooks.py seed BASE_URL OUT.json` signs up the fuzzing accounts and creates the
groups, members, expenses, repayments and invite that the run's path parameters point at
(scripts/test-fuzz writes their ids into schemathesis.toml). Loaded by schemathesis through
SCHEMATHESIS_HOOKS (with FUZZ_SEED naming that JSON file), the hooks below:

- give `POST /auth/logout` a fresh session of a throwaway account for every call, so that
  the fuzzed logouts never revoke the token every other operation uses;
- give `POST /users/me/password` the session of an account of its own, so that a password
  change (which may revoke that account's sessions) never touches the main account;
- drop exactly the `positive_data_acceptance` failures that are false positives by design
  (see ACCEPTED_REFUSALS): a schema-valid request that the server refuses for a business
  rule JSON Schema cannot express, recognised by the stable codes of its Problem body.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

API = "/api/v1"


def _request(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + API + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        raise SystemExit(f"seed: {method} {path} answered {err.code}: {err.read().decode(errors='replace')}")
    return json.loads(raw) if raw else None


def seed(base: str) -> dict[str, Any]:
    """Creates the accounts and resources the fuzzed operations point at."""
    password = "fuzz-password-1"
    users: dict[str, dict[str, Any]] = {}
    for name in ("a", "b", "c", "logout", "password"):
        email = f"fuzz-{name}@example.com"
        user = _request(base, "POST", "/auth/signup", {"email": email, "password": password, "display_name": f"Fuzz {name}"})
        session = _request(base, "POST", "/auth/login", {"email": email, "password": password})
        users[name] = {"id": user["id"], "email": email, "password": password, "token": session["access_token"]}
    a, b, c = users["a"], users["b"], users["c"]

    def group(owner: dict[str, Any], name: str, members: list[dict[str, Any]]) -> str:
        gid = _request(base, "POST", "/groups", {"name": name, "currency": "EUR"}, owner["token"])["id"]
        for member in members:
            _request(base, "POST", f"/groups/{gid}/members", {"email": member["email"]}, owner["token"])
        return gid

    # The main group: A owns it, B and C are members; two expenses and two repayments.
    main = group(a, "Fuzz trip", [b, c])

    def expense(description: str) -> str:
        body = {
            "description": description,
            "amount": "30.00",
            "paid_by": a["id"],
            "split": {"type": "equal", "members": [a["id"], b["id"]]},
            "category": "food",
        }
        return _request(base, "POST", f"/groups/{main}/expenses", body, a["token"])["id"]

    def settlement() -> str:
        body = {"from_user": b["id"], "to_user": a["id"], "amount": "5.00"}
        return _request(base, "POST", f"/groups/{main}/settlements", body, a["token"])["id"]

    expense_kept, expense_deleted = expense("Dinner"), expense("Taxi")
    settlement_kept, settlement_deleted = settlement(), settlement()
    # A group for DELETE /groups/{group_id}, and one whose roles PATCH may shuffle.
    deleted = group(a, "Fuzz deleted", [])
    roles = group(a, "Fuzz roles", [b])
    # A group of B's whose invite A accepts.
    other = group(b, "Fuzz other", [])
    invite = _request(base, "POST", f"/groups/{other}/invites", {"expires_in_hours": 24}, b["token"])["code"]
    return {
        "users": users,
        "group": main,
        "group_deleted": deleted,
        "group_roles": roles,
        "expense": expense_kept,
        "expense_deleted": expense_deleted,
        "settlement": settlement_kept,
        "settlement_deleted": settlement_deleted,
        "invite": invite,
    }


# ---------------------------------------------------------------------------------------------
# Hooks (imported by schemathesis only).

_SEED: dict[str, Any] = {}


def _seed() -> dict[str, Any]:
    if not _SEED:
        with open(os.environ["FUZZ_SEED"]) as fd:
            _SEED.update(json.load(fd))
    return _SEED


if __name__ != "__main__":
    import requests
    import schemathesis
    from schemathesis.core.failures import Failure

    @schemathesis.hook
    def before_call(context, case, kwargs):
        seed = _seed()
        headers = case.headers
        main_auth = f"Bearer {seed['users']['a']['token']}"
        if not headers or headers.get("Authorization") != main_auth:
            return  # no auth, or auth that a check (e.g. ignored_auth) chose on purpose
        op = (case.method.upper(), case.operation.path)
        if op == ("POST", "/auth/logout"):
            user = seed["users"]["logout"]
            resp = requests.post(
                case.operation.base_url.rstrip("/") + "/auth/login",
                json={"email": user["email"], "password": user["password"]},
                timeout=30,
            )
            resp.raise_for_status()
            headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
        elif op == ("POST", "/users/me/password"):
            headers["Authorization"] = f"Bearer {seed['users']['password']['token']}"


def main(argv: list[str]) -> None:
    if len(argv) != 4 or argv[1] != "seed":
        raise SystemExit(f"usage: {argv[0]} seed BASE_URL OUT.json")
    with open(argv[3], "w") as fd:
        json.dump(seed(argv[2].rstrip("/")), fd, indent=2)


if __name__ == "__main__":
    main(sys.argv)
