"""Command line: `python -m shopctl <command>` (the Makefile's targets call these).

Every failure ends with one line saying what went wrong and a hint — never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from botocore.exceptions import BotoCoreError, ClientError

from shopctl import account, errors
from shopctl.aws import clients, resources
from shopctl.errors import ShopctlError, unexpected
from shopctl.local import localaws, run
from shopctl.stages import STAGES, get_stage
from shopctl.targets import lambda_target
from shopctl.targets.registry import TARGETS, get_target
from shopctl.targets.registry import destroy as destroy_deployment


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


class _TargetFlags:
    """Hands a target its own argument group and remembers which flags it added (argparse keeps no public
    record of a group's flags): a flag only another target reads is reported as ignored."""

    def __init__(self, group: argparse._ArgumentGroup, target: str, owners: dict[str, tuple[str, argparse.Action]]):
        self._group, self._target, self._owners = group, target, owners

    def add_argument(self, *names: str, **settings: object) -> argparse.Action:
        action = self._group.add_argument(*names, **settings)  # type: ignore[arg-type]
        self._owners[action.dest] = (self._target, action)
        return action


def _ignored_flags(args: argparse.Namespace) -> list[str]:
    return [
        action.option_strings[0]
        for owner, action in args.target_flags.values()
        if owner != args.target and getattr(args, action.dest) != action.default
    ]


def _deploy(args: argparse.Namespace) -> int:
    stage = get_stage(args.stage)
    target = get_target(args.target)
    options = target.options(args)  # a combination the target refuses stops here, before credentials
    account.use(args.env, args.aws_port)
    for flag in args.ignored:
        print(f"  note: {flag} applies to another target; ignored for TARGET={args.target}")
    if args.env == "aws":
        from shopctl import doctor

        doctor.require("aws", aws_port=args.aws_port, target=args.target)  # before anything is created
        from shopctl.aws import prices

        account.confirm([*target.plan(stage, options), *prices.bill(target.costs(stage, options))], args.yes)
        for warning in target.warnings(options):
            print(warning)
    deployment = target.deploy(stage, options)
    if args.env == "local":
        for hint in target.hints(stage, deployment):
            print(f"  {hint}")
        print(f"  remove it:   make destroy STAGE={stage.name} TARGET={args.target}")
    return 0


def _destroy(args: argparse.Namespace) -> int:
    stage = get_stage(args.stage)
    target = get_target(args.target)
    options = target.options(args)
    account.use(args.env, args.aws_port)
    if args.env == "aws":
        confirmations = [] if args.keep_data else [f"DELETE the {stage.name} tables and their data"]
        confirmations += target.destroy_confirmations(stage, options)
        if confirmations:
            account.confirm(confirmations, args.yes)
    destroy_deployment(target, stage, options, keep_data=args.keep_data)
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
    if args.env == "aws":
        from shopctl import fleet
        from shopctl.aws import prices

        deployments = fleet.found_deployments()
        billed = ", billed while they run (estimate):" if deployments else ""
        print(f"\n{len(deployments)} deployment(s) found{billed}")
        total = 0.0
        for target, stage in deployments:
            hourly = prices.hourly(target.costs(stage, target.teardown_options("aws")))
            total += hourly
            print(f"  {target.deployment_name(stage):<22} ≈ ${hourly:.3f}/h")
        if deployments:
            day = total * 24
            print(f"  total ≈ ${total:.3f}/h, ${day:.2f}/day ({prices.PRICED}); make destroy-all ENV=aws removes them")
    return 0


def _urls(args: argparse.Namespace) -> int:
    """`stage target url [orders-url]`, one line per recorded deployment: what `make contract` tests."""
    from shopctl.aws import state

    if args.env == "local":
        aws = localaws.status(args.aws_port)
        if aws is None:
            raise ShopctlError(f"local AWS not running on port {args.aws_port}: nothing deployed", "make deploy first")
        aws.use()
    else:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the lines a script reads
            account.use("aws", args.aws_port)
    found = [d for d in state.all_states() if args.target in (None, d.target)]
    if not found:
        what = f"TARGET={args.target} deployment" if args.target else "deployment"
        raise ShopctlError(f"no {what} recorded for ENV={args.env}", f"make deploy ENV={args.env} STAGE=… TARGET=…")
    for dep in found:
        services = dep.resources.service_urls
        # The microservices on AWS Lambda have no gateway: the record's URL is the users service's, and
        # /orders… has a Function URL of its own.
        orders = services.get("orders", "") if dep.url == services.get("users") else ""
        print(" ".join(filter(None, (dep.stage, dep.target, dep.url, orders))))
    return 0


def _coldstart(args: argparse.Namespace) -> int:
    from shopctl.aws import state
    from shopctl.targets import coldstart

    stage = get_stage(args.stage)
    account.use(args.env, args.aws_port)
    deployment = state.load(lambda_target.deployment_name(stage))
    if deployment is None:
        raise ShopctlError(
            f"{stage.name} is not deployed to Lambda", f"make deploy STAGE={stage.name} TARGET=lambda first"
        )
    urls = deployment.resources.service_urls
    rows = []
    for service in lambda_target.lambda_services(stage):
        fn = lambda_target.function_name(stage, service)
        print(f"… {args.n} cold starts of {fn} (+{args.warm} warm invokes each)", flush=True)
        auth = args.auth or ("NONE" if args.env == "local" else "AWS_IAM")  # locally AUTH=AWS_IAM signs too
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

    if args.env == "aws":
        raise ShopctlError(
            "deploy-all runs the nine deployments side by side locally only (on AWS that is nine bills at once)",
            "deploy to AWS one at a time: make deploy STAGE=… TARGET=… ENV=aws",
        )
    stages = [get_stage(name) for name in args.stages.split(",")]
    targets = [get_target(name) for name in args.targets.split(",")] if args.targets else list(TARGETS.values())
    account.use("local", args.aws_port)
    rows = fleet.deploy_all(stages, targets)
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
    from shopctl.aws import census

    account.use(args.env, args.aws_port)
    if args.env == "aws":
        # Found by what the account holds, not only by this machine's records: confirmed like a deploy.
        found = [target.deployment_name(stage) for target, stage in fleet.found_deployments()]
        lines = [f"DELETE the deployment {name}" for name in found] or ["nothing deployed found; the census runs"]
        if any(name.endswith("-eks") for name in found):
            lines.append("DELETE the EKS cluster with the last EKS deployment, if deploy created it (CREATE_CLUSTER=1)")
        if not args.keep_data:
            lines.append("DELETE every stage's tables and their data")
        account.confirm(lines, args.yes, verb="delete, in your AWS account")
    removed = fleet.destroy_all(args.env, keep_data=args.keep_data)
    print(f"✓ removed {len(removed)} resources and processes" + ("" if not args.keep_data else " (tables kept)"))
    left = census.census()
    where = "the local AWS" if args.env == "local" else "this AWS account and region"
    if not left:
        print(f"✓ census: nothing of the project left in {where}")
    else:
        print(f"  census: {len(left)} resource(s) of the project left in {where}:")
        for resource in left:
            print(f"    {resource}")
    return 0


def _deploy_mixed(args: argparse.Namespace) -> int:
    from shopctl import fleet

    account.use("local", args.aws_port)
    eks, lam, result = fleet.deploy_mixed()
    print(f"\nusers via EKS:    {eks.url}\norders via Lambda: {lam.url}")
    print(f"{'✓' if result.ok else '✗'} talk's flow across the two: {result.detail}")
    print("  remove: make destroy STAGE=clean TARGET=eks; make destroy STAGE=clean TARGET=lambda")
    return 0 if result.ok else 1


def _doctor(args: argparse.Namespace) -> int:
    from shopctl import doctor

    if args.env == "aws":
        account.use("aws", args.aws_port)  # no credentials or region: one line, nothing else asked
    if args.target is not None:
        get_target(args.target)
    return 0 if doctor.report(doctor.run(args.env, aws_port=args.aws_port, target=args.target)) else 1


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
        # --stage and --target are checked together after parsing (both typos in one message).
        cmd.add_argument("--stage", required=True)
        cmd.add_argument("--target", default="lambda", help=f"one of: {', '.join(TARGETS)}")
        cmd.add_argument("--env", default="local", choices=["local", "aws"])
        cmd.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT, help="local AWS port (ENV=local)")
        cmd.add_argument("--port", type=int, default=None, help="local base URL port (ENV=local)")
        cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation (ENV=aws)")
        # Each target's own flags, under its name; all are accepted whatever the target (make passes the
        # variables it was given), and a flag another target reads is reported as ignored.
        owners: dict[str, tuple[str, argparse.Action]] = {}
        for name, target in TARGETS.items():
            target.add_arguments(_TargetFlags(cmd.add_argument_group(f"TARGET={name}"), name, owners))
        cmd.set_defaults(target_flags=owners)

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
    every = sub.add_parser(
        "deploy-all", help="deploy every stage to every target locally and run the talk's flow on each"
    )
    every.add_argument("--env", default="local", choices=["local", "aws"])
    every.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    every.add_argument("--stages", default=",".join(STAGES), help="comma-separated (default: all)")
    every.add_argument("--targets", default=None, help="comma-separated (default: all)")
    every.set_defaults(func=_deploy_all)
    gone = sub.add_parser("destroy-all", help="destroy every deployment found, then a census of what is left")
    gone.add_argument("--env", default="local", choices=["local", "aws"])
    gone.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    gone.add_argument("--delete-data", dest="keep_data", action="store_false")
    gone.add_argument("--yes", action="store_true", help="do not ask for confirmation (ENV=aws)")
    gone.set_defaults(func=_destroy_all)
    for verb, func, text in (
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
    doc = sub.add_parser("doctor", help="check what a deploy needs, one line per check (ENV=aws: your account)")
    doc.add_argument("--env", default="local", choices=["local", "aws"])
    doc.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    doc.add_argument("--target", default=None, help="only what this target needs")
    doc.set_defaults(func=_doctor)
    stat = sub.add_parser("status", help="list deployments and every project resource AWS holds")
    stat.add_argument("--env", default="local", choices=["local", "aws"])
    stat.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    stat.set_defaults(func=_status)
    urls = sub.add_parser("urls", help="`stage target url [orders-url]` per recorded deployment, for scripts")
    urls.add_argument("--env", default="local", choices=["local", "aws"])
    urls.add_argument("--aws-port", type=int, default=localaws.DEFAULT_PORT)
    urls.add_argument("--target", default=None, choices=list(TARGETS), help="only this target's")
    urls.set_defaults(func=_urls)
    return parser


def _check_names(args: argparse.Namespace) -> None:
    """STAGE and TARGET checked together, so two typos are one message, not two runs."""
    problems = []
    if args.stage not in STAGES:
        problems.append((f"unknown STAGE {args.stage!r}", f"STAGE is one of: {', '.join(STAGES)}"))
    if args.target not in TARGETS:
        problems.append((f"unknown TARGET {args.target!r}", f"TARGET is one of: {', '.join(TARGETS)}"))
    if problems:
        raise ShopctlError("; ".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    args.ignored = _ignored_flags(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "target_flags"):
            _check_names(args)
        return int(args.func(args))
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
        if getattr(args, "env", "local") == "aws":
            hint = "check the credentials' permissions and the region; make destroy removes what was created so far"
        else:
            hint = "is the local AWS running (make local-aws-status)?"
        print(f"  hint: {hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: still one line and a hint, the traceback on request
        return unexpected(error, "shopctl")
