"""What every command shares: the global options, and the configuration and store they point to.

Built once per invocation by the CLI callback; loads the configuration only when a command asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apiinv.config import Config
    from apiinv.console import Console
    from apiinv.store import Store, StoreDate


@dataclass
class Runtime:
    config_dir: Path = Path(".")
    output: Path = Path("output")
    env_file: Path | None = None
    run_date: date | None = None
    log_level: str = "INFO"
    quiet: bool = False
    log_json: bool = False
    _config: Config | None = field(default=None, repr=False)

    def start_logging(self) -> None:
        from apiinv.errors import StoreError
        from apiinv.logs import setup_logging

        try:
            setup_logging(
                self.output / "logs", level=self.log_level, quiet=self.quiet, console_json=self.log_json
            )
        except OSError as exc:
            raise StoreError(
                f"{self.output / 'logs'}: cannot create the log folder: {exc.strerror}"
            ) from None

    def console(self) -> Console:
        from apiinv.console import Console

        return Console(quiet=self.quiet, json=self.log_json)

    def config(self, *, require_planner: bool = False) -> Config:
        if self._config is None or (require_planner and self._config.planner is None):
            from apiinv import config

            self._config = config.load(self.config_dir, self.env_file, require_planner=require_planner)
        return self._config

    def env(self) -> dict[str, str]:
        """The environment over --env-file (or the config dir's .env, or ./.env)."""
        from apiinv.config import default_env_file, load_env

        return load_env(self.env_file or default_env_file(self.config_dir))

    def date(self) -> date:
        """The run date: --date, else today in the planner's time zone."""
        if self.run_date is not None:
            return self.run_date
        from apiinv import config

        planner_path = self.config_dir / config.PLANNER_FILE
        if planner_path.exists():
            return self.config().today()
        from apiinv.timefmt import today

        return today()

    def store(self) -> Store:
        from apiinv.store import Store

        return Store(self.output)

    def day(self) -> StoreDate:
        """The run date's handle in the store."""
        return self.store().at(self.date())
