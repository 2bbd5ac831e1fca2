"""apiinv: one dated inventory of an organisation's APIs from the tools that already see them."""

__version__ = "0.1.0"
