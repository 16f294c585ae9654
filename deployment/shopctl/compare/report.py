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


# --- the whole report: build/compare/report.md ------------------------------------------------------------

REPORT_SECTIONS = (
    "## Summary",
    "## 1. Coupling",
    "## 2. Cold starts",
    "## 3. Test cost",
    "## 4. Faster Lambda cold starts",
)
NOT_MEASURED = "_Not measured in this run (see `--sections`)._"
TRADE_OFFS = (
    "- **Precompiled bytecode** (the big win): Lambda's task root is read-only, so a plain package compiles "
    "every imported module from source on every cold start. Cost: bytecode is per Python minor version — "
    "the package must be built with the runtime's Python (`ENV=aws` with another local version skips it, "
    "with a note) — and the .pyc files use unchecked-hash invalidation: editing a .py inside the deployed "
    "package would not be seen (a package is immutable, so nothing does). The unzipped package grows by the "
    "bytecode.",
    "- **Unused AWS SDK data stripped**: botocore ships one JSON model per AWS service (hundreds); the "
    "functions call DynamoDB (and SSM for RUNTIME=ECS), credential providers may call STS/SSO/Sign-In. The "
    "rest is removed, which shrinks the ZIP a lot (upload, and on AWS the code download of a cold start). "
    "Cost: calling any other service from the function fails with UnknownServiceError until it is added to "
    "`shopctl.package.BOTO_SERVICES`.",
    "- **A boto3 client, not a resource, in the clean stage's DynamoDB adapter** (all packages): building "
    "`boto3.resource('dynamodb')` and its `Table` objects loads a second model and generates classes — about "
    "40 ms more at init than a client, and a resource must not be shared between FastAPI's threads. Cost: "
    "the adapter translates DynamoDB's typed attributes itself (two small functions); only that file and "
    "bootstrap.py changed.",
    "- **Deferred imports: not applied.** The import-time breakdown shows where the time goes: FastAPI, "
    "pydantic and botocore, all needed by the very first request, and imported by those packages "
    "themselves. Deferring them in the stages' own code would only move the cost into the first request "
    "and change code that is there to be read.",
    "- **SnapStart** (`SNAPSTART=1`, Python 3.12+): Lambda initialises a published version once, snapshots "
    "it, and restores the snapshot instead of running init — so it rewards work done at init (clean's "
    "bootstrap creates its client there) over work done lazily on the first request (the monolith's client). "
    "Cost: state made at init is copied into every restored environment (random seeds, connections, "
    "credentials, timestamps) until an after-restore hook renews it; it works on published versions and "
    "aliases only; on AWS it is charged per snapshot cached and per restore. Measured here on the local "
    "Lambda only (docs/deploy.md says what is not deployed to AWS yet).",
    "- **One image on all three runtimes** (`PACKAGE=image`): the stage's container command behind the Lambda "
    "Web Adapter. The cold start is the server's start until /health answers. Cost: no ZIP-sized upload but "
    "an image to pull on AWS, and the Web Adapter's forwarding on every request. Locally the image is this "
    "machine's virtualenv, whose packages are already compiled to bytecode, as `pip install` in the "
    "Dockerfile leaves them: so it starts like the optimised ZIP, not like the plain one.",
    "- Provisioned concurrency also removes cold starts, for a price, rather than making them cheaper.",
)
MODE_LABELS = {
    "plain": "plain ZIP",
    "optimized": "`OPTIMIZE=1`",
    "snapstart": "`SNAPSTART=1` (restore)",
    "image": "`PACKAGE=image` (Web Adapter)",
}


def _ms(stats: Mapping[str, Any] | None) -> str:
    return "—" if not stats else f"{stats['median']:.0f}"


