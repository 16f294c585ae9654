"""shopctl.local.faultproxy: the proxy forwards every request unchanged until told otherwise; then throttles,
drops or hangs DynamoDB calls only (everything else keeps working), or refuses every connection, and
recovers on "pass". Run as the process the fault checks start, in front of a tiny HTTP server on 127.0.0.1
that records what reaches it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from shopctl.errors import ShopctlError
from shopctl.local import faultproxy

DYNAMODB = {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0"}
SSM = {"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"}


@pytest.fixture(scope="module")
def running_proxy(upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[faultproxy.FaultProxy]:
    with faultproxy.running(upstream.url, log=tmp_path_factory.mktemp("faultproxy") / "proxy.log") as proxy:
        yield proxy


@pytest.fixture
def proxy(running_proxy: faultproxy.FaultProxy) -> Iterator[faultproxy.FaultProxy]:
    running_proxy.set("pass")
    yield running_proxy
    running_proxy.set("pass")


def _post(proxy: faultproxy.FaultProxy, headers: dict[str, str], body: str = "{}", **options) -> httpx.Response:
    return httpx.post(proxy.endpoint + "/some/path?x=1", headers=headers, content=body, timeout=5, **options)


def test_pass_forwards_requests_and_answers_unchanged(proxy, upstream) -> None:
    before = proxy.stats()["forwarded"]
    response = _post(proxy, DYNAMODB, '{"TableName": "users"}')
    assert response.status_code == 200
    assert response.headers["x-upstream"] == "echo"
    assert response.json() == {
        "path": "/some/path?x=1",
        "target": "DynamoDB_20120810.GetItem",
        "body": '{"TableName": "users"}',
    }
    assert upstream.received[-1] == response.json()
    assert proxy.stats() == {**proxy.stats(), "mode": "pass", "forwarded": before + 1}


def test_throttle_answers_dynamodb_with_the_throttling_error_boto3_knows(proxy, upstream) -> None:
    proxy.set("throttle")
    reached = len(upstream.received)
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=proxy.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        dynamodb.get_item(TableName="users", Key={"id": {"S": "1"}})
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(upstream.received) == reached  # never forwarded

    assert _post(proxy, SSM).status_code == 200  # SSM, Lambda, logs… keep working
    assert len(upstream.received) == reached + 1
    assert proxy.stats()["mode"] == "throttle" and proxy.stats()["throttled"] >= 1


def test_drop_closes_dynamodbs_connection_without_an_answer(proxy, upstream) -> None:
    proxy.set("drop")
    dropped = proxy.stats()["dropped"]
    reached = len(upstream.received)
    with pytest.raises(httpx.RemoteProtocolError):
        _post(proxy, DYNAMODB)
    assert proxy.stats()["dropped"] == dropped + 1
    assert _post(proxy, SSM).status_code == 200
    assert len(upstream.received) == reached + 1


def test_hang_answers_nothing_for_the_delay_and_never_applies_the_call(proxy, upstream) -> None:
    proxy.set("hang", delay=0.4)
    reached = len(upstream.received)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        _post(proxy, DYNAMODB)
    assert time.monotonic() - started >= 0.4
    assert len(upstream.received) == reached
    assert proxy.stats()["hung"] >= 1
    with pytest.raises(httpx.ReadTimeout):  # what a client with a shorter timeout sees
        httpx.post(proxy.endpoint, headers=DYNAMODB, content="{}", timeout=httpx.Timeout(5, read=0.1))


def test_refuse_closes_the_port_for_everything_until_pass(proxy) -> None:
    with httpx.Client(timeout=5) as client:
        assert client.post(proxy.endpoint, headers=SSM, content="{}").status_code == 200  # a pooled connection
        proxy.set("refuse")
        with pytest.raises(httpx.TransportError):  # the pooled connection is cut too
            client.post(proxy.endpoint, headers=SSM, content="{}")
        with pytest.raises(httpx.ConnectError):
            _post(proxy, SSM)
        proxy.set("pass")
        assert client.post(proxy.endpoint, headers=DYNAMODB, content="{}").status_code == 200
    assert proxy.stats()["mode"] == "pass"


def test_the_control_port_refuses_what_it_does_not_know(proxy) -> None:
    with pytest.raises(ShopctlError, match="faultproxy refused mode 'slow'"):
        proxy.set("slow")
    control = f"http://127.0.0.1:{proxy.control_port}"
    answer = httpx.post(control + "/mode", content=b"not json", timeout=5)
    assert answer.status_code == 422 and "mode must be one of" in answer.json()["detail"]
    assert httpx.get(control + "/elsewhere", timeout=5).status_code == 404
    assert proxy.stats()["mode"] == "pass"


def test_an_upstream_that_is_gone_is_passed_on_as_a_dropped_connection() -> None:
    with socket.socket() as gone:
        gone.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{gone.getsockname()[1]}"  # nothing listens there once it is closed

    async def ask() -> bytes | None:
        proxy = faultproxy._Proxy(0, url)
        try:
            return await proxy.answer(faultproxy._Request("POST", "/", list(SSM.items()), b"{}"))
        finally:
            await proxy.client.aclose()
            assert proxy.counts["forwarded"] == 0

    assert asyncio.run(ask()) is None  # no answer: the client sees its connection closed
