"""The notebooks' charts (matplotlib): the cost of a change per stage, cold and warm Lambda invocations."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any


def impact_chart(result: dict[str, Any]) -> Any:
    """Two bar charts from `shopctl.compare.coupling.analyse()`: per change and stage, the code lines
    touched and the existing definitions edited (shared code that must be opened up)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    changes = list(result["impact"].values())
    stages = list(result["stages"])
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    width = 0.8 / len(stages)
    for metric, axis, title in (
        ("lines", axes[0], "code lines touched"),
        ("edited_definitions", axes[1], "existing functions/classes edited"),
    ):
        for i, stage in enumerate(stages):
            values = [change["stages"][stage][metric] for change in changes]
            bars = axis.bar([x + i * width for x in range(len(changes))], values, width, label=stage)
            axis.bar_label(bars, fontsize=8)
        axis.set_xticks([x + width * (len(stages) - 1) / 2 for x in range(len(changes))])
        axis.set_xticklabels([textwrap.fill(c["title"], 20) for c in changes], fontsize=8)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(title)
    axes[0].legend()
    figure.suptitle("What each change costs, per stage (computed from the code by shopctl.compare)")
    return figure


def invocations_chart(reports: Sequence[Any]) -> Any:
    """Lambda invocations from their REPORT lines (`shopctl.targets.coldstart.Report`): the time each one took,
    init included, on a log scale — a cold start is two or three orders of magnitude above a warm one."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
    totals = [(r.init_ms or 0) + r.duration_ms for r in reports]
    colors = ["tab:red" if r.cold else "tab:blue" for r in reports]
    labels = [f"#{i}\n{'cold' if r.cold else 'warm'}" for i, r in enumerate(reports, 1)]
    bars = axis.bar(labels, totals, color=colors)
    axis.bar_label(bars, labels=[f"{t:,.0f} ms" if t >= 10 else f"{t:.1f} ms" for t in totals], fontsize=8)
    axis.set_yscale("log")
    # Head room above the tallest bar on a log scale, so its label stays inside the frame.
    axis.set_ylim(top=max(totals, default=1) * 5)
    axis.set_ylabel("Init Duration + Duration (ms)")
    axis.set_title("One cold start, then warm reuse of the same execution environment")
    return figure
