"""Dependencies are honest: every runtime dependency pyproject.toml declares is imported by apiinv, and
every third-party module apiinv imports comes from a declared dependency."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    """The runtime dependencies, and the demo extra (the AWS simulator, imported only when installed)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["demo"]]
    return {_normal(re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0]) for spec in specs}


def _imported_distributions() -> dict[str, set[str]]:
    """Distribution -> the product files importing it (standard library and apiinv itself left out)."""
    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in (ROOT / "apiinv").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if top in sys.stdlib_module_names or top in ("apiinv", "__future__"):
                    continue
                for distribution in owners.get(top, [top]):
                    found.setdefault(_normal(distribution), set()).add(path.name)
    return found


def test_every_import_is_declared() -> None:
    undeclared = {d: files for d, files in _imported_distributions().items() if d not in _declared()}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_every_declared_dependency_is_imported() -> None:
    unused = _declared() - set(_imported_distributions())
    assert not unused, f"declared in pyproject.toml but never imported by apiinv: {sorted(unused)}"


def _pins(lock: str) -> set[str]:
    text = (ROOT / lock).read_text()
    return {_normal(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", text, re.M)}


def test_the_locks_pin_every_declared_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = [
        *project["dependencies"],
        *(d for extra in project["optional-dependencies"].values() for d in extra),
    ]
    names = {_normal(re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0]) for spec in everything}
    runtime = {_normal(re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}
    assert runtime <= _pins("requirements.lock"), "run: make lock"
    assert names <= _pins("requirements-dev.lock"), "run: make lock"
    for lock in ("requirements.lock", "requirements-dev.lock"):
        entries = re.findall(
            r"^[A-Za-z0-9_.\-]+==\S+( \\\n    --hash=sha256:[0-9a-f]{64})", (ROOT / lock).read_text(), re.M
        )
        assert len(entries) == len(_pins(lock)), f"{lock}: every pin carries its hashes"
