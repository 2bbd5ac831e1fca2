"""planner.yaml as deployment units beyond crontab: systemd timers for hosts without cron, Kubernetes
CronJobs for clusters (a team that outgrows one host runs shards, one schedule per tool group, on the
scheduler it already has).

Both run exactly what the crontab line runs (``run --schedule NAME --workers N``, umask 077; without a
terminal its lines are timestamped, between a header and a closing line). The scheduler itself refuses
overlaps (systemd never starts a running service twice; the CronJob has ``concurrencyPolicy:
Forbid``), and so does apiinv's own lock.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiinv import cron
from apiinv.config import Planner, Schedule

UNIT_PREFIX = "apiinv-"
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def _calendar_field(field: cron.Field, low: int) -> str:
    """A cron field in systemd's calendar syntax: lists stay lists, a-b becomes a..b, */n low/n."""
    parts = []
    for part in field.text.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            parts.append(f"{low:02d}/{step}" if step else "*")
            continue
        value = "..".join(f"{int(n):02d}" for n in base.split("-"))
        parts.append(f"{value}/{step}" if step else value)
    return ",".join(parts)


def _weekdays(field: cron.Field) -> str:
    """The days a weekday field matches, as names (runs of three or more as Mon..Fri); "" for all."""
    if len(field.values) == len(_DAYS):
        return ""
    runs: list[list[int]] = []
    for day in field.values:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        f"{_DAYS[run[0]]}..{_DAYS[run[-1]]}" if len(run) > 2 else ",".join(_DAYS[d] for d in run)
        for run in runs
    )


def on_calendar(expression: str, timezone: str | None = None) -> list[str]:
    """A cron expression as systemd OnCalendar= values ("Mon..Fri *-*-* 07:30:00 Europe/Berlin").

    Where both day fields are restricted, cron runs when either matches while one OnCalendar= needs
    both: two values, one per day field (a timer fires on any of its OnCalendar= lines)."""
    parsed = cron.parse(expression)
    time = f"{_calendar_field(parsed.hour, 0)}:{_calendar_field(parsed.minute, 0)}:00"
    month = _calendar_field(parsed.month, 1)

    def calendar(weekdays: str, day_of_month: str) -> str:
        return " ".join(p for p in (weekdays, f"*-{month}-{day_of_month}", time, timezone or "") if p)

    if parsed.either_day:
        return [
            calendar(_weekdays(parsed.day_of_week), "*"),
            calendar("", _calendar_field(parsed.day_of_month, 1)),
        ]
    return [calendar(_weekdays(parsed.day_of_week), _calendar_field(parsed.day_of_month, 1))]


@dataclass(frozen=True)
class Target:
    """Where and as whom the units run apiinv: the executable, the config folder, the output root and
    the account (a system unit without ``User=`` runs as root)."""

    apiinv: str
    config_dir: str
    output: str
    user: str


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
            f"User={target.user}\n"
            "UMask=0077\n"
            f"WorkingDirectory={target.config_dir}\n"
            f"ExecStart={command}\n"
        )
        units[f"{unit}.timer"] = (
            "[Unit]\n"
            f"Description=apiinv schedule {name}: {schedule.cron}\n\n"
            "[Timer]\n"
            + "".join(f"OnCalendar={value}\n" for value in on_calendar(schedule.cron, planner.timezone))
            + "Persistent=true\n"
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
