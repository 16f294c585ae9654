"""`make compare`'s results as typed values with plain attribute access — what the notebooks and report.md
show. report.json keeps the measured dicts; these are read from them, so an old report still reads.

    analysis = coupling.analysis()                 # Coupling: .stages["clean"].lines, .changes[0].title
    analysis.stages["clean"].components            # [Component]: .ca, .ce, .instability; .modules: [ModuleFacts]
    lambda_cold_starts(report["coldstart"])        # [ColdStart]: .cold_request.median, .x_floor.text()
    findings(report["coldstart"])                  # the sentences this run's numbers support

A ratio carries one denominator, named in its unit: "x floor in the same mode" is per round, to the floor
deployed the same way; "x this function's plain ZIP" is to its own plain ZIP. A figure of N rounds carries
its spread, and two figures whose medians differ by less than their spread are within noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from shopctl.compare.figures import Figure, compared, ratio_figure, scaled, versus_floor, within_noise

FLOOR_SAME_MODE = "x floor in the same mode"
PLAIN_ZIP = "x this function's plain ZIP"
FLOOR_SAME_TARGET = "x floor on the same target"
MODE_NAMES = {
    "plain": "plain ZIP",
    "optimized": "OPTIMIZE=1",
    "snapstart": "SNAPSTART=1 (restore)",
    "image": "PACKAGE=image (Web Adapter)",
}


# --- coupling ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DependencyRule:
    status: str  # "kept", "broken", or "n/a" where a stage declares no layers
    detail: str
    contracts: dict[str, str]


@dataclass(frozen=True)
class ModuleFacts:
    """One module: its code lines and what it knows about AWS and the runtime."""

    path: str
    lines: int
    aws_sdk: list[str]
    dynamodb_lines: int
    reads_environment: bool
    mentions_runtime: bool
    config_location: list[str]


@dataclass(frozen=True)
class Component:
    """A top-level subpackage or module, in the import graph: Ca, Ce, I = Ce / (Ca + Ce)."""

    component: str
    lines: int
    ca: int
    ce: int
    instability: float | None  # None: isolated
    imported_by: list[str]
    imports: list[str]
    third_party: list[str]


@dataclass(frozen=True)
class StageCoupling:
    """One stage's size and where its code knows about AWS and the runtime (module paths)."""

    name: str
    files: int
    lines: int
    aws_sdk_modules: list[str]
    dynamodb_modules: list[str]
    environment_modules: list[str]
    runtime_modules: list[str]
    config_location_modules: list[str]
    dependency_rule: DependencyRule
    modules: list[ModuleFacts] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)


@dataclass(frozen=True)
class FileImpact:
    """One file's part of a change: new or edited, its lines, where (units), the definitions opened."""

    path: str
    change: str  # "new" or "edited"
    lines: int
    units: list[str]
    edited_definitions: list[str]


@dataclass(frozen=True)
class ChangeInStage:
    """What one change costs one stage."""

    summary: str
    files: int  # new + edited
    lines: int
    added_definitions: int
    edited_definitions: int  # existing functions or classes opened up
    changed_files: list[FileImpact] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    key: str
    title: str
    method: str
    stages: dict[str, ChangeInStage]


T = TypeVar("T")


