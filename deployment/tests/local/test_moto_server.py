"""The local AWS keeps DynamoDB's isolation under concurrent requests (shopctl.local.moto_server): a cancelled
transaction must not undo, nor show, anything — plain moto restores whole-table copies on cancellation,
losing the writes other requests made meanwhile."""

from __future__ import annotations

import threading

import boto3
import pytest
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


def test_a_cancelled_transaction_puts_back_exactly_the_items_it_touched(tables) -> None:
    client = boto3.client("dynamodb")
    for key, name in [("kept", "Ada"), ("updated", "Grace"), ("deleted", "Edsger")]:
        client.put_item(TableName=tables.users, Item={"id": {"S": key}, "name": {"S": name}})
    before = sorted(scan(client, tables.users), key=lambda item: item["id"]["S"])
    order = {"id": {"S": "o-1"}, "user_id": {"S": "updated"}, "created_at": {"S": "2026-01-01T00:00:00+00:00"}}
    writes = [
        {"Put": {"TableName": tables.orders, "Item": order}},
        {"Put": {"TableName": tables.users, "Item": {"id": {"S": "kept"}, "name": {"S": "overwritten"}}}},
        {"Update": {"TableName": tables.users, "Key": {"id": {"S": "updated"}},
                    "UpdateExpression": "SET #n = :n", "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":n": {"S": "changed"}}}},
        {"Delete": {"TableName": tables.users, "Key": {"id": {"S": "deleted"}}}},
    ]  # fmt: skip
    failing = {"ConditionCheck": {"TableName": tables.users, "Key": {"id": {"S": "no-such-user"}},
                                  "ConditionExpression": "attribute_exists(id)"}}  # fmt: skip
    try:
        client.transact_write_items(TransactItems=[*writes, failing])  # moto applies the writes before failing
    except ClientError as error:
        assert error.response["Error"]["Code"] == "TransactionCanceledException"
    else:
        raise AssertionError("the condition check should have cancelled the transaction")
    assert sorted(scan(client, tables.users), key=lambda item: item["id"]["S"]) == before
    assert scan(client, tables.orders) == []
    client.transact_write_items(TransactItems=writes)  # and without the failing check, all of it is written
    after = {item["id"]["S"]: item["name"]["S"] for item in scan(client, tables.users)}
    assert after == {"kept": "overwritten", "updated": "changed"}
    assert [item["id"]["S"] for item in scan(client, tables.orders)] == ["o-1"]


def test_a_transaction_backs_up_its_items_not_the_tables(aws) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from shopctl.aws.resources import TableNames, ensure_tables
    from shopctl.local import moto_server

    moto_server.transactions_save_only_their_items()
    names = TableNames.for_deployment("backup")
    ensure_tables(names)
    client = boto3.client("dynamodb")
    client.put_item(TableName=names.users, Item={"id": {"S": "untouched"}})
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][client.meta.region_name]
    table = backend.tables[names.users]
    untouched = next(iter(table.items.values()))
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": names.users, "Item": {"id": {"S": "new"}}}},
            {"ConditionCheck": {"TableName": names.users, "Key": {"id": {"S": "nobody"}},
                                "ConditionExpression": "attribute_exists(id)"}},
        ])  # fmt: skip
    # Plain moto puts a deep copy of the whole table back: new table and item objects.
    assert backend.tables[names.users] is table
    assert next(iter(table.items.values())) is untouched and len(table.items) == 1


def test_the_server_process_does_without_the_iri_grammars_and_keeps_the_other_formats() -> None:
    import subprocess
    import sys

    probe = (
        "from shopctl.local import moto_server; moto_server.no_iri_grammars(); import sys, jsonschema; "
        "checkers = jsonschema.FormatChecker().checkers; "
        "print('iri' in checkers, 'uri' in checkers, 'email' in checkers, sys.modules['rfc3987_syntax'])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True", "None"]


def test_stopped_it_ends_at_once_with_its_output_flushed(tmp_path) -> None:
    import os
    import subprocess
    import sys

    marker = tmp_path / "teardown-ran"
    probe = (
        "import atexit, pathlib, sys, moto.server\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('ran'))\n"
        "def served():\n"
        "    print('served until stopped')\n"
        "    sys.exit(0)  # what moto's SIGTERM handler does\n"
        "moto.server.main = served\n"
        "from shopctl.local import moto_server\n"
        "moto_server.main()\n"
    )
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a log file is written
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=buffered)
    assert (done.returncode, done.stdout) == (0, "served until stopped\n")
    assert not marker.exists(), "Python's shutdown ran: the server would spend seconds freeing moto's objects"


def test_items_are_answered_as_they_are_with_the_same_bytes(aws, monkeypatch) -> None:
    from moto.core.serialize import BaseJSONSerializer

    from shopctl.aws.resources import TableNames, ensure_tables
    from shopctl.local import moto_server

    names = TableNames.for_deployment("answers")
    ensure_tables(names)
    client = boto3.client("dynamodb")
    plain = {
        "id": {"S": "plain"}, "name": {"S": "Ada Lovelace ✓"}, "empty": {"S": ""}, "n": {"N": "-12.50"},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "yes": {"BOOL": True}, "no": {"BOOL": False},
        "nothing": {"NULL": True}, "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"M": {}}, {"L": []}]}}},
    }  # fmt: skip
    binary = {"id": {"S": "binary"}, "b": {"B": b"\x00\xff"}, "nested": {"M": {"bs": {"BS": [b"1", b"2"]}}}}
    for item in (plain, binary):
        client.put_item(TableName=names.users, Item=item)
    bodies: list[bytes] = []
    client.meta.events.register(
        "before-parse.dynamodb.*", lambda response_dict, **_: bodies.append(response_dict["body"])
    )
    walked: list[str] = []  # the AttributeValue structures moto walked, by the member they were under
    walk = BaseJSONSerializer._serialize_type_structure

    def counted(self, serialized, value, shape, key):
        if shape.name == "AttributeValue":
            walked.append(key)
        return walk(self, serialized, value, shape, key)

    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", counted)
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_map", BaseJSONSerializer._serialize_type_map)

    def answers() -> list[bytes]:
        bodies.clear()
        client.scan(TableName=names.users)
        client.get_item(TableName=names.users, Key={"id": {"S": "plain"}})
        client.get_item(TableName=names.users, Key={"id": {"S": "binary"}})
        return list(bodies)

    by_moto = answers()
    walked_by_moto = len(walked)
    moto_server.items_answered_as_they_are()
    walked.clear()
    assert answers() == by_moto  # byte for byte
    # Only the binary item still takes moto's walk (twice: in the scan and on its own); the plain one does not.
    assert walked and set(walked) <= set(binary) | {"bs", "nested"} and len(walked) < walked_by_moto / 3
