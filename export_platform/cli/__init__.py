"""The ``export-platform`` command line: seed a source, sync tenants into Dagster, run the demo, a
backfill or an ad-hoc export, read the history, and manage schedules, notifications and API tokens.

Dagster's own CLI does the rest (``dg dev``, ``dg launch``); this covers what it has no command for.
Each command lives in a module of this package; ``group`` says how they all take ``--verbose`` and
print errors.
"""

from __future__ import annotations

import click

from export_platform.cli.adhoc import adhoc
from export_platform.cli.api_server import api
from export_platform.cli.backfill import backfill
from export_platform.cli.demo import demo
from export_platform.cli.group import Commands, verbose_option
from export_platform.cli.history import history
from export_platform.cli.notifications import notifications
from export_platform.cli.schedules import schedules
from export_platform.cli.seed import seed
from export_platform.cli.tenants import tenants
from export_platform.cli.tokens import tokens


@click.group(
    cls=Commands, params=[verbose_option()], context_settings={"help_option_names": ["-h", "--help"]}
)
def main() -> None:
    """Export tenants' POS and ledger data as CSV, Excel and PDF with Dagster.

    \b
    The common tasks, in order (Dagster's own CLI runs single partitions and jobs):
      export-platform seed --tenants 3 --months 3     demo data in the source database
      export-platform tenants sync                     one Dagster partition per tenant
      dg launch -m export_platform.definitions \\
          --assets 'group:datasets or group:exports' --partition '2026-10|acme'
      export-platform backfill --month 2026-10         that month for every tenant
      export-platform adhoc --config request.yaml      one tenant's dataset on demand
      export-platform history --tenant acme            what was exported, newest first
      dg dev -w workspace.yaml                         the UI, on http://127.0.0.1:3000

    Sources and storage come from EXPORT_SOURCE_URL and EXPORT_ARTIFACT_ROOT; unset, they default to
    a SQLite file and a folder under .export_platform/ in the current directory. Commands that touch
    the Dagster instance read DAGSTER_HOME. Commands print their progress and result; Dagster's logs
    go to the run's page in the UI and to a file under .export_platform/logs/ (--verbose prints them
    too). Add --help to any command for its options.
    """


for _command in (seed, tenants, backfill, demo, adhoc, history, schedules, notifications, tokens, api):
    main.add_command(_command)

__all__ = ["main"]
