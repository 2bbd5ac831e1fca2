"""Merge and findings cost as the estate grows: a synthetic estate of N and of 4N traffic endpoints.

The estate has what made lookups grow with it (issue #23): Kong regex routes, host-less and
undeployed entries (looked up on every host), catch-alls (a Kong ``/`` route and an Apigee ``/`` base
path per host, an HTTP API's ``$default``), spec templates, REST greedy proxies, and a few truly
unanchored Kong regexes. Prints, per stage, the time at N and 4N, the growth ratio time(4N)/time(N)
(target <= 4.6: cost at most 1.15x faster than the estate) and the cost per merged row. Both run as
the export runs them: one set of indexes for the two (built in merge's time), the cycle collector off.
A last line times a bare pass reading three fields of every record at N and 4N: the growth this
machine gives work that is linear by construction, as the records spread over more memory.

    python bench/analysis.py [--size 5000]
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import UTC, datetime

from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.analysis.serving import Indexes
from apiinv.config import Analysis
from apiinv.inventory.records import compact, make_record
from apiinv.pipeline.assemble import collection_paused

ROLES = {"kong": "gateway", "apigee": "gateway", "aws": "gateway", "42crunch": "spec", "cequence": "traffic"}
NOW = datetime(2026, 11, 24, tzinfo=UTC)
ENDPOINTS_PER_HOST = 40


def _record(tool: str, instance: str, **fields: object) -> dict:
    return make_record(tool=tool, instance=instance, collected_at="2026-11-23T10:00:00Z", **fields)  # type: ignore[arg-type]


def estate(size: int) -> list[dict]:
    hosts = [f"svc{h}.acme.example" for h in range(max(1, size // ENDPOINTS_PER_HOST))]
    records = []
    for i in range(size):  # traffic: what the gateways and specs are asked about
        host = hosts[i % len(hosts)]
        day = 1 + i * 7 % 28
        records.append(
            _record(
                "cequence", "cequence", api_id=i, api_name=None, host=host, base_path="",
                method=("GET", "POST")[i % 2], path=f"/api/v{i % 3 + 1}/res{i // 8}/item{i % 8}",
                status="active", last_seen=f"2026-{1 + i % 11:02d}-{day:02d}T10:00:00Z",
            )
        )  # fmt: skip
    for i in range(size // 4):  # specs: templates on a host, one in ten host-less
        host = "" if i % 10 == 0 else hosts[i % len(hosts)]
        records.append(
            _record(
                "42crunch", "42crunch", api_id=i, api_name="spec", host=host, base_path="",
                method="GET", path=f"/api/v{i % 3 + 1}/res{i * 2}/{{id}}", status="documented",
                audit_score=70.0, audit_date="2026-11-01T00:00:00Z",
            )
        )  # fmt: skip
    for h, host in enumerate(hosts):  # per host: catch-alls, routes, base paths, an API Gateway API
        undeployed = h % 5 == 0
        kong = [
            ("/", "*", host),  # a catch-all
            (f"/api/v2/res{h}", "GET", host),
            (rf"~/api/v3/res{h}/\d+$", "GET", host),
            (rf"~/api/v1/res{h}/(?<id>\d+)$", "POST", "" if undeployed else host),
            (f"/unknown{h}", "*", host),  # never in traffic: an orphan
        ]
        for n, (path, method, route_host) in enumerate(kong):
            records.append(
                _record(
                    "kong", "kong", api_id=f"r{h}-{n}", api_name="route", host=route_host, base_path="",
                    method=method, path=path, status="undeployed" if undeployed else "deployed",
                    path_match="regex" if path.startswith("~") else "prefix",
                )
            )  # fmt: skip
        for n, base in enumerate(("/", f"/api/v1/res{h}", f"/old{h}")):
            records.append(
                _record(
                    "apigee", "apigee", api_id=f"p{h}-{n}", api_name="proxy", host=host, base_path=base,
                    method="*", path="", status="undeployed" if undeployed and n else "deployed",
                    path_match="prefix",
                )
            )  # fmt: skip
        # A never deployed API knows no host and serves on every one: a root proxy there would serve
        # every endpoint of the estate (a quadratic answer, not a slow lookup), so its proxy has a head.
        aws_host, root = ("", f"/legacy{h}") if undeployed else (host, "")
        for kind, template in (
            ("rest", root + "/{proxy+}"),
            ("rest", f"/api/v2/res{h}/{{id}}"),
            ("http", f"{root}/{{proxy+}}" if undeployed else "$default"),
        ):
            records.append(
                _record(
                    "aws", "aws", api_id=f"a{h}-{kind}", api_name="api", host=aws_host, base_path="",
                    method="GET" if template.startswith("/api") else "*",
                    path="" if template == "$default" else template,
                    status="undeployed" if undeployed else "deployed", tags=[kind],
                    path_match="prefix" if template == "$default" else "exact",
                )
            )  # fmt: skip
    for n in range(3):  # truly unanchored: no literal prefix to index by
        records.append(
            _record(
                "kong", "kong", api_id=f"u{n}", api_name="route", host=hosts[n % len(hosts)], base_path="",
                method="GET", path=rf"~(?i)/API/V{n + 1}/legacy\d+", status="deployed", path_match="regex",
            )
        )  # fmt: skip
    return compact(_tool_names(records))


def _tool_names(records: list[dict]) -> list[dict]:
    for record in records:  # the AWS source's tool name (the instance stays "aws", as ROLES names it)
        if record["tool"] == "aws":
            record["tool"] = "aws_apigateway"
    return records


def measure(size: int) -> dict[str, float]:
    records = estate(size)
    gc.collect()
    with collection_paused():  # as the export runs them (apiinv.pipeline.assemble.build)
        started = time.perf_counter()
        indexes = Indexes.build(records, ROLES)
        merged = merge(records, roles=ROLES, indexes=indexes)
        merged_at = time.perf_counter()
        found = find(merged, records, Analysis(), now=NOW, roles=ROLES, indexes=indexes)
        done = time.perf_counter()
    return {
        "rows": len(merged),
        "findings": sum(len(rows) for rows in found.values()),
        "merge": merged_at - started,
        "findings_time": done - merged_at,
        "records": len(records),
        "bare_pass": _bare_pass(records),
    }


def _bare_pass(records: list[dict]) -> float:
    """The best of five passes reading three fields of each record, nothing else."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(1 for r in records if r.get("last_seen") and r["endpoint_key"] and r["host"])
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000, help="N (traffic endpoints); 4N is measured too")
    size = parser.parse_args().size
    small, large = measure(size), measure(4 * size)
    print(
        f"estate: {size:,} and {4 * size:,} traffic endpoints: {small['rows']:,} and {large['rows']:,} rows"
    )
    print(f"findings: {small['findings']:,} and {large['findings']:,}")
    for stage, name in (("merge", "merge"), ("findings_time", "findings")):
        ratio = large[stage] / small[stage] if small[stage] else float("inf")
        print(
            f"{name:9} {small[stage]:7.2f} s -> {large[stage]:7.2f} s  growth {ratio:.2f}x (target 4.6x)  "
            f"{large[stage] / large['rows'] * 1e6:6.0f} us/row at 4N"
        )
    print(
        f"a bare pass over the records: growth {large['bare_pass'] / small['bare_pass']:.2f}x "
        f"(linear work; {small['bare_pass'] / small['records'] * 1e9:.0f} and "
        f"{large['bare_pass'] / large['records'] * 1e9:.0f} ns per record)"
    )


if __name__ == "__main__":
    main()
