"""shopctl.lambda_local.snapshot: SnapStart's snapshot, driven directly — init (and the before-snapshot
hooks) runs once when it is published; each cold start is a restore, a fork holding the snapshot's memory,
with the after-restore hooks run in it; how a restored environment ended comes back through the snapshot;
a snapshot that is gone fails the restore in one line (the smallest real function; logs kept in a list)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopctl.lambda_local.environment import ExecutionEnvironment
from shopctl.lambda_local.function import FunctionConfig
from shopctl.lambda_local.service import install_runtime
from shopctl.lambda_local.snapshot import SNAPSHOT_INIT_TIMEOUT_S, Snapshot
from shopctl.lambda_local.testing import MemoryLogs

APP = """
import os, random
from snapshot_restore_py import register_after_restore, register_before_snapshot

DRAWN = random.random()  # state made at init: every restore resumes with it
HOOKS = []
print("init ran in", os.getpid())


@register_before_snapshot
def before():
    HOOKS.append(("before", os.getpid()))


@register_after_restore
def after():
    HOOKS.append(("after", os.getpid()))


def handler(event, context):
    if event.get("exit"):
        os._exit(3)
    return {"pid": os.getpid(), "drawn": DRAWN, "hooks": HOOKS,
            "type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
"""


def config(**overrides) -> FunctionConfig:
    values = {
        "name": "snappy",
        "arn": "arn:aws:lambda:eu-west-1:123456789012:function:snappy",
        "handler": "app.handler",
        "runtime": "python3.11",
        "memory_mb": 128,
        "timeout_s": 3,
        "code_sha256": "c25hcA==",
    }
    return FunctionConfig(**{**values, **overrides})


@pytest.fixture
def published(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator:
    """A published snapshot, and a maker of environments restored from it."""
    runtime_dir = install_runtime(tmp_path_factory.mktemp("runtime"))
    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "app.py").write_text(APP)
    logs = MemoryLogs()
    kwargs = {
        "runtime_dir": runtime_dir,
        "logs": logs,
        "python": sys.executable,
        "runtime_version": "python:3.11.local",
        "inherited": {},
    }
    snapshot = Snapshot(config(), task_root, **kwargs)
    assert snapshot.publish() is None
    restored: list[ExecutionEnvironment] = []

    def restore() -> ExecutionEnvironment:
        env = ExecutionEnvironment(config(), task_root, snapshot=snapshot, **kwargs)
        restored.append(env)
        return env

    yield snapshot, restore, logs
    for env in restored:
        env.kill()
    snapshot.kill()


def _invoke(env: ExecutionEnvironment, event: dict) -> dict:
    outcome = env.invoke(str(uuid.uuid4()), event)
    assert outcome.kind == "ok", outcome
    return json.loads(outcome.payload)


def test_publishing_runs_init_and_the_before_hooks_once_and_keeps_the_snapshot(published) -> None:
    snapshot, _, logs = published
    assert snapshot.state == "snapshot" and snapshot.alive()
    messages = logs.of(snapshot.stream)
    assert sum(m.startswith("init ran in") for m in messages) == 1
    (report,) = [m for m in messages if m.startswith("INIT_REPORT")]
    assert "Status: success" in report


def test_restores_are_forks_holding_the_snapshots_memory(published) -> None:
    snapshot, restore, logs = published
    a, b = restore(), restore()
    assert a.start() is None and b.start() is None
    first, second = _invoke(a, {}), _invoke(b, {})
    assert snapshot.restores == 2
    assert first["drawn"] == second["drawn"]  # drawn once, at init, before the snapshot
    assert len({first["pid"], second["pid"], snapshot.pid}) == 3
    assert first["type"] == "snap-start"
    # the before hook ran in the snapshot; each restore ran the after hook itself
    assert first["hooks"] == [["before", snapshot.pid], ["after", first["pid"]]]
    assert second["hooks"] == [["before", snapshot.pid], ["after", second["pid"]]]
    assert not any(m.startswith("init ran in") for m in logs.of(a.stream))  # no init in a restore


def test_a_restored_cold_start_reports_its_restore_not_an_init(published) -> None:
    _, restore, logs = published
    env = restore()
    env.start()
    _invoke(env, {})
    _invoke(env, {})
    messages = logs.of(env.stream)
    assert messages[0].startswith("RESTORE_START Runtime Version: python:3.11.local")
    assert messages[1].startswith("RESTORE_REPORT Restore Duration: ")
    cold, warm = [m for m in messages if m.startswith("REPORT")]
    assert "Restore Duration: " in cold and "Billed Restore Duration: " in cold and "Init Duration" not in cold
    assert "Restore Duration" not in warm
    assert env.restore_ms is not None and env.billed_restore_ms is not None and env.billed_restore_ms >= 1


def test_how_a_restored_environment_ended_comes_back_through_the_snapshot(published) -> None:
    snapshot, restore, _ = published
    env = restore()
    env.start()
    crashed = env.invoke(str(uuid.uuid4()), {"exit": True})
    assert crashed.kind == "crash"
    assert crashed.error["errorMessage"] == "Runtime exited with error: exit status 3"
    assert snapshot.alive()  # the snapshot outlives its restores
    assert snapshot.describe()["restores"] == 1


def test_a_restore_from_a_snapshot_that_is_gone_fails_in_one_line(published) -> None:
    snapshot, restore, logs = published
    snapshot.kill()
    env = restore()
    failure = env.start()
    assert failure is not None and failure.kind == "init_error"
    assert failure.error["errorMessage"].startswith("the snapshot is gone")
    assert "\n" not in failure.error["errorMessage"]
    assert any(m.startswith("RESTORE_REPORT") and "Status: error" in m for m in logs.of(env.stream))


def test_the_snapshots_init_may_take_lambdas_publish_limit_or_the_timeout_if_longer(tmp_path: Path) -> None:
    kwargs = {"runtime_dir": tmp_path, "logs": MemoryLogs(), "python": sys.executable, "runtime_version": "x",
              "inherited": {}}
    assert Snapshot(config(timeout_s=3), tmp_path, **kwargs)._init_timeout_s() == SNAPSHOT_INIT_TIMEOUT_S
    assert Snapshot(config(timeout_s=900), tmp_path, **kwargs)._init_timeout_s() == 900
