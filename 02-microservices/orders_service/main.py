"""orders-service entry points: the ASGI app (`orders_service.main:app`, for uvicorn on ECS/EKS) and the
Lambda handler (`orders_service.main.handler`, the same app wrapped by Mangum).

Run alone: `uvicorn orders_service.main:app` with RUNTIME, the orders table (docs/contract.md) and
USERS_SERVICE_URL configured. Behind the gateway it serves /orders… ; its own /health says
"service": "orders".
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum

from orders_service.routes import router

app = FastAPI(
    title="orders-service",
    version="0.1.0",
    description="The shop's orders — stage 02, microservices.",
)
app.include_router(router)


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


# Lambda: API Gateway / ALB events in, responses out. lifespan="off": the app has no startup work.
handler = Mangum(app, lifespan="off")
