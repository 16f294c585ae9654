"""The last `make compare` report, read back from its folder for notebook 05."""

from __future__ import annotations

import json
from pathlib import Path

from shopctl.compare import latest, results


def test_the_report_folder_is_the_one_the_environment_names(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(latest.OUT_ENV, raising=False)
    assert latest.report_dir() == latest.DEFAULT_OUT
    monkeypatch.setenv(latest.OUT_ENV, str(tmp_path))
    assert latest.report_dir() == tmp_path


def test_the_latest_report_is_read_from_its_folder(tmp_path: Path, cold: dict) -> None:
    assert latest.latest_report(tmp_path) is None  # no `make compare` yet
    data = {
        "meta": {"command": "make compare", "generated": "2026-12-07 14:00 UTC", "stages": ["monolith", "clean"]},
        "coldstart": cold,
        "tests": {"tiers": [{"stage": "clean", "tier": "unit", "tests": 10, "failed": 0, "wall_s": 1.5,
                             "per_test_ms": 150.0, "needs_emulator": False, "tests_with_emulator": 0}]},
        "charts": {"coldstart": "coldstart.png", "testcost": "testcost.png"},
    }
    (tmp_path / "report.json").write_text(json.dumps(data))
    (tmp_path / "coldstart.png").write_bytes(b"\x89PNG")
    report = latest.latest_report(tmp_path)
    assert report is not None and "2026-12-07 14:00 UTC" in report.caption
    assert report.charts("coldstart", "testcost") == [tmp_path / "coldstart.png"]  # only what is on disk
    [tier] = report.tier_costs()
    assert (tier.stage, tier.tests, tier.needs_emulator) == ("clean", 10, False)
    header, rows = report.summary()
    assert [row[0] for row in rows] == ["monolith", "clean"] and len(rows[0]) == len(header)
    assert report.findings() == results.findings(cold)
