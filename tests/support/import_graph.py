"""The import graph of Python packages, read from their source with ``ast`` (nothing is
imported), and its cycles.

Every ``import`` / ``from ... import`` statement counts, wherever it is: at the top, inside a
function, under ``if TYPE_CHECKING:``. A deferred or type-only import still ties two modules
together, so it would hide a cycle rather than remove it. Only edges between modules of the
scanned packages are kept. A module's implicit dependency on its parent packages' ``__init__``
is not an edge: a package that imports its own submodules would otherwise always look cyclic.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

Graph = dict[str, set[str]]


def package_names(search_root: Path) -> list[str]:
    """The top-level packages (folders with ``__init__.py``) directly under ``search_root``."""
    return sorted(p.parent.name for p in search_root.glob("*/__init__.py"))


def module_files(search_root: Path, package: str) -> dict[str, Path]:
    """Dotted module name → source file, for ``package`` found under ``search_root`` (a
    sys.path entry)."""
    modules: dict[str, Path] = {}
    for path in sorted((search_root / package).rglob("*.py")):
        relative = path.relative_to(search_root).with_suffix("")
        parts = list(relative.parts)
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterable[tuple[str, list[str]]]:
    """(base module, names imported from it) for one import statement."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, []
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        yield base, [alias.name for alias in node.names]


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` or its longest prefix that is a scanned module."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imported_modules(name: str, path: Path) -> set[str]:
    """The modules (or packages) named by the import statements of module ``name``, relative
    imports resolved: ``from a import b`` names ``a``."""
    return {base for base, _ in _statements(name, path)}


def _statements(name: str, path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    return [found for node in ast.walk(tree) for found in _imported(node, name, is_package)]


def import_graph(modules: dict[str, Path]) -> Graph:
    """Module → the scanned modules it imports. ``from a import b`` is an edge to ``a.b`` when
    that is a module, else to ``a``."""
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        for base, names in _statements(name, path):
            for imported in names or [""]:
                submodule = f"{base}.{imported}"
                target = submodule if submodule in modules else _known(base, modules)
                if target is not None and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of two or more modules, each as a sorted list of module
    names (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe_cycle(graph: Graph, group: list[str]) -> str:
    """One import path around ``group``, e.g. ``a -> b -> a``, for an assertion message."""
    members = set(group)
    start = group[0]
    path = [start]
    seen = {start}
    current = start
    while True:
        following = sorted(t for t in graph[current] if t in members)
        step = next((t for t in following if t == start and len(path) > 1), None)
        if step is None:
            step = next((t for t in following if t not in seen), following[0])
        path.append(step)
        if step == start or step in seen:
            return " -> ".join(path)
        seen.add(step)
        current = step
