"""report.md's cold-start sections: the floor, Lambda, the containers and the import times (section 2); the
four Lambda modes with the optimised package's trade-offs (section 4); the maintainers' goals (last).

Every figure is shown with its spread across the rounds, every ratio with its one denominator in its column
header, and the sentences under the tables are generated from the figures (shopctl.compare.results)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopctl.compare import results
from shopctl.compare.figures import Figure
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


def _size(package: Mapping[str, Any] | None) -> str:
    """ZIP MB / unzipped MB (an image function has no ZIP)."""
    return "— (image)" if not package else f"{package['zipped_mb']:.1f} / {package['unzipped_mb']:.1f}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _yes(met: bool | None) -> str:
    return "—" if met is None else ("✓ met" if met else "✗ not met")



def spread(figure: Figure | None) -> str:
    """A table cell: the median and, over several rounds, the lowest and highest ('812 (780 to 850)')."""
    if figure is None:
        return "—"
    digits = 0 if figure.unit == "ms" else 2
    suffix = "" if figure.unit == "ms" else "x"
    median = f"{figure.median:.{digits}f}{suffix}"
    if figure.n < 2:
        return median
    return f"{median} ({figure.low:.{digits}f} to {figure.high:.{digits}f})"


def findings_lines(cold: Mapping[str, Any]) -> list[str]:
    """The sentences this run's figures support, as a list under its own heading."""
    lines = results.findings(cold)
    if not lines:
        return []
    return [
        "#### What this run's figures support",
        "",
        "_Generated from the figures above: a difference smaller than the spread across the rounds (lowest to "
        "highest) is within noise and not ranked._",
        "",
        *(f"- {line}" for line in lines),
        "",
    ]


def cold_starts_section(cold: Mapping[str, Any], charts: Mapping[str, str]) -> list[str]:
    methods = cold["methods"]
    out = ["### The floor", ""]
    bare = Figure.of(cold["bare_python_ms"])
    rows = [["bare `python -c pass`", "process", spread(bare), "—", "—", "—"]]
    for start in results.lambda_cold_starts(cold):
        if start.label != "floor":
            continue
        row = cold["floor"]["lambda"][start.mode]
        rows.append(
            [
                "floor_app on Lambda",
                start.mode,
                f"restore {spread(start.restore)}" if start.restore else spread(start.init),
                spread(start.cold_request),
                f"{row['warm_p50_ms']:.1f} / {row['warm_p99_ms']:.1f}" if row["warm_p50_ms"] is not None else "—",
                _size(row["package"]),
            ]
        )
    for target, process in cold["floor"].get("process", {}).items():
        rows.append(
            [
                f"floor_app as the {target} container command",
                "process",
                f"healthy {spread(Figure.of(process['healthy_ms']))}, "
                f"first response {spread(Figure.of(process['start_to_first_response_ms']))}",
                spread(Figure.of(process["first_request_ms"])),
                f"{process['warm_p50_ms']:.1f} / {process['warm_p99_ms']:.1f}" if process["warm_p50_ms"] else "—",
                "—",
            ]
        )
    out += _table(
        [
            "floor",
            "mode",
            "init / start ms (lowest to highest)",
            "cold request ms (lowest to highest)",
            "warm p50 / p99 ms",
            "ZIP MB / unzipped",
        ],
        rows,
    )
    out += _method(methods["bare_python"] + " " + methods["floor"])

    out += ["### Lambda", ""]
    if "coldstart" in charts:
        out += _image(charts["coldstart"], "Lambda cold request per function, median and spread, in ms")
    starts = {(s.function, s.mode): s for s in results.lambda_cold_starts(cold) if s.label != "floor"}
    rows = []
    for r in cold["lambda"]:
        start = starts[(r["function"], r["variant"])]
        rows.append(
            [
                r["stage"],
                f"`{r['function']}`",
                r["variant"],
                f"{r['cold_starts_seen']}/{r['cold_request_ms']['n'] if r['cold_request_ms'] else 0}",
                spread(start.init),
                spread(start.restore),
                spread(start.cold_request),
                spread(start.x_floor) if start.x_floor else "— (no floor in this mode)",
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
            "cold request ms (lowest to highest)",
            f"{results.FLOOR_SAME_MODE}, per round (lowest to highest)",
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
            out += _image(charts["process"], "container start as a ratio to the floor on the same target")
        rows = []
        for r, start in zip(cold["process"], results.container_starts(cold), strict=True):
            rows.append(
                [
                    r["stage"],
                    r["service"],
                    r["target"],
                    spread(start.healthy),
                    spread(Figure.of(r["first_request_ms"])),
                    spread(start.start_to_first_response),
                    spread(start.x_floor) if start.x_floor else "—",
                    f"{r['warm_p50_ms']:.1f} / {r['warm_p99_ms']:.1f}" if r["warm_p50_ms"] is not None else "—",
                ]
            )
        out += _table(
            [
                "stage",
                "service",
                "target",
                "start → healthy ms",
                "first request ms",
                "start → first response ms (lowest to highest)",
                f"{results.FLOOR_SAME_TARGET}, per round",
                "warm p50 / p99 ms",
            ],
            rows,
        )
        out += _method(methods["process"])
    out += findings_lines(cold)

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
    if len({r["variant"] for r in cold["lambda"]}) < 2:
        return []
    out = ["### Four Lambda modes side by side", ""]
    if "modes" in charts:
        out += _image(charts["modes"], "Lambda cold request per mode as a ratio to the same function's plain ZIP")
    out += _table(MODES_HEADER, mode_rows(results.lambda_cold_starts(cold)))
    out += _method(cold["methods"].get("modes", "see the Lambda method above."))
    return out


MODES_HEADER = [
    "function",
    "mode",
    "init / restore ms",
    "cold request ms (lowest to highest)",
    results.PLAIN_ZIP,
    f"{results.FLOOR_SAME_MODE}, per round",
    "warm p50 ms",
]


def mode_rows(starts: list[results.ColdStart]) -> list[list[str]]:
    """One row per function and mode, the floor first, as the report and notebook 05 show them."""
    rows = []
    for label in dict.fromkeys(s.label for s in starts):
        for start in (s for s in starts if s.label == label):
            rows.append(
                [
                    f"**{label}**",
                    MODE_LABELS.get(start.mode, start.mode),
                    f"restore {start.restore.median:.0f}" if start.restore else _number(_median(start.init)),
                    spread(start.cold_request),
                    fmt_ratio(start.x_plain_zip.median if start.x_plain_zip else None),
                    "1.00x (the floor)" if label == "floor" else spread(start.x_floor) if start.x_floor else "—",
                    _number(start.warm_p50_ms, 1),
                ]
            )
    return rows


def _median(figure: Figure | None) -> float | None:
    return figure.median if figure else None


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def faster_section(cold: Mapping[str, Any], charts: Mapping[str, str] | None = None) -> list[str]:
    """Section 4: the modes side by side, then the plain and the optimised package file by file."""
    out = _modes(cold, charts or {})
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
                f"{spread(Figure.of(before['init_ms']))} → {spread(Figure.of(after['init_ms']))}",
                f"{spread(Figure.of(before['cold_request_ms']))} → {spread(Figure.of(after['cold_request_ms']))}",
                _pct(1 - after["cold_request_ms"]["median"] / before["cold_request_ms"]["median"]),
                f"{before['package']['zipped_mb']:.1f} → {after['package']['zipped_mb']:.1f}",
                f"{before['package']['unzipped_mb']:.1f} → {after['package']['unzipped_mb']:.1f}",
                f"{before['package']['files']} → {after['package']['files']}",
            ]
        )
    if not rows:  # MODES without plain and optimized: nothing to set side by side
        return [*out, "_Not measured in this run (see `--modes`)._", "", "Trade-offs:", "", *TRADE_OFFS, ""]
    out += _table(
        [
            "function",
            "init ms (lowest to highest)",
            "cold request ms (lowest to highest)",
            "median cold request lower by",
            "ZIP MB",
            "unzipped MB",
            "files",
        ],
        rows,
    )
    out += ["", "Trade-offs:", "", *TRADE_OFFS, ""]
    return out


