"""report.md: the coupling analysis as markdown tables (one section per question, each followed by its method),
the summary table, and the whole document (its cold-start sections are in coldstart_report.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopctl.compare import results
from shopctl.compare.coldstart_report import cold_starts_section, faster_section, maintainers_section, spread
from shopctl.compare.figures import Figure
from shopctl.compare.tables import image as _image
from shopctl.compare.tables import method as _method
from shopctl.compare.tables import table

_table = table  # the name shopctl.workshop imports (notebooks: shopctl.workshop.table, or tables.table)

SECTIONS = (
    "## Size",
    "## Where the infrastructure is known",
    "## Coupling between components",
    "## Dependency rule",
    "## Change impact",
)


def _names(paths: list[str]) -> str:
    return f"{len(paths)}: " + ", ".join(f"`{p}`" for p in paths) if paths else "0"


def markdown(result: Mapping[str, Any]) -> str:
    stages: Mapping[str, Any] = result["stages"]
    methods: Mapping[str, str] = result["methods"]
    out = ["# Coupling, measured from the code", ""]

    out += [SECTIONS[0], ""]
    rows = []
    for name, stage in stages.items():
        rows.append([f"**{name}**", "(all)", stage["files"], stage["lines"]])
        if len(stage["by_package"]) > 1:
            rows += [[name, f"`{p}`", s["files"], s["lines"]] for p, s in stage["by_package"].items()]
    out += _table(["stage", "package", "files", "code lines"], rows)
    out += _method(methods["size"])

    out += [SECTIONS[1], ""]
    rows = [
        [
            name,
            _names(stage["aws_sdk_modules"]),
            _names(stage["dynamodb_modules"]),
            _names(stage["environment_modules"]),
            _names(stage["runtime_modules"]),
            _names(stage["config_location_modules"]),
        ]
        for name, stage in stages.items()
    ]
    out += _table(
        [
            "stage",
            "import boto3/botocore",
            "use DynamoDB's API",
            "read os.environ",
            "name RUNTIME",
            "name a table/config location",
        ],
        rows,
    )
    out += _method(methods["infrastructure"])

    out += [SECTIONS[2], ""]
    rows = []
    for name, stage in stages.items():
        for c in stage["components"]:
            instability = "—" if c["instability"] is None else f"{c['instability']:.2f}"
            rows.append(
                [
                    name,
                    f"`{c['component']}`",
                    c["lines"],
                    c["ca"],
                    c["ce"],
                    instability,
                    ", ".join(c["third_party"]) or "—",
                ]
            )
    out += _table(["stage", "component", "code lines", "Ca", "Ce", "I = Ce/(Ca+Ce)", "third-party imports"], rows)
    out += _method(methods["coupling"])

    out += [SECTIONS[3], ""]
    rows = []
    for name, stage in stages.items():
        rule = stage["dependency_rule"]
        contracts = "; ".join(f"{contract}: {state}" for contract, state in rule["contracts"].items()) or "—"
        rows.append([name, rule["status"], rule["detail"], contracts])
    out += _table(["stage", "status", "detail", "contracts"], rows)
    out += _method(methods["dependency_rule"])

    out += [SECTIONS[4], ""]
    for change in result["impact"].values():
        out += [f"### {change['title']}", ""]
        rows = []
        for name, stage in change["stages"].items():
            detail = "<br>".join(
                f"`{f['path']}` ({f['change']}, {f['lines']} lines)"
                + (": " + ", ".join(f["units"]) if f["change"] == "edited" else "")
                for f in stage["files"]
            )
            rows.append(
                [
                    name,
                    stage["summary"] + (f" ({stage['basis']})" if "basis" in stage else ""),
                    stage["new_files"] + stage["edited_files"],
                    stage["added_definitions"],
                    stage["edited_definitions"],
                    detail or "—",
                ]
            )
        out += _table(["stage", "change", "files", "definitions added", "existing definitions edited", "where"], rows)
        out += _method(change["method"])
    return "\n".join(out).rstrip() + "\n"


# --- the whole report: build/compare/report.md ------------------------------------------------------------

REPORT_SECTIONS = (
    "## Summary",
    "## 1. Coupling",
    "## 2. Cold starts",
    "## 3. Test cost",
    "## 4. Faster Lambda cold starts",
    "## For maintainers: performance goals",
)
NOT_MEASURED = "_Not measured in this run (see `--sections`)._"
def _load(load: list[float | None] | None) -> str:
    if not load or None in load:
        return ""
    return f"; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end (other work slows every figure)"


def _demote(markdown_text: str) -> list[str]:
    """The coupling analysis' own markdown, one heading level down, without its title."""
    lines = markdown_text.splitlines()
    out = []
    for line in lines[1:]:
        out.append("#" + line if line.startswith("#") else line)
    return out


