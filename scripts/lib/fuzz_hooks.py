"""Schemathesis hooks for scripts/test-fuzz, and the seeding of the server it fuzzes.

`python fuzz_hooks.py seed BASE_URL OUT.json` signs up the fuzzing accounts and creates the
groups, members, expenses, repayments and invite that the run's path parameters point at
(scripts/test-fuzz writes their ids into the run's schemathesis.toml).

`python fuzz_hooks.py summary NDJSON...` prints one line per distinct failure of a run's
NDJSON report (check, operation, methods sent, status, Problem codes, count, one request).

Loaded by schemathesis through SCHEMATHESIS_HOOKS (with FUZZ_SEED_FILE naming the seed's JSON
file), the hooks below:

- give `POST /auth/logout` a fresh session of a throwaway account for every call, so that
  the fuzzed logouts never revoke the token every other operation uses;
- give `POST /users/me/password` the session of an account of its own, so that a password
  change (which may revoke that account's sessions) never touches the main account;
- drop exactly the `positive_data_acceptance` failures that are false positives by design
  (ACCEPTED_REFUSALS below): a schema-valid request that the server refuses for a rule that
  depends on stored state or relates several fields, which JSON Schema cannot express. The
  refusal is recognised by status and by the stable codes of its Problem body; a refusal
  that also names any other code is kept, and so is every other check's failure.
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
    # Dollars spent, then converted into euros: a conversion to read and one to undo.
    dollars = {"description": "Fuel", "amount": "40.00", "currency": "USD", "paid_by": a["id"],
               "split": {"type": "equal", "members": [a["id"], b["id"]]}}
    _request(base, "POST", f"/groups/{main}/expenses", dollars, a["token"])
    to_euros = {"from_currency": "USD", "to_currency": "EUR", "exchange_rate": "0.92"}
    conversion = _request(base, "POST", f"/groups/{main}/conversions", to_euros, a["token"])["id"]
    # A person without an account, for the claim codes.
    grandpa = _request(base, "POST", f"/groups/{main}/members", {"display_name": "Fuzz grandpa"}, a["token"])["user_id"]
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
        "conversion": conversion,
        "placeholder": grandpa,
        "invite": invite,
    }


# ---------------------------------------------------------------------------------------------
# positive_data_acceptance (ST202) refusals that are not bugs. Each operation lists the
# (status, code) pairs it may answer to a schema-valid request because of a rule no JSON Schema
# can state: for 422 `validation_failed` the codes are those of `errors[]` (every one of them
# must be listed), for other statuses the Problem's own `code`. A (status, code, field) triple
# accepts that code on that field only, for a code the document states elsewhere.
_LIST = {(422, "invalid_cursor")}  # `cursor` must be a `next_cursor` this list handed out
_ENTRY = {
    (422, "not_a_member"),  # user ids must be members of the group (stored state)
    (422, "duplicate_member"),  # one entry per member: uniqueness by `user_id`, not whole item
    (422, "sum_mismatch"),  # payers / exact shares must add up to `amount`
    (422, "percent_sum"),  # percentages must add up to exactly 100
    (422, "weights_zero"),  # weights must not all be zero
    # the currency's minor unit (JPY 0, EUR 2, KWD 3): `currency` or, when absent, the group's
    (422, "amount_too_precise"),
    # exactly one of `paid_by` and `payers`: both is payer_conflict; neither (on create) is
    # `required` on paid_by. Two nullable fields tied together: no `required` list states it.
    (422, "payer_conflict"),
    (422, "required", "paid_by"),
    # `metadata` is at most 16 KiB once serialised: no JSON Schema keyword bounds a size in bytes
    (422, "metadata_too_large"),
    # `exchange_rate` books another currency than the group's (stored state) into it: not with
    # that currency, and not so small or large that the converted amount leaves (0, 10^12]
    (422, "exchange_rate_same_currency"),
    (422, "amount_not_positive", "exchange_rate"),
    (422, "amount_too_large", "exchange_rate"),
}
_SERIES = {
    (status, code) if len(rest) == 0 else (status, code, f"expense.{rest[0]}")
    for (status, code, *rest) in _ENTRY
} | {
    (422, "invalid_range", "ends_on"),
    (422, "too_many_occurrences", "starts_on"),
    (422, "date_out_of_range", "starts_on"),
    (422, "date_out_of_range", "ends_on"),
}
# A multipart form whose extra parts are named with bytes that are not header text (the
# fuzzer invents such names; the form's own fields are plain ASCII): the multipart parser
# cannot read the part headers, so the form is malformed, whatever the schema allows.
_MULTIPART: set[tuple[int, str] | tuple[int, str, str]] = {
    (400, "malformed_body"),
    (400, "bad_request"),
}
ACCEPTED_REFUSALS: dict[tuple[str, str], set[tuple[int, str] | tuple[int, str, str]]] = {
    ("GET", "/groups"): _LIST,
    ("GET", "/groups/{group_id}/activity"): _LIST,
    ("GET", "/groups/{group_id}/settlements"): _LIST,
    ("GET", "/groups/{group_id}/conversions"): _LIST,
    # `from` must not be after `to`: a relation between two parameters
    ("GET", "/groups/{group_id}/expenses"): _LIST | {(422, "invalid_range")},
    ("GET", "/groups/{group_id}/summary"): {(422, "invalid_range")},
    ("POST", "/groups/{group_id}/expenses"): _ENTRY,
    # `version` must be the expense's current one (optimistic concurrency): 412
    ("PATCH", "/groups/{group_id}/expenses/{expense_id}"): _ENTRY | {(412, "stale_version")},
    # `from_user` != `to_user`, both members; the amount within the currency's minor unit
    ("POST", "/groups/{group_id}/settlements"): {
        (422, "not_a_member"),
        (422, "same_user"),
        (422, "amount_too_precise"),
    },
    # `to_currency` differs from `from_currency` (two fields), and the group must hold a
    # balance in `from_currency` (stored state) that converts within (0, 10^12]
    ("POST", "/groups/{group_id}/conversions"): {
        (422, "same_currency"),
        (422, "nothing_to_convert"),
        (422, "amount_too_large", "exchange_rate"),
    },
    # exactly one of `email` and `display_name` (two nullable fields tied together: neither is
    # `required` on email); a placeholder (no email) is never an admin
    ("POST", "/groups/{group_id}/members"): {(422, "required", "email"), (422, "placeholder_role")},
    # a placeholder (stored state: who the member is) is never made an admin or owner
    ("PATCH", "/groups/{group_id}/members/{user_id}"): {(422, "placeholder_role")},
    # `current_password` must be the account's password (stored state)
    ("POST", "/users/me/password"): {(422, "wrong_password")},
    # the file's type is read from its bytes (JPEG, PNG, WebP, HEIC, PDF), it must not be
    # empty, and at most the server's upload limit: no JSON Schema keyword reads a file
    ("POST", "/groups/{group_id}/expenses/{expense_id}/attachments"): _MULTIPART | {
        (415, "unsupported_media_type"),
        (413, "payload_too_large"),
        (422, "empty_file"),
    },
    # A series' template is checked as an expense (its fields nested under `expense.`); the
    # rule relates fields (`ends_on` not before `starts_on`) and today's date (at most 1000
    # occurrences already due).
    ("POST", "/groups/{group_id}/recurring"): _SERIES,
    ("PATCH", "/groups/{group_id}/recurring/{series_id}"): _SERIES,
    # the provider must be one this server is configured with (its settings), and a callback's
    # `state` one it issued and did not use yet (stored state)
    ("GET", "/auth/oidc/{provider}/login"): {(404, "not_found")},
    ("GET", "/auth/oidc/{provider}/callback"): {(401, "oidc_failed")},
    # The file is another tool's export: what it must hold (header rows, per-row rules, names
    # that map to members) is the tool's format, not a JSON Schema; the same file twice is 409
    ("POST", "/groups/{group_id}/import"): _MULTIPART | {
        (409, "already_imported"),
        *(
            (422, code)
            for code in (
                "import_unreadable", "import_header", "import_empty", "import_unbalanced",
                "import_columns", "import_row", "import_unknown_person", "import_shares_total",
                "import_split_mode", "import_no_sharers", "import_payment", "import_empty_name",
                "import_member", "import_overflow", "import_unknown_name", "import_ambiguous_name",
                "invalid_amount", "invalid_date", "invalid_currency", "invalid_weight",
                "amount_too_precise", "amount_not_positive", "not_positive", "amount_too_large",
                "invalid_members", "not_a_member", "too_long", "required", "invalid_text",
                "date_out_of_range", "unreadable_file", "file_too_large",
            )
        ),
    },
}


def is_accepted_refusal(code: str, method: str, path: str, status: int, content: bytes | None) -> bool:
    """Whether a failure is an ST202 refusal that ACCEPTED_REFUSALS lists for its operation."""
    accepted = ACCEPTED_REFUSALS.get((method.upper(), path))
    if code != "ST202" or not accepted:
        return False
    try:
        problem = json.loads(content or b"")
    except ValueError:
        return False
    if not isinstance(problem, dict):
        return False
    if status == 422 and problem.get("code") == "validation_failed":
        errors = [e for e in problem.get("errors") or [] if isinstance(e, dict)]
        return bool(errors) and all(
            (422, e.get("code")) in accepted or (422, e.get("code"), e.get("field")) in accepted
            for e in errors
        )
    return (status, problem.get("code")) in accepted


# ---------------------------------------------------------------------------------------------
# Hooks (imported by schemathesis only).

_SEED: dict[str, Any] = {}


def _seed() -> dict[str, Any]:
    if not _SEED:
        with open(os.environ["FUZZ_SEED_FILE"]) as fd:
            _SEED.update(json.load(fd))
    return _SEED


if __name__ != "__main__":
    import requests
    import schemathesis

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


    @schemathesis.hook
    def filter_failure(context, failure, case, response):
        """False keeps a failure out of the run: only the refusals in ACCEPTED_REFUSALS."""
        return not is_accepted_refusal(failure.code, case.method, case.operation.path, response.status_code, response.content)


def summary(paths: list[str]) -> int:
    """Prints one line per distinct failure in schemathesis NDJSON reports; returns how many."""
    import base64
    from collections import Counter

    def text(payload: Any) -> str:
        if isinstance(payload, dict) and "$base64" in payload:
            return base64.b64decode(payload["$base64"]).decode(errors="replace")
        return ""

    counts: Counter[tuple] = Counter()
    first: dict[tuple, str] = {}
    methods: dict[tuple, set[str]] = {}
    for path in paths:
        with open(path) as fd:
            for line in fd:
                event = json.loads(line).get("ScenarioFinished")
                if not event:
                    continue
                recorder = event["recorder"]
                for case_id, checks in recorder.get("checks", {}).items():
                    for check in checks:
                        if check.get("status") != "failure":
                            continue
                        interaction = recorder.get("interactions", {}).get(case_id) or {}
                        request, response = interaction.get("request") or {}, interaction.get("response") or {}
                        try:
                            problem = json.loads(text(response.get("content")))
                            codes = problem.get("code", "") if isinstance(problem, dict) else ""
                            errors = sorted({e["code"] for e in problem.get("errors") or []}) if isinstance(problem, dict) else []
                            if errors:
                                codes += "[" + ",".join(errors) + "]"
                        except ValueError:
                            codes = "-"
                        label = check["failure_info"]["failure"].get("operation") or recorder["label"]
                        key = (check["name"], label, response.get("status_code"), codes)
                        counts[key] += 1
                        methods.setdefault(key, set()).add(request.get("method", "?"))
                        if key not in first:
                            body = text(request.get("body"))
                            first[key] = request.get("uri", "") + (f" {body[:160]}" if body else "")
    for key, n in counts.items():
        name, label, status, codes = key
        sent = ",".join(sorted(methods[key]))
        print(f"{name}: {label} (sent {sent}) -> {status} {codes} (x{n})\n    {first[key]}")
    if not counts:
        print("none")
    return len(counts)


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[1] == "summary":
        summary(argv[2:])
        return
    if len(argv) != 4 or argv[1] != "seed":
        raise SystemExit(f"usage: {argv[0]} seed BASE_URL OUT.json | summary NDJSON...")
    with open(argv[3], "w") as fd:
        json.dump(seed(argv[2].rstrip("/")), fd, indent=2)


if __name__ == "__main__":
    main(sys.argv)
