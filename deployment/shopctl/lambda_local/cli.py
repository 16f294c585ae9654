"""`python -m shopctl.lambda_local`: serve one deployed function like Lambda behind its Function URL.

Runs until SIGTERM/SIGINT, then kills its execution environments, flushes the logs and exits 0.
Prints one line containing "ready" once it accepts requests.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import uvicorn

from shopctl.lambda_local.function import FunctionNotFound
from shopctl.lambda_local.service import LambdaService, say
from shopctl.paths import run_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shopctl.lambda_local",
        description="Serve one function of the local AWS like Lambda behind its Function URL.",
    )
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--idle-timeout", type=float, default=300.0, help="seconds an idle environment stays warm"
    )
    parser.add_argument("--max-concurrency", type=int, default=10, help="environments at once; beyond: 429")
    parser.add_argument("--work-dir", type=Path, help="default: <run dir>/lambda/<function name>")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the execution environments")
    parser.add_argument(
        "--snapstart",
        action="store_true",
        help="SnapStart: init once into a snapshot (before-snapshot hooks), cold starts restore it",
    )
    return parser


class _Server(uvicorn.Server):
    """uvicorn, but a stop signal first kills the execution environments (in-flight requests end fast)."""

    service: LambdaService

    def handle_exit(self, sig, frame) -> None:
        if not self.service.closing:
            self.service.closing = True
            self.service.pool.close()
        super().handle_exit(sig, frame)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_concurrency < 1:
        print("error: --max-concurrency must be at least 1", file=sys.stderr)
        return 2
    work_dir = (args.work_dir or run_dir() / "lambda" / args.function_name).resolve()
    service = LambdaService(
        args.function_name,
        work_dir=work_dir,
        max_concurrency=args.max_concurrency,
        idle_timeout=args.idle_timeout,
        python=args.python,
        snap_start=args.snapstart,
    )
    try:
        config = service.load()
    except FunctionNotFound:
        say(f"error: function {args.function_name} does not exist in the local AWS")
        service.close()
        return 1
    except Exception as error:  # local AWS unreachable, package missing or corrupt…
        say(f"error: could not load function {args.function_name}: {error}")
        service.close()
        return 1

    server = _Server(
        uvicorn.Config(
            service,
            host=args.host,
            port=args.port,
            lifespan="off",
            access_log=False,
            server_header=False,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    server.service = service
    try:
        sock = server.config.bind_socket()
        sock.listen(server.config.backlog)  # connections wait in the backlog from now on: we are ready
    except SystemExit:
        say(f"error: cannot listen on {args.host}:{args.port}")
        service.close()
        return 1
    what = f"image, command {' '.join(config.image_command)}" if config.is_image else f"handler {config.handler}"
    say(
        f"ready: {config.name} ({config.runtime or config.package_type}, {what}, {config.memory_mb} MB, "
        f"timeout {config.timeout_s}s{', SnapStart' if args.snapstart else ''}) at http://{args.host}:{args.port} "
        f"(pid {os.getpid()}, max concurrency {args.max_concurrency}, idle timeout {args.idle_timeout:g}s)"
    )
    # uvicorn re-raises the stop signal once it has shut down: let that land on a harmless handler
    # (so the clean-up below runs and the exit status is 0) that also covers a signal arriving before
    # uvicorn installed its own.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run(sockets=[sock])
    finally:
        service.close()
        say("stopped")
    return 0
