"""DynamoDB-only behaviour the shared contract suite cannot provoke on the local AWS: answers a
real table gives under load or to odd keys. botocore's Stubber scripts those answers; no network
(one test uses a closed local port: a DynamoDB that cannot be reached).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from clean_shop.adapters import page_token
from clean_shop.adapters.dynamodb_repository import (
    DynamoDBOrderRepository,
    DynamoDBUnitOfWork,
    DynamoDBUserRepository,
)
from clean_shop.application.errors import InvalidPageToken, StorageUnavailable, UserNotFound
from clean_shop.bootstrap import aws_client_config
from clean_shop.domain.model import Order, User

USER_ID = "00000000-0000-4000-8000-000000000001"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
USER_ITEM = {
    "id": {"S": USER_ID},
    "name": {"S": "Ada"},
    "email": {"S": "ada@example.com"},
    "created_at": {"S": "2026-11-23T09:00:00.000000+00:00"},
}


@pytest.fixture
def client():
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def stub(client) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_a_key_dynamodb_rejects_in_a_page_token_is_an_invalid_page_token(client, stub: Stubber) -> None:
    # e.g. a key of the wrong type or shape: well-formed JSON, still not a key DynamoDB accepts.
    stub.add_client_error("query", service_error_code="ValidationException", http_status_code=400)
    token = page_token.encode({"id": "o", "user_id": "u", "created_at": "x" * 700})
    with pytest.raises(InvalidPageToken):
        DynamoDBOrderRepository(client, "orders").list_by_user("u", 10, token)


def test_other_dynamodb_errors_are_not_disguised_as_bad_tokens(client, stub: Stubber) -> None:
    stub.add_client_error("scan", service_error_code="ProvisionedThroughputExceededException")
    stub.add_client_error("scan", service_error_code="ValidationException")
    repository = DynamoDBUserRepository(client, "users")
    with pytest.raises(StorageUnavailable):  # throttled: "try again later", not the token's fault
        repository.list(10, page_token.encode({"id": "x"}))
    with pytest.raises(ClientError):
        repository.list(10)  # no token: a ValidationException is our bug, not the client's


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerError"])
def test_throttling_and_server_errors_become_storage_unavailable(client, stub: Stubber, code: str) -> None:
    stub.add_client_error("put_item", service_error_code=code, http_status_code=400 if "Throttl" in code else 500)
    with pytest.raises(StorageUnavailable, match=code):
        DynamoDBUserRepository(client, "users").add(User.register("Ada", "ada@example.com", id=USER_ID, created_at=NOW))


def test_an_unreachable_dynamodb_is_storage_unavailable_within_the_client_timeouts() -> None:
    """A closed port: connection refused on every attempt, then the application's error, not botocore's."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once the socket is closed
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=closed,
        config=aws_client_config(),
        aws_access_key_id="testing",  # signed like any request, so it needs some credentials
        aws_secret_access_key="testing",
    )
    repository = DynamoDBOrderRepository(dynamodb, "orders")  # built by hand: no help from bootstrap
    with pytest.raises(StorageUnavailable, match="EndpointConnectionError"):
        repository.get(USER_ID)
    with pytest.raises(StorageUnavailable):
        repository.list_by_user(USER_ID, 10)


def test_a_scan_cut_short_by_the_1_mb_limit_continues_from_last_evaluated_key(client, stub: Stubber) -> None:
    stub.add_response(
        "scan",
        {"Items": [USER_ITEM], "LastEvaluatedKey": {"id": {"S": USER_ID}}},
        {"TableName": "users", "Limit": 11},
    )
    page = DynamoDBUserRepository(client, "users").list(10)
    assert [user.name for user in page.items] == ["Ada"]
    assert page_token.decode(page.next, ("id",)) == {"id": USER_ID}


def test_reads_are_strongly_consistent_and_items_are_typed_attributes(client, stub: Stubber) -> None:
    """POST /orders asks "does this user exist?" right after it was created: an eventually consistent read
    could miss it. Numbers travel as DynamoDB numbers, text as strings."""
    order = Order.place(USER_ID, "tea", 3, id="00000000-0000-4000-8000-000000000002", created_at=NOW)
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": "orders",
            "Item": {
                "id": {"S": order.id},
                "user_id": {"S": USER_ID},
                "product": {"S": "tea"},
                "quantity": {"N": "3"},
                "status": {"S": "pending"},
                "created_at": {"S": "2026-11-23T09:00:00.000000+00:00"},
            },
        },
    )
    stub.add_response(
        "get_item",
        {"Item": USER_ITEM},
        {"TableName": "users", "Key": {"id": {"S": USER_ID}}, "ConsistentRead": True},
    )
    DynamoDBOrderRepository(client, "orders").add(order)
    user = DynamoDBUserRepository(client, "users").get(USER_ID)
    assert user is not None and (user.name, user.created_at) == ("Ada", NOW)


ORDER = Order.place(USER_ID, "tea", 3, id="00000000-0000-4000-8000-000000000002", created_at=NOW)


def commit_one_order(client) -> None:
    with DynamoDBUnitOfWork(client, "users", "orders") as unit:
        unit.require_user(USER_ID)
        unit.add_order(ORDER)
        unit.commit()


def test_a_unit_of_work_is_one_transaction_checking_the_user_and_putting_the_order(client, stub: Stubber) -> None:
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "ConditionCheck": {
                        "TableName": "users",
                        "Key": {"id": {"S": USER_ID}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
                {
                    "Put": {
                        "TableName": "orders",
                        "Item": {
                            "id": {"S": ORDER.id},
                            "user_id": {"S": USER_ID},
                            "product": {"S": "tea"},
                            "quantity": {"N": "3"},
                            "status": {"S": "pending"},
                            "created_at": {"S": "2026-11-23T09:00:00.000000+00:00"},
                        },
                    }
                },
            ]
        },
    )
    commit_one_order(client)


def cancelled(stub: Stubber, *codes: str) -> None:
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def test_a_failed_user_check_cancels_the_transaction_as_user_not_found(client, stub: Stubber) -> None:
    cancelled(stub, "ConditionalCheckFailed", "None")
    with pytest.raises(UserNotFound, match=USER_ID):
        commit_one_order(client)


def test_a_transaction_cancelled_by_a_conflict_is_storage_unavailable(client, stub: Stubber) -> None:
    # Another transaction held one of the items: nothing was written, and retrying can succeed.
    cancelled(stub, "None", "TransactionConflict")
    with pytest.raises(StorageUnavailable, match="TransactionConflict"):
        commit_one_order(client)