def summary_rows(report: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The main table: one row per stage, the headline of every section."""
    coupling = report.get("coupling")
    cold = report.get("coldstart")
    tests = report.get("tests")
    stages = list(coupling["stages"]) if coupling else list(report["meta"]["stages"])
    header = [
        "stage",
        "code lines",
        "modules importing boto3",
        "files touched by the database swap",
        f"Lambda cold request, plain ZIP: ms, {results.FLOOR_SAME_MODE}",
        f"OPTIMIZE=1: ms, {results.PLAIN_ZIP}",
        f"SnapStart restore: ms, {results.PLAIN_ZIP}",
        f"image: ms, {results.PLAIN_ZIP}",
        f"ECS start → first response: ms, {results.FLOOR_SAME_TARGET}",
        f"EKS start → first response: ms, {results.FLOOR_SAME_TARGET}",
        "tests (need emulator)",
        "test wall time",
    ]
    starts = results.lambda_cold_starts(cold) if cold else []
    containers = results.container_starts(cold) if cold else []
    rows = []
    for stage in stages:
        row: list[Any] = [stage]
        if coupling and stage in coupling["stages"]:
            facts = coupling["stages"][stage]
            swap = next((c for c in coupling["impact"].values() if "database" in c["title"].lower()), None)
            files = "—"
            if swap:
                change = swap["stages"][stage]
                files = (
                    f"{change['new_files'] + change['edited_files']} "
                    f"({change['edited_definitions']} existing definitions edited)"
                )
            row += [facts["lines"], len(facts["aws_sdk_modules"]), files]
        else:
            row += ["—", "—", "—"]
        for mode in ("plain", "optimized", "snapstart", "image"):
            ratios = [
                (s.cold_request, s.x_floor if mode == "plain" else s.x_plain_zip)
                for s in starts
                if s.stage == stage and s.mode == mode and s.label != "floor"
            ]
            row.append(" / ".join(_cell(ms, ratio) for ms, ratio in ratios) or "—")
        for target in ("ecs", "eks"):
            found = [c for c in containers if c.stage == stage and c.target == target]
            row.append(" / ".join(_cell(c.start_to_first_response, c.x_floor) for c in found) or "—")
        totals = (tests or {}).get("stages", {}).get(stage)
        if totals:
            reduced = " (reduced)" if totals["reduced"] else ""
            row += [f"{totals['tests']} ({totals['tests_with_emulator']}){reduced}", f"{totals['wall_s']:.1f} s"]
        else:
            row += ["—", "—"]
        rows.append(row)
    return header, rows


def _cell(ms: Figure, ratio: Figure | None) -> str:
    """'812 ms, 1.06x (0.98 to 1.15)': the median, then the ratio named in the column header, with its spread."""
    return f"{ms.median:.0f} ms, " + (spread(ratio) if ratio else "— (not measured beside it)")


def summary_text(report: Mapping[str, Any]) -> str:
    header, rows = summary_rows(report)
    return "\n".join(_table(header, rows))


def document(report: Mapping[str, Any]) -> str:
    """build/compare/report.md: every section, every figure with how it was measured."""
    meta = report["meta"]
    charts: Mapping[str, str] = report.get("charts", {})
    out = [
        "# The three stages, compared — measured on this machine",
        "",
        f"_Generated {meta['generated']} by `{meta['command']}` in {meta['duration_s']:.0f} s on "
        f"{meta['machine']}. N = {meta['n']} fresh starts per measurement"
        + (" (quick mode: reduced stages, targets and tests)" if meta["quick"] else "")
        + _load(meta.get("load_average"))
        + ". The same numbers are in report.json._",
        "",
        REPORT_SECTIONS[0],
        "",
        *_table(*summary_rows(report)),
        "",
        "_Each ratio's denominator is in its column header. The floor is measured in the same run (Lambda: "
        "FastAPI + Mangum + boto3 + one client on the "
        + ("same AWS Lambda, in your account" if meta.get("env") == "aws" else "same local Lambda")
        + "; ECS/EKS: the same app as the same container command). In brackets: the lowest and highest round; "
        "a difference smaller than that is within noise (section 2 says which). Microservices show users / "
        "orders. Tests: how many, and how many of them need an AWS emulator._",
        "",
    ]

    out += [REPORT_SECTIONS[1], ""]
    coupling = report.get("coupling")
    if coupling:
        for key, alt in (("coupling", "coupling"), ("impact", "change impact")):
            if key in charts:
                out += _image(charts[key], alt)
        out += _demote(markdown(coupling))
    else:
        out += [NOT_MEASURED]
    out.append("")

    out += [REPORT_SECTIONS[2], ""]
    cold = report.get("coldstart")
    if cold:
        out += cold_starts_section(cold, charts)
    else:
        out += [NOT_MEASURED, ""]

    out += [REPORT_SECTIONS[3], ""]
    tests = report.get("tests")
    if tests:
        if "testcost" in charts:
            out += _image(charts["testcost"], "test cost")
        rows = [
            [
                t["stage"],
                t["tier"] + (f" (`-k {t['select']}`)" if t["select"] else ""),
                f"`{t['path']}`",
                t["tests"],
                t["failed"],
                f"{t['wall_s']:.2f}",
                f"{t['in_tests_s']:.2f}",
                f"{t['per_test_ms']:.1f}" if t["per_test_ms"] is not None else "—",
                (
                    f"yes: {t['tests_with_emulator']} tests ({', '.join(t['emulators'])})"
                    if t["needs_emulator"]
                    else "no"
                ),
            ]
            for t in tests["tiers"]
        ]
        out += _table(
            ["stage", "tier", "path", "tests", "failed", "wall s", "in tests s", "ms per test", "AWS emulator"], rows
        )
        out += _method(tests["method"])
    else:
        out += [NOT_MEASURED, ""]

    out += [REPORT_SECTIONS[4], ""]
    if cold and cold.get("lambda"):
        out += faster_section(cold, charts)
    else:
        out += [NOT_MEASURED, ""]
    if cold and cold.get("goals"):
        out += [REPORT_SECTIONS[5], "", *maintainers_section(cold)]
    return "\n".join(out).rstrip() + "\n"


