"""Static coupling of the three stages, computed from their code: the first section of `make compare`.

    python -m shopctl.compare.coupling            # markdown tables
    python -m shopctl.compare.coupling --json     # the same result as JSON

Per stage (and per package, i.e. per service of the microservices):

- size: files and code lines (non-blank, not comments, not docstrings; tests excluded);
- where infrastructure is known: modules importing boto3/botocore, modules using DynamoDB's API,
  modules reading os.environ/os.getenv, modules naming RUNTIME, modules naming a table or a config
  location (`users/table`, USERS_TABLE, SSM_PREFIX, CONFIG_FILE, …);
- coupling per component (clean: domain, application, adapters, entrypoints, bootstrap; the others:
  each module) from grimp's import graph: afferent Ca, efferent Ce, instability I = Ce / (Ca + Ce);
- the dependency rule: the import-linter contracts of pyproject.toml, run for real, where a stage
  declares layers;
- change impact (impact.py): for four changes, the files and lines each stage has to touch.

`analysis()` returns the same as typed dataclasses (shopctl.compare.results.Coupling); `analyse()` keeps
the JSON-shaped dict that report.json stores. Either can point a stage at another directory (`roots=`, a
copy with a module added, say): the numbers follow the code, which deployment/tests/compare/test_coupling.py
checks.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from shopctl.compare import impact, report, results
from shopctl.compare.markers import (
    AWS_SDK,
    CONFIG_LOCATION_LITERAL,
    CONFIG_LOCATION_NAME,
    RUNTIME,
    dynamodb_lines,
    reads_environment,
)
from shopctl.compare.source import SourceModule, read_packages
from shopctl.paths import REPO_ROOT, STAGE_DIRS
from shopctl.stages import STAGES

PYPROJECT = REPO_ROOT / "pyproject.toml"
METHODS = {
    "size": "Every .py file of the stage's packages (tests excluded); code lines are non-blank lines that "
    "are neither comments nor docstrings (tokenize + ast).",
    "infrastructure": "AST of each module. AWS SDK: an import of boto3/botocore anywhere in the module "
    "(function-level imports count). DynamoDB: an identifier or string literal from DynamoDB's API or wire "
    "format (put_item, get_item, ExclusiveStartKey, 'S', …). Environment: os.environ / os.getenv. RUNTIME: "
    "the word RUNTIME in code or a string literal. Config location: a literal such as 'users/table', "
    "'USERS_TABLE', 'SSM_PREFIX', 'CONFIG_FILE' or a name like SSM_PREFIX. Comments and docstrings never "
    "count.",
    "coupling": "grimp import graph (TYPE_CHECKING imports included). Components: the first two parts of "
    "a module's name (clean_shop.adapters, monolith.main, users_service.repository). Ca = other components "
    "of the stage that import this one; Ce = other components this one imports; I = Ce / (Ca + Ce) "
    "(0 = stable, everyone depends on it; 1 = unstable, depends on others; '—' when isolated). Third-party "
    "packages are listed, not counted in I.",
    "dependency_rule": "lint-imports (import-linter) with the contracts in pyproject.toml, run as a "
    "subprocess against the analysed directory; stages whose packages are not in "
    "[tool.importlinter] root_packages declare no layers.",
}


def stage_roots(roots: Mapping[str, Path] | None = None) -> dict[str, Path]:
    return {name: Path((roots or {}).get(name, STAGE_DIRS[name])) for name in STAGES}


# --- facts per module ----------------------------------------------------------------------------------


def module_facts(module: SourceModule) -> dict[str, Any]:
    return {
        "module": module.name,
        "path": module.path.as_posix(),
        "lines": module.lines,
        "aws_sdk": sorted(module.imports_any(AWS_SDK)),
        "dynamodb_lines": len(dynamodb_lines(module)),
        "reads_environment": reads_environment(module),
        "mentions_runtime": bool(module.matching(RUNTIME)),
        "config_location": sorted(
            {w.text for w in module.matching(CONFIG_LOCATION_LITERAL, identifiers=False)}
            | {w.text for w in module.matching(CONFIG_LOCATION_NAME, literals=False)}
        ),
    }


# --- the import graph (grimp) --------------------------------------------------------------------------

_GRAPH_SCRIPT = """
import importlib.util, json, sys
import grimp
packages = sys.argv[1:]
graph = grimp.build_graph(*packages, include_external_packages=True, cache_dir=None)
print(json.dumps({
    "locations": {p: list(importlib.util.find_spec(p).submodule_search_locations) for p in packages},
    "imports": {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules},
}))
"""


def _found_at(package: str) -> list[str]:
    spec = importlib.util.find_spec(package)
    return [] if spec is None or spec.submodule_search_locations is None else list(spec.submodule_search_locations)


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, list[str]]:
    """module -> the modules it imports directly (third-party ones squashed to their top level).

    grimp finds packages on sys.path. When this interpreter already resolves them to `root` (the
    usual case) the graph is built here; otherwise (a copy elsewhere) in a fresh interpreter whose
    PYTHONPATH puts `root` first — as tests/test_architecture.py does for lint-imports.
    """
    packages = list(packages)
    if all(_found_at(p) == [str(root / p)] for p in packages):
        import grimp

        graph = grimp.build_graph(*packages, include_external_packages=True, cache_dir=None)
        return {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", _GRAPH_SCRIPT, *packages],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
        check=True,
    )
    data = json.loads(result.stdout)
    for package, locations in data["locations"].items():
        if locations != [str(root / package)]:
            raise RuntimeError(f"grimp found {package} in {locations}, not in {root}")
    return data["imports"]


def components(modules: list[SourceModule], graph: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """Ca, Ce and I per component, from the graph's edges between components."""
    packages = {m.name.split(".")[0] for m in modules}
    component_of = {m.name: m.component for m in modules}
    lines: dict[str, int] = {}
    for module in modules:
        lines[module.component] = lines.get(module.component, 0) + module.lines
    efferent: dict[str, set[str]] = {c: set() for c in lines}
    external: dict[str, set[str]] = {c: set() for c in lines}
    for importer, imported in graph.items():
        if importer not in component_of:
            continue
        source = component_of[importer]
        for target in imported:
            if target.split(".")[0] in packages:
                if target in component_of and component_of[target] != source:
                    efferent[source].add(component_of[target])
            elif target.split(".")[0] not in sys.stdlib_module_names:
                external[source].add(target.split(".")[0])
    afferent: dict[str, set[str]] = {c: set() for c in lines}
    for source, targets in efferent.items():
        for target in targets:
            afferent[target].add(source)
    rows = []
    for name in sorted(lines, key=lambda c: (c.count("."), c)):
        ca, ce = len(afferent[name]), len(efferent[name])
        if ca + ce == 0 and lines[name] == 0:  # an empty package __init__: nothing to say
            continue
        rows.append(
            {
                "component": name,
                "lines": lines[name],
                "ca": ca,
                "ce": ce,
                "instability": None if ca + ce == 0 else round(ce / (ca + ce), 2),
                "imported_by": sorted(afferent[name]),
                "imports": sorted(efferent[name]),
                "third_party": sorted(external[name]),
            }
        )
    return rows


