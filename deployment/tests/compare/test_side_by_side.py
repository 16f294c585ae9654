"""Notebook 05's cold starts (shopctl.compare.side_by_side), read from the stored references and from synthetic
figures: the cells carry the spread, the gain says when it is within noise, the findings are generated."""

from __future__ import annotations

from shopctl.compare import results, side_by_side


def test_the_rows_show_each_median_with_its_spread_and_its_named_ratio(cold: dict) -> None:
    shown = side_by_side.SideBySide({"meta": {}, "coldstart": cold}, "stored reference", None)
    floor, monolith, clean = shown.rows()
    assert floor == ("floor (fastapi + mangum + boto3)", "1100 ms (1000 to 1200); the floor",
                     "510 ms (500 to 520); the floor", "54% faster")
    assert clean[0] == "**clean** `shop-clean`"
    assert clean[1] == "1150 ms (1050 to 1350); 1.05x (1.04 to 1.12)"
    assert all(results.FLOOR_SAME_MODE in header for header in side_by_side.HEADER[1:3])
    assert monolith[3] == "44% faster"  # 1250 → 700 ms, every round lower: beyond the spread


def test_a_gain_smaller_than_the_spread_is_called_within_noise(cold: dict) -> None:
    optimised = next(r for r in cold["lambda"] if r["function"] == "shop-clean" and r["variant"] == "optimized")
    optimised["cold_request_ms"].update({"median": 1100.0, "min": 1000.0, "max": 1400.0})
    shown = side_by_side.SideBySide({"meta": {}, "coldstart": cold}, "stored reference", None)
    assert shown.rows()[-1][3] == "within noise: 4% faster"


def test_the_findings_are_generated_from_the_stored_reference() -> None:
    shown = side_by_side.show(False)
    assert shown.findings().splitlines() == [f"- {line}" for line in results.findings(shown.report["coldstart"])]
    assert "the stages side by side" in shown.findings()
    modes = side_by_side.show_modes(False)
    assert next(row[1] for row in modes.modes_rows() if row[0] == "**clean**") == "plain ZIP"
