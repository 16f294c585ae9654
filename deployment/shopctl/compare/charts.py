"""The report's charts (PNG, matplotlib's Agg backend: no display needed). Each figure carries, under
its title, a line saying how its numbers were measured — a chart copied out of the report keeps it. The
cold-start charts show each figure's spread across rounds (whiskers) and name their one denominator on the
axis; the maintainers' goals are not drawn (report.md lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from shopctl.compare import results
from shopctl.compare.figures import Figure

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


def _whiskers(ax, xs: list[float], figures: list[Figure | None]) -> None:
    """The lowest and highest round around each bar's median (nothing for one round)."""
    for x, figure in zip(xs, figures, strict=True):
        if figure is not None and figure.n > 1:
            ax.errorbar(
                x,
                figure.median,
                yerr=[[figure.median - figure.low], [figure.high - figure.median]],
                color="black",
                capsize=3,
                linewidth=1,
            )


def coldstart_chart(cold: Mapping[str, Any], path: Path) -> Path:
    """Lambda cold request per function in ms, plain and optimised ZIP side by side, the floor first: the bar is
    the median, the whisker the lowest to highest round; the label adds the ratio to the floor in the same mode."""
    starts = [s for s in results.lambda_cold_starts(cold) if s.mode in VARIANT_HATCH]
    labels = list(dict.fromkeys(s.label for s in starts))
    fig, ax = _figure(
        f"Lambda cold request per function: median and spread over {cold['n']} rounds",
        f"Local Lambda, N={cold['n']} forced cold starts per bar. Bar: median; whisker: lowest to highest round; "
        "overlapping whiskers are within noise.\n"
        f"Label: median ms, then {results.FLOOR_SAME_MODE} (median of the per-round ratios; — where the floor "
        "was not measured in that mode).",
    )
    width = 0.38
    variants = [v for v in VARIANT_HATCH if any(s.mode == v for s in starts)]
    for j, variant in enumerate(variants):
        by_label = {s.label: s for s in starts if s.mode == variant}
        xs = [x + (j - (len(variants) - 1) / 2) * width for x in range(len(labels))]
        figures = [by_label[label].cold_request if label in by_label else None for label in labels]
        ax.bar(
            xs,
            [f.median if f else 0 for f in figures],
            width,
            color=[STAGE_COLORS.get(label.split("/")[0], "#555") for label in labels],
            hatch=VARIANT_HATCH[variant],
            edgecolor="white" if variant == "plain" else "black",
            label=f"{variant} ZIP",
        )
        _whiskers(ax, xs, figures)
        for x, label in zip(xs, labels, strict=True):
            start = by_label.get(label)
            if start is None:
                continue
            versus = "floor" if label == "floor" else f"{start.x_floor.median:.2f}x" if start.x_floor else "—"
            box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0}
            ax.text(x, 0, f"{start.cold_request.median:.0f} ms\n{versus}", ha="center", va="bottom", fontsize=6.5,
                    bbox=box)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([label.replace("/", "\n") for label in labels], fontsize=8)
    ax.set_ylabel("cold request, ms (median; whisker: lowest to highest)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


MODE_STYLE = {  # the four Lambda modes: one colour each, whatever the stage
    "plain": ("#4d4d4d", "", "plain ZIP"),
    "optimized": ("#878787", "//", "OPTIMIZE=1"),
    "snapstart": ("#2166ac", "", "SNAPSTART=1 (restore)"),
    "image": ("#b35806", "..", "PACKAGE=image (Web Adapter)"),
}


def modes_chart(cold: Mapping[str, Any], path: Path) -> Path:
    """The four Lambda modes per function: cold request over the same function's plain ZIP median."""
    starts = results.lambda_cold_starts(cold)
    labels = list(dict.fromkeys(s.label for s in starts))
    modes = [m for m in MODE_STYLE if any(s.mode == m for s in starts)]
    fig, ax = _figure(
        "Lambda cold request in four modes, against the plain ZIP of the same function",
        f"Local Lambda, N={cold['n']} cold starts per bar. Bar: the mode's median cold request over the plain ZIP's "
        "median (same function); whisker: its lowest and highest round.\nSnapStart: a new environment restored "
        "from the snapshot; image: the container command behind the Web Adapter. Labels: ratio, median ms.",
        width=9.0,
    )
    width = 0.8 / max(1, len(modes))
    for j, mode in enumerate(modes):
        color, hatch, name = MODE_STYLE[mode]
        by_label = {s.label: s for s in starts if s.mode == mode}
        xs = [x + (j - (len(modes) - 1) / 2) * width for x in range(len(labels))]
        figures = [by_label[label].x_plain_zip if label in by_label else None for label in labels]
        ax.bar(xs, [f.median if f else 0 for f in figures], width, color=color, hatch=hatch, edgecolor="white",
               label=name)
        _whiskers(ax, xs, figures)
        for x, label, figure in zip(xs, labels, figures, strict=True):
            if figure:
                ms = by_label[label].cold_request.median
                ax.text(x, figure.high + 0.02, f"{figure.median:.2f}x\n{ms:.0f} ms", ha="center", va="bottom",
                        fontsize=6)
    ax.axhline(1.0, color="#555555", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([label.replace("/", "\n") for label in labels], fontsize=8)
    ax.set_ylabel(f"cold request, {results.PLAIN_ZIP}")
    ax.set_ylim(0, max(1.35, *ax.get_ylim()[1:]) * 1.1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def process_chart(cold: Mapping[str, Any], path: Path) -> Path:
    starts = results.container_starts(cold)
    floors = {t: f["start_to_first_response_ms"]["median"] for t, f in cold["floor"].get("process", {}).items()}
    targets = list(dict.fromkeys(s.target for s in starts))
    subjects = list(dict.fromkeys(f"{s.stage}/{s.service}" for s in starts))
    fig, ax = _figure(
        "Container start: process start → first response, against the floor on the same target",
        f"Fresh process of the ECS task definition's / EKS Deployment's command (make run's for local): healthy "
        f"+ first request, N={cold['n']} each, interleaved.\nBar: median of the per-round ratios; whisker: lowest to "
        "highest round. Floor = floor_app as the same command ("
        + ", ".join(f"{t} {ms:.0f} ms" for t, ms in floors.items())
        + ").",
    )
    width = 0.8 / max(1, len(subjects))
    for i, subject in enumerate(subjects):
        figures = [
            next((s.x_floor for s in starts if f"{s.stage}/{s.service}" == subject and s.target == t), None)
            for t in targets
        ]
        xs = [x + i * width for x in range(len(targets))]
        ax.bar(
            xs,
            [f.median if f else 0 for f in figures],
            width,
            label=subject,
            color=STAGE_COLORS.get(subject.split("/")[0]),
            alpha=0.6 + 0.4 * (i % 2),
        )
        _whiskers(ax, xs, figures)
        for x, figure in zip(xs, figures, strict=True):
            if figure:
                ax.text(x, figure.high + 0.02, f"{figure.median:.2f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="#555555", linestyle=":", linewidth=1)
    ax.set_xticks([x + width * (len(subjects) - 1) / 2 for x in range(len(targets))])
    ax.set_xticklabels(targets)
    ax.set_ylabel(f"start → first response, {results.FLOOR_SAME_TARGET}")
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
