"""The typed results notebook 05 and report.md show (shopctl.compare.results), read from synthetic figures."""

from __future__ import annotations

import pytest

from shopctl.compare import results
from shopctl.compare.figures import Figure


def test_each_cold_start_carries_its_spread_and_one_named_denominator_per_ratio(cold: dict) -> None:
    starts = {(s.label, s.mode): s for s in results.lambda_cold_starts(cold)}
    assert list(starts)[:2] == [("floor", "plain"), ("floor", "optimized")]  # the floor first
    clean = starts[("clean", "plain")]
    assert clean.cold_request == Figure(1150.0, 1050.0, 1350.0, 3, "ms")
    assert clean.x_floor == Figure(1.05, 1.045, 1.125, 3, results.FLOOR_SAME_MODE)  # per round, same-mode floor
    assert clean.x_plain_zip is not None and clean.x_plain_zip.median == 1.0
    optimised = starts[("clean", "optimized")]
    assert optimised.x_floor is not None and optimised.x_floor.median == pytest.approx(410 / 510, abs=1e-3)
    assert optimised.x_plain_zip == Figure(0.357, 0.348, 0.365, 3, results.PLAIN_ZIP)
    assert starts[("floor", "optimized")].x_floor is None  # the floor is not a ratio of itself


def test_without_a_floor_in_the_same_mode_there_is_no_ratio_to_a_floor(quick_cold: dict) -> None:
    """One denominator per ratio: the optimised ZIP is never shown against the plain floor under 'x floor'."""
    starts = {(s.label, s.mode): s for s in results.lambda_cold_starts(quick_cold)}
    assert starts[("clean", "optimized")].x_floor is None
    assert starts[("clean", "optimized")].x_plain_zip is not None  # its ratio is to its own plain ZIP
    assert starts[("clean", "plain")].x_floor is not None


def test_findings_rank_only_what_is_beyond_the_spread(cold: dict) -> None:
    lines = results.findings(cold)
    plain = next(line for line in lines if line.startswith("plain ZIP, the stages side by side"))
    assert "within noise" in plain and "does not rank" in plain  # 1.10x and 1.05x, overlapping spreads
    optimised = next(line for line in lines if line.startswith("OPTIMIZE=1, the stages side by side"))
    assert "clean is lower than monolith in every round" in optimised
    assert any(line.startswith("plain ZIP, clean:") and "above the floor in every round" in line for line in lines)
    assert any(line.startswith("clean, OPTIMIZE=1:") and "lower in every round" in line for line in lines)


def test_findings_of_a_single_round_rank_nothing(quick_cold: dict) -> None:
    for row in quick_cold["lambda"] + list(quick_cold["floor"]["lambda"].values()):
        first = row["cold_request_ms"]["values"][0]
        row["cold_request_ms"] = {"n": 1, "median": first, "min": first, "max": first, "p99": first, "values": [first]}
    lines = results.findings(quick_cold)
    assert lines and not [line for line in lines if "in every round" in line and "one round" not in line]
    assert any("not ranked" in line for line in lines)


def test_container_starts_are_ratios_to_the_floor_on_the_same_target() -> None:
    def figures(values: list[float]) -> dict:
        return {"n": len(values), "median": sorted(values)[1], "min": min(values), "max": max(values),
                "values": values}

    cold = {
        "floor": {"process": {"ecs": {"start_to_first_response_ms": figures([600.0, 700.0, 650.0])}}},
        "process": [
            {
                "stage": "clean",
                "service": "app",
                "target": "ecs",
                "start_to_first_response_ms": figures([660.0, 700.0, 780.0]),
                "healthy_ms": figures([600.0, 640.0, 700.0]),
            }
        ],
    }
    [start] = results.container_starts(cold)
    assert start.x_floor == Figure(1.1, 1.0, 1.2, 3, results.FLOOR_SAME_TARGET)
    assert start.start_to_first_response.median == 700.0


def test_the_coupling_analysis_reads_as_attributes() -> None:
    stage = {
        "files": 3,
        "lines": 120,
        "aws_sdk_modules": ["a.py"],
        "dynamodb_modules": ["a.py"],
        "environment_modules": [],
        "runtime_modules": ["b.py"],
        "config_location_modules": [],
        "dependency_rule": {"status": "n/a", "detail": "n/a — no layers declared", "contracts": {}},
    }
    change = {"summary": "1 file edited", "new_files": 1, "edited_files": 2, "lines": 40, "added_definitions": 1,
              "edited_definitions": 3}
    raw = {
        "stages": {"monolith": stage},
        "impact": {"swap": {"title": "Swap the database", "method": "m", "stages": {"monolith": change}}},
        "methods": {"size": "s"},
    }
    coupling = results.Coupling.of(raw)
    assert coupling.stages["monolith"].lines == 120 and coupling.stages["monolith"].dependency_rule.status == "n/a"
    [swap] = coupling.changes
    assert (swap.key, swap.title) == ("swap", "Swap the database")
    assert swap.stages["monolith"].files == 3 and swap.stages["monolith"].edited_definitions == 3
    assert coupling.raw == raw
    # A report without the details (an older report.json) still reads: empty lists.
    assert coupling.stages["monolith"].modules == [] and swap.stages["monolith"].changed_files == []


def test_the_typed_coupling_carries_modules_components_and_each_file_of_a_change() -> None:
    from shopctl.compare import coupling

    measured = coupling.analysis(stages=["monolith"])
    raw = measured.raw
    monolith = measured.stages["monolith"]
    assert [m.path for m in monolith.modules] == [m["path"] for m in raw["stages"]["monolith"]["modules"]]
    components = raw["stages"]["monolith"]["components"]
    assert [c.component for c in monolith.components] == [c["component"] for c in components]
    add_eks = next(c for c in measured.changes if c.key == "add_eks").stages["monolith"]
    assert sum(f.lines for f in add_eks.changed_files) == add_eks.lines > 0
    assert [d for f in add_eks.changed_files for d in f.edited_definitions] == ["setting"]
