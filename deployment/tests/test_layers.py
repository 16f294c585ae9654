"""shopctl's direction, as tests: the layers contract in pyproject.toml (what `make lint` runs) holds and
bites, no module or package of shopctl imports another that imports it back, and no module does several jobs
(none over 600 lines).

    cli -> workshop -> compare | verify -> fleet | serving -> targets | account -> lambda_local -> local
        -> aws | package -> stages | wheelhouse -> errors | paths | httpclient
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
CONTRACT = next(
    contract
    for contract in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    if contract["name"].startswith("shopctl layers")
)


def layers() -> list[grimp.Layer]:
    return [grimp.Layer(*(part.strip() for part in line.split("|"))) for line in CONTRACT["layers"]]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("shopctl", cache_dir=None)


def test_every_shopctl_package_and_top_module_is_in_a_layer(graph: grimp.ImportGraph) -> None:
    layered = {module for layer in layers() for module in layer.module_tails}
    top = {m for m in graph.find_children("shopctl")} - {"shopctl.__main__"}
    assert top - layered == set(), "a new shopctl package or module needs its place in the layers contract"


def test_the_layers_hold(graph: grimp.ImportGraph) -> None:
    assert graph.find_illegal_dependencies_for_layers(layers()) == set()


def test_the_layers_bite_an_import_upwards(graph: grimp.ImportGraph) -> None:
    graph.add_import(importer="shopctl.aws.clients", imported="shopctl.targets.registry")
    graph.add_import(importer="shopctl.compare.cli", imported="shopctl.verify.runner")  # independent siblings
    try:
        broken = {(d.importer, d.imported) for d in graph.find_illegal_dependencies_for_layers(layers())}
    finally:
        graph.remove_import(importer="shopctl.aws.clients", imported="shopctl.targets.registry")
        graph.remove_import(importer="shopctl.compare.cli", imported="shopctl.verify.runner")
    assert broken == {("shopctl.aws", "shopctl.targets"), ("shopctl.compare", "shopctl.verify")}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def _edges(graph: grimp.ImportGraph, depth: int | None) -> dict[str, set[str]]:
    def key(module: str) -> str:
        return module if depth is None else ".".join(module.split(".")[:depth])

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not module.startswith("shopctl.") or module.endswith(".__init__"):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("shopctl.") and key(imported) != key(module) and key(imported) != "shopctl":
                edges.setdefault(key(module), set()).add(key(imported))
    return edges


def test_no_import_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    assert _cycles(_edges(graph, None)) == []


def test_no_import_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    assert _cycles(_edges(graph, 2)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_shopctl_module_is_over_600_lines() -> None:
    # A module that long does several jobs: split it by concern, as eks_cluster was split from eks_target.
    # (Over ~500 lines, its docstring says why it is one module.)
    shopctl = Path(__file__).resolve().parents[1] / "shopctl"
    sizes = {str(p.relative_to(shopctl)): len(p.read_text().splitlines()) for p in shopctl.rglob("*.py")}
    long = {path: lines for path, lines in sizes.items() if lines > 600}
    assert long == {}
