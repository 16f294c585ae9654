"""Container starts (shopctl.compare.process_subjects): floor_app's uvicorn command started fresh, twice,
timed to its first healthy answer and its first request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shopctl.compare.floor import FLOOR_ASGI, FLOOR_DIR
from shopctl.compare.process_subjects import ProcessSubject, measure_processes

pytestmark = pytest.mark.e2e


def test_each_round_is_a_fresh_process_timed_to_health_then_a_request(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "PYTHONPATH": str(FLOOR_DIR.parent),
        "USERS_TABLE": "users",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # GET /health calls no AWS; nothing may reach a real one
    }
    argv = ["python", "-m", "uvicorn", FLOOR_ASGI, "--host", "0.0.0.0", "--port", "8080"]
    subject = ProcessSubject("floor", "app", "local", argv, env, request_path="/health")
    says: list[str] = []
    [figures] = measure_processes([subject], n=2, warm=1, logs=tmp_path, say=says.append)
    assert figures["healthy_ms"]["n"] == 2 and figures["first_request_ms"]["n"] == 2
    total = [h + f for h, f in zip(figures["healthy_ms"]["values"], figures["first_request_ms"]["values"], strict=True)]
    assert figures["start_to_first_response_ms"]["values"] == pytest.approx(total, abs=0.02)
    assert figures["warm_p50_ms"] is not None
    assert [line.split(":")[0] for line in says] == ["    run 1/2 floor/app on local", "    run 2/2 floor/app on local"]
