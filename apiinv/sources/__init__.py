"""The built-in sources, one module per tool type, each exporting the ``SOURCE`` that
``apiinv/sources/base.py`` describes; ``apiinv.registry`` finds them (and plugins) by tool type."""