def _typed(cls: type[T], measured: Mapping[str, Any]) -> T:
    """A dataclass from the measured dict's keys of the same names (the dict may hold more)."""
    return cls(**{f.name: measured[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Coupling:
    stages: dict[str, StageCoupling]
    changes: list[Change]
    methods: dict[str, str]
    raw: dict[str, Any]  # coupling.analyse()'s dict, for code that still takes it

    @classmethod
    def of(cls, result: Mapping[str, Any]) -> Coupling:
        stages = {
            name: StageCoupling(
                name,
                s["files"],
                s["lines"],
                list(s["aws_sdk_modules"]),
                list(s["dynamodb_modules"]),
                list(s["environment_modules"]),
                list(s["runtime_modules"]),
                list(s["config_location_modules"]),
                DependencyRule(**s["dependency_rule"]),
                [_typed(ModuleFacts, m) for m in s.get("modules", [])],
                [_typed(Component, c) for c in s.get("components", [])],
            )
            for name, s in result["stages"].items()
        }
        changes = [
            Change(
                key,
                change["title"],
                change["method"],
                {
                    name: ChangeInStage(
                        c["summary"],
                        c["new_files"] + c["edited_files"],
                        c["lines"],
                        c["added_definitions"],
                        c["edited_definitions"],
                        [_typed(FileImpact, f) for f in c.get("files", [])],
                    )
                    for name, c in change["stages"].items()
                },
            )
            for key, change in result["impact"].items()
        ]
        return cls(stages, changes, dict(result["methods"]), dict(result))


# --- cold starts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdStart:
    """One Lambda function in one mode: its figures over the rounds, and its two ratios."""

    label: str  # "floor", "clean", "microservices/users"
    function: str
    mode: str
    cold_request: Figure  # ms: what the client waited for (init or restore included)
    init: Figure | None
    restore: Figure | None  # SnapStart only
    x_floor: Figure | None  # per round, to the floor in the same mode (None: the floor was not measured so)
    x_plain_zip: Figure | None  # to this function's plain ZIP median
    warm_p50_ms: float | None

    @property
    def stage(self) -> str:
        return self.label.split("/")[0]


def _label(row: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> str:
    functions = {r["function"] for r in rows if r["stage"] == row["stage"]}
    return row["stage"] if len(functions) == 1 else f"{row['stage']}/{row['service']}"


def lambda_cold_starts(cold: Mapping[str, Any]) -> list[ColdStart]:
    """The floor's functions first, then every stage's, in the order they were measured."""
    floor = cold.get("floor", {}).get("lambda", {})
    rows = cold.get("lambda", [])
    out = []
    plain_floor = floor.get("plain", {}).get("cold_request_ms")
    for mode, row in floor.items():
        out.append(
            ColdStart(
                "floor",
                row.get("function", "shop-floor"),
                mode,
                Figure.of(row["cold_request_ms"]),
                Figure.of(row.get("init_ms")),
                Figure.of(row.get("restore_ms")),
                None,
                scaled(row["cold_request_ms"], plain_floor, PLAIN_ZIP),
                row.get("warm_p50_ms"),
            )
        )
    plain = {r["function"]: r["cold_request_ms"] for r in rows if r["variant"] == "plain"}
    for row in rows:
        same_mode = floor.get(row["variant"], {}).get("cold_request_ms")
        out.append(
            ColdStart(
                _label(row, rows),
                row["function"],
                row["variant"],
                Figure.of(row["cold_request_ms"]),
                Figure.of(row.get("init_ms")),
                Figure.of(row.get("restore_ms")),
                ratio_figure(row["cold_request_ms"], same_mode, FLOOR_SAME_MODE) if same_mode else None,
                scaled(row["cold_request_ms"], plain.get(row["function"]), PLAIN_ZIP),
                row.get("warm_p50_ms"),
            )
        )
    return out


@dataclass(frozen=True)
class ContainerStart:
    """One service's container command on one target: process start → first response."""

    stage: str
    service: str
    target: str
    start_to_first_response: Figure  # ms
    healthy: Figure  # ms
    x_floor: Figure | None  # per round, to floor_app as the same command on the same target


def container_starts(cold: Mapping[str, Any]) -> list[ContainerStart]:
    floors = cold.get("floor", {}).get("process", {})
    return [
        ContainerStart(
            r["stage"],
            r["service"],
            r["target"],
            Figure.of(r["start_to_first_response_ms"]),
            Figure.of(r["healthy_ms"]),
            ratio_figure(
                r["start_to_first_response_ms"],
                floors.get(r["target"], {}).get("start_to_first_response_ms"),
                FLOOR_SAME_TARGET,
            ),
        )
        for r in cold.get("process", [])
    ]


def findings(cold: Mapping[str, Any]) -> list[str]:
    """What this run's figures support, one sentence each, generated from the numbers: each stage against the
    floor, the stages against each other, each mode against the plain ZIP. A difference smaller than the
    spread across rounds is called within noise and not ranked."""
    starts = [s for s in lambda_cold_starts(cold) if s.label != "floor"]
    out = []
    for mode in dict.fromkeys(s.mode for s in starts):
        in_mode = [s for s in starts if s.mode == mode and s.x_floor is not None]
        name = MODE_NAMES.get(mode, mode)
        out += [f"{name}, " + versus_floor(s.label, s.x_floor) + "." for s in in_mode if s.x_floor]
        sentence = compared({s.label: s.x_floor for s in in_mode if s.x_floor}, f"{name}, the stages side by side")
        if sentence:
            out.append(sentence)
    by_function = {(s.function, s.mode): s for s in starts}
    for s in starts:
        plain = by_function.get((s.function, "plain"))
        if s.mode == "plain" or plain is None:
            continue
        same = within_noise(s.cold_request, plain.cold_request)
        mode = MODE_NAMES.get(s.mode, s.mode)
        versus = f"{s.label}, {mode}: {s.cold_request.text()} against the plain ZIP's {plain.cold_request.text()}"
        if same is None:
            out.append(versus + ": one round each, no spread to judge the difference by.")
        elif same:
            out.append(versus + ": within noise.")
        else:
            lower = "lower" if s.cold_request.median < plain.cold_request.median else "higher"
            ratio = f", {s.x_plain_zip.median:.2f} {PLAIN_ZIP}" if s.x_plain_zip else ""
            out.append(versus + f": {lower} in every round{ratio}.")
    for target in dict.fromkeys(c.target for c in container_starts(cold)):
        named = {f"{c.stage}/{c.service}": c.x_floor for c in container_starts(cold) if c.target == target}
        sentence = compared({k: v for k, v in named.items() if v}, f"{target}, start → first response")
        if sentence:
            out.append(sentence)
    return out


# --- test cost --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierCost:
    """One test tier of one stage, run and timed."""

    stage: str
    tier: str
    tests: int
    failed: int
    wall_s: float
    per_test_ms: float | None
    needs_emulator: bool
    tests_with_emulator: int


def tier_costs(tests: Mapping[str, Any]) -> list[TierCost]:
    return [
        TierCost(
            t["stage"],
            t["tier"],
            t["tests"],
            t["failed"],
            t["wall_s"],
            t["per_test_ms"],
            t["needs_emulator"],
            t["tests_with_emulator"],
        )
        for t in tests.get("tiers", [])
    ]


# --- a whole report ----------------------------------------------------------------------------------------------
