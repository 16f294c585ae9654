"""What each stage's tests cost (section 3 of `make compare`): how many, how long, and whether they need
an AWS emulator — the payoff of fakes in the clean stage, measured by running the stages' own suites.

Each tier is one pytest process (`python -m pytest <dir> -p shopctl.compare.pytest_probe --junitxml=…`):
the wall time is measured around the process (interpreter start, collection, fixtures such as starting
moto included — what a developer waits for); the JUnit XML gives the count and the time inside the tests;
the probe plugin says which tests' fixtures include an AWS emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT


@dataclass(frozen=True)
class Tier:
    stage: str
    name: str
    path: str  # relative to the repository root
    select: str | None = None  # a -k expression (a reduced run), None for the whole tier


TIERS = (
    Tier("monolith", "all tests", "01-monolith/tests"),
    Tier("microservices", "all tests", "02-microservices/tests"),
    Tier("clean", "unit", "03-clean-architecture/tests/unit"),
    Tier("clean", "integration", "03-clean-architecture/tests/integration"),
    Tier("clean", "architecture", "03-clean-architecture/tests/test_architecture.py"),
)
# --quick: a slice of two tiers — enough to show the shape (the monolith's tests need moto, the
# clean unit tests do not), not the totals; the report marks these tiers as reduced.
QUICK_TIERS = (
    Tier("monolith", "all tests", "01-monolith/tests", select="validation and email"),
    Tier("clean", "unit", "03-clean-architecture/tests/unit", select="domain_model"),
)
METHOD = (
    "Each tier run as its own `python -m pytest <path> -q -p no:cacheprovider` process. wall = process start "
    "to exit (collection and fixtures, e.g. starting moto, included); tests / in-test time from pytest's "
    "JUnit XML; per test = wall / tests. Emulator: a pytest plugin (shopctl.compare.pytest_probe) counts "
    "the tests whose fixture closure includes `local_aws` (moto server) or `aws` (mock_aws). A `-k` "
    "selection marks a reduced run."
)


def parse_junit(path: Path) -> dict[str, Any]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time_s": 0.0}
    for suite in suites:
        for key in ("tests", "failures", "errors", "skipped"):
            totals[key] += int(suite.get(key, 0))
        totals["time_s"] += float(suite.get("time", 0.0))
    totals["time_s"] = round(totals["time_s"], 2)
    return totals


def run_tier(tier: Tier, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    slug = f"{tier.stage}-{tier.name}".replace(" ", "-")
    junit, probe = work / f"{slug}.xml", work / f"{slug}.probe.json"
    for stale in (junit, probe):
        stale.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        tier.path,
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "shopctl.compare.pytest_probe",
        f"--junitxml={junit}",
    ]
    if tier.select:
        argv += ["-k", tier.select]
    env = {**os.environ, "SHOP_COMPARE_PROBE": str(probe)}
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    wall = round(time.perf_counter() - started, 2)
    if not junit.exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise ShopctlError(f"pytest did not run {tier.path}", " / ".join(tail) or "no output")
    counts = parse_junit(junit)
    probed = json.loads(probe.read_text()) if probe.exists() else {"tests_with_emulator": 0, "emulators": []}
    tests = counts["tests"]
    return {
        "stage": tier.stage,
        "tier": tier.name,
        "path": tier.path,
        "select": tier.select,
        "reduced": tier.select is not None,
        "tests": tests,
        "passed": tests - counts["failures"] - counts["errors"] - counts["skipped"],
        "failed": counts["failures"] + counts["errors"],
        "skipped": counts["skipped"],
        "wall_s": round(wall, 2),
        "in_tests_s": counts["time_s"],
        "per_test_ms": round(wall / tests * 1000, 1) if tests else None,
        "tests_with_emulator": probed["tests_with_emulator"],
        "needs_emulator": probed["tests_with_emulator"] > 0,
        "emulators": probed["emulators"],
    }


def measure(tiers: tuple[Tier, ...], work: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    rows = []
    for tier in tiers:
        label = f"{tier.stage} {tier.name}" + (f" (-k {tier.select})" if tier.select else "")
        say(f"… tests: {label} ({tier.path})")
        row = run_tier(tier, work)
        emulator = f"{row['tests_with_emulator']} need an AWS emulator" if row["needs_emulator"] else "no emulator"
        say(
            f"    {row['tests']} tests in {row['wall_s']:.1f}s ({emulator})"
            + (f", {row['failed']} FAILED" if row["failed"] else "")
        )
        rows.append(row)
    stages: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = stages.setdefault(
            row["stage"], {"tests": 0, "wall_s": 0.0, "tests_with_emulator": 0, "tiers": 0, "reduced": False}
        )
        total["tests"] += row["tests"]
        total["wall_s"] = round(total["wall_s"] + row["wall_s"], 2)
        total["tests_with_emulator"] += row["tests_with_emulator"]
        total["tiers"] += 1
        total["reduced"] = total["reduced"] or row["reduced"]
    for total in stages.values():
        total["per_test_ms"] = round(total["wall_s"] / total["tests"] * 1000, 1) if total["tests"] else None
    return {"tiers": rows, "stages": stages, "method": METHOD}
