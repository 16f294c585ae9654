"""Notebook 05's cold starts: the three stages on the local Lambda side by side, and one stage in the four
Lambda modes, measured while you watch.

`show(measure=True)` runs `python -m shopctl.compare --side-by-side` (plain package, optimised package and
the floor, N=3; see cli.Options.side_by_side_run) in a child process, prints its progress lines as they come,
and returns a table of ratios and the chart. With measure=False — or when the measurement fails, or when
SHOP_SIDE_BY_SIDE=reference (the notebook tests: they must not spend minutes here) — it shows the stored
reference report instead, labelled with the date and machine it was measured on.

`show_modes(measure=True, stage=…, modes=…)` does the same for `python -m shopctl.compare --lambda-modes`:
one stage deployed to the local Lambda as the plain ZIP, with OPTIMIZE=1, with SNAPSTART=1 and as
PACKAGE=image, N=2 cold starts each (about a minute); its reference is notebooks/reference/lambda-modes.json.

The references are refreshed with `python -m shopctl.compare.side_by_side --store` (and `--store-modes`): it
measures, then copies the report.json into notebooks/reference/.
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

from shopctl.compare import coldstart_report, results
from shopctl.compare.figures import within_noise
from shopctl.paths import REPO_ROOT

OUT = REPO_ROOT / "build" / "compare-side-by-side"
REFERENCE = REPO_ROOT / "notebooks" / "reference" / "side-by-side.json"
MODES_OUT = REPO_ROOT / "build" / "compare-lambda-modes"
MODES_REFERENCE = REPO_ROOT / "notebooks" / "reference" / "lambda-modes.json"
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

    def cold_starts(self) -> list[results.ColdStart]:
        """Every function in every mode measured, the floor first: typed figures with their spread."""
        return results.lambda_cold_starts(self.report["coldstart"])

    def findings(self) -> str:
        """What these figures support, as markdown bullets generated from the numbers (within noise or not)."""
        return "\n".join(f"- {line}" for line in results.findings(self.report["coldstart"]))

    def rows(self) -> list[tuple[str, ...]]:
        """One row per function: the cold request (median ms and spread, ratio to the floor in the same mode)
        as the plain and the optimised ZIP, and what OPTIMIZE=1 changed."""
        starts = {(s.label, s.mode): s for s in self.cold_starts()}
        rows = []
        for label in dict.fromkeys(label for label, _ in starts):
            plain, optimized = (starts.get((label, v)) for v in VARIANTS)
            if label == "floor":
                name = "floor (fastapi + mangum + boto3)"
            else:
                name = f"**{label}** `{_function(plain, optimized)}`"
            rows.append((name, _cell(plain), _cell(optimized), _gain(plain, optimized)))
        return rows

    def chart(self, path: Path | None = None) -> Path:
        from shopctl.compare import charts

        path = path or OUT / "side-by-side.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return charts.coldstart_chart(self.report["coldstart"], path)

    def modes_rows(self) -> list[tuple[str, ...]]:
        """One row per function and mode: init (or restore), the cold request with its spread and its ratio to
        the plain ZIP (the report's columns, without the floor and warm ones)."""
        return [tuple(row[: len(MODES_HEADER)]) for row in coldstart_report.mode_rows(self.cold_starts())]

    def modes_chart(self, path: Path | None = None) -> Path:
        from shopctl.compare import charts

        path = path or MODES_OUT / "modes.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return charts.modes_chart(self.report["coldstart"], path)


VARIANTS = ("plain", "optimized")
HEADER = [
    "function",
    f"plain ZIP: cold request ms (lowest to highest); {results.FLOOR_SAME_MODE}",
    f"OPTIMIZE=1: cold request ms (lowest to highest); {results.FLOOR_SAME_MODE}",
    "OPTIMIZE=1 against the plain ZIP",
]
MODES_HEADER = ["function", "mode", "init / restore ms", "cold request ms (lowest to highest)", results.PLAIN_ZIP]


def _function(*starts: results.ColdStart | None) -> str:
    return next(s.function for s in starts if s is not None)


def _cell(start: results.ColdStart | None) -> str:
    if start is None:
        return "—"
    ms = start.cold_request
    cell = f"{ms.median:.0f} ms ({ms.low:.0f} to {ms.high:.0f})" if ms.n > 1 else f"{ms.median:.0f} ms (1 round)"
    if start.label == "floor":
        return cell + "; the floor"
    return cell + (f"; {coldstart_report.spread(start.x_floor)}" if start.x_floor else "; — (no floor in this mode)")


def _gain(plain: results.ColdStart | None, optimized: results.ColdStart | None) -> str:
    """How much lower the optimised ZIP's median is, and whether that is beyond the spread of the rounds."""
    if not plain or not optimized:
        return "—"
    gain = f"{1 - optimized.cold_request.median / plain.cold_request.median:.0%} faster"
    noise = within_noise(plain.cold_request, optimized.cold_request)
    if noise is None:
        return f"one round: {gain}"
    return f"within noise: {gain}" if noise else gain


def reference(path: Path = REFERENCE) -> dict[str, Any]:
    return json.loads(path.read_text())


def measure(out: Path = OUT, *, say: Any = print, args: tuple[str, ...] = ("--side-by-side",)) -> tuple[dict, float]:
    """Run the side-by-side measurement in a child process, echoing its progress; (report, seconds)."""
    started = time.monotonic()
    command = [sys.executable, "-m", "shopctl.compare", *args, "--out", str(out)]
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
    return _show(measure_now, say=say, out=OUT, args=("--side-by-side",), stored=REFERENCE)


def show_modes(
    measure_now: bool = True,
    *,
    stage: str = "clean",
    modes: tuple[str, ...] | list[str] = ("plain", "optimized", "snapstart", "image"),
    say: Any = print,
) -> SideBySide:
    """One stage in the Lambda modes asked for, measured now (unless told not to), else the stored reference."""
    args = ("--lambda-modes", "--stages", stage, "--modes", ",".join(modes))
    return _show(measure_now, say=say, out=MODES_OUT, args=args, stored=MODES_REFERENCE)


def _show(measure_now: bool, *, say: Any, out: Path, args: tuple[str, ...], stored: Path) -> SideBySide:
    if measure_now and os.environ.get(SKIP_ENV) != "reference":
        try:
            report, seconds = measure(out=out, say=say, args=args)
            return SideBySide(report, "measured now", seconds)
        except Exception as error:  # a failed measurement still shows the reference, with the reason
            return SideBySide(
                reference(stored), "stored reference", None,
                f"Measuring failed ({str(error).splitlines()[0] if str(error) else type(error).__name__}); "
                f"run `python -m shopctl.compare {' '.join(args)}` in a terminal for the whole message",
            )
    note = "measuring skipped ($SHOP_SIDE_BY_SIDE=reference)" if measure_now else ""
    return SideBySide(reference(stored), "stored reference", None, note)


STORE = {  # python -m shopctl.compare.side_by_side <flag>: what to measure, and where its reference goes
    "--store": (OUT, ("--side-by-side",), REFERENCE),
    "--store-modes": (MODES_OUT, ("--lambda-modes",), MODES_REFERENCE),
}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in STORE:
        print(
            "usage: python -m shopctl.compare.side_by_side --store | --store-modes   (measure, then keep it as the "
            "reference)"
        )
        return 2
    out, measured_with, stored = STORE[args[0]]
    try:
        report, seconds = measure(out, args=measured_with)
    except RuntimeError as error:
        print(f"error: the measurement failed: {error}", file=sys.stderr)
        print(f"  hint: python -m shopctl.compare {' '.join(measured_with)} shows the whole run", file=sys.stderr)
        return 1
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "report.json", stored)
    print(f"✓ {stored.relative_to(REPO_ROOT)}: measured {report['meta']['generated']} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
