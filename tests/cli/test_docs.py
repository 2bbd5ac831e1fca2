"""README and --help say the same: every command and option that exists is documented, and the
README's command table names nothing that does not exist (sqlite-utils' test_docs is the model)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from apiinv.cli import app
from apiinv.cli.app import GLOBAL_OPTIONS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _surface() -> dict[str, set[str]]:
    """Every command path ("schedule list") with its long options."""
    found: dict[str, set[str]] = {}

    def walk(group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            if hasattr(command, "commands"):
                walk(command, path)
                continue
            found[path] = {
                option
                for param in command.params
                for option in (*param.opts, *getattr(param, "secondary_opts", []))
                if option.startswith("--") and option != "--help"
            }

    walk(typer.main.get_command(app), "")
    return found


def _table_rows() -> dict[str, str]:
    """README's command table: command path -> its row."""
    rows = {}
    for line in README.splitlines():
        match = re.match(r"\| `apiinv ([a-z-]+)(?: ([a-z][a-z|\\]*))?", line)
        if not match:
            continue
        subcommands = (match.group(2) or "").replace("\\", "").split("|")
        for sub in subcommands:
            rows[f"{match.group(1)} {sub}".strip()] = line
    return rows


SURFACE = _surface()


@pytest.mark.parametrize("command", sorted(SURFACE))
def test_every_command_and_its_options_are_in_the_readme_table(command: str) -> None:
    rows = _table_rows()
    assert command in rows, f"README's command table lacks `apiinv {command}`"
    missing = sorted(o for o in SURFACE[command] if o not in re.split(r"(?<!\\)\|", rows[command])[1])
    assert not missing, f"`apiinv {command}` row lacks {missing}"


def test_the_readme_table_names_only_what_exists() -> None:
    for command, row in _table_rows().items():
        assert command in SURFACE, f"README documents `apiinv {command}`, which does not exist"
        usage = re.split(r"(?<!\\)\|", row)[1]  # the first cell: its pipes are escaped
        documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage))
        unknown = documented - SURFACE[command] - set(GLOBAL_OPTIONS)
        assert not unknown, f"README's `apiinv {command}` row names {sorted(unknown)}"


def test_every_global_option_is_documented() -> None:
    for option in GLOBAL_OPTIONS:
        if option.startswith("--"):
            assert f"`{option}`" in README, option


@pytest.mark.parametrize("command", ["", *sorted(SURFACE)])
def test_help_at_80_columns_shows_every_option_whole_without_type_tags(command: str) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output  # nothing cut short
    assert "<bool>" not in result.output and "<str>" not in result.output and "<list" not in result.output
    for option in SURFACE.get(command, set()):
        assert option in result.output
