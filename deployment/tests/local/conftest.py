"""Fixtures for the tests of what stands in for AWS and its compute on this machine."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Upstream(ThreadingHTTPServer):
    """A service behind the process under test (a proxy, a gateway): answers every GET and POST with what it
    received ({path, target, body}, as JSON) and keeps the list of what reached it."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Echo)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        seen = {"path": self.path, "target": self.headers.get("x-amz-target"), "body": body.decode()}
        self.server.received.append(seen)
        reply = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "echo")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
