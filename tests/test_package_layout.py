"""The installed layout: one import root, curated public surfaces, no private reach-ins, no
import circles.

The repository keeps the design card's top-level folders (connector/, rules/, ...) and
pyproject.toml maps each onto ``territory.<folder>``. These tests read the source tree the
way an import-graph tool would (every ``import``, also inside functions), so a circle or a
reach-in hidden in a lazy import is found too.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("config", "connector", "rules", "planner", "sync", "cli", "emulator")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Module:
    name: str  # dotted, under territory.
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        """The package this module belongs to (itself for a package's __init__)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = "territory." + ".".join(parts)
            found[name] = Module(name, path)
    return found


MODULES = _modules()
PACKAGES = sorted(m.name for m in MODULES.values() if m.is_package)


@dataclass(frozen=True)
class ImportedName:
    module: str  # the module the name comes from (or the module imported)
    name: str | None  # None for ``import x.y`` and for a submodule imported by name
    line: int


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: Module) -> Iterator[ImportedName]:
    """Every territory import in the file, wherever it stands (also inside functions)."""
    for node in ast.walk(ast.parse(module.path.read_text(), str(module.path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("territory."):
                    yield ImportedName(alias.name, None, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if not source.startswith("territory"):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    yield ImportedName(submodule, None, node.lineno)
                else:
                    yield ImportedName(source, alias.name, node.lineno)


def _owner(dotted: str) -> str | None:
    """The longest known module that ``dotted`` names or lies in."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module in MODULES.values():
        for imported in _imports(module):
            target = _owner(imported.module)
            if target is not None and target != module.name:
                graph[module.name].add(target)
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of two or more modules are circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


# Circles being broken on other branches right now; emptied when they land (lead's note).
KNOWN_CIRCLES = [
    ["territory.planner.lagrangian", "territory.planner.lp"],
    ["territory.emulator._seed_flaws", "territory.emulator.seed"],
    ["territory.cli.plan_cmd", "territory.cli.plan_tradeoff"],
    ["territory.emulator.salesforce_api", "territory.emulator.salesforce_collections"],
]
KNOWN_REACH_INS = ["tests/test_planner_solve_travel.py:14 imports territory.planner.solve._search_context"]


def test_no_module_imports_another_in_a_circle() -> None:
    assert [c for c in _strongly_connected(_import_graph()) if c not in KNOWN_CIRCLES] == []


def test_circle_finder_sees_a_circle_when_one_exists() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", [p for p in PACKAGES if "migrations" not in p])
def test_every_name_in_a_packages_all_exists(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    if package == "territory.cli":
        assert exported is None  # the CLI's surface is the `territory` command, not names
        return
    assert exported is not None, f"{package} has no __all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []


def _private_reach_ins() -> list[str]:
    found = []
    for module in MODULES.values():
        for imported in _imports(module):
            source = _owner(imported.module)
            if source is None:
                continue
            home = MODULES[source].package
            inside = module.name == home or module.name.startswith(home + ".")
            private_module = source.rpartition(".")[2].startswith("_")
            private_name = imported.name is not None and imported.name.startswith("_")
            if (private_module or private_name) and not inside:
                what = f"{source}.{imported.name}" if imported.name else source
                found.append(f"{module.path.relative_to(ROOT)}:{imported.line} imports {what}")
    tests = sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    for path in tests:
        outsider = Module("tests." + path.stem, path)
        for imported in _imports(outsider):
            source = _owner(imported.module) or imported.module
            if source.rpartition(".")[2].startswith("_") or (imported.name or "").startswith("_"):
                found.append(f"{path.relative_to(ROOT)}:{imported.line} imports {source}.{imported.name}")
    return found


def test_nothing_outside_a_package_imports_its_private_names() -> None:
    assert [r for r in _private_reach_ins() if r not in KNOWN_REACH_INS] == []


def test_pyproject_installs_every_package_under_the_territory_root() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {f"territory.{f}": f for f in FOLDERS}
    assert sorted(setuptools["packages"]) == PACKAGES
    assert PYPROJECT["project"]["scripts"] == {"territory": "territory.cli.main:main"}


def test_runtime_requirements_leave_test_tools_to_the_test_extra() -> None:
    runtime = " ".join(PYPROJECT["project"]["dependencies"])
    for tool in ("pytest", "responses", "hypothesis"):
        assert tool not in runtime
        assert any(r.startswith(tool) for r in PYPROJECT["project"]["optional-dependencies"]["test"])
