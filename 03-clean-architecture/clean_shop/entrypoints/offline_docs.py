"""/docs (Swagger UI) served by the app itself, so it renders with no network.

FastAPI's default pages load Swagger UI's and ReDoc's JavaScript and CSS from a CDN: on a plane or on
conference Wi-Fi they are blank. Swagger UI's files ship in the fastapi-offline package (a maintained copy,
locked like every other dependency); the app serves them under DOCS_ASSETS, next to its own routes, so the
page works wherever the app runs — uvicorn, Mangum on Lambda, a container — and references no outside host.
/redoc is not served: ReDoc's bundle loads its footer logo from the vendor's CDN even when served locally,
and one API page is enough for the workshop.
(Each stage package keeps its own copy of this file, as with body_limit.py: the stages share no code.)
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount, Route

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
DOCS_ASSETS = "/docs-assets"
# Swagger UI would otherwise ask an online validator about the document (an outside host).
SWAGGER_DEFAULTS: dict[str, Any] = {"validatorUrl": None}


def assets_dir() -> Path:
    """The folder of Swagger UI's files inside the installed fastapi-offline (found without importing it)."""
    spec = find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("the fastapi-offline package is missing: run `make venv` (it serves /docs offline)")
    return Path(spec.origin).parent / "static"


def serve_docs_offline(app: FastAPI) -> None:
    """Replace FastAPI's CDN-backed /docs and /docs/oauth2-redirect with pages using local assets; no /redoc."""
    # An app without its own schema route (the microservices gateway merges its services') still serves
    # /openapi.json itself.
    openapi_url = app.openapi_url or "/openapi.json"

    def asset(request: Request, name: str) -> str:
        # root_path: behind a path prefix (API Gateway stage, proxy) the links must keep the prefix.
        return f"{request.scope.get('root_path', '')}{DOCS_ASSETS}/{name}"

    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{request.scope.get('root_path', '')}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"),
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters={**SWAGGER_DEFAULTS, **(app.swagger_ui_parameters or {})},
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    ours: list[BaseRoute] = [
        Route(DOCS_URL, swagger_ui, methods=["GET"], include_in_schema=False),
        Route(OAUTH2_REDIRECT_URL, oauth2_redirect, methods=["GET"], include_in_schema=False),
        Mount(DOCS_ASSETS, app=StaticFiles(directory=assets_dir()), name="docs-assets"),
    ]
    # FastAPI's own pages go, /redoc included (it would load ReDoc from a CDN).
    replaced = {DOCS_URL, OAUTH2_REDIRECT_URL, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    # First in the route table, so they win over FastAPI's defaults and any page an app declares later.
    app.router.routes[:] = ours + [
        route for route in app.router.routes if getattr(route, "path", None) not in replaced
    ]
