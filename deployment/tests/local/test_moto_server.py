"""The local AWS keeps DynamoDB's isolation under concurrent requests (shopctl.local.moto_server): a cancelled
transaction must not undo, nor show, anything — plain moto restores whole-table copies on cancellation,
losing the writes other requests made meanwhile."""

from __future__ import annotations

import threading

import boto3
from botocore.exceptions import ClientError


def scan(client, table: str) -> list[dict]:
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_cancelled_transactions_do_not_undo_concurrent_writes(tables) -> None:
    client = boto3.client("dynamodb")
    # Enough items that copying the table takes a while: the window in which plain moto loses writes.
    filler = [f"filler-{n}" for n in range(600)]
    for start in range(0, len(filler), 25):
        client.batch_write_item(RequestItems={tables.users: [
            {"PutRequest": {"Item": {"id": {"S": key}}}} for key in filler[start : start + 25]]})  # fmt: skip
    written = [f"kept-{n}" for n in range(100)]
    cancelled = 0

    def writer() -> None:
        for key in written:
            client.put_item(TableName=tables.users, Item={"id": {"S": key}})

    def cancelling_transactions() -> None:
        nonlocal cancelled
        for n in range(30):
            try:
                client.transact_write_items(
                    TransactItems=[
                        {"ConditionCheck": {"TableName": tables.users, "Key": {"id": {"S": "no-such-user"}},
                                            "ConditionExpression": "attribute_exists(id)"}},
                        {"Put": {"TableName": tables.orders,
                                 "Item": {"id": {"S": f"refused-{n}"}, "user_id": {"S": "no-such-user"},
                                          "created_at": {"S": "2026-01-01T00:00:00+00:00"}}}},
                    ]
                )  # fmt: skip
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException"
                cancelled += 1

    threads = [threading.Thread(target=writer), *(threading.Thread(target=cancelling_transactions) for _ in range(2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    users = [i for i in scan(client, tables.users) if i["id"]["S"].startswith("kept-")]
    orders = scan(client, tables.orders)
    assert cancelled == 60
    assert sorted(item["id"]["S"] for item in users) == sorted(written), "writes lost to a cancelled transaction"
    assert orders == [], "a cancelled transaction's Put is visible"


def test_the_service_lookup_lists_moto_s_modules_once(monkeypatch) -> None:
    import os

    from moto import backends

    from shopctl.local import moto_server

    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)  # put back after
    listed = list(backends.list_of_moto_modules())
    moto_server.list_moto_modules_once()

    def no_listing(path):
        raise AssertionError(f"moto's folder listed again: {path}")

    monkeypatch.setattr(os, "listdir", no_listing)  # what every request paid for before
    assert list(backends.list_of_moto_modules()) == listed
    assert {"dynamodb", "awslambda", "ssm"} <= set(backends.list_of_moto_modules())


def test_aws_managed_policies_are_built_in_the_standard_partition_only(managed_policies) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = boto3.client("iam")
    iam.create_role(RoleName="cluster", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="cluster", PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    attached = iam.list_attached_role_policies(RoleName="cluster")["AttachedPolicies"]
    assert [policy["PolicyName"] for policy in attached] == ["AmazonEKSClusterPolicy"]
    account = iam_backends[DEFAULT_ACCOUNT_ID]
    assert len(account["aws"].aws_managed_policies) > 1000
    assert [len(account[p].aws_managed_policies) for p in ("aws-cn", "aws-us-gov")] == [0, 0]
