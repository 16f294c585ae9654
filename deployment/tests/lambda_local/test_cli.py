"""shopctl.lambda_local.cli: `python -m shopctl.lambda_local`'s options, and each way it refuses to start — a
concurrency below one, a function the local AWS does not hold, an AWS it cannot reach, a port already taken —
with one line and an exit status, its execution environments' directory made and its logs closed either
way (in this process; serving until SIGTERM is tested on the real process in test_service.py)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from shopctl.lambda_local import cli, testing


def test_the_options_and_their_defaults() -> None:
    args = cli.build_parser().parse_args(["--function-name", "fn", "--port", "9000"])
    assert (args.function_name, args.port, args.host) == ("fn", 9000, "127.0.0.1")
    assert (args.idle_timeout, args.max_concurrency, args.work_dir, args.snapstart) == (300.0, 10, None, False)
    assert args.python == sys.executable


def test_a_function_name_and_a_port_are_required(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["--port", "9000"])
    assert exited.value.code == 2
    assert "--function-name" in capsys.readouterr().err


def test_a_concurrency_below_one_is_refused(capsys) -> None:
    assert cli.main(["--function-name", "fn", "--port", "9000", "--max-concurrency", "0"]) == 2
    assert capsys.readouterr().err == "error: --max-concurrency must be at least 1\n"


def test_a_function_the_local_aws_does_not_hold_is_one_line(aws: None, capsys) -> None:
    assert cli.main(["--function-name", "nowhere", "--port", "9000"]) == 1
    out = capsys.readouterr().out
    assert "lambda-local: error: function nowhere does not exist in the local AWS\n" in out
    assert "Traceback" not in out


def test_the_work_dir_defaults_to_the_run_dir(aws: None, tmp_path: Path) -> None:
    cli.main(["--function-name", "nowhere", "--port", "9000"])
    assert (tmp_path / "run" / "lambda" / "nowhere" / "runtime" / "bootstrap.py").exists()


def test_an_aws_it_cannot_reach_is_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    for var, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(var, value)
    argv = ["--function-name", "fn", "--port", "9000", "--work-dir", str(tmp_path / "work")]
    assert cli.main(argv) == 1
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "error" in ln]
    assert line.startswith("lambda-local: error: could not load function fn: ")
    assert endpoint in line


def test_a_port_already_taken_is_one_line(aws: None, tmp_path: Path, capsys) -> None:
    testing.deploy("taken", testing.build_zip({"app.py": "def handler(event, context):\n    return 1\n"}))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["--function-name", "taken", "--port", str(port), "--work-dir", str(tmp_path / "work")]
        assert cli.main(argv) == 1
    assert f"lambda-local: error: cannot listen on 127.0.0.1:{port}\n" in capsys.readouterr().out


class FakePool:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class FakeService:
    def __init__(self) -> None:
        self.closing = False
        self.pool = FakePool()


def test_a_stop_signal_first_kills_the_environments_once() -> None:
    import uvicorn

    server = cli._Server(uvicorn.Config(app=None))
    server.service = FakeService()  # type: ignore[assignment]
    server.handle_exit(15, None)
    server.handle_exit(15, None)  # a second signal: not again
    assert server.service.closing and server.service.pool.closed == 1
    assert server.should_exit
