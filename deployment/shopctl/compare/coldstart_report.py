"""report.md's cold-start sections: the floor, Lambda, the containers and the import times (section 2), and
the four Lambda modes with the optimised package's trade-offs (section 4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopctl.compare.tables import image as _image
from shopctl.compare.tables import method as _method
from shopctl.compare.tables import table as _table

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
    "`shopctl.targets.package.BOTO_SERVICES`.",
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


def fmt_ms(stats: Mapping[str, Any] | None) -> str:
    return "—" if not stats else f"{stats['median']:.0f}"


def _size(package: Mapping[str, Any] | None) -> str:
    """ZIP MB / unzipped MB (an image function has no ZIP)."""
    return "— (image)" if not package else f"{package['zipped_mb']:.1f} / {package['unzipped_mb']:.1f}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _spread(bounds: list[float] | None) -> str:
    """The per-round ratios' lowest and highest, when there were several rounds."""
    return f" ({bounds[0]:.2f} to {bounds[1]:.2f})" if bounds and bounds[0] != bounds[1] else ""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _yes(met: bool | None) -> str:
    return "—" if met is None else ("✓ met" if met else "✗ not met")



def over_plain(row: Mapping[str, Any], base: Mapping[str, Any] | None) -> float | None:
    """A row's median cold request over another's (the plain ZIP of the same function)."""
    if not base or not row["cold_request_ms"] or not base["cold_request_ms"]:
        return None
    return round(row["cold_request_ms"]["median"] / base["cold_request_ms"]["median"], 3)


def cold_starts_section(cold: Mapping[str, Any], charts: Mapping[str, str]) -> list[str]:
    methods = cold["methods"]
    out = ["### The floor", ""]
    rows = [["bare `python -c pass`", "process", fmt_ms(cold["bare_python_ms"]), "—", "—", "—"]]
    for variant, row in cold["floor"].get("lambda", {}).items():
        restore = row.get("restore_ms")
        rows.append(
            [
                "floor_app on Lambda",
                variant,
                f"restore {fmt_ms(restore)}" if restore else fmt_ms(row["init_ms"]),
                fmt_ms(row["cold_request_ms"]),
                f"{row['warm_p50_ms']:.1f} / {row['warm_p99_ms']:.1f}" if row["warm_p50_ms"] is not None else "—",
                _size(row["package"]),
            ]
        )
    for target, process in cold["floor"].get("process", {}).items():
        rows.append(
            [
                f"floor_app as the {target} container command",
                "process",
                f"healthy {fmt_ms(process['healthy_ms'])}, "
                f"first response {fmt_ms(process['start_to_first_response_ms'])}",
                fmt_ms(process["first_request_ms"]),
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
                fmt_ms(r["init_ms"]),
                fmt_ms(r.get("restore_ms")),
                fmt_ms(r["cold_request_ms"]),
                fmt_ratio(r["cold_request_ratio"])
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
                fmt_ms(r["healthy_ms"]),
                fmt_ms(r["first_request_ms"]),
                fmt_ms(r["start_to_first_response_ms"]),
                fmt_ratio(r["ratio"]),
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
                    fmt_ratio(figures["x_plain_zip"]),
                    fmt_ratio(figures["x_floor"])
                    + ("" if figures["floor_mode"] in (None, mode) else f" ({figures['floor_mode']} floor)"),
                    _number(figures["warm_p50_ms"], 1),
                ]
            )
    return rows


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def faster_section(cold: Mapping[str, Any], charts: Mapping[str, str] | None = None) -> list[str]:
    charts = charts or {}
    goals = cold["goals"]
    out = ["### Goals, as ratios measured in this run", ""]
    rows = [
        [
            f"`{g['function']}` cold request ≤ {goals['floor_ratio_limit']:.2f} x floor (plain)",
            fmt_ratio(g["ratio"]),
            _yes(g["met"]),
        ]
        for g in goals["floor"]
    ]
    versus = goals.get("clean_vs_monolith")
    rows.append(
        [
            f"clean ≤ {goals['clean_vs_monolith_limit']:.2f} x monolith (cold request, plain)",
            fmt_ratio(versus["ratio"]) if versus else "— (both stages not measured)",
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
            fmt_ratio(g["ratio"])
            + (f" (Restore Duration alone: {fmt_ratio(g['restore_ratio'])})" if g.get("restore_ratio") else ""),
            _yes(g["met"]),
        ]
        for g in goals.get("snapstart", [])
    ]
    rows += [
        [
            f"`{g['function']}` image (Web Adapter) cold request ≤ {goals['image_limit']:.2f} x the plain ZIP's",
            fmt_ratio(g["ratio"]),
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
                f"{fmt_ms(before['init_ms'])} → {fmt_ms(after['init_ms'])}",
                f"{fmt_ms(before['cold_request_ms'])} → {fmt_ms(after['cold_request_ms'])}",
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
