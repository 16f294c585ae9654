"""Every app's /docs renders in a real browser with no network, and no page an app serves reaches outside.

The apps: the monolith, the microservices gateway, users-service and orders-service, and the clean stage —
each served as `make run` serves it, and the microservices also deployed to the local Lambda, where each
service answers through Mangum from its Lambda package (the assets must be in the package, and static files
must survive the Lambda event round trip). `make test` runs each in the pytest process that serves that
target for the contract suite (tests/run_suites.py); test_no_network.py holds the control.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from shopctl import httpclient
from shopctl.serving import Deployed
from tests.browser import chromium
from tests.support.targets import selected

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


# The same deployments the contract suite talks to (tests/conftest.py): pytest groups these tests with
# the contract tests of the same stage and target, so nothing is served or deployed twice.
ON = pytest.mark.parametrize("deployment", selected(SERVED), indirect=True)


@pytest.fixture
def apps(deployment: Deployed) -> dict[str, str]:
    """name -> base URL of each FastAPI app of one stage on one target."""
    return {f"{deployment.stage}-{deployment.target}": deployment.base_url, **deployment.services}


def _operations(base_url: str) -> list[tuple[str, str]]:
    document = httpclient.get(f"{base_url}/openapi.json", timeout=30).json()
    return [(method, path) for path, item in document["paths"].items() for method in item]


@ON
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


@ON
def test_no_page_references_an_outside_host(apps: dict[str, str]) -> None:
    for name, base_url in apps.items():
        with httpclient.client(base_url=base_url, timeout=30) as client:
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
