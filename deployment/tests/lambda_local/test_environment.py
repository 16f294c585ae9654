"""shopctl.lambda_local.environment: what a function sees in os.environ, and one execution environment's
lifecycle driven directly — INIT once (a cold start), warm invocations, a handled error, a crash, an init
failure, a timeout — with the platform's log lines, on the smallest real function (a worker process each;
the logs go to a list instead of CloudWatch)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopctl.lambda_local import environment
from shopctl.lambda_local.environment import ExecutionEnvironment, Outcome, environment_variables
from shopctl.lambda_local.function import FunctionConfig
from shopctl.lambda_local.service import install_runtime
from shopctl.lambda_local.testing import MemoryLogs

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:fn"

APP = """
import json, os, sys, time

print("init ran in", os.getpid())
if os.environ.get("FAIL_INIT"):
    raise RuntimeError("no config")


def handler(event, context):
    if event.get("boom"):
        raise ValueError("boom")
    if event.get("exit"):
        os._exit(3)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    print("handling", event.get("n"))
    return {"pid": os.getpid(), "n": event.get("n"), "path": sys.path[:2],
            "environ": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "MY_", "HOME"))}}
"""


def config(**overrides) -> FunctionConfig:
    values = {
        "name": "fn",
        "arn": ARN,
        "handler": "app.handler",
        "runtime": "python3.11",
        "memory_mb": 256,
        "timeout_s": 3,
        "code_sha256": "c2hhMjU2",
        "variables": {"MY_SETTING": "on"},
    }
    return FunctionConfig(**{**values, **overrides})


# --- what the function sees ---------------------------------------------------------------------------


def test_the_function_sees_its_variables_and_lambdas_reserved_ones(tmp_path: Path) -> None:
    env = environment_variables(
        config(variables={"MY_SETTING": "on", "AWS_LAMBDA_FUNCTION_NAME": "spoofed"}),
        stream="2026/01/01/[$LATEST]abc",
        task_root=tmp_path / "task",
        runtime_dir=tmp_path / "runtime",
        inherited={},
    )
    assert env["MY_SETTING"] == "on"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"  # Lambda's reserved variables win
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "2026/01/01/[$LATEST]abc"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"  # from the function's ARN
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path / "task")
    assert env["_HANDLER"] == "app.handler"


def test_only_credentials_and_endpoints_come_from_the_service(tmp_path: Path) -> None:
    inherited = {
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:5001",
        "AWS_PROFILE": "someone",
        "HOME": "/root",
        "VIRTUAL_ENV": "/work/.venv",
        "PYTHONPATH": "/work/deployment",
        "PATH": "/work/.venv/bin:/usr/bin",
    }
    env = environment_variables(
        config(), stream="s", task_root=tmp_path, runtime_dir=tmp_path, inherited=inherited
    )
    for passed in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                   "AWS_ENDPOINT_URL_DYNAMODB"):
        assert env[passed] == inherited[passed]
    for kept_out in ("AWS_PROFILE", "HOME", "VIRTUAL_ENV", "PYTHONPATH"):
        assert kept_out not in env
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"


def test_a_snapstart_snapshot_has_no_log_stream_of_its_own(tmp_path: Path) -> None:
    env = environment_variables(
        config(), stream="s", task_root=tmp_path, runtime_dir=tmp_path, inherited={}, snap_start=True
    )
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start"
    assert "AWS_LAMBDA_LOG_GROUP_NAME" not in env and "AWS_LAMBDA_LOG_STREAM_NAME" not in env


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [(None, "signal: killed"), (-9, "signal: killed"), (-15, "signal: terminated"), (3, "exit status 3")],
)
def test_how_a_runtime_ended_is_said_as_lambda_says_it(returncode: int | None, reason: str) -> None:
    assert environment._exit_reason(returncode) == reason


def test_only_timeouts_crashes_and_init_failures_lose_the_environment() -> None:
    kinds = ("ok", "error", "timeout", "crash", "init_error")
    lost = {kind for kind in kinds if Outcome(kind, 1.0, 1).environment_lost}
    assert lost == {"timeout", "crash", "init_error"}


# --- one environment, driven directly --------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_runtime(tmp_path_factory.mktemp("runtime"))


@pytest.fixture
def make_env(runtime_dir: Path, tmp_path: Path) -> Iterator:
    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "app.py").write_text(APP)
    made: list[ExecutionEnvironment] = []

    def make(**overrides) -> tuple[ExecutionEnvironment, MemoryLogs]:
        logs = MemoryLogs()
        env = ExecutionEnvironment(
            config(**overrides),
            task_root,
            runtime_dir=runtime_dir,
            logs=logs,  # type: ignore[arg-type]
            python=sys.executable,
            runtime_version="python:3.11.local",
            inherited={"AWS_ACCESS_KEY_ID": "testing", "HOME": "/root"},
        )
        made.append(env)
        return env, logs

    yield make
    for env in made:
        env.kill()


def _invoke(env: ExecutionEnvironment, event: dict) -> Outcome:
    return env.invoke(str(uuid.uuid4()), event)


def test_init_once_then_warm_invocations_in_the_same_process(make_env) -> None:
    env, logs = make_env()
    assert env.state == "new"
    assert env.start() is None
    assert env.state == "idle" and env.alive() and env.init_ms is not None and env.init_ms > 0

    first, second = _invoke(env, {"n": 1}), _invoke(env, {"n": 2})
    assert (first.kind, second.kind) == ("ok", "ok")
    one, two = json.loads(first.payload), json.loads(second.payload)
    assert one["pid"] == two["pid"] == env.pid  # warm: the same process
    assert (one["n"], two["n"]) == (1, 2)
    assert one["path"] == [str(env.task_root), str(env._runtime_dir)]
    assert one["environ"]["MY_SETTING"] == "on"
    assert one["environ"]["AWS_LAMBDA_LOG_STREAM_NAME"] == env.stream
    assert "HOME" not in one["environ"]
    assert env.invocations == 2

    assert len(logs.starting("INIT_START Runtime Version: python:3.11.local")) == 1
    assert len(logs.starting("init ran in")) == 1
    reports = logs.starting("REPORT RequestId: ")
    assert len(reports) == 2
    assert "Init Duration: " in reports[0] and "Init Duration" not in reports[1]  # only the cold start says so
    assert "Memory Size: 256 MB" in reports[0]
    assert any(m.startswith("handling 2") for m in logs.messages())
    assert {stream for stream, _ in logs.lines} == {env.stream}  # one log stream per environment


def test_a_handled_error_keeps_the_environment_warm(make_env) -> None:
    env, _ = make_env()
    env.start()
    failed = _invoke(env, {"boom": True})
    assert (failed.kind, failed.error_type) == ("error", "ValueError")
    assert failed.error["errorMessage"] == "boom"
    assert not failed.environment_lost and env.alive()
    assert _invoke(env, {"n": 3}).kind == "ok"


def test_a_runtime_that_exits_mid_invocation_is_a_crash_with_its_exit_status(make_env) -> None:
    env, logs = make_env()
    env.start()
    crashed = _invoke(env, {"exit": True})
    assert (crashed.kind, crashed.error_type, crashed.status) == ("crash", "Runtime.ExitError", "error")
    assert crashed.error["errorMessage"] == "Runtime exited with error: exit status 3"
    assert not env.alive()
    assert "Status: error\tError Type: Runtime.ExitError" in logs.starting("REPORT")[-1]


def test_a_failing_init_is_reported_and_the_environment_is_gone(make_env) -> None:
    env, logs = make_env(variables={"FAIL_INIT": "1"})
    failure = env.start()
    assert failure is not None and failure.kind == "init_error"
    assert failure.error["errorMessage"] == "no config"
    assert failure.status == "error"
    assert not env.alive()
    (init_report,) = logs.starting("INIT_REPORT")
    assert "Phase: init\tStatus: error" in init_report


def test_a_missing_handler_module_is_an_import_error(make_env) -> None:
    env, _ = make_env(handler="nowhere.handler")
    failure = env.start()
    assert failure is not None
    assert failure.error_type == "Runtime.ImportModuleError"


def test_an_invocation_past_the_timeout_kills_the_environment(make_env) -> None:
    env, logs = make_env(timeout_s=1)
    env.start()
    timed_out = _invoke(env, {"sleep": 5})
    assert (timed_out.kind, timed_out.status) == ("timeout", "timeout")
    assert 1000 <= timed_out.duration_ms < 3000
    assert not env.alive()
    assert any("Task timed out after 1.00 seconds" in m for m in logs.messages())


def test_an_environment_killed_before_init_never_starts(make_env) -> None:
    env, _ = make_env()
    env.kill()  # the service stopped first
    failure = env.start()
    assert failure is not None and failure.kind == "init_error"
    assert env.proc is None


def test_describe_says_what_the_status_endpoint_shows(make_env) -> None:
    env, _ = make_env()
    env.start()
    _invoke(env, {"n": 1})
    env.finish()  # what the pool does when the invocation is over
    described = env.describe()
    assert described["state"] == "idle" and described["invocations"] == 1
    assert described["pid"] == env.pid and described["logStream"] == env.stream
    assert described["fingerprint"] == config().fingerprint
    assert described["initDurationMs"] == round(env.init_ms, 2)
