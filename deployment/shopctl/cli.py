"""Command line: `python -m shopctl <command>` (the Makefile's targets call these).

Every failure ends with one line saying what went wrong and a hint — never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from botocore.exceptions import BotoCoreError, ClientError

from shopctl import account, errors
from shopctl.aws import clients, resources
from shopctl.errors import ShopctlError, unexpected
from shopctl.local import localaws, run
from shopctl.stages import STAGES, get_stage
from shopctl.targets import ecs_target, eks_target, lambda_target
from shopctl.targets.base import get_target


def _local_aws_start(args: argparse.Namespace) -> int:
    aws, _started = localaws.start(args.port)
    if not _started:
        print(f"✓ local AWS already running at {aws.endpoint}")
    if args.stage:
        aws.use()
        stage = get_stage(args.stage)
        tables = resources.TableNames.for_deployment(stage.name)
        created = resources.ensure_tables(tables)
        print(f"✓ tables {tables.users}, {tables.orders}" + (" (created)" if created else " (already there)"))
        env = run.publish_config(args.runtime, tables, stage.name)
        print(f"✓ configuration for RUNTIME={args.runtime.upper()}: " + ", ".join(f"{k}={v}" for k, v in env.items()))
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
    aws.use()
    owner = f"pid {aws.pid}" if aws.pid else "not started by make"
    print(f"local AWS: running at {aws.endpoint} ({owner})")
    names = clients.client("dynamodb").list_tables().get("TableNames", [])
    print("  tables: " + (", ".join(names) if names else "(none)"))
    return 0


def _options(args: argparse.Namespace):
    if args.target == "lambda":
        return lambda_target.Options(
            env=args.env, port=args.port, auth=args.auth, python=args.python, optimize=args.optimize,
            snapstart=args.snapstart, package=args.package,
        )
    if args.target == "eks":
        return eks_target.Options(
            env=args.env,
            port=args.port,
            cluster_name=args.cluster_name,
            create_cluster=args.create_cluster,
            delete_cluster=args.delete_cluster,
        )
    return ecs_target.Options(env=args.env, port=args.port)


def _deploy(args: argparse.Namespace) -> int:
    stage = get_stage(args.stage)
    options = _options(args)
    if args.target == "lambda":
        lambda_target.check(options)  # a combination Lambda refuses stops here, before credentials are asked for
    account.use(args.env, args.aws_port)
    target = get_target(args.target)
    for flag, given in (("OPTIMIZE=1", args.optimize), ("SNAPSTART=1", args.snapstart),
                        ("PACKAGE=image", args.package == "image")):
        if given and args.target != "lambda":
            print(f"  note: {flag} applies to TARGET=lambda; ignored for TARGET={args.target}")
    if args.env == "aws":
        account.confirm(target.plan(stage, options), args.yes)
        warning = lambda_target.public_url_warning(options) if args.target == "lambda" else None
        if warning:
            print(warning)
    deployment = target.deploy(stage.name, options)
    if args.env == "local":
        cold = "      (the first request is a cold start)" if args.target == "lambda" else ""
        print(f"  try:  curl -s {deployment.url}/health{cold}")
        if args.target == "lambda":
            print(f"  cold starts: make coldstart STAGE={stage.name} TARGET=lambda N=5")
        print(f"  remove it:   make destroy STAGE={stage.name} TARGET={args.target}")
    return 0


def _destroy(args: argparse.Namespace) -> int:
    stage = get_stage(args.stage)
    account.use(args.env, args.aws_port)
    if args.env == "aws" and not args.keep_data:
        account.confirm([f"DELETE the {stage.name} tables and their data"], args.yes)
    if args.env == "aws" and args.target == "eks" and args.delete_cluster:
        account.confirm([f"DELETE the EKS cluster {args.cluster_name} (every stage deployed on it stops)"], args.yes)
    get_target(args.target).destroy(stage.name, _options(args), keep_data=args.keep_data)
    return 0


def _status(args: argparse.Namespace) -> int:
    from shopctl.aws import census, state

    states = state.every_scope()
    if not states:
        print("no deployments recorded (make deploy STAGE=… TARGET=…)")
    else:
        print(f"{'deployment':<22} {'scope':<28} {'url':<28} processes")
        for dep in states:
            procs = ", ".join(f"{p.name}:{p.pid}{'' if p.alive() else ' (dead)'}" for p in dep.processes) or "-"
            print(f"{dep.name:<22} {dep.scope or dep.env:<28} {dep.url:<28} {procs}")
    # What AWS itself holds, recorded or not (a lost state file, another machine's deploy): the census.
    if args.env == "local":
        aws = localaws.status(args.aws_port)
        if aws is None:
            print(f"\nlocal AWS not running on port {args.aws_port}: no AWS resources to list")
            return 0
        aws.use()
    else:
        account.use("aws", args.aws_port)
    found = census.census()
    where = "the local AWS" if args.env == "local" else "this AWS account and region"
    print(f"\n{len(found)} resource(s) of the project in {where}" + (":" if found else ""))
    for resource in found:
        print(f"  {resource}")
    return 0


def _coldstart(args: argparse.Namespace) -> int:
    from shopctl.aws import state
    from shopctl.targets import coldstart

    stage = get_stage(args.stage)
    account.use(args.env, args.aws_port)
    deployment = state.load(lambda_target.deployment_name(stage.name))
    if deployment is None:
        raise ShopctlError(
            f"{stage.name} is not deployed to Lambda", f"make deploy STAGE={stage.name} TARGET=lambda first"
        )
    urls = deployment.resources.service_urls
    rows = []
    for service in lambda_target.lambda_services(stage):
        fn = lambda_target.function_name(stage, service)
        print(f"… {args.n} cold starts of {fn} (+{args.warm} warm invokes each)", flush=True)
        auth = "NONE" if args.env == "local" else (args.auth or "AWS_IAM")
        rows += coldstart.measure(fn, urls[service.name], runs=args.n, warm=args.warm, auth_type=auth)
    print()
    print(coldstart.table(rows))
    print(
        "\ninit = Init Duration (restore = SnapStart's Restore Duration) and warm p50 = Duration, from the REPORT"
        " lines in CloudWatch Logs;"
        " first-request = measured by this client."
    )
    return 0


def _deploy_all(args: argparse.Namespace) -> int:
    from shopctl import fleet

    account.use("local", args.aws_port)
    rows = fleet.deploy_all()
    print()
    print(fleet.table(rows))
    failed = [r for r in rows if not r[3].ok]
    print(
        f"\n{len(rows) - len(failed)}/{len(rows)} deployments served the talk's flow."
        "  Remove them all: make destroy-all"
    )
    return 1 if failed else 0


def _destroy_all(args: argparse.Namespace) -> int:
    from shopctl import fleet

    account.use("local", args.aws_port)
    removed = fleet.destroy_all(keep_data=args.keep_data)
    print(f"✓ removed {len(removed)} resources and processes" + ("" if not args.keep_data else " (tables kept)"))
    return 0


def _deploy_mixed(args: argparse.Namespace) -> int:
    from shopctl import fleet

    account.use("local", args.aws_port)
    eks, lam, result = fleet.deploy_mixed()
    print(f"\nusers via EKS:    {eks.url}\norders via Lambda: {lam.url}")
    print(f"{'✓' if result.ok else '✗'} talk's flow across the two: {result.detail}")
    print("  remove: make destroy STAGE=clean TARGET=eks; make destroy STAGE=clean TARGET=lambda")
    return 0 if result.ok else 1


def _verify(args: argparse.Namespace) -> int:
    from shopctl.verify import runner

    return runner.main_with_args(args)


def _run(args: argparse.Namespace) -> int:
    get_stage(args.stage)
    return run.serve(args.stage, runtime=args.runtime, port=args.port, aws_port=args.aws_port)


def build_parser() -> argparse.ArgumentParser:
    parser = errors.ArgumentParser(prog="shopctl", description="Run and deploy the workshop's three stages.")
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

    def target_args(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--stage", required=True)
        cmd.add_argument("--target", default="lambda", choices=["lambda", "ecs", "eks"])
        cmd.add_argument("--env", default="local", choices=["local", "aws"])
        cmd.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT, help="local AWS port (ENV=local)")
        cmd.add_argument("--port", type=int, default=None, help="local base URL port (ENV=local)")
        cmd.add_argument(
            "--auth",
            choices=["NONE", "AWS_IAM"],
            default=None,
            help="Function URL auth (default: NONE locally, AWS_IAM on AWS)",
        )
        cmd.add_argument("--python", default="3.12", help="the function's Python on AWS (ENV=aws)")
        cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation (ENV=aws)")
        cmd.add_argument("--cluster-name", default="shop", help="the EKS cluster (TARGET=eks)")
        cmd.add_argument(
            "--create-cluster", action="store_true", help="ENV=aws: create an EKS Auto Mode cluster if missing"
        )
        cmd.add_argument("--delete-cluster", action="store_true", help="destroy: also delete the EKS cluster")
        cmd.add_argument(
            "--optimize",
            action="store_true",
            help="TARGET=lambda: the package tuned for cold starts (precompiled bytecode, unused AWS SDK data out)",
        )
        cmd.add_argument(
            "--snapstart",
            action="store_true",
            help="TARGET=lambda: SnapStart — init once at publish, cold starts restore the snapshot (alias live)",
        )
        cmd.add_argument(
            "--package",
            choices=("zip", "image"),
            default="zip",
            help="TARGET=lambda: image = the stage's container image (as ECS/EKS run it) behind the Lambda Web Adapter",
        )

    dep = sub.add_parser("deploy", help="deploy a stage to a target")
    target_args(dep)
    dep.set_defaults(func=_deploy)
    des = sub.add_parser("destroy", help="remove a deployment (tables kept unless --delete-data)")
    target_args(des)
    des.add_argument("--delete-data", dest="keep_data", action="store_false", help="also delete the tables")
    des.set_defaults(func=_destroy)
    cold = sub.add_parser("coldstart", help="force N cold starts and read them from the REPORT lines")
    target_args(cold)
    cold.add_argument("-n", type=int, default=5)
    cold.add_argument("--warm", type=int, default=3)
    cold.set_defaults(func=_coldstart)
    for verb, func, text in (
        ("deploy-all", _deploy_all, "deploy 3 stages x 3 targets locally and run the talk's flow on each"),
        ("destroy-all", _destroy_all, "destroy every deployment"),
        ("deploy-mixed", _deploy_mixed, "clean stage: users through EKS, orders through Lambda, same tables"),
    ):
        cmd = sub.add_parser(verb, help=text)
        cmd.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
        cmd.add_argument("--delete-data", dest="keep_data", action="store_false")
        cmd.set_defaults(func=func)
    from shopctl.verify.runner import build_parser as verify_parser

    ver = sub.add_parser("verify", help="fuzz, faults, load, deploy safety and policy checks; one table")
    verify_parser(ver)
    ver.set_defaults(func=_verify)
    stat = sub.add_parser("status", help="list deployments and every project resource AWS holds")
    stat.add_argument("--env", default="local", choices=["local", "aws"])
    stat.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    stat.set_defaults(func=_status)
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
    except Exception as error:  # a bug: still one line and a hint, the traceback on request
        return unexpected(error, "shopctl")
