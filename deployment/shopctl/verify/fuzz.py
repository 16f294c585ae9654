"""`make verify` fuzz: Schemathesis and hand-written bad input against a running deployment.

Generated requests come from Schemathesis (a maintained property-based OpenAPI tester, PyPI
`schemathesis`), run as `st run` on the deployment's own `/openapi.json` with every standard response
check (schemathesis.toml next to this file says which contract rules the schema cannot express): its
coverage phase (boundary values, every documented and undocumented method), its fuzzing phase
(hypothesis-generated valid and invalid data) and its stateful phase (create, read, delete chains).
Each of its failures is one of ours; `--seed` makes a run replayable. Then a list of hand-written
nasties a schema-driven generator would not think of: bodies over the size limit (declared and
chunked), deep JSON, invalid UTF-8, wrong content types, duplicate keys, NaN, lone surrogates,
path-traversal-like ids, odd queries (the oversized bodies must be exactly 413).

What must hold:
- Schemathesis' checks find nothing: no 5xx, no undocumented status, no response off its schema, no
  missing or wrong `Allow` on a 405, no schema-valid request refused, no schema-invalid one accepted;
- every 4xx of the hand-written requests carries a JSON `detail`, none is a 5xx;
- afterwards the tables hold exactly what the accepted requests of both created (201s) minus what they
  deleted (204s), field for field — read from the local AWS with boto3, not through the API under test
  (Schemathesis' requests are read back from its HAR report).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import httpx

from shopctl import httpclient
from shopctl.aws import clients
from shopctl.local import localaws
from shopctl.serving import Deployed, serve
from shopctl.verify.result import Result

FULL_EXAMPLES = 50  # Schemathesis' --max-examples: per operation, in its fuzzing and stateful phases
REDUCED_EXAMPLES = 5
SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS_TIMEOUT_S = 900
MAX_BODY_BYTES = 64 * 1024  # docs/contract.md

# Strings a schema-driven generator would not think of, each a classic way to break a service.
NASTY_STRINGS = [
    "",
    " ",
    "\t\n",
    "\ud800",  # a lone surrogate: valid JSON ("\ud800"), not valid Unicode text
    "x\udfffy",
    "\u0000",
    "nul\u0000inside",
    "\u202eevil.exe",  # right-to-left override
    "e\u0301\u0301\u0301",  # combining marks
    "\ufeffbom",
    "👩‍👩‍👧‍👦" * 30,
    "李小龙",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR '1'='1",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "A" * 5000,
    "a@b",
    "@example.com",
    "a b@example.com",
    "a@@example.com",
    "1",
    "00000000-0000-0000-0000-000000000000",
]
NASTY_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1001,
    2**63,
    10**40,
    -(2**63),
    1.5,
    5.0,
    1e308,
    "5",
    [],
    {},
    [1, 2],
    {"a": {"b": {"c": []}}},
]


@dataclass
class Ledger:
    """What the accepted requests did: the data the tables must hold afterwards."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_users: set[str] = field(default_factory=set)
    deleted_orders: set[str] = field(default_factory=set)

    def note(self, method: str, path: str, status: int, body: str) -> None:
        kind = "users" if path.startswith("/users") else "orders" if path.startswith("/orders") else ""
        if not kind:
            return
        if method == "POST" and status == 201:
            created = json.loads(body)
            getattr(self, kind)[created["id"]] = created
        elif method == "DELETE" and status == 204:
            getattr(self, f"deleted_{kind}").add(path.rstrip("/").rsplit("/", 1)[-1])


def run(stage: str, target: str, *, reduced: bool, seed: int | None = None) -> list[Result]:
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    aws = localaws.from_environment()
    with (
        tempfile.TemporaryDirectory(prefix=f"verify-fuzz-{stage}-{target}-") as scratch,
        serve(stage, target, aws, logs=Path(scratch)) as deployed,
    ):
        return [fuzz(deployed, examples=REDUCED_EXAMPLES if reduced else FULL_EXAMPLES, seed=seed)]


