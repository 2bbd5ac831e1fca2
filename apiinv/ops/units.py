"""planner.yaml as deployment units beyond crontab: systemd timers for hosts without cron, Kubernetes
CronJobs for clusters (a team that outgrows one host runs shards, one schedule per tool group, on the
scheduler it already has).

Both run exactly what the crontab line runs (``run --schedule NAME --workers N``, umask 077; without a
terminal its lines are timestamped, between a header and a closing line). The scheduler itself refuses
overlaps (systemd never starts a running service twice; the CronJob has ``concurrencyPolicy:
Forbid``), and so does apiinv's own lock.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiinv.config import Planner, Schedule
from apiinv.errors import ConfigurationError
from apiinv.ops.schedule import MACROS

UNIT_PREFIX = "apiinv-"
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NAMES = {
    **{d.lower(): str(i) for i, d in enumerate(_DAYS[:7])},
    **{
        m: str(i)
        for i, m in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
        )
    },
}


def _field(text: str, *, low: int, width: int = 2, weekday: bool = False) -> str:
    """One cron field in systemd's calendar syntax: lists stay lists, a-b becomes a..b, */n becomes
    low/n, names become numbers (or weekday names)."""
    parts = []
    for part in text.split(","):
        part = re.sub(r"[A-Za-z]{3}", lambda m: _NAMES.get(m.group(0).lower(), m.group(0)), part)
        base, _, step = part.partition("/")
        if base == "*":
            if weekday:
                if step:
                    raise ConfigurationError(f"day of week {part!r} has no systemd equivalent")
                return ""
            parts.append(f"{low:0{width}d}/{step}" if step else "*")
            continue
        if not re.fullmatch(r"\d+(-\d+)?", base):
            raise ConfigurationError(f"cron field {text!r} has no systemd equivalent")
        start, _, end = base.partition("-")
        if weekday:
            days = [_DAYS[int(start)]] + ([_DAYS[int(end)]] if end else [])
            parts.append("..".join(days))
            continue
        value = f"{int(start):0{width}d}" + (f"..{int(end):0{width}d}" if end else "")
        parts.append(f"{value}/{step}" if step else value)
    return ",".join(parts)


def on_calendar(cron: str, timezone: str | None = None) -> str:
    """A five-field cron expression as systemd's OnCalendar= ("Mon..Fri *-*-* 07:30:00 Europe/Berlin").

    Cron runs a job when day of month OR day of week match if both are restricted; systemd needs both:
    such an expression is refused rather than translated into something that runs at other times."""
    minute, hour, dom, month, dow = MACROS.get(cron, cron).split()
    if dom != "*" and dow != "*":
        raise ConfigurationError(
            f"{cron!r} restricts both day of month and day of week (cron: either; systemd: both); "
            "split it into two schedules"
        )
    days = _field(dow, low=0, weekday=True)
    date = f"*-{_field(month, low=1)}-{_field(dom, low=1)}"
    time = f"{_field(hour, low=0)}:{_field(minute, low=0)}:00"
    return " ".join(p for p in (days, date, time, timezone or "") if p)


@dataclass(frozen=True)
class Target:
    """Where the units run apiinv: the executable, the config folder and the output root."""

    apiinv: str
    config_dir: str
    output: str


def _arguments(name: str, schedule: Schedule, config_dir: str, output: str) -> list[str]:
    return [
        "--config-dir",
        config_dir,
        "--output",
        output,
        "run",
        "--schedule",
        name,
        "--workers",
        str(schedule.workers),
    ]


def systemd(planner: Planner, target: Target) -> dict[str, str]:
    """File name -> content: a .service and a .timer per enabled schedule."""
    units: dict[str, str] = {}
    for name, schedule in planner.schedules.items():
        if not schedule.enabled:
            continue
        unit = f"{UNIT_PREFIX}{name}"
        command = " ".join(
            shlex.quote(a)
            for a in [target.apiinv, *_arguments(name, schedule, target.config_dir, target.output)]
        )
        units[f"{unit}.service"] = (
            "[Unit]\n"
            f"Description=apiinv schedule {name} ({schedule.action}; tools: {', '.join(schedule.tools)})\n"
            "Wants=network-online.target\nAfter=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            "UMask=0077\n"
            f"WorkingDirectory={target.config_dir}\n"
            f"ExecStart={command}\n"
        )
        units[f"{unit}.timer"] = (
            "[Unit]\n"
            f"Description=apiinv schedule {name}: {schedule.cron}\n\n"
            "[Timer]\n"
            f"OnCalendar={on_calendar(schedule.cron, planner.timezone)}\n"
            "Persistent=true\n"
            f"Unit={unit}.service\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        )
    return units


@dataclass(frozen=True)
class Cluster:
    """Names the CronJobs refer to; all configurable."""

    image: str = "apiinv:latest"
    namespace: str | None = None
    secret: str = "apiinv-secrets"  # noqa: S105 (a Secret object's name, for envFrom)
    config_map: str = "apiinv-config"  # planner.yaml and tools.yaml, mounted at /config
    claim: str = "apiinv-output"  # the output root, mounted at /output


def kubernetes(planner: Planner, cluster: Cluster) -> list[dict[str, Any]]:
    """A batch/v1 CronJob per enabled schedule."""
    jobs = []
    for name, schedule in planner.schedules.items():
        if not schedule.enabled:
            continue
        metadata: dict[str, Any] = {
            "name": f"{UNIT_PREFIX}{name}".lower().replace("_", "-").replace(".", "-")[:52],
            "labels": {"app.kubernetes.io/name": "apiinv", "apiinv/schedule": name.replace("_", "-")},
        }
        if cluster.namespace:
            metadata["namespace"] = cluster.namespace
        spec: dict[str, Any] = {
            "schedule": schedule.cron,
            "concurrencyPolicy": "Forbid",  # the lock: never two runs of one schedule
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                            "containers": [
                                {
                                    "name": "apiinv",
                                    "image": cluster.image,
                                    "args": _arguments(name, schedule, "/config", "/output"),
                                    "envFrom": [{"secretRef": {"name": cluster.secret}}],
                                    "volumeMounts": [
                                        {"name": "config", "mountPath": "/config", "readOnly": True},
                                        {"name": "output", "mountPath": "/output"},
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "config", "configMap": {"name": cluster.config_map}},
                                {"name": "output", "persistentVolumeClaim": {"claimName": cluster.claim}},
                            ],
                        }
                    },
                }
            },
        }
        if planner.timezone:
            spec["timeZone"] = planner.timezone
        jobs.append({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata, "spec": spec})
    return jobs


def kubernetes_yaml(planner: Planner, cluster: Cluster) -> str:
    import yaml

    return yaml.safe_dump_all(kubernetes(planner, cluster), sort_keys=False)


def write_units(units: dict[str, str], folder: Path) -> list[Path]:
    from apiinv.store import make_dirs, write_atomic

    make_dirs(folder)
    return [write_atomic(folder / name, text.encode(), mode=0o644) for name, text in units.items()]
