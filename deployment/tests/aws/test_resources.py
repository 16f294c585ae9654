"""DynamoDB tables on the AWS path: a delete is waited for, and creating a table that is still DELETING
waits, then creates it. moto deletes at once, so the DELETING state is injected into its answer."""

from __future__ import annotations

import boto3

from shopctl.aws import resources

TABLES = resources.TableNames.for_deployment("clean-ecs")


def test_delete_waits_until_the_tables_are_gone(aws_calls):
    resources.ensure_tables(TABLES)
    aws_calls.sent.clear()
    assert resources.delete_tables(TABLES) == [TABLES.users, TABLES.orders]
    ops = aws_calls.operations("dynamodb")
    last_delete = len(ops) - 1 - ops[::-1].index("dynamodb.DeleteTable")
    assert ops[last_delete + 1 :].count("dynamodb.DescribeTable") >= 2  # table_not_exists, for each table


def test_a_table_still_deleting_is_waited_for_then_created(aws_calls):
    resources.ensure_tables(TABLES)
    deleting = [TABLES.users]

    def still_deleting(parsed: dict) -> None:
        table = parsed.get("Table", {})
        if table.get("TableName") in deleting:  # the first look finds it DELETING; AWS then removes it
            deleting.remove(table["TableName"])
            table["TableStatus"] = "DELETING"
            _backend_delete(table["TableName"])

    aws_calls.on_response("dynamodb", "DescribeTable", still_deleting)
    aws_calls.sent.clear()
    assert resources.ensure_tables(TABLES) == [TABLES.users]
    assert "dynamodb.CreateTable" in aws_calls.operations()
    status = boto3.client("dynamodb").describe_table(TableName=TABLES.users)["Table"]["TableStatus"]
    assert status == "ACTIVE"


def _backend_delete(name: str) -> None:
    """Delete in moto's backend directly (a client call here would re-enter the response hook)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].delete_table(name)
