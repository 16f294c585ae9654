"""The gateway: the stage's single base URL (`gateway.main:app`), so clients — and the shared contract
tests — see one shop, not two services.

Locally this small reverse proxy plays the part that, on AWS, an Application Load Balancer (path rules
/users* and /orders* to two target groups) or Amazon API Gateway plays; on Kubernetes an Ingress. It
holds no business logic and never changes a response: it forwards the method, path, query string, body
and content type, and passes back status, body and content type as they came.

  /users, /users/…      -> USERS_SERVICE_URL
  /orders, /orders/…    -> ORDERS_SERVICE_URL
  /health               -> its own: 200 when both services answer their /health, else 503 "degraded"
  /docs, /openapi.json  -> the two services' OpenAPI documents merged, so the stage has one API page
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
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.types import Receive, Scope, Send

from gateway.body_limit import BodySizeLimit

UPSTREAM_ENV = {"users": "USERS_SERVICE_URL", "orders": "ORDERS_SERVICE_URL"}
UPSTREAM_TIMEOUT = 10.0  # the orders-service may itself wait up to USERS_SERVICE_TIMEOUT on users
# Generous enough for a Lambda cold start behind the service (1-2 s typically, more on a busy machine)
HEALTH_TIMEOUT = 5.0
# Host is forwarded as well, as reverse proxies do, so that a redirect an upstream might issue
# points back at the gateway rather than at the service's private address.
REQUEST_HEADERS = ("content-type", "accept", "host")
# Allow: a 405 from a service names the path's methods; the gateway has no list of its own to give.
RESPONSE_HEADERS = ("content-type", "location", "retry-after", "allow")


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


# FastAPI's generated docs would describe the proxy routes, not the shop: /docs and /openapi.json are
# served below from the services' own documents instead.
app = FastAPI(title="shop gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
# The front door refuses oversized bodies itself, before buffering them to forward (the services do too).
app.add_middleware(BodySizeLimit)


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


async def _check(client: httpx.AsyncClient, base: str) -> str:
    """Return "ok", or a short reason why the service at `base` is not healthy."""
    try:
        response = await client.get(f"{base}/health", timeout=HEALTH_TIMEOUT)
    except httpx.HTTPError as error:
        return f"unreachable: {_reason(error)}"
    return "ok" if response.status_code == 200 else f"unhealthy: HTTP {response.status_code}"


def _runtime() -> str | None:
    value = os.environ.get("RUNTIME", "").strip().upper()
    return value or None


@app.get("/health")
async def health(request: Request) -> JSONResponse:
    upstreams: dict[str, str] = request.app.state.upstreams
    results = await asyncio.gather(*(_check(request.app.state.http, base) for base in upstreams.values()))
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
            response = await client.get(f"{base}/openapi.json", timeout=HEALTH_TIMEOUT)
            document = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            continue
        merged["openapi"] = document.get("openapi", merged["openapi"])
        # Both services document /health the same way the gateway answers it (the Health model).
        merged["paths"].update(document.get("paths", {}))
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
    return JSONResponse(merged)


@app.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="The Shapeshifting App — microservices")


# Startup, as in the services: importing the module is the start, so a gateway without its upstreams
# exits with one line instead of a traceback. (The lifespan reads them again for the app's state.)
try:
    _upstreams()
except RuntimeError as error:
    sys.exit(f"gateway: cannot start: {error}")
