"""The coupling analysis as markdown tables: one section per question, each followed by its method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopctl.compare.coldstart_report import cold_starts_section, faster_section, fmt_ms, fmt_ratio, over_plain
from shopctl.compare.tables import image as _image
from shopctl.compare.tables import method as _method
from shopctl.compare.tables import table

_table = table  # the name shopctl.workshop imports

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
        "Lambda cold request (x floor)",
        "optimised (x floor)",
        "SnapStart restore (x plain ZIP)",
        "image (x plain ZIP)",
        "ECS start → first response (x floor)",
        "EKS start → first response (x floor)",
        "tests (need emulator)",
        "test wall time",
    ]
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
        for variant in ("plain", "optimized"):
            lam = [r for r in (cold or {}).get("lambda", []) if r["stage"] == stage and r["variant"] == variant]
            row.append(
                " / ".join(
                    f"{fmt_ms(r['cold_request_ms'])} ms ({fmt_ratio(r['cold_request_ratio'])}"
                    + ("" if r.get("floor_variant", r["variant"]) == r["variant"] else " of the plain floor")
                    + ")"
                    for r in lam
                )
                or "—"
            )
        for mode in ("snapstart", "image"):
            lam = [r for r in (cold or {}).get("lambda", []) if r["stage"] == stage and r["variant"] == mode]
            plain = {r["function"]: r for r in (cold or {}).get("lambda", []) if r["variant"] == "plain"}
            row.append(
                " / ".join(
                    f"{fmt_ms(r['cold_request_ms'])} ms ({fmt_ratio(over_plain(r, plain.get(r['function'])))})"
                    for r in lam
                )
                or "—"
            )
        for target in ("ecs", "eks"):
            proc = [r for r in (cold or {}).get("process", []) if r["stage"] == stage and r["target"] == target]
            row.append(
                " / ".join(f"{fmt_ms(r['start_to_first_response_ms'])} ms ({fmt_ratio(r['ratio'])})" for r in proc)
                or "—"
            )
        totals = (tests or {}).get("stages", {}).get(stage)
        if totals:
            reduced = " (reduced)" if totals["reduced"] else ""
            row += [f"{totals['tests']} ({totals['tests_with_emulator']}){reduced}", f"{totals['wall_s']:.1f} s"]
        else:
            row += ["—", "—"]
        rows.append(row)
    return header, rows


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
        "_Ratios are to the floor measured in the same run (Lambda: FastAPI + Mangum + boto3 + one client on the "
        + ("same AWS Lambda, in your account" if meta.get("env") == "aws" else "same local Lambda")
        + "; ECS/EKS: the same app as the same container command). Microservices show users / "
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
    return "\n".join(out).rstrip() + "\n"