def fuzz(deployed: Deployed, *, examples: int, seed: int) -> Result:
    result = Result("fuzz", deployed.stage, deployed.target)
    before = stored(deployed)
    ledger = Ledger()
    counts = {"2xx": 0, "4xx": 0}
    with httpclient.client(base_url=deployed.base_url, timeout=30.0) as api:
        # Seed data, so generated ids can hit real users and orders (200/204) as well as unknown ones.
        for index in range(3):
            send(api, result, ledger, counts, "POST", "/users",
                 body={"name": f"Seed User {index}", "email": f"seed{index}@example.com"})
        schemathesis(deployed.base_url, result, ledger, counts, examples=examples, seed=seed)
        for request in nasties(ledger):
            send(api, result, ledger, counts, **request)
    result.tried += 1
    for problem in compare(before, stored(deployed), ledger):
        result.fail(problem)
    result.figures = {
        "seed": seed,
        "accepted_2xx": counts["2xx"],
        "refused_4xx": counts["4xx"],
        "users_created": len(ledger.users),
        "orders_created": len(ledger.orders),
    }
    return result


# --- sending and judging one request ----------------------------------------------------------------------


def send(
    api: httpx.Client,
    result: Result,
    ledger: Ledger,
    counts: dict[str, int],
    method: str,
    path: str,
    *,
    body: Any = None,
    content: bytes | Iterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    raw_path: bytes | None = None,
    expect: int | None = None,
) -> None:
    result.tried += 1
    headers = dict(headers or {})
    if body is not None and content is None:
        content = json.dumps(body, ensure_ascii=True).encode()  # \ud800 travels as an escape, as JSON allows
        headers.setdefault("content-type", "application/json")
    url = api.build_request(method, path).url
    if params:  # encoded by hand: a lone surrogate goes out as the bytes it stands for (invalid UTF-8)
        url = url.copy_with(query=urlencode(params, doseq=True, errors="surrogatepass").encode("ascii"))
    if raw_path is not None:  # as sent: httpx would otherwise resolve "../" itself
        url = url.copy_with(raw_path=raw_path)
    label = f"{method} {raw_path.decode('latin-1') if raw_path else path}"[:120]
    try:
        response = api.request(method, url, content=content, headers=headers)
    except httpx.HTTPError as error:
        result.fail(f"{label}: no response ({type(error).__name__}: {error})")
        return
    status = response.status_code
    if expect is not None and status != expect:
        result.fail(f"{label}: HTTP {status}, expected {expect}: {response.text[:120]!r}")
        return
    if status >= 500:
        result.fail(f"{label}: HTTP {status} {response.text[:160]!r}")
        return
    if 400 <= status < 500:
        counts["4xx"] += 1
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict) or "detail" not in document:
            result.fail(f"{label}: HTTP {status} without a JSON detail: {response.text[:160]!r}")
        return
    counts["2xx"] += 1
    ledger.note(method, path, status, response.text)


# --- requests generated from the OpenAPI document, by Schemathesis ------------------------------------------


