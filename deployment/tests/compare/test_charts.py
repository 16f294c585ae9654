"""The report's charts (shopctl.compare.charts) from synthetic figures: each cold-start chart names its unit or
its one denominator on the axis, shows the rounds' spread as whiskers, and draws no goal line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shopctl.compare import charts, results


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the charts draw, kept open to be read instead of only saved."""
    figures: list[Any] = []

    def keep(fig: Any, path: Path) -> Path:
        figures.append(fig)
        return path

    monkeypatch.setattr(charts, "_save", keep)
    return figures


def whiskers(ax: Any) -> int:
    return sum(1 for container in ax.containers if container.__class__.__name__ == "ErrorbarContainer")


def horizontal_lines_at(ax: Any) -> set[float]:
    """The heights of the axhline()s: a line whose two points share one y."""
    return {ys[0] for ys in (list(line.get_ydata()) for line in ax.get_lines()) if len(ys) == 2 and ys[0] == ys[1]}


def test_the_cold_start_chart_is_in_ms_with_a_whisker_per_bar_and_no_goal(cold: dict, drawn: list, tmp_path) -> None:
    charts.coldstart_chart(cold, tmp_path / "c.png")
    [ax] = drawn[0].axes
    assert ax.get_ylabel().startswith("cold request, ms")
    assert whiskers(ax) == 6  # the floor, the monolith and clean, plain and optimised
    texts = [t.get_text() for t in ax.texts] + [t.get_text() for t in drawn[0].texts]
    assert not [t for t in texts if "goal" in t.lower()]
    assert 1.10 not in horizontal_lines_at(ax)


def test_the_modes_chart_names_its_denominator_on_the_axis(quick_cold: dict, drawn: list, tmp_path) -> None:
    charts.modes_chart(quick_cold, tmp_path / "m.png")
    [ax] = drawn[0].axes
    assert ax.get_ylabel() == f"cold request, {results.PLAIN_ZIP}"
    assert whiskers(ax) == 5  # the floor's plain ZIP, both stages' two ZIPs
    assert not [t for t in ax.texts if "goal" in t.get_text().lower()]


def test_the_process_chart_is_a_ratio_to_the_floor_on_the_same_target(drawn: list, tmp_path) -> None:
    def figures(values: list[float]) -> dict:
        return {"n": 3, "median": sorted(values)[1], "min": min(values), "max": max(values), "values": values}

    cold = {
        "n": 3,
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
    charts.process_chart(cold, tmp_path / "p.png")
    [ax] = drawn[0].axes
    assert ax.get_ylabel() == f"start → first response, {results.FLOOR_SAME_TARGET}"
    assert whiskers(ax) == 1
    assert [t.get_text() for t in ax.texts] == ["1.10"]


def test_a_chart_is_written_as_a_png(cold: dict, tmp_path: Path) -> None:
    path = charts.coldstart_chart(cold, tmp_path / "coldstart.png")
    assert path.read_bytes().startswith(b"\x89PNG")
