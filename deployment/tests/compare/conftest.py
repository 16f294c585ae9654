"""Synthetic cold-start figures for the compare package's unit tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shopctl.compare.figures import summary


def _lambda_row(function: str, mode: str, cold: list[float], *, stage: str = "clean", service: str = "app") -> dict:
    return {
        "stage": stage,
        "service": service,
        "function": function,
        "variant": mode,
        "cold_request_ms": summary(cold),
        "init_ms": None if mode == "snapstart" else summary([c - 100 for c in cold]),
        "restore_ms": summary([10.0] * len(cold)) if mode == "snapstart" else None,
        "warm_p50_ms": 5.0,
        "cold_request_ratio": 1.0,
        "floor_variant": "plain",
    }


@pytest.fixture
def lambda_row() -> Callable[..., dict]:
    """A report.json Lambda row: `lambda_row("shop-clean", "plain", [cold request ms per round])`."""
    return _lambda_row


def _row(stage: str, mode: str, cold: list[float], floor_modes: tuple[str, ...]) -> dict:
    row = _lambda_row(f"shop-{stage}", mode, cold, stage=stage)
    row.update(
        {
            "cold_starts_seen": len(cold),
            "warm_p99_ms": 7.0,
            "package": {"zipped_mb": 20.0 if mode == "plain" else 8.0, "unzipped_mb": 33.0, "files": 100},
            "flow_ok": True,
            "flow": "ok",
            "floor_variant": mode if mode in floor_modes else "plain",
            "path": "/users?limit=1",
        }
    )
    return row


def _cold(floor_modes: tuple[str, ...] = ("plain", "optimized")) -> dict:
    """A whole report.json `coldstart` section: the floor, the monolith and clean, plain and optimised ZIP, three
    rounds each. Plain: the stages are 1.00-1.25x the floor per round, close together; optimised: clean's every
    round is below the monolith's."""
    from shopctl.compare.coldstart_run import METHODS, modes_table
    from shopctl.compare.figures import ratio, round_ratios
    from shopctl.compare.goals import goals

    cold_ms = {
        ("floor", "plain"): [1000.0, 1200.0, 1100.0],
        ("monolith", "plain"): [1100.0, 1250.0, 1300.0],
        ("clean", "plain"): [1050.0, 1350.0, 1150.0],
        ("floor", "optimized"): [500.0, 520.0, 510.0],
        ("monolith", "optimized"): [700.0, 720.0, 690.0],
        ("clean", "optimized"): [400.0, 420.0, 410.0],
    }
    floor = {}
    for mode in floor_modes:
        row = _row("floor", mode, cold_ms[("floor", mode)], floor_modes)
        row["function"] = "shop-floor"
        floor[mode] = row
    rows = [_row(s, m, cold_ms[(s, m)], floor_modes) for m in ("plain", "optimized") for s in ("monolith", "clean")]
    for row in rows:
        base = floor[row["floor_variant"]]
        paired = row["floor_variant"] == row["variant"]
        row["cold_request_ratio"] = ratio(row["cold_request_ms"], base["cold_request_ms"], paired=paired)
        row["cold_request_ratio_range"] = round_ratios(row["cold_request_ms"], base["cold_request_ms"])
    cold = {
        "n": 3,
        "methods": METHODS,
        "bare_python_ms": summary([10.0, 12.0, 11.0]),
        "floor": {"lambda": floor, "process": {}},
        "lambda": rows,
        "process": [],
    }
    cold["goals"] = goals(cold)
    cold["lambda_modes"] = modes_table(cold)
    return cold


@pytest.fixture
def cold() -> dict:
    """Synthetic cold starts, the floor measured in both ZIP modes."""
    return _cold()


@pytest.fixture
def quick_cold() -> dict:
    """The same, the floor measured as the plain ZIP only (as in `make compare QUICK=1`)."""
    return _cold(("plain",))
