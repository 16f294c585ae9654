"""With USERS_AUTH=AWS_IAM the orders-service signs its question to the users-service (SigV4, service lambda):
what a users-service behind a Function URL with AWS_IAM auth requires. Without it, nothing is signed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from orders_service import config as orders_config
from orders_service import users_client
from shopctl.lambda_local.service import signed


@pytest.fixture
def fresh_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("USERS_SERVICE_URL", "http://users.invalid")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDORDERSROLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "role-session-token")
    users_client._network_client.cache_clear()
    yield
    users_client._network_client.cache_clear()


def asked(auth: httpx.Auth | None) -> httpx.Request:
    """The request the users client sends to ask about a user, captured instead of sent."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    client = httpx.Client(base_url="http://users.invalid", transport=httpx.MockTransport(answer), auth=auth)
    assert users_client.UsersClient(client).user_exists(uuid.uuid4())
    (request,) = seen
    return request


def test_with_aws_iam_each_request_is_signed_with_the_roles_credentials(fresh_client, monkeypatch) -> None:
    monkeypatch.setenv("USERS_AUTH", "AWS_IAM")
    client = users_client.http_client()
    assert isinstance(client.auth, users_client.SignedByRole)
    request = asked(client.auth)
    authorization = request.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDORDERSROLE/")
    assert "/eu-west-1/lambda/aws4_request," in authorization
    assert request.headers["x-amz-security-token"] == "role-session-token"
    assert signed(list(request.headers.items()))  # the shape the local Lambda (and AWS) checks


def test_without_it_nothing_is_signed(fresh_client, monkeypatch) -> None:
    monkeypatch.delenv("USERS_AUTH", raising=False)
    client = users_client.http_client()
    assert client.auth is None or not isinstance(client.auth, users_client.SignedByRole)
    assert "authorization" not in asked(client.auth).headers


def test_no_credentials_is_users_service_unavailable(fresh_client) -> None:
    signer = users_client.SignedByRole("eu-west-1")
    signer._credentials = None  # what botocore finds on a machine without any
    with pytest.raises(users_client.UsersServiceUnavailable, match="no AWS credentials"):
        asked(signer)


def test_users_auth_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USERS_AUTH", raising=False)
    assert orders_config.users_auth() == "NONE"
    monkeypatch.setenv("USERS_AUTH", "aws_iam")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert orders_config.users_auth() == "AWS_IAM"
    monkeypatch.setenv("USERS_AUTH", "OAUTH")
    with pytest.raises(orders_config.ConfigurationError, match="USERS_AUTH must be one of NONE, AWS_IAM"):
        orders_config.users_auth()
    monkeypatch.setenv("USERS_AUTH", "AWS_IAM")
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(orders_config.ConfigurationError, match="needs AWS_REGION"):
        orders_config.users_auth()
