"""apiinv: one dated inventory of an organisation's APIs from the tools that already see them.

For notebooks: ``apiinv.load("output")`` gives the newest report as pandas DataFrames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "load"]

if TYPE_CHECKING:
    from apiinv.frames import Inventory


def load(output: Any = "output", day: Any = None) -> Inventory:
    """A date's report as DataFrames (see ``apiinv.frames``); pandas is imported only here."""
    from apiinv.frames import load as load_frames

    return load_frames(output, day)