def schemathesis(
    base_url: str, result: Result, ledger: Ledger, counts: dict[str, int], *, examples: int, seed: int
) -> None:
    """`st run` against the deployment: its failures into `result`, its accepted requests into `ledger`."""
    st = Path(sys.executable).with_name("st")
    if not st.exists():
        result.tried += 1
        result.fail(f"Schemathesis is not installed ({st} missing); hint: make verify installs it on first use")
        return
    with tempfile.TemporaryDirectory(prefix="verify-schemathesis-") as scratch:
        har, junit = Path(scratch, "run.har"), Path(scratch, "junit.xml")
        argv = [
            str(st), "--config-file", str(SCHEMATHESIS_CONFIG), "--no-color",
            "run", f"{base_url}/openapi.json", "--url", base_url,
            "--checks", "all",
            "--max-examples", str(examples), "--seed", str(seed % 2**31), "--no-shrink",
            "--request-timeout", "30", "--report", "har,junit",
            "--report-har-path", str(har), "--report-junit-path", str(junit),
        ]
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=SCHEMATHESIS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            result.tried += 1
            result.fail(f"schemathesis: no result within {SCHEMATHESIS_TIMEOUT_S} s (seed {seed})")
            return
        for entry in json.loads(har.read_text()).get("log", {}).get("entries", []) if har.exists() else []:
            result.tried += 1
            status = entry["response"]["status"]
            counts["2xx" if status < 400 else "4xx"] += status < 500
            path = urlsplit(entry["request"]["url"]).path
            ledger.note(entry["request"]["method"], path, status, entry["response"].get("content", {}).get("text", ""))
        failures = list(_junit_failures(junit)) if junit.exists() else []
        for failure in failures:
            result.fail(f"schemathesis (seed {seed % 2**31}): {failure}")
        if run.returncode not in (0, 1) or (run.returncode == 1 and not failures):
            tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
            result.fail(f"schemathesis exited with status {run.returncode}: {' / '.join(tail)}")


def _junit_failures(path: Path) -> Iterator[str]:
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        for problem in [*case.iter("failure"), *case.iter("error")]:
            text = (problem.get("message") or problem.text or "").strip().splitlines()
            yield f"{case.get('name')}: {' '.join(line.strip() for line in text[:8] if line.strip())[:400]}"


# --- hand-written nasties ----------------------------------------------------------------------------------


def nasties(ledger: Ledger) -> Iterator[dict[str, Any]]:
    user_id = next(iter(ledger.users), str(uuid.uuid4()))
    valid_user = {"name": "Nasty Tester", "email": "nasty@example.com"}
    huge = json.dumps({"name": "x" * 1_000_000, "email": "big@example.com"}).encode()
    just_over = json.dumps({"name": "x" * MAX_BODY_BYTES, "email": "big@example.com"}).encode()
    json_type = {"content-type": "application/json"}
    yield {"method": "POST", "path": "/users", "content": huge, "headers": json_type, "expect": 413}
    yield {"method": "POST", "path": "/users", "content": just_over, "headers": json_type, "expect": 413}
    chunks = iter([huge[i : i + 65_536] for i in range(0, 300_000, 65_536)])
    yield {"method": "POST", "path": "/users", "content": chunks, "headers": json_type, "expect": 413}  # chunked
    yield {"method": "POST", "path": "/orders", "content": b"[" * 60_000, "headers": json_type}  # deep JSON
    deep = '{"name": ' + "[" * 20_000 + "]" * 20_000 + ', "email": "deep@example.com"}'
    yield {"method": "POST", "path": "/users", "content": deep.encode(), "headers": json_type}
    for raw in (
        b'{"name": "Ada", "email": ',  # truncated
        b"\xff\xfe\x00invalid utf-8",
        b'{"name": NaN, "email": "a@example.com"}',
        b'{"name": Infinity, "email": "a@example.com"}',
        b'{"name": "\\ud800\\udc00\\ud800", "email": "s@example.com"}',
        b'{"name": "Dup Key", "name": "x", "email": "dup@example.com"}',  # duplicate keys: the last wins
        b'{"name": "Dup Email", "email": "bad", "email": "dupe@example.com"}',
        b"\xef\xbb\xbf" + json.dumps(valid_user).encode(),  # a UTF-8 byte order mark
        b"null",
        b"",
        json.dumps({"user_id": user_id, "product": "Mug", "quantity": 1, "quantity ": 2}).encode(),
    ):
        path = "/orders" if b"user_id" in raw else "/users"
        yield {"method": "POST", "path": path, "content": raw, "headers": json_type}
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/json; charset=latin-1", "application/xml", ""):
        yield {"method": "POST", "path": "/users", "content": json.dumps(valid_user).encode(),
               "headers": {"content-type": content_type} if content_type else {}}
    yield {"method": "POST", "path": "/users", "content": b"name=Ada&email=a@example.com",
           "headers": {"content-type": "application/x-www-form-urlencoded"}}
    for raw_path in (
        b"/users/..", b"/users/../orders", b"/users/%2e%2e%2f%2e%2e%2fetc%2fpasswd", b"/users/..%2F..%2Fetc",
        b"/users/%00", b"/users/%ff%fe", b"/orders/" + b"9" * 3000, b"/users/" + user_id.encode() + b"/../../health",
        b"//users", b"/users/%20", b"/orders/%u2215", b"/users/" + user_id.encode() + b"%00",
    ):
        yield {"method": "GET", "path": "/", "raw_path": raw_path}
        yield {"method": "DELETE", "path": "/", "raw_path": raw_path}
    for params in (
        {"limit": "-1"}, {"limit": "1e9"}, {"limit": "abc"}, {"limit": "0"}, {"limit": "101"},
        {"next": "../../"}, {"next": "e30"}, {"next": "\u0000"}, {"user_id": "not-a-uuid"},
        {"user_id": user_id, "next": "eyJpZCI6ICJ4In0"}, {"limit": ["1", "2"]},
    ):
        yield {"method": "GET", "path": "/orders", "params": params}
        yield {"method": "GET", "path": "/users", "params": params}
    for method in ("PUT", "PATCH"):
        yield {"method": method, "path": "/users", "body": valid_user}
    for index, value in enumerate(NASTY_STRINGS + NASTY_VALUES):  # each field gets every classic
        yield {"method": "POST", "path": "/users", "body": {"name": value, "email": f"nasty{index}@example.com"}}
        yield {"method": "POST", "path": "/users", "body": {"name": "Nasty Email", "email": value}}
        yield {"method": "POST", "path": "/orders", "body": {"user_id": user_id, "product": value, "quantity": 1}}
        yield {"method": "POST", "path": "/orders", "body": {"user_id": user_id, "product": "Mug", "quantity": value}}
    # quantity is a JSON integer only — what no JSON Schema can say (schemathesis_hooks.py)
    for quantity in (1.0, True, "1"):
        order = {"user_id": user_id, "product": "Mug", "quantity": quantity}
        yield {"method": "POST", "path": "/orders", "body": order, "expect": 422}
    yield {"method": "POST", "path": "/orders", "body": {"user_id": user_id, "product": "\ud800", "quantity": 1}}


