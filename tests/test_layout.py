"""The layout holds: the package is a stack of layers, each importing only its own and those below it, with
no import cycle anywhere; analysis is pure; and the tests mirror the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "apiinv"
TESTS = Path(__file__).resolve().parent
CLOCK = ("now", "today", "utcnow", "time", "monotonic")

# Bottom first. A module belongs to the layer naming its longest prefix (``apiinv`` itself, the package's
# __init__, only by its exact name). The source contract and the registry sit below the configuration,
# which resolves each tool's source when it is read; analysis and rendering sit below everything that
# talks to the outside world, so they cannot reach a vendor, the network or a pipeline step.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "apiinv",
        "apiinv.redact",
        "apiinv.timefmt",
        "apiinv.errors",
        "apiinv.schemas",
        "apiinv.presets",
        "apiinv.bounds",
        "apiinv.memory",
        "apiinv.cron",
        "apiinv.store",
        "apiinv.logs",
        "apiinv.console",
        "apiinv.progress",
        "apiinv.frames",
    ),
    ("apiinv.sources.base", "apiinv.registry"),
    ("apiinv.inventory",),
    ("apiinv.config",),
    ("apiinv.analysis",),
    ("apiinv.report",),
    ("apiinv.http",),
    ("apiinv.sources",),
    ("apiinv.sandbox",),
    ("apiinv.ops",),
    ("apiinv.pipeline",),
    ("apiinv.runtime",),
    ("apiinv.cli", "apiinv.__main__"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imports(path: Path) -> set[str]:
    """The apiinv modules ``path`` imports when it runs, at the top or inside a function. Imports under
    ``if TYPE_CHECKING:`` name types for annotations only (a ``ToolConfig`` and its ``Source`` name each
    other) and never run, so they are left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node):
            return
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            # ``from apiinv import registry`` imports the module apiinv.registry; ``from apiinv.config
            # import ToolConfig`` imports apiinv.config.
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                for a in node.names
            ]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(name for name in names if name in MODULES)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _layer(module: str) -> int:
    matches = [
        (len(entry), index)
        for index, layer in enumerate(LAYERS)
        for entry in layer
        if module == entry or (entry != "apiinv" and module.startswith(entry + "."))
    ]
    assert matches, f"{module} is in no layer: add it to LAYERS"
    return max(matches)[1]


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_its_own_layer_and_those_below(module: str) -> None:
    upward = [
        f"{module} imports {name}"
        for name in sorted(_imports(MODULES[module]))
        if _layer(name) > _layer(module)
    ]
    assert upward == []


def test_no_module_imports_itself_through_others() -> None:
    graph = {module: _imports(path) - {module} for module, path in MODULES.items()}
    cycles = []
    state: dict[str, str] = {}

    def walk(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for name in sorted(graph[module]):
            if state.get(name) == "open":
                cycles.append(" -> ".join([*trail[trail.index(name) :], name]))
            elif name not in state:
                walk(name, [*trail, name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_analysis_touches_no_files() -> None:
    """Merging and findings work on records handed to them: what they read and write is the caller's."""
    wrong = [
        f"{module} imports {name}"
        for module, path in MODULES.items()
        if module.startswith("apiinv.analysis")
        for name in _imports(path)
        if name in ("apiinv.store", "apiinv.logs")
    ]
    assert wrong == []


@pytest.mark.parametrize("folder", ["analysis", "report"])
def test_analysis_and_rendering_read_no_clock(folder: str) -> None:
    calls = []
    for path in sorted((PACKAGE / folder).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK
            ):
                calls.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}()")
    assert calls == []


def test_the_tests_mirror_the_package() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} - {"schemas"}
    assert packages - {p.name for p in TESTS.iterdir() if p.is_dir()} == set()
