"""The local orchestrator's rolling update: a re-deploy rewrites the spec, the replicas are replaced one
at a time without dropping a request, and a revision that never gets healthy leaves the old ones serving."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from shopctl import httpclient
from shopctl.aws import state
from shopctl.errors import ShopctlError
from shopctl.local.deployment import wait_rolled_out
from shopctl.local.net import free_port, wait_healthy
from shopctl.local.process import spawn
from shopctl.local.supervisor import CONTROL_PATH, Spec, write_spec

# A container stand-in: answers /health, and / with its VERSION; listens on --port.
APP = """
import os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
if os.environ.get("VERSION") == "broken":
    sys.exit(3)
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ["VERSION"].encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[sys.argv.index("--port") + 1])), Handler).serve_forever()
"""


def spec(app: Path, version: str) -> Spec:
    return Spec(name="app", argv=["python", str(app), "--port", "0"], env={"VERSION": version}, replicas=2)


def test_a_changed_spec_rolls_out_without_dropping_requests(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    path = write_spec(spec(app, "v1"), tmp_path)
    port = free_port()
    proc = spawn("sup", [sys.executable, "-m", "shopctl.local.supervisor", "--spec", str(path), "--port", str(port)],
                 None, tmp_path / "sup.log")
    url = f"http://127.0.0.1:{port}"
    local = state.LocalProcess("app", proc.pid, port, url, str(tmp_path / "sup.log"))
    try:
        assert wait_healthy(url + "/health", 30, proc.alive)
        wait_rolled_out(local, path, "app")
        before = {r["pid"] for r in httpclient.get(url + CONTROL_PATH).json()["replicas"]}
        answers: list[tuple[int, str]] = []
        done = threading.Event()

        def traffic() -> None:
            with httpclient.client(timeout=10) as client:
                while not done.is_set():
                    reply = client.get(url + "/")
                    answers.append((reply.status_code, reply.text))

        sender = threading.Thread(target=traffic)
        sender.start()
        write_spec(spec(app, "v2"), tmp_path)
        wait_rolled_out(local, path, "app")
        done.set()
        sender.join()
        status = httpclient.get(url + CONTROL_PATH).json()
        assert {r["pid"] for r in status["replicas"]}.isdisjoint(before)  # every replica was replaced
        assert all(code == 200 for code, _ in answers) and len(answers) > 5  # nothing dropped meanwhile
        assert {httpclient.get(url + "/").text for _ in range(6)} == {"v2"}

        write_spec(spec(app, "broken"), tmp_path)
        with pytest.raises(ShopctlError, match="never passed its health check"):
            wait_rolled_out(local, path, "app")
        assert {httpclient.get(url + "/").text for _ in range(6)} == {"v2"}  # the old revision keeps serving
    finally:
        proc.stop()
