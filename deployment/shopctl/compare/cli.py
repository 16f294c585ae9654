"""`make compare` = `python -m shopctl.compare`: every section, one report.

    python -m shopctl.compare                     # everything, N=5: build/compare/report.md, report.json, *.png
    python -m shopctl.compare --quick             # N=1, clean stage, Lambda + local only, reduced tests
    python -m shopctl.compare --sections coupling,tests --out /tmp/cmp
    python -m shopctl.compare --stages monolith,clean --targets lambda --n 3
    python -m shopctl.compare --sections coldstart --targets lambda --modes plain,snapstart   # two Lambda modes
    python -m shopctl.compare --env aws --sections coldstart   # Lambda cold starts in your account (asks first)

Sections: coupling (static, from the code), coldstart (measured: Lambda in four modes — plain ZIP, optimised
ZIP, SnapStart, the Web Adapter image — ECS, EKS, local, the floor), tests (each tier's suite run and timed).
No AWS account and no Docker needed: the cold starts run against a local AWS of their own on a free port
(nothing of a running `make deploy` is touched).
With --env aws (make compare ENV=aws) the Lambda cold starts run in a real account instead, deployed by the
same code as `make deploy ENV=aws`, read back from CloudWatch Logs, and deleted at the end of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shopctl import account, errors
from shopctl.compare import (
    charts,
    coldstart_run,
    coupling,
    floor,
    goals,
    lambda_subjects,
    report,
    results,
    testcost,
)
from shopctl.compare.latest import DEFAULT_OUT
from shopctl.errors import ShopctlError, unexpected
from shopctl.local.localaws import LocalAws
from shopctl.stages import STAGES
from shopctl.targets import lambda_target

SECTIONS = ("coupling", "coldstart", "tests")
CHARTS = ("coupling", "impact", "coldstart", "modes", "process", "testcost")
@dataclass(frozen=True)
class Options:
    n: int = 5
    warm: int = 3
    quick: bool = False
    out: Path = DEFAULT_OUT
    sections: tuple[str, ...] = SECTIONS
    stages: tuple[str, ...] = tuple(STAGES)
    targets: tuple[str, ...] = coldstart_run.TARGETS
    modes: tuple[str, ...] = lambda_subjects.MODES  # the Lambda modes: plain, optimized, snapstart, image
    floor_modes: tuple[str, ...] = lambda_subjects.MODES  # the floor in the same modes
    floor_importtime: bool = True
    importtime: bool = True  # the -X importtime breakdown of each Lambda handler
    env: str = "local"  # "aws": the Lambda cold starts in a real account (ENV=aws), Lambda only
    python: str = "3.12"  # the functions' runtime with ENV=aws
    yes: bool = False  # ENV=aws: do not ask before creating the run's functions
    command: str | None = None  # how the report names the run (default: make compare, or its --quick)

    @classmethod
    def quick_run(cls, **overrides: Any) -> Options:
        """CI-sized: one cold start each, the clean stage on Lambda (all four modes, each once) and as a local
        process; the floor on Lambda as the plain ZIP only (the other modes are compared with it)."""
        values = {
            "n": 1,
            "warm": 1,
            "quick": True,
            "stages": ("clean",),
            "targets": ("lambda", "local"),
            "floor_modes": ("plain",),
            "floor_importtime": False,
        }
        return cls(**{**values, **overrides})

    @classmethod
    def side_by_side_run(cls, **overrides: Any) -> Options:
        """Notebook-sized (05): the three stages on the local Lambda only — plain and optimised package and
        the floor, N=3, one warm request — so an attendee sees them side by side in minutes, not `make compare`'s
        five. No coupling or test sections: the notebook computes coupling itself and the tests take longest.
        """
        values = {
            "n": 3,
            "warm": 1,
            "sections": ("coldstart",),
            "targets": ("lambda",),
            "modes": lambda_subjects.ZIP_MODES,  # the two packages: this run must stay under three minutes
            "floor_modes": lambda_subjects.ZIP_MODES,
            "floor_importtime": False,
            "importtime": False,
            "command": "python -m shopctl.compare --side-by-side",
        }
        return cls(**{**values, **overrides})


    @classmethod
    def modes_run(cls, **overrides: Any) -> Options:
        """Notebook-sized (05): one stage on the local Lambda in the four modes, N=2, the floor as the plain ZIP
        only — about a minute. What `make deploy … OPTIMIZE=1 / SNAPSTART=1 / PACKAGE=image` change, measured."""
        values = {
            "n": 2,
            "warm": 1,
            "sections": ("coldstart",),
            "targets": ("lambda",),
            "stages": ("clean",),
            "floor_modes": ("plain",),
            "floor_importtime": False,
            "importtime": False,
            "command": "python -m shopctl.compare --lambda-modes",
        }
        return cls(**{**values, **overrides})


_STARTED = time.monotonic()


def say(message: str) -> None:
    """Progress, with the time since the start (a full run takes minutes)."""
    if message.strip():
        print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)
    else:
        print(message, flush=True)


def machine() -> str:
    cpus = os.cpu_count() or 0
    return f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"


def load_average() -> float | None:
    """The 1-minute load average: a busy machine makes every absolute time (and some ratios) noisier."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def aws_plan(options: Options) -> list[str]:
    """What ENV=aws creates for the cold starts (and deletes again at the end of the run)."""
    lambda_options = lambda_target.Options(env="aws", python=options.python)
    lines = [
        f"Lambda function {floor.FLOOR_FUNCTION} (the floor) with its role, log group, Function URL "
        "and its two DynamoDB tables (on-demand)"
    ]
    for stage in options.stages:
        lines += lambda_target.plan(STAGES[stage], lambda_options)
    functions = 1 + sum(len(lambda_target.lambda_services(STAGES[s])) for s in options.stages)
    lines.append(
        f"{options.n} forced cold starts + {options.n * options.warm} warm requests per function and package "
        f"({', '.join(options.modes)}): about {functions * options.n * len(options.modes)} cold starts"
    )
    lines.append("everything above is deleted at the end of the run (also after Ctrl-C)")
    return lines


