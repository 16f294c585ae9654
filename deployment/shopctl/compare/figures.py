"""The statistics of the cold-start figures: a figure is N rounds of one measurement, summarised as its
median and its spread (lowest to highest across the rounds); a ratio has one named denominator; and two
figures whose medians differ by less than their spread are "within noise", not ranked. Also the order of the
interleaved rounds. Pure functions."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
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



# --- a figure and its spread ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measurement over N rounds: the median and the spread across the rounds (lowest to highest).

    `unit` is "ms" for times; for a ratio it names the denominator ("x floor, same mode")."""

    median: float
    low: float
    high: float
    n: int
    unit: str = "ms"

    @classmethod
    def of(cls, stats: Mapping[str, Any] | None, unit: str = "ms") -> Figure | None:
        """From report.json's summary ({"median", "min", "max", "n", ...}); None when nothing was measured."""
        if not stats:
            return None
        return cls(stats["median"], stats["min"], stats["max"], stats["n"], unit)

    @property
    def spread(self) -> float:
        return self.high - self.low

    def text(self) -> str:
        """'812 ms (780 to 850, 3 rounds)': the median, then the spread it comes with."""
        if self.unit == "ms":
            median, low, high, unit = f"{self.median:.0f}", f"{self.low:.0f}", f"{self.high:.0f}", " ms"
        else:
            median, low, high, unit = f"{self.median:.2f}", f"{self.low:.2f}", f"{self.high:.2f}", f" {self.unit}"
        if self.n < 2:
            return f"{median}{unit} (1 round)"
        return f"{median}{unit} ({low} to {high}, {self.n} rounds)"


def within_noise(a: Figure, b: Figure) -> bool | None:
    """True when the two figures' spreads overlap: some round of one was as low as some round of the other,
    so the difference between their medians is smaller than the noise this run measured. None with a single
    round: no spread to judge by, so no verdict either way."""
    if a.n < 2 or b.n < 2:
        return None
    return a.low <= b.high and b.low <= a.high


def compared(named: Mapping[str, Figure], what: str) -> str:
    """One sentence on `named` figures of the same kind, generated from the numbers: which differences are
    beyond the spread across rounds; the rest are within noise and not ranked."""
    if len(named) < 2:
        return ""
    names = list(named)
    if any(figure.n < 2 for figure in named.values()):
        return f"{what}: one round each, no spread to tell a difference from noise, so they are not ranked."
    beyond = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = named[first], named[second]
            if not within_noise(a, b):
                low, high = (first, second) if a.median < b.median else (second, first)
                beyond.append(f"{low} is lower than {high} in every round")
    if not beyond:
        return (
            f"{what}: the spreads of {', '.join(names)} overlap, so every difference between them is within "
            "noise. This run does not rank them."
        )
    return f"{what}: " + "; ".join(beyond) + ". Every other difference is within noise."


def versus_floor(name: str, ratio_figure: Figure) -> str:
    """Whether a ratio to the floor is distinguishable from 1.0 (the floor itself) across the rounds."""
    if ratio_figure.n < 2:
        return f"{name}: {ratio_figure.text()}, one round: no spread to compare the floor with"
    if ratio_figure.low <= 1.0 <= ratio_figure.high:
        return f"{name}: {ratio_figure.text()}, within noise of the floor (1.0 lies inside the rounds' spread)"
    side = "above" if ratio_figure.low > 1.0 else "below"
    return f"{name}: {ratio_figure.text()}, {side} the floor in every round"


def ratio_figure(value: dict | None, base: dict | None, unit: str) -> Figure | None:
    """The per-round ratios of two figures measured in the same rounds (run i over run i), as a Figure:
    their median and spread. None when the rounds do not pair."""
    rounds = per_round(value, base)
    if not rounds:
        return None
    return Figure(round(statistics.median(rounds), 3), round(min(rounds), 3), round(max(rounds), 3), len(rounds), unit)


def scaled(value: dict | None, base: dict | None, unit: str) -> Figure | None:
    """Every round of `value` over the median of `base` (measured in other rounds, so they do not pair): the
    median is the ratio of the medians, the spread is `value`'s own across its rounds."""
    if not value or not base or not base["median"]:
        return None
    over = base["median"]
    return Figure(
        round(value["median"] / over, 3), round(value["min"] / over, 3), round(value["max"] / over, 3), value["n"], unit
    )
