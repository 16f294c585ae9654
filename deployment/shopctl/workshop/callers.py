"""What depends on a top-level definition of a stage: static, from the code (`ast`), within its package.

A *caller* is a top-level definition (function, or class with its methods) or a module's top-level code
that calls the name: `setting(...)`, `config.users_table(...)` (a module of the package, imported), or
`Adapter(...)` for a class. Its *dependents* are the callers, their callers, and so on. A *route* is a
function decorated with `@app.get(...)`, `@router.post(...)` and the like. Calls through objects
(`self.repository.get(...)`, a use case held by a container) are not followed: the figures are a lower bound.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from shopctl.compare.source import SourceModule

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}
MODULE_LEVEL = "(module level)"


@dataclass(frozen=True)
class Dependents:
    definition: str  # "package.module:name"
    callers: list[str]  # what calls it directly ("main.bootstrap", "main (module level)")
    dependents: list[str]  # everything that reaches it through calls, the callers included
    routes: list[str]  # the routes among the dependents
    all_routes: int  # the routes its package serves


@dataclass
class CallGraph:
    callers: dict[str, set[str]]  # "module:name" -> the nodes calling it
    routes: set[str]

    @classmethod
    def of(cls, modules: Iterable[SourceModule]) -> CallGraph:
        modules = list(modules)
        defined = {f"{m.name}:{node.name}" for m in modules for node in m.tree.body if isinstance(node, DEFINITIONS)}
        known = {m.name for m in modules}
        graph = cls(defaultdict(set), set())
        for module in modules:
            names, aliases = _imports(module, known)
            for top in module.tree.body:
                node_name = f"{module.name}:{top.name if isinstance(top, DEFINITIONS) else MODULE_LEVEL}"
                if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef) and any(map(_is_route, top.decorator_list)):
                    graph.routes.add(node_name)
                for call in (n for n in ast.walk(top) if isinstance(n, ast.Call)):
                    target = _target(call.func, module.name, names, aliases)
                    if target in defined and target != node_name:
                        graph.callers[target].add(node_name)
        return graph

    def dependents(self, module: str, name: str) -> Dependents:
        target = f"{module}:{name}"
        package = module.split(".")[0]
        seen: set[str] = set()
        todo = [target]
        while todo:
            for caller in self.callers.get(todo.pop(), set()) - seen - {target}:
                seen.add(caller)
                todo.append(caller)
        routes = [r for r in self.routes if r.split(".")[0] == package]
        return Dependents(
            target,
            sorted(map(label, self.callers.get(target, set()))),
            sorted(map(label, seen)),
            sorted(label(r) for r in seen if r in self.routes),
            len(routes),
        )


def label(node: str) -> str:
    """ "users_service.repository:add" -> "repository.add"; module-level code as "repository (module level)"."""
    module, _, name = node.partition(":")
    short = module.split(".", 1)[-1]
    return f"{short} {MODULE_LEVEL}" if name == MODULE_LEVEL else f"{short}.{name}"


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in ROUTE_DECORATORS
    )


def _imports(module: SourceModule, known: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(imported name -> "module:name", alias -> module) for the imports of the package's own modules."""
    names: dict[str, str] = {}
    aliases: dict[str, str] = {}
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif base in known:
                    names[alias.asname or alias.name] = f"{base}:{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in known:
                    aliases[alias.asname] = alias.name
    return names, aliases


def _target(func: ast.expr, module: str, names: dict[str, str], aliases: dict[str, str]) -> str | None:
    if isinstance(func, ast.Name):
        return names.get(func.id, f"{module}:{func.id}")
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in aliases:
        return f"{aliases[func.value.id]}:{func.attr}"
    return None