def run(options: Options, *, aws: LocalAws | None = None) -> dict[str, Any]:
    """Measure what `options` asks for, write report.json, report.md and the charts into options.out.

    The cold starts run against `aws` when given (a test session's local AWS), else a local AWS of their own.
    """
    started = time.monotonic()
    load_before = load_average()
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    result: dict[str, Any] = {}
    if options.env == "aws" and "coldstart" in options.sections:
        # Before anything else: no credentials or no "yes" should not cost the wait for the other sections.
        account.use("aws", 0)
        account.confirm(aws_plan(options), options.yes)
    if "coupling" in options.sections:
        # Static and cheap (about a second): always every stage, whatever --stages says for the measurements.
        say("… coupling: reading the stages' code, import graphs (grimp), contracts (import-linter)")
        result["coupling"] = coupling.analyse()
        say(f"✓ coupling of {len(result['coupling']['stages'])} stages")
    if "coldstart" in options.sections:
        say(
            f"… cold starts: N={options.n} per measurement, stages {', '.join(options.stages)}, "
            f"targets {', '.join(options.targets)}" + (" on AWS" if options.env == "aws" else "")
        )
        result["coldstart"] = coldstart_run.measure(
            stages=list(options.stages),
            targets=list(options.targets),
            n=options.n,
            warm=options.warm,
            modes=options.modes,
            work=work / "coldstart",
            say=say,
            aws=aws,
            floor_modes=options.floor_modes,
            floor_importtime=options.floor_importtime,
            importtime=options.importtime,
            env=options.env,
            python=options.python,
        )
        say("✓ cold starts measured")
    if "tests" in options.sections:
        tiers = testcost.QUICK_TIERS if options.quick else testcost.TIERS
        result["tests"] = testcost.measure(tiers, work / "tests", say=say)
        say("✓ test cost measured")

    command = options.command or ("make compare" if not options.quick else "python -m shopctl.compare --quick")
    if options.env == "aws":
        command += " ENV=aws"
    meta = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": machine(),
        "n": options.n,
        "warm": options.warm,
        "quick": options.quick,
        "sections": list(options.sections),
        "stages": list(options.stages),
        "targets": list(options.targets),
        "env": options.env,
        "duration_s": round(time.monotonic() - started, 1),
        "load_average": [load_before, load_average()],
    }
    return write(out, {"meta": meta, **result})


