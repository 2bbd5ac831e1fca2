"""The command line: ``app`` holds the global options and the one place outcomes become exit codes;
each help panel's commands live in their own module and only call the library."""

from apiinv.cli import pipeline, reports, scheduling, setup  # noqa: F401  (they register their commands)
from apiinv.cli.app import app, hoist_global_options, main

__all__ = ["app", "hoist_global_options", "main"]
