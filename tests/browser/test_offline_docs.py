"""Every app's /docs renders in a real browser with no network, and no page an app serves reaches outside.

The apps: the monolith, the microservices gateway, users-service and orders-service, and the clean stage —
each served as `make run` serves it, and the microservices also deployed to the local Lambda, where each
service answers through Mangum from its Lambda package (the assets must be in the package, and static files
must survive the Lambda event round trip).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from shopctl.local import localaws
from shopctl.local.net import free_port
from shopctl.local.serving import serve
from tests.browser import chromium

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(chromium.binary() is None, reason="chromium is not installed (.ci/run installs it)"),
]

SERVED = [("monolith", "local"), ("microservices", "local"), ("clean", "local"), ("microservices", "lambda")]
# What the browser must find for each operation of the OpenAPI document (Swagger UI's markup).
OPERATION = 'class="opblock opblock-{method}'
PATH = 'data-path="{path}"'
# A reference a page makes to another resource: an attribute, a CSS url() or @import, or a script's fetch.
REFERENCE = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)|url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""")


@pytest.fixture(scope="module", params=SERVED, ids=[f"{s}-{t}" for s, t in SERVED])
def apps(request: pytest.FixtureRequest, local_aws: localaws.LocalAws, tmp_path_factory) -> Iterator[dict[str, str]]:
    """name -> base URL of each FastAPI app of one stage on one target."""
    stage, target = request.param
    with serve(stage, target, local_aws, logs=tmp_path_factory.mktemp(f"logs-{stage}-{target}")) as deployed:
        yield {f"{stage}-{target}": deployed.base_url, **deployed.services}


def _operations(base_url: str) -> list[tuple[str, str]]:
    document = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    return [(method, path) for path, item in document["paths"].items() for method in item]


def test_docs_render_offline(apps: dict[str, str]) -> None:
    for name, base_url in apps.items():
        operations = _operations(base_url)
        assert operations, f"{name}: /openapi.json lists no operation"
        page = chromium.load(f"{base_url}/docs")
        missing = [
            f"{method.upper()} {path}"
            for method, path in operations
            if PATH.format(path=path) not in page.dom or OPERATION.format(method=method) not in page.dom
        ]
        assert not missing, f"{name}: /docs did not render {missing} with no network"
        assert page.dom.count('class="opblock opblock-') == len(operations), name
        assert page.outside(chromium.origin(base_url)) == [], name


def test_no_page_references_an_outside_host(apps: dict[str, str]) -> None:
    for name, base_url in apps.items():
        with httpx.Client(base_url=base_url, timeout=30) as client:
            pages = ["/docs", "/docs/oauth2-redirect"] + [
                path for method, path in _operations(base_url) if method == "get" and "{" not in path
            ]
            seen: set[str] = set()
            while pages:
                path = pages.pop()
                if path in seen:
                    continue
                seen.add(path)
                response = client.get(path)
                assert response.status_code == 200, f"{name} {path}: {response.status_code}"
                if not response.headers.get("content-type", "").startswith(("text/html", "text/css")):
                    continue
                for groups in REFERENCE.findall(response.text):
                    ref = next(group for group in groups if group)
                    if ref.startswith("data:"):
                        continue
                    target = urlsplit(urljoin(f"{base_url}{path}", ref))
                    where = chromium.origin(target.geturl())
                    assert where == chromium.origin(base_url), f"{name} {path} references {ref}"
                    pages.append(target.path)
            # The assets the docs page needs were followed (and served by the app itself).
            assert any(path.endswith("swagger-ui-bundle.js") for path in seen), f"{name}: {sorted(seen)}"
            # FastAPI's default /redoc loads ReDoc from a CDN: not served.
            assert client.get("/redoc").status_code == 404, name


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