def write(out: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Charts, report.json and report.md from the measured `result` (also `--render`: from a report.json)."""
    say("… charts")
    paths: dict[str, str] = {}
    if "coupling" in result:
        paths["coupling"] = charts.coupling_chart(result["coupling"], out / "coupling.png").name
        paths["impact"] = charts.impact_chart(result["coupling"], out / "impact.png").name
    if "coldstart" in result:
        if result["coldstart"]["lambda"]:
            paths["coldstart"] = charts.coldstart_chart(result["coldstart"], out / "coldstart.png").name
            if len({r["variant"] for r in result["coldstart"]["lambda"]}) > 1:
                paths["modes"] = charts.modes_chart(result["coldstart"], out / "modes.png").name
        if result["coldstart"]["process"]:
            paths["process"] = charts.process_chart(result["coldstart"], out / "process.png").name
    if "tests" in result:
        paths["testcost"] = charts.testcost_chart(result["tests"], out / "testcost.png").name
    for stale in CHARTS:  # a chart of an earlier run, of a section not measured this time
        if stale not in paths:
            (out / f"{stale}.png").unlink(missing_ok=True)
    result = {**result, "charts": paths}
    (out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "report.md").write_text(report.document(result))
    return result


def _csv(allowed: tuple[str, ...], what: str):
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        unknown = [v for v in values if v not in allowed]
        if unknown or not values:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(unknown) or '(none)'}; use {','.join(allowed)}"
            )
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = errors.ArgumentParser(
        prog="python -m shopctl.compare",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=None, help="fresh starts per measurement (default 5, --quick 1)")
    parser.add_argument("--warm", type=int, default=None, help="warm requests after each cold start (default 3)")
    parser.add_argument(
        "--quick", action="store_true", help="CI-sized run: N=1, clean stage, lambda+local, fewer tests"
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="notebook 05's run: the three stages' Lambda cold starts only, N=3, plain+optimised+floor",
    )
    parser.add_argument(
        "--lambda-modes",
        action="store_true",
        help="notebook 05's run: one stage (--stages, default clean) in the four Lambda modes, N=2",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/compare)")
    parser.add_argument(
        "--render", action="store_true", help="measure nothing: redraw report.md and the charts from OUT/report.json"
    )
    parser.add_argument("--sections", type=_csv(SECTIONS, "section"), default=SECTIONS, help="coupling,coldstart,tests")
    parser.add_argument(
        "--stages", type=_csv(tuple(STAGES), "stage"), default=None, help="monolith,microservices,clean"
    )
    parser.add_argument(
        "--targets", type=_csv(coldstart_run.TARGETS, "target"), default=None, help="lambda,local,ecs,eks"
    )
    parser.add_argument(
        "--modes",
        type=_csv(lambda_subjects.MODES, "mode"),
        default=None,
        help="Lambda modes: plain,optimized,snapstart,image (default all four; ENV=aws: the first three)",
    )
    parser.add_argument(
        "--env",
        choices=("local", "aws"),
        default="local",
        help="aws: measure the Lambda cold starts in your AWS account (Lambda only; asks first)",
    )
    parser.add_argument("--python", default="3.12", help="the functions' Python runtime with --env aws")
    parser.add_argument("--yes", action="store_true", help="--env aws: do not ask for confirmation")
    return parser


def options_from(args: argparse.Namespace) -> Options:
    overrides: dict[str, Any] = {
        "out": args.out,
        "sections": args.sections,
        "env": args.env,
        "python": args.python,
        "yes": args.yes,
    }
    for name in ("n", "warm", "stages", "targets"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.modes is not None:
        overrides["modes"] = args.modes
    if overrides.get("n", 1) < 1:
        raise ShopctlError("--n must be at least 1", "e.g. make compare N=5")
    if args.env == "aws":
        # On AWS only the Lambda cold starts are measured: a task's or pod's start there is mostly image pull
        # and scheduling, which says nothing about the stages' code.
        targets = overrides.setdefault("targets", ("lambda",))
        if tuple(targets) != ("lambda",):
            raise ShopctlError(
                "ENV=aws measures Lambda cold starts only",
                "drop COMPARE_TARGETS (or use COMPARE_TARGETS=lambda); ECS/EKS/local starts need ENV=local",
            )
        modes = overrides.setdefault("modes", lambda_subjects.AWS_MODES)
        if [m for m in modes if m not in lambda_subjects.AWS_MODES]:
            raise ShopctlError(
                "ENV=aws measures plain, optimized and snapstart (the floor has no image to compare the image with)",
                "use MODES=plain,optimized,snapstart; time a stage's image with make coldstart PACKAGE=image ENV=aws",
            )
        overrides["floor_modes"] = modes
    if args.lambda_modes:
        if args.sections != SECTIONS or args.targets not in (None, ("lambda",)) or args.env == "aws":
            raise ShopctlError("--lambda-modes measures the local Lambda only", "drop --sections, --targets and --env")
        overrides.pop("sections")
        return Options.modes_run(**overrides)
    if "modes" in overrides and args.env != "aws":
        overrides["floor_modes"] = overrides["modes"]
    if args.side_by_side:
        if args.sections != SECTIONS or args.targets not in (None, ("lambda",)) or args.modes is not None:
            raise ShopctlError(
                "--side-by-side measures Lambda cold starts only", "drop --sections, --targets and --modes"
            )
        overrides.pop("sections")
        return Options.side_by_side_run(**overrides)
    return Options.quick_run(**overrides) if args.quick else Options(**overrides)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = Options(out=args.out)
    try:
        options = options_from(args)
        if args.render:
            source = options.out / "report.json"
            if not source.exists():
                raise ShopctlError(f"no {source} to render", "run make compare first")
            result = json.loads(source.read_text())
            result.pop("charts", None)
            if "coldstart" in result:  # the goals and the modes' table as this code evaluates them
                result["coldstart"]["goals"] = goals.goals(result["coldstart"])
                result["coldstart"]["lambda_modes"] = coldstart_run.modes_table(result["coldstart"])
            result = write(options.out.resolve(), result)
        else:
            result = run(options)
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        what = "its functions deleted from AWS" if options.env == "aws" else "its local AWS stopped"
        print(f"interrupted: deployments of this run removed, {what}", file=sys.stderr)
        return 130
    except (BotoCoreError, ClientError) as error:
        where = "AWS" if options.env == "aws" else "the local AWS"
        print(f"error: a call to {where} failed: {error}", file=sys.stderr)
        hint = f"see the logs under {options.out / 'work'}; SHOPCTL_DEBUG=1 shows the traceback"
        print(f"  hint: {hint}", file=sys.stderr)
        if os.environ.get("SHOPCTL_DEBUG"):
            raise
        return 1
    except Exception as error:  # a bug: still one line and a hint, the traceback on request
        return unexpected(error, "shopctl.compare")
    say("")
    say(report.summary_text(result))
    if "coldstart" in result:  # what the figures support, generated from them (within noise or not)
        for line in results.findings(result["coldstart"]):
            say(f"  {line}")
    say(
        f"\n✓ report: {options.out / 'report.md'} (+ report.json, {len(result['charts'])} charts) "
        f"in {result['meta']['duration_s']:.0f} s"
    )
    return 0
