"""Which Apigee proxy serves a request, as Google's Apigee documentation states it.

Pure: no store, no clock, no vendor code. Sources (tests/analysis/conformance/apigee.yaml cites them
row by row):

- ROUTES: cloud.google.com/apigee/docs/api-platform/fundamentals/understanding-routes, "Determining
  the URL of the API proxy endpoint": a proxy URL is hostname, then base path, then resource path
  (``/v1/weather`` + ``/forecastrss``); the hostname is one of an environment group's.
- CREATE: cloud.google.com/apigee/docs/api-platform/develop/ui-create-proxy, "API proxy primary
  fields" and "Use wildcards in base paths": Apigee matches and routes requests to a proxy by its base
  path; a base path may hold ``*`` only as a whole segment between two slashes (``/team/*/members``
  serves ``/team/blue/members``), any number of times; ``/**``, ``/something*`` and ``/*something``
  are not supported.
- CONFIG: cloud.google.com/apigee/docs/api-platform/reference/api-proxy-configuration-reference,
  "ProxyEndpoint" ``HTTPProxyConnection/BasePath``: each ProxyEndpoint of a proxy has its own base
  path, so a proxy with several ProxyEndpoints has several base paths.
- ENVGROUPS: cloud.google.com/apigee/docs/api-platform/fundamentals/environments-overview, "Overview"
  and "Key points": hostnames are defined on environment groups, Apigee routes a request to the
  environments of the group whose hostname it names; an environment can be in several groups; base
  paths deployed under one group's hostnames must not collide ("Conflict avoidance").

Rules as apiinv applies them (a base path is a key's path, ``*`` written ``{}``):

- A base path serves itself and every path below it, on segment boundaries (ROUTES: the resource
  path follows the base path as its own segments): ``/v1/weather`` serves ``/v1/weather/forecastrss``,
  not ``/v1/weatherx``.
- A ``*`` segment stands for exactly one segment (CREATE).
- Hosts: a proxy deployed to an environment is reached on the hostnames of every group the environment
  is attached to (ENVGROUPS); apiinv's Apigee source writes one record per such host.
- Nested base paths (``/v1`` and ``/v1/weather``) on one hostname: the documentation found states no
  rule beyond "conflict avoidance"; apiinv gives a request to the most specific base path that serves
  it (most segments, then a literal segment before a ``*`` one, from the left), as a proxy on the longer
  base path would otherwise never be reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from apiinv.analysis.routers import openapi

T = TypeVar("T")


def serves(base_path: str, path: str) -> bool:
    """Whether a proxy's base path (``*`` written ``{}``) serves a request path."""
    return openapi.serves_below(base_path, path)


def _rank(base_path: str) -> tuple[int, tuple[int, ...]]:
    segments = [s for s in base_path.split("/") if s]
    return len(segments), openapi.specificity(base_path)


def chosen(entries: Iterable[T], base_path_of: Callable[[T], str]) -> list[T]:
    """The entries with the most specific base path among those serving one request."""
    entries = list(entries)
    if len(entries) < 2:
        return entries
    best = max(_rank(base_path_of(entry)) for entry in entries)
    return [entry for entry in entries if _rank(base_path_of(entry)) == best]
