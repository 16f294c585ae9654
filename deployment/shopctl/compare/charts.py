"""The report's charts (PNG, matplotlib's Agg backend: no display needed). Each figure carries, under
its title, one line saying how its numbers were measured — a chart copied out of the report keeps it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STAGE_COLORS = {"floor": "#9e9e9e", "monolith": "#d95f02", "microservices": "#7570b3", "clean": "#1b9e77"}
VARIANT_HATCH = {"plain": "", "optimized": "//"}


def _figure(title: str, how: str, width: float = 8.0, height: float = 4.5):
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    fig.suptitle(title, fontsize=12, fontweight="bold")
    fig.text(0.5, 0.015, how, ha="center", va="bottom", fontsize=7.5, color="#444444", wrap=True)
    return fig, ax


def _save(fig, path: Path) -> Path:
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(path)
    plt.close(fig)
    return path


def coupling_chart(coupling: Mapping[str, Any], path: Path) -> Path:
    stages = list(coupling["stages"])
    measures = [
        ("aws_sdk_modules", "import boto3/botocore"),
        ("dynamodb_modules", "use DynamoDB's API"),
        ("environment_modules", "read os.environ"),
        ("runtime_modules", "name RUNTIME"),
        ("config_location_modules", "name a table/config location"),
    ]
    fig, ax = _figure(
        "Where each stage knows about AWS and the runtime",
        "Static analysis of each stage's code (AST; comments and docstrings never count): modules per question.",
    )
    width = 0.8 / len(stages)
    for i, stage in enumerate(stages):
        values = [len(coupling["stages"][stage][key]) for key, _ in measures]
        xs = [x + i * width for x in range(len(measures))]
        ax.bar(xs, values, width, label=stage, color=STAGE_COLORS.get(stage))
        for x, v in zip(xs, values, strict=True):
            ax.text(x, v + 0.05, str(v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks([x + width * (len(stages) - 1) / 2 for x in range(len(measures))])
    ax.set_xticklabels([label for _, label in measures], fontsize=8)
    ax.set_ylabel("modules")
    ax.legend(fontsize=8)
    return _save(fig, path)


def impact_chart(coupling: Mapping[str, Any], path: Path) -> Path:
    changes = list(coupling["impact"].values())
    stages = list(coupling["stages"])
    fig, ax = _figure(
        "Change impact: files each stage has to touch",
        "Derived from the code (shopctl.compare.impact): new + edited files per change; "
        "the database swap is real (SQLite adapter).",
    )
    width = 0.8 / len(stages)
    for i, stage in enumerate(stages):
        values = [c["stages"][stage]["new_files"] + c["stages"][stage]["edited_files"] for c in changes]
        xs = [x + i * width for x in range(len(changes))]
        ax.bar(xs, values, width, label=stage, color=STAGE_COLORS.get(stage))
        for x, v in zip(xs, values, strict=True):
            ax.text(x, v + 0.05, str(v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks([x + width * (len(stages) - 1) / 2 for x in range(len(changes))])
    ax.set_xticklabels([c["title"] for c in changes], fontsize=8)
    ax.set_ylabel("files")
    ax.legend(fontsize=8)
    return _save(fig, path)


def coldstart_chart(cold: Mapping[str, Any], path: Path) -> Path:
    """Lambda cold request as a ratio to the floor, plain vs optimised, one bar pair per function."""
    rows = cold["lambda"]
    floor = cold["floor"].get("lambda", {})
    labels, groups = [], []
    for function in dict.fromkeys(r["function"] for r in rows):
        labels.append(function.removeprefix("shop-").replace("microservices-", "microservices\n"))
        groups.append({r["variant"]: r for r in rows if r["function"] == function})
    fig, ax = _figure(
        "Lambda cold request, as a ratio to the floor (plain floor = 1.0)",
        f"Local Lambda, N={cold['n']} forced cold starts per bar; height = the median per-round ratio to the floor "
        f"of the same package (optimised: times that floor's share of the plain one). Labels: that ratio, median ms.",
    )
    plain_floor = floor.get("plain", {}).get("cold_request_ms")
    width = 0.38
    xs = list(range(len(labels) + 1))
    names = ["floor", *labels]
    for j, variant in enumerate(("plain", "optimized")):
        values, ms = [], []
        floor_row = floor.get(variant, {}).get("cold_request_ms")
        values.append(floor_row["median"] / plain_floor["median"] if floor_row and plain_floor else 0)
        ms.append(floor_row["median"] if floor_row else 0)
        for group in groups:
            row = group.get(variant)
            ms.append(row["cold_request_ms"]["median"] if row else 0)
            # The ratio the goals use (per round, to the floor of the same package), on the plain floor's scale.
            same = row and row["floor_variant"] == variant and floor_row and plain_floor
            scale = floor_row["median"] / plain_floor["median"] if same else 1.0
            values.append((row["cold_request_ratio"] or 0) * scale if row and plain_floor else 0)
        colors = [STAGE_COLORS["floor"], *[STAGE_COLORS.get(n.split("\n")[0], "#555") for n in labels]]
        positions = [x + (j - 0.5) * width for x in xs]
        ax.bar(
            positions,
            values,
            width,
            color=colors,
            hatch=VARIANT_HATCH[variant],
            edgecolor="white" if variant == "plain" else "black",
            label=f"{variant} package",
        )
        for x, v, m in zip(positions, values, ms, strict=True):
            if v:
                # At the foot of the bar, boxed: clear of the goal line whatever the height.
                box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0}
                ax.text(x, 0.03, f"{v:.2f}x\n{m:.0f} ms", ha="center", va="bottom", fontsize=6.5, bbox=box)
    ax.axhline(1.10, color="#b2182b", linestyle="--", linewidth=1)
    ax.text(len(xs) - 0.55, 1.11, "goal ≤ 1.10 x floor", color="#b2182b", fontsize=7, ha="right", va="bottom")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("cold request / plain floor")
    ax.set_ylim(0, max(1.25, *ax.get_ylim()[1:]) * 1.05)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


MODE_STYLE = {  # the four Lambda modes: one colour each, whatever the stage
    "plain": ("#4d4d4d", "", "plain ZIP"),
    "optimized": ("#878787", "//", "OPTIMIZE=1"),
    "snapstart": ("#2166ac", "", "SNAPSTART=1 (restore)"),
    "image": ("#b35806", "..", "PACKAGE=image (Web Adapter)"),
}


def modes_chart(cold: Mapping[str, Any], path: Path) -> Path:
    """The four Lambda modes per stage: cold request as a ratio to the plain ZIP of the same function."""
    table = cold["lambda_modes"]
    labels = list(table)
    modes = [m for m in MODE_STYLE if any(m in table[label] for label in labels)]
    fig, ax = _figure(
        "Lambda cold request in four modes, as a ratio to the plain ZIP of the same function",
        f"Local Lambda, N={cold['n']} cold starts per bar, median cold request seen by the client. SnapStart: a "
        "new environment restored\nfrom the snapshot; image: the container command behind the Web Adapter. "
        "Labels: ratio, median ms.",
        width=9.0,
    )
    width = 0.8 / max(1, len(modes))
    for j, mode in enumerate(modes):
        color, hatch, name = MODE_STYLE[mode]
        xs = [x + (j - (len(modes) - 1) / 2) * width for x in range(len(labels))]
        values = [(table[label].get(mode) or {}).get("x_plain_zip") or 0 for label in labels]
        ms = [(table[label].get(mode) or {}).get("cold_request_ms") or 0 for label in labels]
        ax.bar(xs, values, width, color=color, hatch=hatch, edgecolor="white", label=name)
        for x, v, m in zip(xs, values, ms, strict=True):
            if v:
                ax.text(x, v + 0.02, f"{v:.2f}x\n{m:.0f} ms", ha="center", va="bottom", fontsize=6)
    goals = cold.get("goals", {})
    for mode, name in (("snapstart", "SnapStart"), ("image", "image")):
        limit = goals.get(f"{mode}_limit")  # the goal the run reported against
        if mode in modes and limit is not None:
            text = f"{name} goal ≤ {limit:g}x"
            ax.axhline(limit, color=MODE_STYLE[mode][0], linestyle="--", linewidth=1)
            box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0}
            ax.text(-0.45, limit + 0.01, text, color=MODE_STYLE[mode][0], fontsize=7, ha="left", va="bottom", bbox=box)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([label.replace("/", "\n") for label in labels], fontsize=8)
    ax.set_ylabel("cold request / plain ZIP")
    ax.set_ylim(0, max(1.35, *ax.get_ylim()[1:]) * 1.1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def process_chart(cold: Mapping[str, Any], path: Path) -> Path:
    rows = cold["process"]
    floors = {t: f["start_to_first_response_ms"]["median"] for t, f in cold["floor"].get("process", {}).items()}
    targets = list(dict.fromkeys(r["target"] for r in rows))
    subjects = list(dict.fromkeys(f"{r['stage']}/{r['service']}" for r in rows))
    fig, ax = _figure(
        "Container start: process start → first response, as a ratio to the floor",
        f"Fresh process of the ECS task definition's / EKS Deployment's command (make run's for local): healthy "
        f"+ first request, "
        f"N={cold['n']} each, interleaved, medians; floor = floor_app as the same command, per target ("
        + ", ".join(f"{t} {ms:.0f} ms" for t, ms in floors.items())
        + ").",
    )
    width = 0.8 / max(1, len(subjects))
    for i, subject in enumerate(subjects):
        values = []
        for target in targets:
            row = next((r for r in rows if f"{r['stage']}/{r['service']}" == subject and r["target"] == target), None)
            values.append(row["ratio"] or 0 if row else 0)
        xs = [x + i * width for x in range(len(targets))]
        ax.bar(
            xs, values, width, label=subject, color=STAGE_COLORS.get(subject.split("/")[0]), alpha=0.6 + 0.4 * (i % 2)
        )
        for x, v in zip(xs, values, strict=True):
            if v:
                ax.text(x, v + 0.02, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="#555555", linestyle=":", linewidth=1)
    ax.set_xticks([x + width * (len(subjects) - 1) / 2 for x in range(len(targets))])
    ax.set_xticklabels(targets)
    ax.set_ylabel("start → first response / floor")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def testcost_chart(tests: Mapping[str, Any], path: Path) -> Path:
    rows = tests["tiers"]
    fig, ax = _figure(
        "Test cost per tier: wall time per test",
        "Each tier's own pytest process (collection and fixtures included) / its number of tests. "
        "Hatched: the tier's tests need an AWS emulator (moto).",
    )
    labels = [f"{r['stage']}\n{r['tier']}" + (" (-k)" if r["reduced"] else "") for r in rows]
    values = [r["per_test_ms"] or 0 for r in rows]
    bars = ax.bar(
        range(len(rows)),
        values,
        color=[STAGE_COLORS.get(r["stage"]) for r in rows],
        hatch=None,
    )
    for bar, row in zip(bars, rows, strict=True):
        if row["needs_emulator"]:
            bar.set_hatch("//")
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height(),
            f"{row['tests']} tests\n{row['wall_s']:.1f} s",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("ms per test (wall)")
    ax.margins(y=0.2)
    return _save(fig, path)
