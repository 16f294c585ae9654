"""The gateway: the stage's single base URL (`gateway.main:app`), so clients — and the shared contract
tests — see one shop, not two services.

Locally this small reverse proxy plays the part that, on AWS, an Application Load Balancer (path rules
/users* and /orders* to two target groups) or Amazon API Gateway plays; on Kubernetes an Ingress. It
holds no business logic and never changes a response: it forwards the method, path, query string, body
and content type (and the caller's AWS signature), and passes back status, body and content type as they came.

  /users, /users/…      -> USERS_SERVICE_URL
  /orders, /orders/…    -> ORDERS_SERVICE_URL
  /health               -> its own: 200 when both services answer their /health, else 503 "degraded"
  /docs, /openapi.json  -> the two services' OpenAPI documents merged, so the stage has one API page
                           (/docs from local assets, so it renders offline: fastapi-offline)
  anything else         -> 404 (FastAPI's default)

Async on purpose: a proxy mostly waits on the network, and one httpx.AsyncClient (created in the app's
lifespan, so its connection pool lives as long as the app) serves all requests concurrently.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

UPSTREAM_ENV = {"users": "USERS_SERVICE_URL", "orders": "ORDERS_SERVICE_URL"}
UPSTREAM_TIMEOUT = 10.0  # the orders-service may itself wait up to USERS_SERVICE_TIMEOUT on users
# Generous enough for a Lambda cold start behind the service (1-2 s typically, more on a busy machine)
HEALTH_TIMEOUT = 5.0
# Host is forwarded as well, as reverse proxies do, so that a redirect an upstream might issue
# points back at the gateway rather than at the service's private address.
# And the caller's AWS signature, as a proxy passes credentials along: behind the gateway a service may take
# signed requests only (a Lambda Function URL with AWS_IAM auth) — its /health and /openapi.json too.
SIGNATURE_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
REQUEST_HEADERS = ("content-type", "accept", "host", *SIGNATURE_HEADERS)
# Allow: a 405 from a service names the path's methods; the gateway has no list of its own to give.
RESPONSE_HEADERS = ("content-type", "location", "retry-after", "allow")
MAX_BODY_BYTES = 64 * 1024  # as the services: the front door refuses what they would refuse
TOO_LARGE = f"Request body too large: at most {MAX_BODY_BYTES} bytes"


def _upstreams() -> dict[str, str]:
    missing = [name for name in UPSTREAM_ENV.values() if not os.environ.get(name, "").strip()]
    if missing:
        raise RuntimeError(f"the gateway needs {' and '.join(missing)} (the services' base URLs)")
    return {service: os.environ[name].strip().rstrip("/") for service, name in UPSTREAM_ENV.items()}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Fail at start-up, not on the first request, when an upstream address is missing.
    app.state.upstreams = _upstreams()
    async with httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT) as client:
        app.state.http = client
        yield


# FastAPIOffline: FastAPI whose /docs loads Swagger UI from the installed package, not a CDN, so it
# renders offline (no /redoc: ReDoc's bundle fetches its logo from the vendor's site even when local).
# The page shows the document at /openapi.json: the services' documents merged, below.
app = FastAPIOffline(
    title="shop gateway", lifespan=lifespan, redoc_url=None, swagger_ui_parameters={"validatorUrl": None}
)
# FastAPI's own document at that path would describe the proxy routes, not the shop, and fastapi-offline
# needs the app to have one: its route goes, so that the merged document below answers there.
app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) != app.openapi_url]


class BodyLimit:
    """A shim: Starlette's 413 is plain text, sent after a route that never reads the body has run (a DELETE).

    So a declared Content-Length over the limit is refused here first, in the contract's JSON. A body
    sent without one is counted by Starlette's RequestBodyLimitMiddleware (wrapped) as a route reads
    it; the HTTPException(413) it raises then is answered by `too_large` below, in the same words.
    (The services keep their own copy: the gateway deploys apart from them.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=MAX_BODY_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "") if scope["type"] == "http" else ""
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return await JSONResponse(status_code=413, content={"detail": TOO_LARGE})(scope, receive, send)
        await self.app(scope, receive, send)


async def too_large(request: Request, error: Exception) -> Response:
    """The 413 of Starlette's body limit ("Content Too Large") in the contract's words."""
    return JSONResponse(status_code=413, content={"detail": TOO_LARGE})