GOAL_REASONS = {
    "floor": "the architecture should add little to what FastAPI, Mangum and boto3 cost anyway",
    "clean_vs_monolith": "ports and adapters should not make a cold start slower than the monolith's",
    "optimized": "precompiled bytecode and a trimmed SDK should pay for the package's extra build step",
    "snapstart": "a restore should cost a small part of a full init, or SnapStart's caveats are not worth it",
    "image": "one image for Lambda, ECS and EKS should not cost much more at a cold start than the ZIP",
}


def maintainers_section(cold: Mapping[str, Any]) -> list[str]:
    """The maintainers' performance goals, each with the one sentence saying why it is there. Reported, never
    asserted, and kept out of the learner's charts: one run's verdict moves with the machine's noise."""
    goals = cold["goals"]
    out = [
        "_The targets this workshop's maintainers watch to keep the stages' cold starts honest. A verdict here "
        "is one run's: when the figure's spread across rounds (section 2) crosses the limit, it is noise, not a "
        "regression._",
        "",
    ]
    rows = [
        [
            f"`{g['function']}` cold request ≤ {goals['floor_ratio_limit']:.2f} x floor (plain)",
            fmt_ratio(g["ratio"]),
            _yes(g["met"]),
            GOAL_REASONS["floor"],
        ]
        for g in goals["floor"]
    ]
    versus = goals.get("clean_vs_monolith")
    rows.append(
        [
            f"clean ≤ {goals['clean_vs_monolith_limit']:.2f} x monolith (cold request, plain)",
            fmt_ratio(versus["ratio"]) if versus else "— (both stages not measured)",
            _yes(versus["met"]) if versus else "—",
            GOAL_REASONS["clean_vs_monolith"],
        ]
    )
    rows += [
        [
            f"`{g['function']}` optimised cold request ≥ {goals['optimized_gain_goal'] * 100:.0f} % lower than plain",
            f"{_pct(g['cold_request_gain'])} lower",
            _yes(g["met"]),
            GOAL_REASONS["optimized"],
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
            GOAL_REASONS["snapstart"],
        ]
        for g in goals.get("snapstart", [])
    ]
    rows += [
        [
            f"`{g['function']}` image (Web Adapter) cold request ≤ {goals['image_limit']:.2f} x the plain ZIP's",
            fmt_ratio(g["ratio"]),
            _yes(g["met"]),
            GOAL_REASONS["image"],
        ]
        for g in goals.get("image", [])
    ]
    out += _table(["goal", "this run", "verdict", "why it is a goal"], rows)
    return [*out, ""]
