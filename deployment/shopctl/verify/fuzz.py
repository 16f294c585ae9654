"""`make verify` fuzz: generated and hand-written bad input against a running deployment.

Requests are generated from the deployment's own OpenAPI document (`GET /openapi.json`): for every
operation, path and query parameters and JSON bodies built from the schemas — mostly plausible values
(so that some requests are accepted and the data check below means something), mixed with wrong types,
boundary numbers, missing and extra fields, and unicode edge cases (lone surrogates, NUL, combining
marks, right-to-left overrides, emoji). A seeded `random.Random` drives it: a failure names its seed and
replays. Then a list of hand-written nasties: bodies over the size limit (declared and chunked), deep
JSON, invalid UTF-8, wrong content types, duplicate keys, NaN, path-traversal-like ids, odd queries
(the oversized bodies must be exactly 413).

What must hold:
- no response is a 5xx;
- every 4xx carries a JSON `detail`;
- afterwards the tables hold exactly what the accepted requests created (201s) minus what they deleted
  (204s), field for field — read from the local AWS with boto3, not through the API under test.
"""

from __future__ import annotations

import json
import random
import string
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import httpx

from shopctl import localaws
from shopctl.serving import Deployed, serve
from shopctl.verify.result import Result

FULL_EXAMPLES = 600
REDUCED_EXAMPLES = 60
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

    def note(self, method: str, path: str, response: httpx.Response) -> None:
        kind = "users" if path.startswith("/users") else "orders" if path.startswith("/orders") else ""
        if not kind:
            return
        if method == "POST" and response.status_code == 201:
            body = response.json()
            getattr(self, kind)[body["id"]] = body
        elif method == "DELETE" and response.status_code == 204:
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
    with httpx.Client(base_url=deployed.base_url, timeout=30.0) as api:
        schema = api.get("/openapi.json").json()
        # Seed data, so generated ids can hit real users and orders (200/204) as well as unknown ones.
        for index in range(3):
            send(api, result, ledger, counts, "POST", "/users",
                 body={"name": f"Seed User {index}", "email": f"seed{index}@example.com"})
        generator = Generator(schema, random.Random(seed), ledger)
        for request in generator.requests(examples):
            send(api, result, ledger, counts, **request)
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
    ledger.note(method, path, response)


# --- requests generated from the OpenAPI document -------------------------------------------------------


class Generator:
    def __init__(self, schema: dict[str, Any], rng: random.Random, ledger: Ledger) -> None:
        self.schema = schema
        self.rng = rng
        self.ledger = ledger
        self.operations = [
            (method.upper(), path, operation)
            for path, item in sorted(schema.get("paths", {}).items())
            for method, operation in sorted(item.items())
            if method in ("get", "post", "delete", "put", "patch") and path != "/health"
        ]

    def requests(self, count: int) -> Iterator[dict[str, Any]]:
        for _ in range(count):
            method, path, operation = self.rng.choice(self.operations)
            params: dict[str, Any] = {}
            for parameter in operation.get("parameters", []):
                if self.rng.random() < 0.15:
                    continue  # a missing parameter (required or not)
                value = self.value(parameter["name"], self.resolve(parameter.get("schema", {})))
                if parameter["in"] == "path":
                    path = path.replace("{" + parameter["name"] + "}", _path_segment(value))
                elif parameter["in"] == "query" and value is not None:
                    params[parameter["name"]] = value if isinstance(value, str | int) else json.dumps(value)
            request: dict[str, Any] = {"method": method, "path": path, "params": params}
            body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "schema" in body_schema:
                request["body"] = self.body(self.resolve(body_schema["schema"]))
            yield request

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.schema["components"]["schemas"][name]
        return schema

    def body(self, schema: dict[str, Any]) -> Any:
        roll = self.rng.random()
        if roll < 0.05:
            return self.rng.choice(NASTY_VALUES)  # not even an object
        properties = schema.get("properties", {})
        body = {name: self.value(name, self.resolve(sub)) for name, sub in properties.items()}
        if roll < 0.15 and body:
            body.pop(self.rng.choice(sorted(body)))  # a missing field
        elif roll < 0.2:
            body[self.rng.choice(["extra", "id", "status", "__proto__"])] = self.rng.choice(NASTY_VALUES)
        return body

    def value(self, name: str, schema: dict[str, Any]) -> Any:
        """Mostly what the field wants (from its name and schema), sometimes anything but."""
        if self.rng.random() < 0.2:
            return self.rng.choice(NASTY_STRINGS + NASTY_VALUES)
        options = [self.resolve(s) for s in schema.get("anyOf", [])] or [schema]
        schema = next((s for s in options if s.get("type") != "null"), options[0])
        kind, fmt = schema.get("type"), schema.get("format")
        if name in ("user_id", "order_id") or fmt == "uuid":
            known = list(self.ledger.users if name == "user_id" else self.ledger.orders)
            if known and self.rng.random() < 0.7:
                return self.rng.choice(known)
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if name == "email":
            local = "".join(self.rng.choices(string.ascii_lowercase, k=self.rng.randint(1, 12)))
            return self.rng.choice([f"{local}@example.com", f" {local}@exämple.org ", f"{local}+tag@sub.example.io"])
        if kind == "integer":
            low, high = int(schema.get("minimum", 1)), int(schema.get("maximum", 1000))
            if self.rng.random() < 0.7:
                return self.rng.randint(low, high)
            return self.rng.choice([low, high, low - 1, high + 1, 0, -(2**31)])
        if name == "next":
            return self.rng.choice(["", "abc", "eyJpZCI6ICJ4In0", "e30", "!!!", "A" * 2000])
        if kind == "string" or not kind:
            size = self.rng.choice([0, 1, 2, 5, 30, 100, 101, 200, 201])
            alphabet = string.ascii_letters + " éøß漢字🙂-'"
            return "".join(self.rng.choices(alphabet, k=size))
        return self.rng.choice(NASTY_VALUES)


def _path_segment(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "%20"


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
    yield {"method": "POST", "path": "/orders", "body": {"user_id": user_id, "product": "Mug", "quantity": 1.0}}
    yield {"method": "POST", "path": "/orders", "body": {"user_id": user_id, "product": "Mug", "quantity": True}}
    yield {"method": "POST", "path": "/orders", "body": {"user_id": user_id, "product": "\ud800", "quantity": 1}}


# --- the data check ---------------------------------------------------------------------------------------


def stored(deployed: Deployed) -> dict[str, dict[str, dict[str, Any]]]:
    """Every user and order item, as plain values, read from the local AWS directly."""
    client = boto3.client("dynamodb")
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
