"""The orders-service's view of its neighbour: "does user X exist?", asked over HTTP.

In the monolith this was a condition check on the users table inside the same DynamoDB transaction that
stored the order. Split into services, the orders-service must not touch the users-service's table —
that would couple them through the database — so it asks the users-service's public API:
GET {USERS_SERVICE_URL}/users/{id}.

A network call can fail in ways a function call cannot, and each outcome needs a decision:
  200            -> the user exists
  404            -> the user does not exist (the client gets 404 "User not found")
  timeout, connection error, 5xx, anything unexpected
                 -> we cannot tell: UsersServiceUnavailable (the client gets 503, nothing stored)
The timeout is short (USERS_SERVICE_TIMEOUT, default 2 s) so a slow neighbour cannot hold our clients.

There is also a race no code here can close: the user may be deleted between this check and the
order being stored. The monolith's transaction ruled that out; across two services' tables there is no
such transaction.

`http_client` is the one dependency in this stage that is injected (FastAPI Depends) — tests replace
it with `TestClient(users_app)`, which *is* an httpx.Client that calls the users app in-process.
Nothing similar exists for the database: that is the asymmetry the clean-architecture stage removes.

On Lambda with AWS_IAM auth (USERS_AUTH=AWS_IAM) the users-service's Function URL takes signed requests only,
so this client signs each one with SigV4 (`SignedByRole`). That is infrastructure reaching into service
code: where the neighbour runs decided how the question is asked. The clean stage, one function, asks no one.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Generator

import botocore.session
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from orders_service.config import aws_region, users_auth, users_service_timeout, users_service_url


class UsersServiceUnavailable(Exception):
    """The users-service could not answer the question; str() is a short reason."""


class UsersClient:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def user_exists(self, user_id: uuid.UUID) -> bool:
        try:
            response = self._http.get(f"/users/{user_id}")
        except httpx.TimeoutException:
            raise UsersServiceUnavailable("timed out") from None
        except httpx.HTTPError as error:
            raise UsersServiceUnavailable(_short(error)) from None
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise UsersServiceUnavailable(f"it answered HTTP {response.status_code}")


def _short(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


class SignedByRole(httpx.Auth):
    """SigV4 on every request, for service `lambda`, with this function's own role's credentials (Lambda puts
    them in the environment) — botocore's signer, the one boto3 uses for every AWS call."""

    def __init__(self, region: str) -> None:
        self._credentials = botocore.session.get_session().get_credentials()
        self._region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._credentials is None:  # user_exists turns it into UsersServiceUnavailable (a 503)
            raise httpx.RequestError("no AWS credentials to sign the request with", request=request)
        signed = AWSRequest(request.method, str(request.url), {"host": request.url.netloc.decode()}, request.content)
        SigV4Auth(self._credentials, "lambda", self._region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        yield request


# One pooled network client per (address, timeout, auth) for the life of the process: connections are reused
# across requests, and httpx.Client is safe to share between FastAPI's worker threads.
@functools.cache
def _network_client(base_url: str, timeout: float, auth: str) -> httpx.Client:
    signer = SignedByRole(aws_region()) if auth == "AWS_IAM" else None
    return httpx.Client(base_url=base_url, timeout=timeout, auth=signer)


def http_client() -> httpx.Client:
    """FastAPI dependency: the HTTP client pointed at the users-service. Tests override it."""
    return _network_client(users_service_url(), users_service_timeout(), users_auth())
