"""The statistics of the cold-start figures: summaries of N rounds, ratios to the floor (per round when
both sides were measured in the same rounds), and the order of the interleaved rounds. Pure functions."""

from __future__ import annotations

import statistics
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — with few samples, a sample that was actually seen."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, Any] | None:
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    return {
        "n": len(values),
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "p99": round(percentile(values, 99), 2),
        "values": [round(v, 2) for v in values],
    }


def per_round(value: dict | None, floor: dict | None) -> list[float] | None:
    """Run i of a stage over run i of the floor, for every round — None when the runs do not pair."""
    if not value or not floor or len(value["values"]) != len(floor["values"]) or not all(floor["values"]):
        return None
    return [v / f for v, f in zip(value["values"], floor["values"], strict=True)]


def ratio(value: dict | None, floor: dict | None, *, paired: bool = False) -> float | None:
    """A stage's figure over the floor's. `paired`: both were measured in the same rounds (run i of each
    side by side), so the ratio is the median of the per-round ratios — a round where the whole machine was
    slower slows both sides of its ratio, where a ratio of two medians can mix a slow round with a quick one.
    Otherwise the ratio of the two medians."""
    if not value or not floor or not floor["median"]:
        return None
    rounds = per_round(value, floor) if paired else None
    if rounds:
        return round(statistics.median(rounds), 3)
    return round(value["median"] / floor["median"], 3)


def round_ratios(value: dict | None, floor: dict | None) -> list[float] | None:
    """[lowest, highest] of the per-round ratios (paired figures only): how much one round can differ."""
    rounds = per_round(value, floor)
    return [round(min(rounds), 3), round(max(rounds), 3)] if rounds else None


def rotated(items: list, run: int) -> list:
    """The order of round `run`, a Williams design: over len(items) rounds every subject runs once in each
    position and (for an even count) right after each other subject once — so no subject always runs first,
    or always right after the same one (whose environment may still be shutting down, its logs flushing)."""
    count = len(items)
    base, low, high = [0], 1, count - 1
    while len(base) < count:
        base.append(low)
        low += 1
        if len(base) < count:
            base.append(high)
            high -= 1
    return [items[(b + run) % count] for b in base] if count else []


def median_of(stats: dict | None) -> float | None:
    return stats["median"] if stats else None


def ratio_of_medians(value: dict | None, base: dict | None) -> float | None:
    """The ratio of two medians (None when either is missing)."""
    return round(value["median"] / base["median"], 3) if value and base and base["median"] else None

