"""`make verify`: run every check for every stage and target, print one table, exit non-zero on a failure.

The runner owns its local AWS (a free port, its own run directory under build/verify/), so it never
touches `make local-aws` or a deployment a learner has running. Each check module
(`shopctl.verify.<name>`) exposes `run(stage, target, *, reduced) -> list[Result]`, and may expose
`cases(stages, targets) -> [(stage, target), …]` to say which combinations it applies to (load runs on
"local" only, deploy safety on the deploy targets, part of policy once for the repository: stage "-").
A check that raises is reported as one failed row — the other checks still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

from shopctl import errors
from shopctl.errors import ShopctlError
from shopctl.local import localaws
from shopctl.paths import REPO_ROOT
from shopctl.serving import TARGETS
from shopctl.stages import STAGES
from shopctl.verify.result import Result

CHECKS = ["fuzz", "faults", "load", "deploy_safety", "policy"]
REPORT_DIR = REPO_ROOT / "build" / "verify"

Loader = Callable[[str], ModuleType | None]
Say = Callable[[str], None]


def load_check(name: str) -> ModuleType | None:
    """The check module, or None when it does not exist (yet) in this checkout."""
    module = f"shopctl.verify.{name}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name == module:
            return None
        raise


def cases_of(module: ModuleType, stages: list[str], targets: list[str]) -> list[tuple[str, str]]:
    plan = getattr(module, "cases", None)
    if plan is not None:
        return list(plan(stages, targets))
    return [(stage, target) for stage in stages for target in targets]


def _figures(result: Result) -> str:
    return " ".join(f"{k}={v:g}" for k, v in result.figures.items())


def run_checks(
    checks: Iterable[str],
    stages: list[str],
    targets: list[str],
    *,
    reduced: bool,
    loader: Loader = load_check,
    say: Say = print,
) -> tuple[list[Result], list[str]]:
    """Run the checks; returns (rows, names of checks that are not available in this checkout)."""
    plan: list[tuple[str, ModuleType, str, str]] = []
    missing = []
    for name in checks:
        module = loader(name)
        if module is None:
            missing.append(name)
            say(f"  note: check {name!r} is not available in this checkout (no shopctl/verify/{name}.py); skipped")
            continue
        plan += [(name, module, stage, target) for stage, target in cases_of(module, stages, targets)]
    rows: list[Result] = []
    for number, (name, module, stage, target) in enumerate(plan, 1):
        say(f"… [{number}/{len(plan)}] {name}: {stage} on {target}")
        started = time.monotonic()
        try:
            results = list(module.run(stage, target, reduced=reduced))
        except ShopctlError as error:
            results = [Result(name, stage, target)]
            results[0].fail(f"could not run: {error.reason}" + (f" ({error.hint})" if error.hint else ""))
        except Exception as error:  # a crashing check is a failed row, not a crashed runner
            results = [Result(name, stage, target)]
            first_line = (str(error).splitlines() or [""])[0]
            results[0].fail(f"check crashed: {type(error).__name__}: {first_line}")
        elapsed = time.monotonic() - started
        for result in results:
            mark = "✓" if result.ok else "✗"
            figures = f" ({_figures(result)})" if result.figures else ""
            say(
                f"  {mark} {result.check} {result.stage}/{result.target}: tried {result.tried}, "
                f"failed {result.failed}{figures}"
            )
            for note in result.notes:
                say(f"    note: {note}")
        say(f"  ({elapsed:.1f}s)")
        rows += results
    return rows, missing


def table(rows: list[Result]) -> str:
    header = ("check", "stage", "target", "tried", "failed", "figures")
    body = [
        (r.check, r.stage, r.target, str(r.tried), str(r.failed), _figures(r) or "-") for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header) - 1)]

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)) + "  " + line[-1]

    lines = [fmt(header), "-" * (sum(widths) + 2 * len(widths) + 8)]
    lines += [fmt(line) for line in body]
    return "\n".join(lines)


def rerun_hint(result: Result) -> str:
    module = result.check.split(":")[0].strip().replace(" ", "_")  # "deploy safety: …" -> deploy_safety
    parts = [f"CHECKS={module}"] if module in CHECKS else []
    if result.stage != "-":
        parts.append(f"STAGE={result.stage}")
    if result.target != "-":
        parts.append(f"TARGET={result.target}")
    return "make verify " + " ".join(parts)


def failure_lines(rows: list[Result]) -> list[str]:
    lines = []
    for result in rows:
        if result.ok:
            continue
        for reason in result.failures or [f"{result.failed} failed"]:
            lines.append(f"✗ {result.check} {result.stage}/{result.target}: {reason}")
        if result.failed > len(result.failures):
            lines.append(f"  … and {result.failed - len(result.failures)} more")
        lines.append(f"  hint: {rerun_hint(result)}  (details in build/verify/report.md)")
    return lines


def write_report(rows: list[Result], missing: list[str], directory: Path, elapsed: float) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data = {"elapsed_s": round(elapsed, 1), "missing_checks": missing, "rows": [asdict(r) for r in rows]}
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md = ["# make verify", "", f"Wall time {elapsed:.0f} s.", "", "```", table(rows), "```", ""]
    if missing:
        md += [f"Not available in this checkout (skipped): {', '.join(missing)}", ""]
    notes = [(r, n) for r in rows for n in r.notes]
    if notes:
        md += ["## Notes (documented behaviour, not failures)", ""]
        md += [f"- {r.check} {r.stage}/{r.target}: {n}" for r, n in notes]
        md.append("")
    failures = failure_lines(rows)
    md += ["## Failures", "", *(f"    {line}" for line in failures)] if failures else ["No failures."]
    md_path = directory / "report.md"
    md_path.write_text("\n".join(md) + "\n")
    return md_path, json_path


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _split(value: str | None, allowed: Iterable[str], what: str) -> list[str]:
    allowed = list(allowed)
    if not value:
        return allowed
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise ShopctlError(f"unknown {what} {', '.join(unknown)}", f"use one or more of: {', '.join(allowed)}")
    return chosen


def verify(
    checks: list[str],
    stages: list[str],
    targets: list[str],
    *,
    reduced: bool,
    loader: Loader = load_check,
    report_dir: Path = REPORT_DIR,
    say: Say = print,
) -> int:
    """Run, print the table and the failures, write the report; returns the exit code."""
    started = time.monotonic()
    rows, missing = run_checks(checks, stages, targets, reduced=reduced, loader=loader, say=say)
    elapsed = time.monotonic() - started
    md_path, _ = write_report(rows, missing, report_dir, elapsed)
    failed = [r for r in rows if not r.ok]
    say("")
    say(table(rows) if rows else "(no check ran)")
    say("")
    notes = [f"  note: {r.check} {r.stage}/{r.target}: {note}" for r in rows for note in r.notes]
    for line in notes + failure_lines(rows):
        say(line)
    tried = sum(r.tried for r in rows)
    say(
        f"{'✓' if not failed and rows else '✗'} {len(rows) - len(failed)}/{len(rows)} rows passed, "
        f"{tried} cases tried, in {elapsed:.0f}s — report: {_shown(md_path)} (+ .json)"
    )
    if missing:
        say(f"  skipped, not in this checkout: {', '.join(missing)}")
    if not rows:
        say("  hint: no check applied to the chosen stages/targets/checks; see `make verify` without filters")
        return 1
    return 1 if failed else 0


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or errors.ArgumentParser(prog="shopctl verify", description=__doc__.splitlines()[0])
    parser.add_argument("--stages", help=f"comma-separated, default all: {','.join(STAGES)}")
    parser.add_argument("--targets", help=f"comma-separated, default all: {','.join(TARGETS)}")
    parser.add_argument("--checks", help=f"comma-separated, default all: {','.join(CHECKS)}")
    parser.add_argument("--reduced", action="store_true", help="the small version the test suite runs")
    return parser


def main_with_args(args: argparse.Namespace) -> int:
    checks = _split(args.checks, CHECKS, "check")
    stages = _split(args.stages, STAGES, "stage")
    targets = _split(args.targets, TARGETS, "target")
    # Its own run directory and local AWS: nothing a learner has running is touched or reused.
    run_dir = REPORT_DIR / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    print(f"… make verify: checks {', '.join(checks)}; stages {', '.join(stages)}; targets {', '.join(targets)}"
          + (" (reduced)" if args.reduced else ""), flush=True)
    with localaws.private_local_aws(run_dir, quiet=False):
        try:
            return verify(checks, stages, targets, reduced=args.reduced, say=lambda line: print(line, flush=True))
        finally:
            _leave_nothing_running()


def _leave_nothing_running() -> None:
    """A check interrupted mid-way may leave a deployment behind: stop its processes (by pid)."""
    from shopctl.aws import state
    from shopctl.local.deployment import stop_processes

    for deployment in state.all_states():
        for line in stop_processes(deployment):
            print(f"  stopped leftover {line} of {deployment.name}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return main_with_args(args)
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n✗ interrupted; the local AWS this run started is stopped", file=sys.stderr)
        return 130