# --- the data check ---------------------------------------------------------------------------------------


def stored(deployed: Deployed) -> dict[str, dict[str, dict[str, Any]]]:
    """Every user and order item, as plain values, read from the local AWS directly."""
    client = clients.client("dynamodb")
    tables = {"users": deployed.tables.users, "orders": deployed.tables.orders}
    items: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, table in tables.items():
        found: dict[str, dict[str, Any]] = {}
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                plain = {k: int(v["N"]) if "N" in v else v.get("S") for k, v in item.items()}
                found[plain["id"]] = plain
        items[kind] = found
    return items


def compare(before: dict[str, dict], after: dict[str, dict], ledger: Ledger) -> Iterator[str]:
    for kind, created, deleted in (
        ("users", ledger.users, ledger.deleted_users),
        ("orders", ledger.orders, ledger.deleted_orders),
    ):
        expected = {**before[kind], **created}
        for key in deleted:
            expected.pop(key, None)
        unexpected = sorted(set(after[kind]) - set(expected))
        missing = sorted(set(expected) - set(after[kind]))
        if unexpected:
            yield f"{kind}: {len(unexpected)} stored that no accepted request created, e.g. {unexpected[:3]}"
        if missing:
            yield f"{kind}: {len(missing)} acknowledged but not stored (or deleted unasked), e.g. {missing[:3]}"
        for key in sorted(set(created) & set(after[kind])):
            item, answer = after[kind][key], created[key]
            differing = sorted(f for f in answer if f != "created_at" and item.get(f) != answer[f])
            if differing:
                yield f"{kind} {key}: stored {differing} differ from the 201 response"
