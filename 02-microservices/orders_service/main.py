"""orders-service entry points: the ASGI app (`orders_service.main:app`, for uvicorn on ECS/EKS) and the
Lambda handler (`orders_service.main.handler`, the same app wrapped by Mangum).

Run alone: `uvicorn orders_service.main:app` with RUNTIME, the orders table (docs/contract.md) and
USERS_SERVICE_URL configured. Behind the gateway it serves /orders… ; its own /health says
"service": "orders".
"""

from __future__ import annotations

import random
import sys
from typing import Any

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from mangum import Mangum
from snapshot_restore_py import register_after_restore, register_before_snapshot
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.routing import Match

from orders_service import config, repository, users_client
from orders_service.models import MAX_BODY_BYTES
from orders_service.repository import StorageUnavailable
from orders_service.routes import router

# FastAPIOffline: FastAPI whose /docs loads Swagger UI from the installed package, not a CDN, so it
# renders offline. No /redoc: ReDoc's bundle fetches its logo from the vendor's site even when local.
app = FastAPIOffline(
    title="orders-service",
    version="0.1.0",
    description="The shop's orders — stage 02, microservices.",
    redoc_url=None,
    swagger_ui_parameters={"validatorUrl": None},
)
app.include_router(router)

TOO_LARGE = f"Request body too large: at most {MAX_BODY_BYTES} bytes"


class BodyLimit:
    """A shim: Starlette's 413 is plain text, sent after a route that never reads the body has run (a DELETE).

    So a declared Content-Length over the limit is refused here first, in the contract's JSON. A body
    sent without one is counted by Starlette's RequestBodyLimitMiddleware (wrapped) as a route reads
    it; the HTTPException(413) it raises then is answered by `http_error` below, in the same words.
    (The gateway and the other service keep their own copy: services share no code.)
    """

    def __init__(self, app: Any) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=MAX_BODY_BYTES)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        declared = Headers(scope=scope).get("content-length", "") if scope["type"] == "http" else ""
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return await JSONResponse(status_code=413, content={"detail": TOO_LARGE})(scope, receive, send)
        await self.app(scope, receive, send)


app.add_middleware(BodyLimit)  # bodies over 64 KiB: 413 before any route uses them


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")  # what a 405 may list


async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    """FastAPI's answer to an HTTP error, except that a 405's `Allow` lists every method of the path.

    Starlette names only the methods of the first route whose path matched (`Allow: POST` on /users,
    which also has GET).
    """
    if error.status_code == 413:  # Starlette's body limit says "Content Too Large"; the contract names the limit
        error = StarletteHTTPException(413, TOO_LARGE)
    if error.status_code == 405:
        allowed = [
            method
            for method in HTTP_METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.routes)
        ]
        error = StarletteHTTPException(405, error.detail, headers={"Allow": ", ".join(allowed)})
    return await http_exception_handler(request, error)


async def request_invalid(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's 422 shape, minus the echoed `input` (and `ctx`): the body may be 64 KiB, and an input
    Python's json accepts but cannot write back (NaN, a lone surrogate) would turn the 422 into a 500."""
    detail = [
        {
            # A message or location may quote a character of the input: keep it encodable.
            "loc": [part.encode("utf-8", "backslashreplace").decode() if isinstance(part, str) else part
                    for part in problem["loc"]],
            "msg": problem["msg"].encode("utf-8", "backslashreplace").decode(),
            "type": problem["type"],
        }
        for problem in error.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


app.add_exception_handler(StarletteHTTPException, http_error)
app.add_exception_handler(RequestValidationError, request_invalid)


@app.exception_handler(StorageUnavailable)
async def storage_unavailable(request: Request, exc: StorageUnavailable) -> JSONResponse:
    """DynamoDB cannot answer right now: a 503 the client may retry, and nothing was changed."""
    return JSONResponse(
        status_code=503,
        content={"detail": "The database is unavailable; nothing was changed. Try again shortly."},
        headers={"Retry-After": "1"},
    )


# Lambda: API Gateway / ALB events in, responses out. lifespan="off": the app has no startup work.
handler = Mangum(app, lifespan="off")

# Startup: importing this module is the start (uvicorn on ECS/EKS; the init phase on Lambda), so the
# configuration is read here. A misconfigured service exits with one line naming what is missing instead
# of answering 500s — and, like the monolith, cannot even be imported without a configured runtime.
try:
    config.orders_table()
    config.users_service_url()
    config.users_service_timeout()
    config.users_auth()
except config.ConfigurationError as error:
    sys.exit(f"orders-service: cannot start: {error}")


# --- SnapStart: what the snapshot may keep, what each restored environment makes afresh ---------------
# With SnapStart, Lambda runs the init phase (importing this module) once, when a version is published,
# snapshots the initialised environment, and every cold start resumes a copy of that snapshot. Whatever
# init left in memory is then shared by all those environments. The runtime calls the hooks below around
# the snapshot; anywhere else (uvicorn, the tests) registering them is all that happens.


@register_before_snapshot
def warm_before_snapshot() -> None:
    """Safe to share, so done once for all restored environments: the OpenAPI document (every route's
    and model's schema compiled) and the AWS SDK's DynamoDB model (loading it is most of what creating a
    client costs; boto3 keeps it cached for the clients made after restore)."""
    app.openapi()
    repository._dynamodb()


@register_after_restore
def refresh_after_restore() -> None:
    """Not safe to share. AWS clients: their connection pools and the credentials they resolved at init
    belong to the snapshot. `random`: every restored environment would resume the same generator state
    and draw the same numbers (botocore's retry jitter included: lockstep retries). uuid4 is safe as it
    is: it reads os.urandom, never the snapshot's memory."""
    random.seed()
    repository._dynamodb.cache_clear()  # the next call makes a new client: new pool, this environment's credentials
    users_client._network_client.cache_clear()  # and the HTTP client to the users-service
