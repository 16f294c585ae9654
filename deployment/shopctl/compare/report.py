"""The coupling analysis as markdown tables: one section per question, each followed by its method."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SECTIONS = (
    "## Size",
    "## Where the infrastructure is known",
    "## Coupling between components",
    "## Dependency rule",
    "## Change impact",
)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _names(paths: list[str]) -> str:
    return f"{len(paths)}: " + ", ".join(f"`{p}`" for p in paths) if paths else "0"


def _method(text: str) -> list[str]:
    return ["", f"_Method: {text}_", ""]


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
