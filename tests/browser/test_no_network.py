"""The control for the offline browser tests: the browser really has no network.

FastAPI's default /docs page loads Swagger UI from a CDN; in the browser tests' Chromium it must not render.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI

from shopctl.local.net import free_port
from tests.browser import chromium

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(chromium.binary() is None, reason="chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def cdn_docs() -> Iterator[str]:
    """A FastAPI app with FastAPI's default, CDN-backed /docs — what every stage served before."""
    app = FastAPI(title="control")

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ping": "pong"}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_browser_really_has_no_network(cdn_docs: str) -> None:
    """The control: the same check fails for FastAPI's default page, whose assets live on a CDN."""
    page = chromium.load(f"{cdn_docs}/docs")
    assert 'class="opblock opblock-get' not in page.dom, "the CDN was reachable: the offline checks prove nothing"
    assert any(urlsplit(url).hostname == "cdn.jsdelivr.net" for url in page.outside(cdn_docs)), page.requested