# The front door refuses oversized bodies itself, before buffering them to forward (the services do too).
app.add_middleware(BodyLimit)
app.add_exception_handler(413, too_large)


async def _forward(request: Request, service: str) -> Response:
    base = httpx.URL(request.app.state.upstreams[service])
    # The raw path and query as the client sent them: no decoding and re-encoding on the way through.
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    try:
        url = base.copy_with(
            raw_path=base.raw_path.rstrip(b"/") + raw_path + (b"?" + query if query else b"")
        )
    except httpx.InvalidURL:  # a path no upstream route could match anyway
        return JSONResponse(status_code=404, content={"detail": "Not Found"})
    headers = {name: request.headers[name] for name in REQUEST_HEADERS if name in request.headers}
    client: httpx.AsyncClient = request.app.state.http
    try:
        upstream = await client.request(request.method, url, content=await request.body(), headers=headers)
    except httpx.HTTPError as error:  # transport errors only: an upstream 4xx/5xx is passed back as is
        return JSONResponse(
            status_code=503,
            content={"detail": f"{service}-service unreachable: {_reason(error)}"},
            headers={"Retry-After": "1"},
        )
    passed = {name: upstream.headers[name] for name in RESPONSE_HEADERS if name in upstream.headers}
    return Response(content=upstream.content, status_code=upstream.status_code, headers=passed)


def _reason(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


class _Proxy:
    """An ASGI app forwarding everything to one service. As an ASGI app rather than a `def` endpoint, its
    route takes every method (methods=None), so the service — which knows the path's operations — answers
    an undeclared one with its 405 and `Allow`, exactly as the other stages do."""

    def __init__(self, service: str) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _forward(Request(scope, receive), self.service)
        await response(scope, receive, send)


for _service in UPSTREAM_ENV:
    app.add_route(f"/{_service}", _Proxy(_service), methods=None, include_in_schema=False)
    app.add_route(f"/{_service}/{{rest:path}}", _Proxy(_service), methods=None, include_in_schema=False)


def _signature(request: Request) -> dict[str, str]:
    return {name: request.headers[name] for name in SIGNATURE_HEADERS if name in request.headers}


async def _check(client: httpx.AsyncClient, base: str, headers: dict[str, str]) -> str:
    """Return "ok", or a short reason why the service at `base` is not healthy."""
    try:
        response = await client.get(f"{base}/health", headers=headers, timeout=HEALTH_TIMEOUT)
    except httpx.HTTPError as error:
        return f"unreachable: {_reason(error)}"
    return "ok" if response.status_code == 200 else f"unhealthy: HTTP {response.status_code}"


def _runtime() -> str | None:
    value = os.environ.get("RUNTIME", "").strip().upper()
    return value or None


@app.get("/health")
async def health(request: Request) -> JSONResponse:
    upstreams: dict[str, str] = request.app.state.upstreams
    signature = _signature(request)
    results = await asyncio.gather(*(_check(request.app.state.http, base, signature) for base in upstreams.values()))
    services = dict(zip(upstreams, results, strict=True))
    body = {"status": "ok", "stage": "microservices", "runtime": _runtime()}
    if all(result == "ok" for result in services.values()):
        return JSONResponse(body)
    down = [name for name, result in services.items() if result != "ok"]
    return JSONResponse(
        status_code=503, content={**body, "status": "degraded", "down": down, "services": services}
    )


@app.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    """The users- and orders-service's OpenAPI documents as one (a service that is down is left out)."""
    client: httpx.AsyncClient = request.app.state.http
    merged: dict = {
        "openapi": "3.1.0",
        "info": {"title": "The Shapeshifting App — microservices (via the gateway)", "version": "0.1.0"},
        "paths": {},
        "components": {"schemas": {}},
    }
    for base in request.app.state.upstreams.values():
        try:
            response = await client.get(f"{base}/openapi.json", headers=_signature(request), timeout=HEALTH_TIMEOUT)
            document = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            continue
        merged["openapi"] = document.get("openapi", merged["openapi"])
        # Both services document /health the same way the gateway answers it (the Health model).
        merged["paths"].update(document.get("paths", {}))
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
    return JSONResponse(merged)


# Startup, as in the services: importing the module is the start, so a gateway without its upstreams
# exits with one line instead of a traceback. (The lifespan reads them again for the app's state.)
try:
    _upstreams()
except RuntimeError as error:
    sys.exit(f"gateway: cannot start: {error}")