def _size(package: Mapping[str, Any] | None) -> str:
    """ZIP MB / unzipped MB (an image function has no ZIP)."""
    return "— (image)" if not package else f"{package['zipped_mb']:.1f} / {package['unzipped_mb']:.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _spread(bounds: list[float] | None) -> str:
    """The per-round ratios' lowest and highest, when there were several rounds."""
    return f" ({bounds[0]:.2f} to {bounds[1]:.2f})" if bounds and bounds[0] != bounds[1] else ""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _yes(met: bool | None) -> str:
    return "—" if met is None else ("✓ met" if met else "✗ not met")


def _load(load: list[float | None] | None) -> str:
    if not load or None in load:
        return ""
    return f"; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end (other work slows every figure)"


def _image(path: str, alt: str) -> list[str]:
    return ["", f"![{alt}]({path})", ""]


def _demote(markdown_text: str) -> list[str]:
    """The coupling analysis' own markdown, one heading level down, without its title."""
    lines = markdown_text.splitlines()
    out = []
    for line in lines[1:]:
        out.append("#" + line if line.startswith("#") else line)
    return out


def _over(row: Mapping[str, Any], base: Mapping[str, Any] | None) -> float | None:
    """A row's median cold request over another's (the plain ZIP of the same function)."""
    if not base or not row["cold_request_ms"] or not base["cold_request_ms"]:
        return None
    return round(row["cold_request_ms"]["median"] / base["cold_request_ms"]["median"], 3)


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
                    f"{_ms(r['cold_request_ms'])} ms ({_ratio(r['cold_request_ratio'])}"
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
                    f"{_ms(r['cold_request_ms'])} ms ({_ratio(_over(r, plain.get(r['function'])))})" for r in lam
                )
                or "—"
            )
        for target in ("ecs", "eks"):
            proc = [r for r in (cold or {}).get("process", []) if r["stage"] == stage and r["target"] == target]
            row.append(
                " / ".join(f"{_ms(r['start_to_first_response_ms'])} ms ({_ratio(r['ratio'])})" for r in proc) or "—"
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
        out += _cold_starts(cold, charts)
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
        out += _faster(cold, charts)
    else:
        out += [NOT_MEASURED, ""]
    return "\n".join(out).rstrip() + "\n"


def _cold_starts(cold: Mapping[str, Any], charts: Mapping[str, str]) -> list[str]:
    methods = cold["methods"]
    out = ["### The floor", ""]
    rows = [["bare `python -c pass`", "process", _ms(cold["bare_python_ms"]), "—", "—", "—"]]
    for variant, row in cold["floor"].get("lambda", {}).items():
        restore = row.get("restore_ms")
        rows.append(
            [
                "floor_app on Lambda",
                variant,
                f"restore {_ms(restore)}" if restore else _ms(row["init_ms"]),
                _ms(row["cold_request_ms"]),
                f"{row['warm_p50_ms']:.1f} / {row['warm_p99_ms']:.1f}" if row["warm_p50_ms"] is not None else "—",
                _size(row["package"]),
            ]
        )
    for target, process in cold["floor"].get("process", {}).items():
        rows.append(
            [
                f"floor_app as the {target} container command",
                "process",
                f"healthy {_ms(process['healthy_ms'])}, first response {_ms(process['start_to_first_response_ms'])}",
                _ms(process["first_request_ms"]),
                f"{process['warm_p50_ms']:.1f} / {process['warm_p99_ms']:.1f}" if process["warm_p50_ms"] else "—",
                "—",
            ]
        )
    out += _table(
        ["floor", "variant", "init / start ms", "cold request ms", "warm p50 / p99 ms", "ZIP MB / unzipped"], rows
    )
    out += _method(methods["bare_python"] + " " + methods["floor"])

    out += ["### Lambda", ""]
    if "coldstart" in charts:
        out += _image(charts["coldstart"], "Lambda cold request as a ratio to the floor")
    rows = []
    for r in cold["lambda"]:
        rows.append(
            [
                r["stage"],
                f"`{r['function']}`",
                r["variant"],
                f"{r['cold_starts_seen']}/{r['cold_request_ms']['n'] if r['cold_request_ms'] else 0}",
                _ms(r["init_ms"]),
                _ms(r.get("restore_ms")),
                _ms(r["cold_request_ms"]),
                _ratio(r["cold_request_ratio"])
                + ("" if r["floor_variant"] == r["variant"] else " (plain floor)")
                + _spread(r.get("cold_request_ratio_range")),
                f"{r['warm_p50_ms']:.1f} / {r['warm_p99_ms']:.1f}" if r["warm_p50_ms"] is not None else "—",
                _size(r["package"]),
                "✓" if r["flow_ok"] else f"✗ {r['flow']}",
            ]
        )
    out += _table(
        [
            "stage",
            "function",
            "mode",
            "cold starts seen",
            "init ms",
            "restore ms",
            "cold request ms",
            "x floor (rounds: lowest to highest)",
            "warm p50 / p99 ms",
            "ZIP MB / unzipped",
            "talk's flow",
        ],
        rows,
    )
    out += _method(methods["lambda"])

    if cold["process"]:
        out += ["### ECS, EKS and local processes", ""]
        if "process" in charts:
            out += _image(charts["process"], "container start as a ratio to the floor")
        rows = [
            [
                r["stage"],
                r["service"],
                r["target"],
                _ms(r["healthy_ms"]),
                _ms(r["first_request_ms"]),
                _ms(r["start_to_first_response_ms"]),
                _ratio(r["ratio"]),
                f"{r['warm_p50_ms']:.1f} / {r['warm_p99_ms']:.1f}" if r["warm_p50_ms"] is not None else "—",
            ]
            for r in cold["process"]
        ]
        out += _table(
            [
                "stage",
                "service",
                "target",
                "start → healthy ms",
                "first request ms",
                "start → first response ms",
                "x floor",
                "warm p50 / p99 ms",
            ],
            rows,
        )
        out += _method(methods["process"])

    if cold.get("importtime"):
        out += ["### Where the import time goes (plain package)", ""]
        rows = []
        for label, item in cold["importtime"].items():
            top = ", ".join(
                f"{t['package']}{' (stdlib)' if t['stdlib'] else ''} {t['self_ms']:.0f} ms ({t['share'] * 100:.0f} %)"
                for t in item["top"]
            )
            rows.append([label, f"`{item['module']}`", f"{item['total_ms']:.0f}", top])
        out += _table(["handler of", "module", "total ms", "top contributors (self time)"], rows)
        out += _method(methods["importtime"])
    return out


def _modes(cold: Mapping[str, Any], charts: Mapping[str, str]) -> list[str]:
    """The four Lambda modes side by side, per stage (when more than one mode was measured)."""
    table = cold.get("lambda_modes") or {}
    if len({r["variant"] for r in cold["lambda"]}) < 2 or not table:
        return []
    out = ["### Four Lambda modes side by side", ""]
    if "modes" in charts:
        out += _image(charts["modes"], "Lambda cold request per mode as a ratio to the plain ZIP")
    rows = mode_rows(table)
    out += _table(MODES_HEADER, rows)
    out += _method(cold["methods"].get("modes", "see the Lambda method above."))
    return out


MODES_HEADER = [
    "function", "mode", "init / restore ms", "cold request ms", "x plain ZIP", "x floor (same mode)", "warm p50",
]  # fmt: skip


def mode_rows(table: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """One row per function and mode (report.json's `lambda_modes`), as the report and notebook 05 show it."""
    rows = []
    for label, modes in table.items():
        for mode, figures in modes.items():
            restore = figures.get("restore_ms")
            rows.append(
                [
                    f"**{label}**",
                    MODE_LABELS.get(mode, mode),
                    f"restore {restore:.0f}" if restore is not None else _number(figures["init_ms"]),
                    _number(figures["cold_request_ms"]),
                    _ratio(figures["x_plain_zip"]),
                    _ratio(figures["x_floor"])
                    + ("" if figures["floor_mode"] in (None, mode) else f" ({figures['floor_mode']} floor)"),
                    _number(figures["warm_p50_ms"], 1),
                ]
            )
    return rows


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _faster(cold: Mapping[str, Any], charts: Mapping[str, str] | None = None) -> list[str]:
    charts = charts or {}
    goals = cold["goals"]
    out = ["### Goals, as ratios measured in this run", ""]
    rows = [
        [
            f"`{g['function']}` cold request ≤ {goals['floor_ratio_limit']:.2f} x floor (plain)",
            _ratio(g["ratio"]),
            _yes(g["met"]),
        ]
        for g in goals["floor"]
    ]
    versus = goals.get("clean_vs_monolith")
    rows.append(
        [
            f"clean ≤ {goals['clean_vs_monolith_limit']:.2f} x monolith (cold request, plain)",
            _ratio(versus["ratio"]) if versus else "— (both stages not measured)",
            _yes(versus["met"]) if versus else "—",
        ]
    )
    rows += [
        [
            f"`{g['function']}` optimised cold request ≥ {goals['optimized_gain_goal'] * 100:.0f} % lower than plain",
            f"{_pct(g['cold_request_gain'])} lower",
            _yes(g["met"]),
        ]
        for g in goals["optimized"]
    ]
    rows += [
        [
            f"`{g['function']}` SnapStart cold request (the restore) ≤ {goals['snapstart_limit']:.2f} x the plain "
            "ZIP's",
            _ratio(g["ratio"])
            + (f" (Restore Duration alone: {_ratio(g['restore_ratio'])})" if g.get("restore_ratio") else ""),
            _yes(g["met"]),
        ]
        for g in goals.get("snapstart", [])
    ]
    rows += [
        [
            f"`{g['function']}` image (Web Adapter) cold request ≤ {goals['image_limit']:.2f} x the plain ZIP's",
            _ratio(g["ratio"]),
            _yes(g["met"]),
        ]
        for g in goals.get("image", [])
    ]
    out += _table(["goal", "this run", "verdict"], rows)
    out += [
        "",
        "_Reported, never asserted: the tests only check that the figures are well-formed. The floor already pays "
        "for compiling FastAPI, pydantic and botocore, so a stage close to 1.0x has nothing of its own to lose._",
        "",
    ]
    out += _modes(cold, charts)
    out += [
        "### Plain vs optimised package (`make deploy TARGET=lambda OPTIMIZE=1`)",
        "",
    ]
    plain = {r["function"]: r for r in cold["lambda"] if r["variant"] == "plain"}
    rows = []
    floor = cold["floor"].get("lambda", {})
    pairs = [("floor", floor.get("plain"), floor.get("optimized"))]
    pairs += [
        (f, plain.get(f), r) for f, r in ((r["function"], r) for r in cold["lambda"] if r["variant"] == "optimized")
    ]
    for name, before, after in pairs:
        if not before or not after:
            continue
        rows.append(
            [
                f"`{name}`",
                f"{_ms(before['init_ms'])} → {_ms(after['init_ms'])}",
                f"{_ms(before['cold_request_ms'])} → {_ms(after['cold_request_ms'])}",
                _pct(1 - after["cold_request_ms"]["median"] / before["cold_request_ms"]["median"]),
                f"{before['package']['zipped_mb']:.1f} → {after['package']['zipped_mb']:.1f}",
                f"{before['package']['unzipped_mb']:.1f} → {after['package']['unzipped_mb']:.1f}",
                f"{before['package']['files']} → {after['package']['files']}",
            ]
        )
    out += _table(
        ["function", "init ms", "cold request ms", "cold request lower by", "ZIP MB", "unzipped MB", "files"], rows
    )
    out += ["", "Trade-offs:", "", *TRADE_OFFS, ""]
    return out
