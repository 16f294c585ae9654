"""orders-service entry points: the ASGI app (`orders_service.main:app`, for uvicorn on ECS/EKS) and the
Lambda handler (`orders_service.main.handler`, the same app wrapped by Mangum).

Run alone: `uvicorn orders_service.main:app` with RUNTIME, the orders table (docs/contract.md) and
USERS_SERVICE_URL configured. Behind the gateway it serves /orders… ; its own /health says
"service": "orders".
"""

from __future__ import annotations

import sys

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum

from orders_service import config
from orders_service.body_limit import BodySizeLimit
from orders_service.offline_docs import serve_docs_offline
from orders_service.repository import StorageUnavailable
from orders_service.routes import router

app = FastAPI(
    title="orders-service",
    version="0.1.0",
    description="The shop's orders — stage 02, microservices.",
)
app.include_router(router)
serve_docs_offline(app)  # /docs from local assets: it renders offline
app.add_middleware(BodySizeLimit)  # bodies over 64 KiB: 413 before any route reads them


@app.exception_handler(RequestValidationError)
async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 shape, minus the echoed `input`.

    FastAPI's default handler echoes what the client sent, and crashes (a 500) on inputs it cannot
    render back — NaN, lone surrogates, non-UTF-8 bytes. Nothing a client sends may be a 500, so this
    service renders only loc/msg/type. (A copy of the users-service's handler — see config.py on why.)
    """
    detail = [
        # A message may quote a character of the input (a UUID's "invalid character"): keep it encodable.
        {
            "loc": list(error["loc"]),
            "msg": error["msg"].encode("utf-8", "replace").decode(),
            "type": error["type"],
        }
        for error in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


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
except config.ConfigError as error:
    sys.exit(f"orders-service: cannot start: {error}")
