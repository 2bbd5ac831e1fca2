"""planner.yaml and tools.yaml: the model (``model``), the packaged schemas (``schema``), secrets from
the environment and .env (``secrets``), and reading and checking both files (``load``)."""

from apiinv.config.load import check_planner, check_tools, load, read_yaml, validate
from apiinv.config.model import (
    ACTION_STEPS,
    OWNERS_KEY,
    PLANNER_FILE,
    TOOLS_FILE,
    Analysis,
    Config,
    Delivery,
    Planner,
    Schedule,
    ToolConfig,
    Validation,
)
from apiinv.config.schema import schema, schema_problems
from apiinv.config.secrets import default_env_file, env_var_name, load_env

__all__ = [
    "ACTION_STEPS",
    "OWNERS_KEY",
    "PLANNER_FILE",
    "TOOLS_FILE",
    "Analysis",
    "Config",
    "Delivery",
    "Planner",
    "Schedule",
    "ToolConfig",
    "Validation",
    "check_planner",
    "check_tools",
    "default_env_file",
    "env_var_name",
    "load",
    "load_env",
    "read_yaml",
    "schema",
    "schema_problems",
    "validate",
]
