"""README and --help say the same: every command and option that exists is documented, and the
README's command table names nothing that does not exist (sqlite-utils' test_docs is the model).
README and docs/ hold together: every page is linked, every relative link resolves, README's sample
configuration validates and the configuration page names every key of the packaged schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
import yaml

from apiinv.cli import app
from apiinv.cli.app import GLOBAL_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))


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


def _outside_code(text: str) -> str:
    """The Markdown text without its fenced code blocks (a `# comment` in YAML is no heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", _outside_code(page.read_text(encoding="utf-8")), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_readme_links_every_docs_page() -> None:
    assert DOCS, "docs/ holds no pages"
    linked = {ROOT / target for target in re.findall(r"\]\((docs/[^)#\s]+\.md)", README)}
    assert not set(DOCS) - linked, f"README does not link {sorted(p.name for p in set(DOCS) - linked)}"


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", _outside_code(page.read_text(encoding="utf-8")))
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue  # https:, mailto:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} names no file"
        assert not anchor or anchor in _anchors(target), f"{page.name}: {link} names no heading"


def test_the_readme_sample_configuration_validates(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    for name in ("tools.yaml", "planner.yaml"):
        sample = re.search(rf"```yaml\n# {re.escape(name)}\n(.*?)```", README, re.DOTALL)
        assert sample, f"README shows no sample {name}"
        (tmp_path / name).write_text(sample.group(1))
    preset = re.search(r"```yaml\n# tools.yaml, a preset\n(.*?)```", README, re.DOTALL)
    assert preset, "README shows no preset entry"
    with (tmp_path / "tools.yaml").open("a") as tools:
        tools.write(preset.group(1))
    (tmp_path / ".env").write_text("APIINV_42CRUNCH_API_KEY=k\nTYK_DASHBOARD_KEY=k\n")

    result = CliRunner().invoke(app, ["--config-dir", str(tmp_path), "validate-config"])
    assert result.exit_code == 0, result.output


def test_the_configuration_page_names_every_key_of_the_packaged_schemas() -> None:
    schemas = ROOT / "apiinv" / "schemas"
    tools = json.loads((schemas / "tools.schema.json").read_text())
    planner = json.loads((schemas / "planner.schema.json").read_text())
    keys = {
        *tools["$defs"]["tool"]["properties"],
        *tools["properties"],
        *tools["properties"]["owners"]["properties"],
        *planner["properties"],
        *planner["properties"]["defaults"]["properties"],
        *planner["properties"]["analysis"]["properties"],
        *planner["$defs"]["schedule"]["properties"],
    }
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(key for key in keys if f"`{key}`" not in page)
    assert not missing, f"docs/configuration.md does not name {missing}"


def test_the_matching_page_counts_each_conformance_table_as_it_is() -> None:
    """docs/matching.md names each family's table with its number of rows; the tables are the proof."""
    page = (ROOT / "docs" / "matching.md").read_text()
    tables = sorted((ROOT / "tests" / "analysis" / "conformance").glob("*.yaml"))
    assert tables
    for table in tables:
        rows = yaml.safe_load(table.read_text())["rows"]
        assert f"`{table.name}` ({len(rows)} rows)" in page, table.name
