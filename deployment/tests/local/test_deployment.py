"""shopctl.local.deployment: the processes that stand in for AWS's compute during a deployment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shopctl import httpclient
from shopctl.aws import state
from shopctl.local.deployment import local_gateway
from shopctl.local.localaws import terminate
from shopctl.local.net import free_port
from shopctl.stages import STAGES


class Ledger:
    """The deployment in progress, as far as local_process needs one: a name and its recorded processes."""

    name = "gateway-test"

    def __init__(self) -> None:
        self.recorded: dict[str, state.LocalProcess] = {}

    def process(self, name: str) -> state.LocalProcess | None:
        return self.recorded.get(name)

    def record(self, proc: state.LocalProcess) -> None:
        self.recorded[proc.name] = proc


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[str]]]:
    """A service behind the gateway that answers every GET with `{}` and notes its path."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


def test_the_gateway_is_ready_without_calling_the_services(tmp_path, monkeypatch, upstream):
    # Behind the local Lambda every request to a service is an invocation: a readiness poll that reached the
    # services, gave up after its 1 s and polled again started one more cold start each time (seven
    # execution environments for one deployment of the microservices, where two are needed).
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path))
    url, paths = upstream
    ledger = Ledger()
    proc = local_gateway(ledger, STAGES["microservices"], {"users": url, "orders": url}, free_port(), "ECS")
    try:
        assert ledger.recorded["gateway"] == proc
        assert paths == [], "the gateway's readiness check reached the services"
        # It is the gateway all the same: it routes to them.
        assert httpclient.get(f"{proc.url}/users?limit=1", timeout=10).status_code == 200
        assert paths == ["/users?limit=1"]
    finally:
        terminate(proc.pid)
