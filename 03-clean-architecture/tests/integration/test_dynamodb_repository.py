"""DynamoDB-only behaviour the shared contract suite cannot provoke on the local AWS: answers a
real table gives under load or to odd keys. botocore's Stubber scripts those answers; no network.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from clean_shop.adapters import page_token
from clean_shop.adapters.dynamodb_repository import DynamoDBOrderRepository, DynamoDBUserRepository
from clean_shop.application.errors import InvalidPageToken

USER_ID = "00000000-0000-4000-8000-000000000001"
USER_ITEM = {
    "id": {"S": USER_ID},
    "name": {"S": "Ada"},
    "email": {"S": "ada@example.com"},
    "created_at": {"S": "2026-11-23T09:00:00.000000+00:00"},
}


@pytest.fixture
def table():
    return boto3.resource("dynamodb", region_name="us-east-1").Table("users")


@pytest.fixture
def stub(table) -> Iterator[Stubber]:
    with Stubber(table.meta.client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_a_key_dynamodb_rejects_in_a_page_token_is_an_invalid_page_token(table, stub: Stubber) -> None:
    # e.g. a sort key over 1024 bytes: well-formed JSON, still not a key DynamoDB accepts.
    stub.add_client_error("query", service_error_code="ValidationException", http_status_code=400)
    token = page_token.encode({"id": "o", "user_id": "u", "created_at": "x" * 1100})
    with pytest.raises(InvalidPageToken):
        DynamoDBOrderRepository(table).list_by_user("u", 10, token)


def test_other_dynamodb_errors_are_not_disguised_as_bad_tokens(table, stub: Stubber) -> None:
    stub.add_client_error("scan", service_error_code="ProvisionedThroughputExceededException")
    stub.add_client_error("scan", service_error_code="ValidationException")
    repository = DynamoDBUserRepository(table)
    with pytest.raises(ClientError):
        repository.list(10, page_token.encode({"id": "x"}))
    with pytest.raises(ClientError):
        repository.list(10)  # no token: a ValidationException is our bug, not the client's


def test_a_scan_cut_short_by_the_1_mb_limit_continues_from_last_evaluated_key(table, stub: Stubber) -> None:
    stub.add_response(
        "scan",
        {"Items": [USER_ITEM], "LastEvaluatedKey": {"id": {"S": USER_ID}}},
        {"TableName": "users", "Limit": 11},
    )
    page = DynamoDBUserRepository(table).list(10)
    assert [user.name for user in page.items] == ["Ada"]
    assert page_token.decode(page.next, ("id",)) == {"id": USER_ID}
