"""Notebook 05's cold starts: the three stages on the local Lambda side by side, measured while you watch.

`show(measure=True)` runs `python -m shopctl.compare --side-by-side` (plain package, optimised package and
the floor, N=3; see cli.Options.side_by_side_run) in a child process, prints its progress lines as they come,
and returns a table of ratios and the chart. With measure=False — or when the measurement fails, or when
SHOP_SIDE_BY_SIDE=reference (the notebook tests: they must not spend minutes here) — it shows the stored
reference report instead, labelled with the date and machine it was measured on.

The reference is refreshed with `python -m shopctl.compare.side_by_side --store` (it measures, then copies the
report.json into notebooks/reference/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.paths import REPO_ROOT

OUT = REPO_ROOT / "build" / "compare-side-by-side"
REFERENCE = REPO_ROOT / "notebooks" / "reference" / "side-by-side.json"
SKIP_ENV = "SHOP_SIDE_BY_SIDE"  # "reference": show the stored report, do not measure
TIMEOUT_S = 900


@dataclass
class SideBySide:
    report: dict[str, Any]
    source: str  # "measured now" or "stored reference"
    seconds: float | None  # how long the measurement took here (None: not measured now)
    note: str = ""

    @property
    def label(self) -> str:
        meta = self.report["meta"]
        load = ", ".join(f"{x:.1f}" for x in meta.get("load_average") or [] if x is not None)
        took = f"; it took {self.seconds:.0f} s" if self.seconds is not None else ""
        return (
            f"**{self.source}**: {meta['generated']} on {meta['machine']}"
            + (f" (load average {load})" if load else "")
            + took
            + (f". {self.note}" if self.note else "")
        )

    def rows(self) -> list[tuple[str, ...]]:
        """One row per function: cold request (median ms, ratio to the floor) plain and optimised, and the gain."""
        cold = self.report["coldstart"]
        floor = cold["floor"].get("lambda", {})
        rows: list[tuple[str, ...]] = [
            (
                "floor (fastapi + mangum + boto3)",
                *(_cell(floor.get(v, {}).get("cold_request_ms"), 1.0 if v in floor else None) for v in VARIANTS),
                "",
            )
        ]
        for function in dict.fromkeys(r["function"] for r in cold["lambda"]):
            by_variant = {r["variant"]: r for r in cold["lambda"] if r["function"] == function}
            cells = [
                _cell(row["cold_request_ms"], row["cold_request_ratio"]) if (row := by_variant.get(v)) else "—"
                for v in VARIANTS
            ]
            plain, optimized = (by_variant.get(v, {}).get("cold_request_ms") for v in VARIANTS)
            gain = f"{1 - optimized['median'] / plain['median']:.0%} faster" if plain and optimized else "—"
            rows.append((f"**{by_variant[next(iter(by_variant))]['stage']}** `{function}`", *cells, gain))
        return rows

    def chart(self, path: Path | None = None) -> Path:
        from shopctl.compare import charts

        path = path or OUT / "side-by-side.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return charts.coldstart_chart(self.report["coldstart"], path)


VARIANTS = ("plain", "optimized")
HEADER = ["function", "plain package: cold request (x floor)", "optimised (x floor)", "OPTIMIZE=1"]


def _cell(stats: dict[str, Any] | None, ratio: float | None) -> str:
    if not stats:
        return "—"
    return f"{stats['median']:.0f} ms" + (f" ({ratio:.2f}x)" if ratio is not None else "")


def reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


def measure(out: Path = OUT, *, say: Any = print) -> tuple[dict[str, Any], float]:
    """Run the side-by-side measurement in a child process, echoing its progress; (report, seconds)."""
    started = time.monotonic()
    command = [sys.executable, "-m", "shopctl.compare", "--side-by-side", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "SHOP_RUN_DIR", "FORCE_COLOR")}
    with subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        last = ""
        for line in proc.stdout:
            line = line.rstrip()
            if line.startswith("[") or line.startswith("error") or line.startswith("  hint"):
                say(line)  # progress lines ("[  12.3s] …") and errors; the report's table comes below
            last = line or last
        code = proc.wait(timeout=TIMEOUT_S)
    if code != 0:
        raise RuntimeError(last or f"exit code {code}")
    return json.loads((out / "report.json").read_text()), time.monotonic() - started


def show(measure_now: bool = True, *, say: Any = print) -> SideBySide:
    """Measure (unless told not to), else — or on failure — the stored reference."""
    if measure_now and os.environ.get(SKIP_ENV) != "reference":
        try:
            report, seconds = measure(say=say)
            return SideBySide(report, "measured now", seconds)
        except Exception as error:  # a failed measurement still shows the reference, with the reason
            return SideBySide(
                reference(), "stored reference", None,
                f"Measuring failed ({str(error).splitlines()[0] if str(error) else type(error).__name__}); "
                "run `python -m shopctl.compare --side-by-side` in a terminal for the whole message",
            )
    note = "measuring skipped ($SHOP_SIDE_BY_SIDE=reference)" if measure_now else ""
    return SideBySide(reference(), "stored reference", None, note)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args != ["--store"]:
        print("usage: python -m shopctl.compare.side_by_side --store   (measure, then keep it as the reference)")
        return 2
    try:
        report, seconds = measure()
    except RuntimeError as error:
        print(f"error: the measurement failed: {error}", file=sys.stderr)
        print("  hint: python -m shopctl.compare --side-by-side shows the whole run", file=sys.stderr)
        return 1
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OUT / "report.json", REFERENCE)
    print(f"✓ {REFERENCE.relative_to(REPO_ROOT)}: measured {report['meta']['generated']} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
