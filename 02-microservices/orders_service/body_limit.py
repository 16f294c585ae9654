"""Request bodies over MAX_BODY_BYTES are refused with a 413 before any route reads them (docs/contract.md).

A declared Content-Length is checked at once; a chunked body (no Content-Length) is counted as it
arrives and refused as soon as it passes the limit. Through Mangum on Lambda the body arrives in one
piece and the same check applies. (The orders-service keeps its own copy: services share no code — see config.py.)
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

MAX_BODY_BYTES = 64 * 1024  # a user or an order is well under 1 KiB


class BodySizeLimit:
    """ASGI middleware: read at most `limit` bytes of a request body, then hand it to the app."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(scope, receive, send)
        received: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._refuse(scope, receive, send)
            if not message.get("more_body"):
                break
        replay = iter(received)

        async def replayed() -> dict[str, Any]:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        detail = f"Request body too large: at most {self.limit} bytes"
        await JSONResponse(status_code=413, content={"detail": detail})(scope, receive, send)
