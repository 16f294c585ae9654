"""report.md's cold-start sections (shopctl.compare.coldstart_report) from synthetic figures: every figure with
its spread, every ratio with its denominator in the header, the findings generated, goals for maintainers."""

from __future__ import annotations

from shopctl.compare import coldstart_report, results
from shopctl.compare.figures import Figure


def lambda_table(lines: list[str]) -> list[str]:
    start = lines.index("### Lambda")
    return [line for line in lines[start:] if line.startswith("| ")][:7]


def test_the_lambda_table_shows_spreads_and_names_its_one_denominator(quick_cold: dict) -> None:
    lines = coldstart_report.cold_starts_section(quick_cold, {})
    header, _, *rows = lambda_table(lines)
    assert f"| {results.FLOOR_SAME_MODE}, per round (lowest to highest) |" in header
    clean_plain = next(r for r in rows if r.startswith("| clean | `shop-clean` | plain |"))
    assert "| 1150 (1050 to 1350) |" in clean_plain  # cold request: median (lowest to highest)
    assert "| 1.05x (1.04 to 1.12) |" in clean_plain
    clean_optimised = next(r for r in rows if r.startswith("| clean | `shop-clean` | optimized |"))
    # The quick run has no optimised floor: no ratio to the plain floor under the same header.
    assert "| — (no floor in this mode) |" in clean_optimised


def test_the_findings_are_generated_under_the_tables(cold: dict) -> None:
    lines = coldstart_report.cold_starts_section(cold, {})
    start = lines.index("#### What this run's figures support")
    bullets = [line for line in lines[start:] if line.startswith("- ")]
    assert bullets == [f"- {line}" for line in results.findings(cold)]


def test_the_learners_sections_carry_no_goal_and_the_maintainers_section_explains_each(cold: dict) -> None:
    learner = "\n".join(coldstart_report.cold_starts_section(cold, {}) + coldstart_report.faster_section(cold, {}))
    assert "goal" not in learner.lower() and "not met" not in learner
    maintainers = coldstart_report.maintainers_section(cold)
    header, _, *rows = [line for line in maintainers if line.startswith("| ")]
    assert header == "| goal | this run | verdict | why it is a goal |"
    assert len(rows) == 2 + 1 + 2  # two floor goals, clean vs monolith, two optimised gains
    assert all(row.rstrip(" |").split(" | ")[-1] in coldstart_report.GOAL_REASONS.values() for row in rows)


def test_the_modes_table_puts_the_floor_first_and_each_ratio_under_its_own_header(quick_cold: dict) -> None:
    rows = coldstart_report.mode_rows(results.lambda_cold_starts(quick_cold))
    assert [row[:2] for row in rows[:2]] == [["**floor**", "plain ZIP"], ["**monolith**", "plain ZIP"]]
    monolith_optimised = next(r for r in rows if r[0] == "**monolith**" and r[1] == "`OPTIMIZE=1`")
    column = coldstart_report.MODES_HEADER.index(results.PLAIN_ZIP)
    assert monolith_optimised[column] == "0.56x"  # 700 ms / 1250 ms, the same function's plain ZIP
    assert monolith_optimised[column + 1] == "—"  # no optimised floor in this run


def test_a_cell_is_the_median_then_the_lowest_and_highest_round() -> None:
    assert coldstart_report.spread(Figure(812.0, 780.0, 900.0, 3)) == "812 (780 to 900)"
    assert coldstart_report.spread(Figure(1.06, 0.98, 1.15, 3, "x floor")) == "1.06x (0.98 to 1.15)"
    assert coldstart_report.spread(Figure(812.0, 812.0, 812.0, 1)) == "812"
    assert coldstart_report.spread(None) == "—"
