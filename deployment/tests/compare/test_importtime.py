"""The import-time breakdown (shopctl.compare.importtime): `-X importtime` output summed per top-level package."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shopctl.compare.importtime import lambda_env, parse_importtime

STDERR = """import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:      2500 |       2500 |     pydantic.fields
import time:      1500 |       4000 |   pydantic
import time:      3000 |       7000 | fastapi
not an import line
"""


def test_self_times_add_up_per_top_level_package() -> None:
    assert parse_importtime(STDERR) == {"_io": 0.12, "pydantic": 4.0, "fastapi": 3.0}
    assert parse_importtime("") == {}


def test_it_reads_what_the_interpreter_writes() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json"], capture_output=True, text=True, check=True
    )
    totals = parse_importtime(result.stderr)
    assert "json" in totals and all(ms >= 0 for ms in totals.values())


def test_a_handler_is_imported_as_the_local_lambda_would(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin")
    env = lambda_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, {"USERS_TABLE": "users"})
    assert env == {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "RUNTIME": "LAMBDA", "PATH": os.environ["PATH"],
                   "USERS_TABLE": "users"}
