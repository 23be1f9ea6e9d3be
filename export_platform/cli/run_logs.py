"""Where Dagster's logs of the runs a command starts go: to the run's own log in the instance (the
run's page in the UI) as always, to a file under ``.export_platform/logs/`` whose path the command
prints, and to the terminal only with ``--verbose``, so a command prints its progress and its result."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import dagster as dg

from export_platform import settings
from export_platform.cli.group import is_verbose

# Dagster's console format, so the file reads like the terminal did.
_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


@dataclass(frozen=True)
class RunLogs:
    """The loggers of one command's runs: a file at ``path``, and the terminal when ``verbose``."""

    path: Path
    handler: logging.Handler
    verbose: bool

    def job(self, name: str) -> dg.JobDefinition:
        """The code location's job ``name``, logging to this file (and the terminal when verbose)."""
        from export_platform.definitions import defs

        handler = self.handler

        def to_file(_context: dg.InitLoggerContext) -> logging.Logger:
            log = logging.Logger("dagster", logging.DEBUG)
            log.addHandler(handler)
            return log

        log_file = dg.LoggerDefinition(
            to_file, description="Dagster's logs of the run, appended to the command's log file."
        )
        loggers: dict[str, dg.LoggerDefinition] = {"log_file": log_file}
        if self.verbose:
            loggers["console"] = dg.colored_console_logger
        return defs.resolve_job_def(name).with_logger_defs(loggers)

    @property
    def run_config(self) -> dict[str, Any]:
        """The run config naming the loggers: Dagster uses the job's loggers only when it names them."""
        loggers: dict[str, Any] = {"log_file": {}}
        if self.verbose:
            loggers["console"] = {"config": {"log_level": "DEBUG"}}
        return {"loggers": loggers}


def _as_shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies inside it, as a user would type it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def run_logs(command: str) -> Iterator[RunLogs]:
    """A log file for ``command``'s runs (appended to when one started in the same second), its path
    printed on stderr first."""
    folder = settings.local_state_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{command}-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT, _DATE_FORMAT))
    click.echo(f"Dagster's logs: {_as_shown(path)} (and each run's page in the UI)", err=True)
    try:
        yield RunLogs(path, handler, is_verbose())
    finally:
        handler.close()
