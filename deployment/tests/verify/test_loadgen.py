"""shopctl.verify.loadgen: a bounded run against the clean stage served on 127.0.0.1 (in-memory storage):
every request counted with its status and latency, every write recorded with its outcome, the races'
outcomes, and what a client can see going wrong (a 5xx, a read that differs from the write, a lost
connection) named as a problem."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from clean_shop.bootstrap import bootstrap
from clean_shop.entrypoints.http import create_app
from shopctl.verify import loadgen


def _app():
    return create_app(bootstrap({"RUNTIME": "LAMBDA", "STORAGE": "memory", "USERS_TABLE": "u", "ORDERS_TABLE": "o"}))


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """The clean stage on 127.0.0.1, its data in memory; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_app(), log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    while not server.started:
        thread.join(0.02)
    yield url
    server.should_exit = True
    thread.join(5)
    sock.close()


def _run(shop: str, tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "result.json"
    assert loadgen.main(["--base-url", shop, "--run-id", "t1", "--out", str(out), "--concurrency", "2", *args]) == 0
    return json.loads(out.read_text())


def test_the_load_phase_makes_and_reads_back_exactly_what_it_was_asked_to(shop: str, tmp_path: Path) -> None:
    result = _run(shop, tmp_path, "--phase", "load", "--users", "3", "--orders", "2")
    # per user: POST /users, 2 x POST /orders, GET /users/{id}, 2 x GET /orders/{id}, GET /orders?user_id=
    assert result["requests"] == 3 * 7
    assert result["statuses"] == {"201": 3 * 3, "200": 3 * 4}
    assert result["problems"] == []
    writes = result["writes"]
    assert sorted(w["marker"] for w in writes if w["kind"] == "user") == [f"load-t1-{n}@example.com" for n in range(3)]
    assert sorted(w["marker"] for w in writes if w["kind"] == "order") == [
        f"load-t1-{n}-{k}" for n in range(3) for k in range(2)
    ]
    assert all(w["status"] == 201 and w["id"] for w in writes)
    assert result["p99_ms"] >= result["p50_ms"] > 0
    assert result["rps"] > 0 and result["races"] == []


def test_the_race_phase_sends_an_order_and_its_users_deletion_together(shop: str, tmp_path: Path) -> None:
    result = _run(shop, tmp_path, "--phase", "race", "--races", "3")
    assert result["requests"] == 3 * 3
    assert len(result["races"]) == 3
    for race in result["races"]:
        assert race["delete_status"] == 204
        assert race["order_status"] in (201, 404)
        assert (race["order_id"] is not None) == (race["order_status"] == 201)
    assert result["problems"] == []


def test_what_a_client_can_see_go_wrong_is_a_problem() -> None:
    app = _app()

    @app.middleware("http")
    async def faulty(request, call_next):  # a shop whose reads do not return what was written
        path = request.url.path
        if request.method == "GET" and path.startswith("/users/"):
            return JSONResponse({"id": "someone else"})
        if request.method == "GET" and path.startswith("/orders/"):
            return JSONResponse({"detail": "boom"}, status_code=503)
        if request.method == "GET" and path == "/orders":
            return JSONResponse({"items": []})
        return await call_next(request)

    rec = loadgen.Recorder()
    with TestClient(app) as client:
        loadgen.user_and_orders(client, rec, "t2", 0, 1)
    assert len(rec.problems) == 4, rec.problems
    assert any(p.startswith("GET /users/") and "returned {'id': 'someone else'}" in p for p in rec.problems)
    assert any(p.startswith("GET /orders/") and " -> 503: " in p for p in rec.problems)  # any 5xx
    assert any(p.startswith("GET /orders/{id}: 503, expected 200") for p in rec.problems)
    assert any(p.endswith("lists 0 orders, 1 were created") for p in rec.problems)
    assert rec.statuses == {"201": 2, "200": 2, "503": 1}


def test_a_lost_connection_is_counted_as_an_error_not_a_latency(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nothing listens: connection refused
    result = _run(url, tmp_path, "--phase", "load", "--users", "2")
    assert result["statuses"] == {"error": 2}  # each unit stops at its first failed write
    assert result["requests"] == 2
    assert all("POST /users: ConnectError" in p for p in result["problems"])
    assert [w["status"] for w in result["writes"]] == [None, None]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, 0.0),
        ([7.0], 99, 7.0),
        ([float(v) for v in range(1, 101)], 50, 50.5),
        ([1.0, 2.0, 3.0, 100.0], 99, 97.09),  # inclusive: between the two largest
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert loadgen.percentile(values, q) == pytest.approx(expected)
