"""Command line: `python -m shopctl <command>` (the Makefile's targets call these).

Every failure ends with one line saying what went wrong and a hint — never a traceback.
"""

from __future__ import annotations

import argparse
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shopctl import localaws, resources, run
from shopctl.errors import ShopctlError
from shopctl.stages import STAGES, get_stage


def _local_aws_start(args: argparse.Namespace) -> int:
    aws, _started = localaws.start(args.port)
    if not _started:
        print(f"✓ local AWS already running at {aws.endpoint}")
    if args.stage:
        _with_local_aws(aws)
        stage = get_stage(args.stage)
        tables = resources.TableNames.for_deployment(stage.name)
        created = resources.ensure_tables(tables)
        print(f"✓ tables {tables.users}, {tables.orders}" + (" (created)" if created else " (already there)"))
        env = run.publish_config(args.runtime, tables, stage.name)
        print(
            f"✓ configuration for RUNTIME={args.runtime.upper()}: "
            + ", ".join(f"{k}={v}" for k, v in env.items())
        )
    print(
        f"  use it from a shell:  export AWS_ENDPOINT_URL={aws.endpoint} AWS_ACCESS_KEY_ID=testing "
        f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={localaws.REGION}"
    )
    return 0


def _local_aws_stop(args: argparse.Namespace) -> int:
    localaws.stop(args.port)
    return 0


def _local_aws_status(args: argparse.Namespace) -> int:
    aws = localaws.status(args.port)
    if aws is None:
        print(f"local AWS: not running on port {args.port}  (start it: make local-aws)")
        return 0
    _with_local_aws(aws)
    owner = f"pid {aws.pid}" if aws.pid else "not started by make"
    print(f"local AWS: running at {aws.endpoint} ({owner})")
    names = boto3.client("dynamodb").list_tables().get("TableNames", [])
    print("  tables: " + (", ".join(names) if names else "(none)"))
    return 0


def _with_local_aws(aws: localaws.LocalAws) -> None:
    import os

    os.environ.update(aws.environ())


def _run(args: argparse.Namespace) -> int:
    get_stage(args.stage)
    return run.serve(args.stage, runtime=args.runtime, port=args.port, aws_port=args.aws_port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopctl", description="Run and deploy the workshop's three stages."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    aws = sub.add_parser("local-aws", help="the local AWS (moto server)")
    aws_sub = aws.add_subparsers(dest="action", required=True)
    start = aws_sub.add_parser("start", help="start it in the background (idempotent)")
    start.add_argument("--port", type=int, default=localaws.DEFAULT_PORT)
    start.add_argument("--stage", choices=list(STAGES), help="also create this stage's tables and config")
    start.add_argument("--runtime", default="LAMBDA", type=str.upper, choices=resources.RUNTIMES)
    start.set_defaults(func=_local_aws_start)
    stop = aws_sub.add_parser("stop", help="stop it (by its pid)")
    stop.add_argument("--port", type=int, default=localaws.DEFAULT_PORT)
    stop.set_defaults(func=_local_aws_stop)
    status = aws_sub.add_parser("status", help="is it running, which tables")
    status.add_argument("--port", type=int, default=localaws.DEFAULT_PORT)
    status.set_defaults(func=_local_aws_status)

    serve = sub.add_parser("run", help="serve a stage locally until Ctrl-C")
    serve.add_argument("--stage", required=True)
    serve.add_argument("--runtime", default="LAMBDA", type=str.upper, choices=resources.RUNTIMES)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    serve.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
        print(
            "  hint: is the local AWS running (make local-aws-status)? with ENV=aws, are credentials set?",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
