"""The report of the last `make compare`, read back from its folder (report.json, the charts beside it): what
notebook 05 shows without measuring again.

    report = latest.latest_report()               # Report, or None before the first `make compare`
    report.summary(), report.cold_starts(), report.findings(), report.charts("coldstart")
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.compare import report, results
from shopctl.paths import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "build" / "compare"
OUT_ENV = "SHOP_COMPARE_OUT"  # where readers (notebook 05) look for the latest report; default DEFAULT_OUT


def report_dir() -> Path:
    """The folder holding the report to show: $SHOP_COMPARE_OUT, else where `make compare` writes."""
    return Path(os.environ.get(OUT_ENV) or DEFAULT_OUT)


@dataclass(frozen=True)
class Report:
    """A `make compare` report as written to its folder: report.json read back, the charts beside it."""

    folder: Path
    data: dict[str, Any]

    @property
    def caption(self) -> str:
        meta = self.data["meta"]
        return f"the latest `{meta['command']}` report: {self.folder / 'report.md'} ({meta['generated']})"

    def summary(self) -> tuple[list[str], list[list[Any]]]:
        """The report's main table: (header, rows), one row per stage."""
        return report.summary_rows(self.data)

    def cold_starts(self) -> list[results.ColdStart]:
        return results.lambda_cold_starts(self.data["coldstart"]) if "coldstart" in self.data else []

    def findings(self) -> list[str]:
        return results.findings(self.data["coldstart"]) if "coldstart" in self.data else []

    def tier_costs(self) -> list[results.TierCost]:
        return results.tier_costs(self.data["tests"]) if "tests" in self.data else []

    def charts(self, *names: str) -> list[Path]:
        """The PNGs of these charts ("coldstart", "modes", "testcost", …) that this run drew."""
        drawn = self.data.get("charts", {})
        return [self.folder / drawn[name] for name in names if name in drawn and (self.folder / drawn[name]).exists()]


def latest_report(folder: Path | None = None) -> Report | None:
    """The report in `folder` (default: $SHOP_COMPARE_OUT, else build/compare), None when there is none yet."""
    folder = folder or report_dir()
    path = folder / "report.json"
    return Report(folder, json.loads(path.read_text())) if path.exists() else None
