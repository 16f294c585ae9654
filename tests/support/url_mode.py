"""The URL mode: the contract suite against a shop someone else deployed, known only by its base URL.

    SHOP_CONTRACT_URL=https://….lambda-url.eu-west-1.on.aws SHOP_CONTRACT_STAGE=clean pytest tests/contract

(`make contract URL=… STAGE=…`). The deployment is one more kind of `deployment` (tests/conftest.py): the same
tests run through the same `api` fixture. Tests that need more than HTTP (the local AWS, the processes behind
the URL, the Lambda logs) carry `@pytest.mark.internals("why")` and are skipped here, saying why.

SHOP_CONTRACT_TARGET (local|lambda|ecs|eks) says what serves the URL, since /health names its runtime; a
`.lambda-url.` host is Lambda. SHOP_CONTRACT_ORDERS_URL: where /orders… is served when the stage has no single
base URL (the microservices on AWS Lambda: one Function URL per service, no gateway).

Signing: a Function URL on AWS defaults to AUTH=AWS_IAM and refuses unsigned requests, so requests to a
`.lambda-url.` host are signed with SigV4 (service `lambda`, the caller's credentials, the region from the
host). Detected, not asked for, because that is the URL every Lambda deploy on AWS prints; an ALB, an EKS
load balancer or this machine never asks for a signature. SHOP_CONTRACT_SIGN=1 signs any URL (a local Lambda
deployed with AUTH=AWS_IAM; the region from AWS_REGION), SHOP_CONTRACT_SIGN=0 never signs (AUTH=NONE).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session

from shopctl.aws.resources import TableNames
from shopctl.errors import ShopctlError
from shopctl.serving import Deployed
from shopctl.stages import STAGES

URL_TARGETS = ("local", "lambda", "ecs", "eks")  # what can serve the URL (its /health names the runtime)
FUNCTION_URL = re.compile(r"\.lambda-url\.([a-z0-9-]+)\.on\.aws$")
# The tables behind a URL are not known from it: the tests that read them are skipped in this mode.
UNKNOWN_TABLES = TableNames(users="", orders="")


def active(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("SHOP_CONTRACT_URL"))


class Refused(ShopctlError):
    """A setting of the URL mode that cannot work: what is wrong, and a hint."""


@dataclass(frozen=True)
class AtUrl:
    url: str
    stage: str
    target: str
    orders_url: str = ""
    region: str = ""  # set when requests are signed

    def deployed(self) -> Deployed:
        services = {"orders": self.orders_url} if self.orders_url else {}
        return Deployed(self.stage, self.target, self.url, UNKNOWN_TABLES, services)

    def auth(self, credentials: Credentials | None = None) -> httpx.Auth | None:
        """What the test client adds to every request: the route to the orders URL, then the signature."""
        signer = None
        if self.region:
            credentials = credentials or Session().get_credentials()
            if credentials is None:
                raise Refused(
                    f"no AWS credentials to sign the requests to {self.url} with",
                    "configure them (aws configure / AWS_PROFILE / AWS_ACCESS_KEY_ID…), or SHOP_CONTRACT_SIGN=0 "
                    "for a Function URL with AUTH=NONE",
                )
            signer = SigV4(credentials, self.region)
        return OrdersAt(self.orders_url, signer) if self.orders_url else signer


def _base_url(name: str, value: str) -> str:
    url = httpx.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise Refused(f"{name}={value!r} is not an http(s) URL", f"e.g. {name}=https://abc.lambda-url.eu-west-1.on.aws")
    return value.rstrip("/")


def from_environ(environ: Mapping[str, str] = os.environ) -> AtUrl:
    """The URL mode's settings, checked: Refused names the variable that is wrong."""
    url = _base_url("SHOP_CONTRACT_URL", environ.get("SHOP_CONTRACT_URL", ""))
    host = httpx.URL(url).host
    stage = environ.get("SHOP_CONTRACT_STAGE", "")
    if stage not in STAGES:
        raise Refused(
            f"SHOP_CONTRACT_STAGE={stage!r}: the URL mode needs the stage the URL serves",
            f"SHOP_CONTRACT_STAGE (make: STAGE=) is one of: {', '.join(STAGES)}",
        )
    on_lambda = FUNCTION_URL.search(host)
    target = environ.get("SHOP_CONTRACT_TARGET") or ("lambda" if on_lambda else "")
    if target not in URL_TARGETS:
        raise Refused(
            f"SHOP_CONTRACT_TARGET={target!r}: the URL mode needs the target that serves {url}",
            f"SHOP_CONTRACT_TARGET (make: TARGET=) is one of: {', '.join(URL_TARGETS)}",
        )
    orders = environ.get("SHOP_CONTRACT_ORDERS_URL", "")
    orders_url = _base_url("SHOP_CONTRACT_ORDERS_URL", orders) if orders else ""
    sign = environ.get("SHOP_CONTRACT_SIGN", "")
    if sign not in ("", "0", "1"):
        raise Refused(f"SHOP_CONTRACT_SIGN={sign!r}", "1 signs every request, 0 none; unset: .lambda-url. hosts only")
    region = ""
    if sign == "1" or (sign == "" and on_lambda):
        region = (on_lambda.group(1) if on_lambda else "") or environ.get("AWS_REGION") or environ.get(
            "AWS_DEFAULT_REGION", ""
        )
        if not region:
            raise Refused(f"no region to sign the requests to {url} for", "set AWS_REGION, e.g. AWS_REGION=eu-west-1")
    return AtUrl(url, stage, target, orders_url, region)


class SigV4(httpx.Auth):
    """Signs each request as the AWS SDKs do for `lambda` (botocore's SigV4Auth), with a body hash header."""

    requires_request_body = True  # the signature covers the body: a streamed one is read first

    def __init__(self, credentials: Credentials, region: str, service: str = "lambda") -> None:
        self.credentials, self.region, self.service = credentials, region, service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Send the query as SigV4 canonicalises it (RFC 3986: a space is %20, not +), so what AWS reads back
        # from the wire is exactly what was signed.
        pairs = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
        request.url = request.url.copy_with(query=query.encode() or None)
        request.headers["x-amz-content-sha256"] = hashlib.sha256(request.content).hexdigest()
        signed = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={name: request.headers[name] for name in ("host", "x-amz-content-sha256")},
        )
        # Frozen per request: refreshable credentials (an assumed role) renew themselves in between.
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        yield request


class OrdersAt(httpx.Auth):
    """Sends /orders… to the orders service's own URL (what a gateway's routes would do), then signs."""

    def __init__(self, orders_url: str, then: httpx.Auth | None = None) -> None:
        self.orders, self.then = httpx.URL(orders_url), then
        self.requires_request_body = bool(then and then.requires_request_body)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.path == "/orders" or request.url.path.startswith("/orders/"):
            request.url = request.url.copy_with(scheme=self.orders.scheme, host=self.orders.host, port=self.orders.port)
            request.headers["host"] = request.url.netloc.decode()
        if self.then is None:
            yield request
        else:
            yield from self.then.auth_flow(request)
