"""Change impact, computed: for a given change, which files of each stage must change, and how many lines.

Four changes, the ones the talk argued about:

1. move from Lambda to ECS config   — the code that exists *for* ECS (SSM Parameter Store)
2. add EKS config                   — the code that exists *for* EKS (a mounted ConfigMap file)
3. swap DynamoDB for another database
4. add a third entity (shipping)

Each answer is derived from the code facts (markers.py over source.py's modules, grimp's graph), and
says so in its `method`. A file's units tell *how* it changes: a branch inside an existing function is
an edit to code that other features share; a whole definition (class/function) is self-contained code
that could sit in a file of its own; a new file is new.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from shopctl.compare.markers import (
    RUNTIME_NAMES,
    SQLITE,
    compares_to_runtime,
    dynamodb_lines,
    entity_lines,
    identifier_parts,
    runtime_lines,
)
from shopctl.compare.source import SourceModule, Unit, top_level_definitions, unit_for

TEMPLATE_ENTITY = "orders"

CHANGES: dict[str, dict[str, str]] = {
    "lambda_to_ecs": {
        "title": "Move from Lambda to ECS config",
        "method": "Every stage here already runs on all three runtimes, so the switch itself is RUNTIME=ECS "
        "everywhere. Measured instead: the code a stage contains *for* ECS, i.e. what moving a Lambda-only "
        'version to ECS had to add. That is every `if … == "ECS"` branch (from the if to the end of its body), '
        "every top-level class/function that names SSM/ECS and holds no runtime branch (whole), and any other "
        "code line naming ECS or SSM (imports, constants, the list of runtimes in an error message).",
    },
    "add_eks": {
        "title": "Add EKS config",
        "method": 'As for ECS, with EKS\'s markers: `== "EKS"` branches, definitions naming CONFIG_FILE/EKS '
        "(whole), other code lines naming EKS, CONFIG_FILE or config.json.",
    },
    "swap_database": {
        "title": "Swap DynamoDB for another database",
        "method": "Where the stage has a second, working repository adapter (a module importing sqlite3), "
        "the change is measured from it: that module is the new file, and the edited files are the modules "
        "importing it (grimp) or naming sqlite, counted in the code lines that name sqlite. Otherwise: every "
        "module using DynamoDB's API or wire format (put_item, ExclusiveStartKey, {'S': …}), and in it every "
        "top-level function/class using it, whole (it would be rewritten), plus other such lines.",
    },
    "add_entity": {
        "title": "Add a third entity (shipping)",
        "method": f"An estimate modelled on the existing entity `{TEMPLATE_ENTITY}`: a module whose code names "
        "it (an identifier part order/orders, or the word in a string literal; comments and docstrings "
        "excluded) needs the same for shipping. A top-level function/class named after it (save_order, "
        "OrderRepository) is copied whole (definitions added); elsewhere the lines naming it get a sibling "
        "(edits in shared code such as create_app or bootstrap). A package named after the entity "
        "(orders_service) is copied: all its files are new. Deployment code (tables, IAM, manifests) and "
        "tests are not counted.",
    },
}


def _count(items: Any, noun: str) -> str:
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}"


def _lines(units: Iterable[Unit]) -> frozenset[int]:
    return frozenset().union(*(u.lines for u in units))


def _file(module: SourceModule, change: str, units: Iterable[Unit]) -> dict[str, Any]:
    """One file's part of a change. Existing definitions edited: the top-level functions/classes that
    contain a changed line which is not new code (a branch added inside, a line edited, a rewrite)."""
    units = list(units)
    edited = _lines(u for u in units if not u.added)
    touched = [unit_for(node, module) for node in top_level_definitions(module)]
    return {
        "path": module.path.as_posix(),
        "change": change,
        "lines": len(_lines(units)),
        "units": [f"{u.describe()} ({_count(u.lines, 'line')})" for u in units],
        "added_definitions": sum(1 for u in units if u.added and u.kind in ("class", "function")),
        "edited_definitions": [d.name for d in touched if d.lines & edited],
    }


def _summary(files: list[dict[str, Any]]) -> dict[str, Any]:
    new = [f for f in files if f["change"] == "new"]
    edited = [f for f in files if f["change"] == "edited"]
    parts = []
    if new:
        parts.append(f"{_count(new, 'new file')} ({sum(f['lines'] for f in new)} lines)")
    if edited:
        parts.append(f"{sum(f['lines'] for f in edited)} lines in {_count(edited, 'edited file')}")
    return {
        "files": files,
        "new_files": len(new),
        "edited_files": len(edited),
        "lines": sum(f["lines"] for f in files),
        "added_definitions": sum(f["added_definitions"] for f in files),
        "edited_definitions": sum(len(f["edited_definitions"]) for f in files),
        "summary": " + ".join(parts) or "nothing to change",
    }


# --- 1 and 2: a runtime's configuration ----------------------------------------------------------------


def _owners(tree: ast.Module) -> dict[int, str]:
    """id(node) -> the name of the function it is in ("module" at top level)."""
    owners: dict[int, str] = {}

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            owners[id(child)] = owner
            visit(child, name)

    visit(tree, "module")
    return owners


def runtime_units(module: SourceModule, runtime: str) -> list[Unit]:
    owners = _owners(module.tree)
    units = [
        Unit(
            "branch",
            f'RUNTIME == "{runtime}" in {owners[id(node)]}()',
            frozenset(range(node.lineno, (node.body[-1].end_lineno or node.lineno) + 1)) & module.code_lines,
        )
        for node in ast.walk(module.tree)
        if isinstance(node, ast.If) and compares_to_runtime(node.test, (runtime,))
    ]
    marked = runtime_lines(module, runtime)
    for node in top_level_definitions(module):
        has_branch = any(isinstance(n, ast.If) and compares_to_runtime(n.test) for n in ast.walk(node))
        unit = unit_for(node, module, added=True)  # a definition that exists only for this runtime
        if not has_branch and unit.lines & marked:
            units.append(unit)
    rest = frozenset(marked - _lines(units))
    if rest:
        units.append(Unit("statement", f"{_count(rest, 'other line')} naming {runtime}", rest))
    return units


def runtime_change(modules: list[SourceModule], runtime: str) -> dict[str, Any]:
    if runtime not in RUNTIME_NAMES:
        raise ValueError(runtime)
    files = []
    for module in modules:
        units = runtime_units(module, runtime)
        if units:
            files.append(_file(module, "edited", units))
    return _summary(files)


# --- 3: another database -------------------------------------------------------------------------------


def database_swap(modules: list[SourceModule], graph: Mapping[str, list[str]]) -> dict[str, Any]:
    adapters = [m for m in modules if m.imports_any(["sqlite3"])]
    if adapters:
        new = {m.name for m in adapters}
        importers = {name for name, imported in graph.items() if new & set(imported)} - new
        files = [_file(m, "new", [Unit("module", "the SQLite adapter", m.code_lines, added=True)]) for m in adapters]
        for module in modules:
            if module.name in new:
                continue
            lines = module.lines_matching(SQLITE)
            if module.name in importers or lines:
                files.append(_file(module, "edited", [Unit("statement", "lines naming sqlite", frozenset(lines))]))
        return {"basis": "measured from the SQLite adapter", **_summary(files)}
    files = []
    for module in modules:
        marked = dynamodb_lines(module)
        if not marked:
            continue
        units = [unit_for(n, module) for n in top_level_definitions(module)]
        units = [u for u in units if u.lines & marked]  # rewritten: existing code, edited
        rest = frozenset(marked - _lines(units))
        if rest:
            units.append(Unit("statement", f"{_count(rest, 'other line')} using DynamoDB", rest))
        files.append(_file(module, "edited", units))
    return {"basis": "DynamoDB code to rewrite", **_summary(files)}


# --- 4: another entity ---------------------------------------------------------------------------------


def new_entity(modules: list[SourceModule], entity: str = TEMPLATE_ENTITY) -> dict[str, Any]:
    forms = {entity, entity.removesuffix("s")}
    files = []
    for module in modules:
        package = module.name.split(".")[0]
        if forms & set(identifier_parts(package)):  # orders_service: the entity is the package
            files.append(_file(module, "new", [Unit("module", f"a copy of {package}", module.code_lines, True)]))
            continue
        lines = entity_lines(module, entity)
        if not lines:
            continue
        # A definition named after the entity (save_order, OrderRepository) gets a copy for the new one;
        # elsewhere (shared code: create_app, bootstrap) the lines naming it get a sibling.
        units = [
            unit_for(node, module, added=True)
            for node in top_level_definitions(module)
            if forms & set(identifier_parts(node.name))
        ]
        rest = frozenset(lines - _lines(units))
        if rest:
            units.append(Unit("statement", f"{_count(rest, 'line')} naming {entity} in shared code", rest))
        files.append(_file(module, "edited", units))
    return _summary(files)


def analyse_impact(
    sources: Mapping[str, list[SourceModule]], graphs: Mapping[str, Mapping[str, list[str]]]
) -> dict[str, Any]:
    computed = {
        "lambda_to_ecs": lambda stage: runtime_change(sources[stage], "ECS"),
        "add_eks": lambda stage: runtime_change(sources[stage], "EKS"),
        "swap_database": lambda stage: database_swap(sources[stage], graphs[stage]),
        "add_entity": lambda stage: new_entity(sources[stage]),
    }
    return {
        change: {**CHANGES[change], "stages": {stage: compute(stage) for stage in sources}}
        for change, compute in computed.items()
    }
