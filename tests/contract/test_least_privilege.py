"""The IAM policies the deploy code writes grant exactly the DynamoDB calls each stage makes.

The local AWS records every request while a stage serves the whole contract (moto's recorder); the
(action, table/index) pairs it saw must equal what shopctl.aws.iam grants that stage — no more, no less.
"""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest

from shopctl import httpclient
from shopctl.aws.iam import INDEX_ACTIONS, table_actions
from shopctl.aws.resources import ORDERS_BY_USER_INDEX
from tests.support.api import create_order, create_user, list_all

TRANSACT_ITEM_ACTIONS = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Delete": "DeleteItem",
    "Update": "UpdateItem",
}


def dynamodb_calls(recording: str) -> set[tuple[str, str]]:
    """(IAM action, table or table/index/name) for every DynamoDB request in a moto recording."""
    calls = set()
    for line in recording.splitlines():
        entry = json.loads(line)
        target = {k.lower(): v for k, v in entry["headers"].items()}.get("x-amz-target", "")
        if not target.startswith("DynamoDB_"):
            continue
        operation = target.split(".", 1)[1]
        raw = base64.b64decode(entry["body"]) if entry.get("body_encoded") else (entry["body"] or "{}")
        body = json.loads(raw or "{}")
        if operation == "TransactWriteItems":
            for item in body["TransactItems"]:
                ((kind, spec),) = item.items()
                calls.add((f"dynamodb:{TRANSACT_ITEM_ACTIONS[kind]}", spec["TableName"]))
            continue
        resource = body["TableName"] + (f"/index/{body['IndexName']}" if "IndexName" in body else "")
        calls.add((f"dynamodb:{operation}", resource))
    return calls


def exercise_every_endpoint(api: httpx.Client) -> None:
    user = create_user(api)
    api.get(f"/users/{user['id']}")
    list_all(api, "/users", limit=2)
    order = create_order(api, user["id"])
    api.get(f"/orders/{order['id']}")
    list_all(api, "/orders", user_id=user["id"], limit=1)
    list_all(api, "/orders", limit=2)
    api.post("/orders", json={"user_id": str(uuid.uuid4()), "product": "Mug", "quantity": 1})
    api.delete(f"/orders/{order['id']}")
    api.delete(f"/users/{user['id']}")


@pytest.mark.internals("records the stage's DynamoDB calls in the local AWS")
def test_policy_matches_the_calls_the_stage_makes(api, deployment, local_aws):
    moto = httpclient.client(base_url=local_aws.endpoint)
    moto.post("/moto-api/recorder/reset-recording")
    moto.post("/moto-api/recorder/start-recording")
    try:
        exercise_every_endpoint(api)
    finally:
        moto.post("/moto-api/recorder/stop-recording")
    recording = moto.get("/moto-api/recorder/download-recording").text
    tables = {deployment.tables.users: "users", deployment.tables.orders: "orders"}
    seen = {(action, res) for action, res in dynamodb_calls(recording) if res.split("/")[0] in tables}

    granted = set()
    for name, kind in tables.items():
        granted |= {(action, name) for action in table_actions(deployment.stage, kind)}
        granted |= {
            (action, f"{name}/index/{ORDERS_BY_USER_INDEX}") for action in INDEX_ACTIONS.get(kind, ())
        }
    assert seen - granted == set(), "the stage makes calls its IAM policy does not allow"
    assert granted - seen == set(), "the IAM policy allows calls the stage never makes"