# --- the dependency rule (import-linter) -------------------------------------------------------------


def _importlinter_config() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8")).get("tool", {}).get("importlinter", {})


def dependency_rule(root: Path, packages: Iterable[str]) -> dict[str, Any]:
    config = _importlinter_config()
    if not set(packages) & set(config.get("root_packages", [])):
        return {"status": "n/a", "detail": "n/a — no layers declared", "contracts": {}}
    env = {
        **os.environ,
        "COLUMNS": "300",  # keep every contract's name on one line of the report
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    result = subprocess.run(
        [sys.executable, "-c", command, "--config", str(PYPROJECT), "--no-cache", "--no-logo"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = " ".join(result.stdout.split())
    contracts = {}
    for contract in config.get("contracts", []):
        name = contract["name"]
        contracts[name] = "kept" if f"{name} KEPT" in output else "broken" if f"{name} BROKEN" in output else "?"
    summary = re.search(r"Contracts: \d+ kept, \d+ broken\.", output)
    status = "kept" if result.returncode == 0 and all(v == "kept" for v in contracts.values()) else "broken"
    return {
        "status": status,
        "detail": summary.group(0) if summary else (result.stderr.strip().splitlines() or ["no report"])[-1],
        "contracts": contracts,
    }


# --- one stage, all stages -------------------------------------------------------------------------------


def analyse_stage(name: str, root: Path) -> tuple[dict[str, Any], list[SourceModule], dict[str, list[str]]]:
    packages = list(STAGES[name].packages)
    modules = read_packages(root, packages)
    graph = import_graph(root, packages)
    facts = [module_facts(m) for m in modules]
    by_package = {
        package: {
            "files": sum(1 for m in modules if m.name.split(".")[0] == package),
            "lines": sum(m.lines for m in modules if m.name.split(".")[0] == package),
        }
        for package in packages
    }

    def where(predicate: Any) -> list[str]:
        return [f["path"] for f in facts if predicate(f)]

    result = {
        "root": root.as_posix() if not root.is_relative_to(REPO_ROOT) else root.relative_to(REPO_ROOT).as_posix(),
        "packages": packages,
        "files": len(modules),
        "lines": sum(m.lines for m in modules),
        "by_package": by_package,
        "modules": facts,
        "aws_sdk_modules": where(lambda f: f["aws_sdk"]),
        "dynamodb_modules": where(lambda f: f["dynamodb_lines"]),
        "environment_modules": where(lambda f: f["reads_environment"]),
        "runtime_modules": where(lambda f: f["mentions_runtime"]),
        "config_location_modules": where(lambda f: f["config_location"]),
        "components": components(modules, graph),
        "dependency_rule": dependency_rule(root, packages),
    }
    return result, modules, graph


def analyse(roots: Mapping[str, Path] | None = None, stages: Iterable[str] | None = None) -> dict[str, Any]:
    """Everything, JSON-serialisable: {"stages": {...}, "impact": {...}, "methods": {...}}."""
    names = list(stages or STAGES)
    paths = stage_roots(roots)
    results, sources, graphs = {}, {}, {}
    for name in names:
        results[name], sources[name], graphs[name] = analyse_stage(name, paths[name])
    return {
        "stages": results,
        "impact": impact.analyse_impact(sources, graphs),
        "methods": METHODS,
    }


def analysis(roots: Mapping[str, Path] | None = None, stages: Iterable[str] | None = None) -> results.Coupling:
    """The same as `analyse()`, typed: `.stages["clean"].lines`, `.changes[0].stages["monolith"].summary`."""
    return results.Coupling.of(analyse(roots, stages))


def markdown(result: Mapping[str, Any]) -> str:
    return report.markdown(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopctl.compare.coupling", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of markdown")
    parser.add_argument("--stage", action="append", choices=list(STAGES), help="only this stage (repeatable)")
    args = parser.parse_args(argv)
    result = analyse(stages=args.stage)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
