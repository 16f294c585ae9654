"""One contract, told three times: the stages side by side, not one at a time.

The rest of this suite checks each stage against docs/contract.md. These tests serve all three stages at
once (as `make run` does) and hold them equal to each other: the same /openapi.json apart from `info`
(for the microservices, the gateway's merged document), and the same answer to the same request, byte
for byte once server-generated ids and timestamps are masked. Whatever differs between the stages must
be the lesson (where the code keeps its knowledge), never the contract.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopctl import httpclient
from shopctl.stages import STAGES
from tests.support.api import create_order, create_user, unique_email
from tests.support.targets import ONLY, LocalStages

pytestmark = [
    pytest.mark.skipif(bool(ONLY) and "local" not in ONLY, reason="serves the stages locally"),
    pytest.mark.internals("serves the three stages side by side on this machine"),
]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")
HEADERS = ("allow", "retry-after", "content-type")


@pytest.fixture(scope="module")
def stages(local_stages: LocalStages) -> dict[str, str]:
    """{stage: base URL} for all three stages, served side by side — the same processes the rest of the
    contract suite talks to (tests/conftest.py), as `make run` serves them."""
    return {stage: local_stages[stage].base_url for stage in STAGES}


def differences(left: Any, right: Any, where: str = "") -> Iterator[str]:
    """JSON pointers (RFC 6901 style) to every place where two JSON values differ."""
    if type(left) is not type(right):
        yield where or "/"
    elif isinstance(left, dict):
        for key in sorted(set(left) | set(right)):
            here = f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in left or key not in right:
                yield here
            else:
                yield from differences(left[key], right[key], here)
    elif isinstance(left, list):
        if len(left) != len(right):
            yield where or "/"
        else:
            for index, (a, b) in enumerate(zip(left, right, strict=True)):
                yield from differences(a, b, f"{where}/{index}")
    elif left != right:
        yield where or "/"


def test_differences_name_the_path_that_differs() -> None:
    left = {"paths": {"/users": {"get": {"responses": {"200": {}, "404": {}}}}}}
    right = {"paths": {"/users": {"get": {"responses": {"200": {}}}}}}
    assert list(differences(left, right)) == ["/paths/~1users/get/responses/404"]
    assert list(differences(left, left)) == []


def test_the_three_openapi_documents_are_equal_apart_from_info(stages: dict[str, str]) -> None:
    documents = {}
    for stage, url in stages.items():
        response = httpclient.get(f"{url}/openapi.json", timeout=30)
        assert response.status_code == 200, f"{stage}: {response.status_code} {response.text[:200]}"
        documents[stage] = {key: value for key, value in response.json().items() if key != "info"}
    reference, *others = STAGES
    for stage in others:
        differing = list(differences(documents[reference], documents[stage]))
        assert not differing, f"{stage}'s /openapi.json differs from {reference}'s at: {', '.join(differing[:10])}"


# --- the same request, the same answer -------------------------------------------------------------------

Probe = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


def probes(user_id: str, other_user_id: str, token_of_other_user: str) -> dict[str, Probe]:
    nobody = str(uuid.uuid4())
    order = {"user_id": user_id, "product": "Keyboard", "quantity": 1}
    return {
        "health": ("GET", "/health", {}),
        "name too short": ("POST", "/users", {"json": {"name": "A", "email": unique_email()}}),
        "name too long": ("POST", "/users", {"json": {"name": "A" * 101, "email": unique_email()}}),
        "email without a dot": ("POST", "/users", {"json": {"name": "Ada", "email": "ada@example"}}),
        "email with a space": ("POST", "/users", {"json": {"name": "Ada", "email": "ada@example.com "}}),
        "name not text": ("POST", "/users", {"content": b'{"name": "\\ud800x", "email": "a@example.com"}',
                                              "headers": {"content-type": "application/json"}}),
        "name not a string": ("POST", "/users", {"json": {"name": 5, "email": unique_email()}}),
        "missing fields": ("POST", "/users", {"json": {}}),
        "not JSON": ("POST", "/users", {"content": b"name=Ada", "headers": {"content-type": "text/plain"}}),
        "quantity as a string": ("POST", "/orders", {"json": {**order, "quantity": "5"}}),
        "quantity as a float": ("POST", "/orders", {"json": {**order, "quantity": 5.0}}),
        "quantity as a boolean": ("POST", "/orders", {"json": {**order, "quantity": True}}),
        "quantity 0": ("POST", "/orders", {"json": {**order, "quantity": 0}}),
        "quantity 1001": ("POST", "/orders", {"json": {**order, "quantity": 1001}}),
        "empty product": ("POST", "/orders", {"json": {**order, "product": ""}}),
        "product too long": ("POST", "/orders", {"json": {**order, "product": "p" * 201}}),
        "user_id not a UUID": ("POST", "/orders", {"json": {**order, "user_id": "ada"}}),
        "order for nobody": ("POST", "/orders", {"json": {**order, "user_id": nobody}}),
        "limit 0": ("GET", "/users", {"params": {"limit": 0}}),
        "limit 101": ("GET", "/users", {"params": {"limit": 101}}),
        "tampered token": ("GET", "/users", {"params": {"next": "bm90LWEtdG9rZW4"}}),
        "token over the limit": ("GET", "/users", {"params": {"next": "a" * 1025}}),
        "another user's token": ("GET", "/orders", {"params": {"user_id": user_id, "next": token_of_other_user}}),
        "unknown user": ("GET", f"/users/{nobody}", {}),
        "unknown order": ("DELETE", f"/orders/{nobody}", {}),
        "id not a UUID": ("GET", "/orders/42", {}),
        "PUT on a collection": ("PUT", "/users", {}),
        "PATCH on an item": ("PATCH", f"/orders/{nobody}", {}),
        "POST on health": ("POST", "/health", {}),
        "HEAD on a collection": ("HEAD", "/orders", {}),
        "body over 64 KiB": ("POST", "/users", {"json": {"name": "A" * 70_000, "email": unique_email()}}),
        "a full last page": ("GET", "/orders", {"params": {"user_id": other_user_id, "limit": 2}}),
    }


MASKS = [
    (UUID, "<id>"),
    (TIMESTAMP, "<time>"),
    (re.compile(r'"next":"[A-Za-z0-9_-]+"'), '"next":"<token>"'),
    (re.compile(r"[a-z]+-[0-9a-f]{12}@example\.com"), "<email>"),  # tests.support.api.unique_email
    (re.compile(r'"stage":"(monolith|microservices|clean)"'), '"stage":"<stage>"'),
]


def answer(client: httpx.Client, probe: Probe) -> str:
    """Status, the headers that carry meaning, and the body, with what the server generates masked."""
    method, path, options = probe
    response = client.request(method, path, **options)
    body = response.text
    for pattern, mask in MASKS:
        body = pattern.sub(mask, body)
    headers = {name: response.headers[name] for name in HEADERS if name in response.headers}
    return json.dumps({"status": response.status_code, "headers": headers, "body": body}, sort_keys=True)


def test_every_stage_gives_the_same_answer_to_the_same_request(stages: dict[str, str], tmp_path: Path) -> None:
    answers: dict[str, dict[str, str]] = {}
    for stage, url in stages.items():
        with httpclient.client(base_url=url, timeout=30) as client:
            user = create_user(client, name="  Ada Lovelace ")
            other = create_user(client)
            for _ in range(2):
                create_order(client, other["id"])
            first = client.get("/orders", params={"user_id": other["id"], "limit": 1}).json()
            asked = probes(user["id"], other["id"], first["next"])
            answers[stage] = {name: answer(client, probe) for name, probe in asked.items()}
            # The created user, as every stage stores and returns it.
            answers[stage]["created user"] = answer(client, ("GET", f"/users/{user['id']}", {}))
    reference, *others = STAGES
    for stage in others:
        differing = [name for name in answers[reference] if answers[reference][name] != answers[stage][name]]
        (tmp_path / "answers.json").write_text(json.dumps(answers, indent=1))  # kept for a failing run
        assert not differing, "\n".join(
            f"{name}:\n  {reference}: {answers[reference][name]}\n  {stage}: {answers[stage][name]}"
            for name in differing
        )


def test_a_full_last_page_has_no_next_in_every_stage(stages: dict[str, str]) -> None:
    for stage, url in stages.items():
        with httpclient.client(base_url=url, timeout=30) as client:
            owner = create_user(client)
            orders = [create_order(client, owner["id"]) for _ in range(2)]
            full = client.get("/orders", params={"user_id": owner["id"], "limit": 2}).json()
            assert (len(full["items"]), full["next"]) == (2, None), stage
            first = client.get("/orders", params={"user_id": owner["id"], "limit": 1}).json()
            second = client.get("/orders", params={"user_id": owner["id"], "limit": 1, "next": first["next"]}).json()
            assert [o["id"] for o in first["items"] + second["items"]] == [o["id"] for o in orders], stage
            assert second["next"] is None, stage
