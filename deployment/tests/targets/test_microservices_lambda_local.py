"""The microservices deployed to the local Lambda with each auth, end to end: the talk's flow through the one
base URL (with AUTH=AWS_IAM every request signed, the orders-service signing its own call to users), an
unsigned request to an AWS_IAM Function URL refused as AWS refuses it, and the HTTP API's records in the local
AWS until destroy removes them."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from shopctl.aws import census
from shopctl.local.net import free_port
from shopctl.stages import get_stage
from shopctl.targets import http_api, lambda_target, registry
from tests.contract.test_orders import test_the_talks_flow as the_talks_flow

pytestmark = pytest.mark.e2e
STAGE = get_stage("microservices")


class Signed(httpx.Auth):
    """SigV4 for service `lambda` with the local AWS's credentials, as awscurl or boto3 would sign."""

    def __init__(self, service: str = "lambda") -> None:
        session = boto3.Session()
        self.signer = SigV4Auth(session.get_credentials(), service, session.region_name)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        aws = AWSRequest(request.method, str(request.url), {"host": request.url.netloc.decode()}, request.content)
        self.signer.add_auth(aws)
        request.headers.update(dict(aws.headers))
        yield request


@pytest.fixture(params=["AWS_IAM", "NONE"])
def deployed(request: pytest.FixtureRequest, local_aws) -> Iterator[tuple[str, str, dict[str, str]]]:
    options = lambda_target.Options(env="local", port=free_port(), auth=request.param, quiet=True)
    deployment = lambda_target.deploy(STAGE, options)
    try:
        yield request.param, deployment.url, dict(deployment.resources.service_urls)
    finally:
        registry.destroy(lambda_target, STAGE, options, keep_data=False)
        assert http_api.find("shop-microservices") is None
        assert not [r for r in census.apigatewayv2() if r.name == "shop-microservices"]


def test_the_talks_flow_through_the_base_url(deployed):
    auth, base_url, services = deployed
    signed = Signed() if auth == "AWS_IAM" else None
    with httpx.Client(base_url=base_url, auth=signed, timeout=30.0) as api:
        # The first requests are cold starts of both functions, each within the gateway's health timeout only
        # on an idle machine: asked again until green, as `serve` does (unsigned, the gateway would say 503).
        deadline = time.monotonic() + 90
        while (health := api.get("/health")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
        assert health.status_code == 200, health.text
        the_talks_flow(api)  # POST /orders: the orders function asks the users function, signed when it must be
    api_record = http_api.find("shop-microservices")
    assert api_record is not None  # the local AWS keeps the API; the gateway carries the traffic
    routes = boto3.client("apigatewayv2").get_routes(ApiId=api_record["ApiId"])["Items"]
    assert {r["AuthorizationType"] for r in routes} == {auth}
    unsigned = httpx.get(f"{services['users']}/health", timeout=30.0)
    if auth == "AWS_IAM":
        assert (unsigned.status_code, unsigned.json()) == (403, {"Message": "Forbidden"})
        assert httpx.get(f"{base_url}/users", timeout=30.0).status_code == 403  # through the gateway as well
        with httpx.Client(auth=Signed("execute-api"), timeout=30.0) as other:  # signed, but not for Lambda
            assert other.get(f"{services['users']}/health").status_code == 403
    else:
        assert unsigned.status_code == 200
