"""The layout holds: analysis is pure, reports only render, sources depend on nothing above them, and
the tests mirror the package."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "apiinv"
TESTS = Path(__file__).resolve().parent
CLOCK = ("now", "today", "utcnow", "time", "monotonic")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def _clock_calls(path: Path) -> list[str]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK:
            calls.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}()")
    return calls


FORBIDDEN = {
    "analysis": (
        "apiinv.store",
        "apiinv.http",
        "apiinv.sources",
        "apiinv.pipeline",
        "apiinv.report",
        "apiinv.ops",
    ),
    "report": ("apiinv.http", "apiinv.sources", "apiinv.pipeline", "apiinv.ops"),
    "sources": ("apiinv.pipeline", "apiinv.analysis", "apiinv.report", "apiinv.ops", "apiinv.cli"),
    "http": (
        "apiinv.pipeline",
        "apiinv.analysis",
        "apiinv.report",
        "apiinv.ops",
        "apiinv.cli",
        "apiinv.sources",
    ),
}


# The merge asks the registry for a tool type's role; it never touches a source module itself.
REGISTRY = {"apiinv.sources", "apiinv.sources.role_of"}


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_lies_below_it(folder: str) -> None:
    wrong = [
        f"{path.name} imports {name}"
        for path in sorted((PACKAGE / folder).glob("*.py"))
        for name in sorted(_imports(path))
        if name.startswith(FORBIDDEN[folder]) and name not in REGISTRY
    ]
    assert wrong == []


@pytest.mark.parametrize("folder", ["analysis", "report"])
def test_analysis_and_rendering_read_no_clock(folder: str) -> None:
    calls = [call for path in sorted((PACKAGE / folder).glob("*.py")) for call in _clock_calls(path)]
    assert calls == []


def test_the_tests_mirror_the_package() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} - {"schemas"}
    assert packages - {p.name for p in TESTS.iterdir() if p.is_dir()} == set()
