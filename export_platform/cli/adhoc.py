"""``export-platform adhoc``: one ad-hoc export from a request file, checked whole before it runs, so
a request with several mistakes is refused with all of them, one line each."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from export_platform.cli.job_runs import failure, first_step_error
from export_platform.cli.refusals import Refused, checked_source_url, require_dagster_home
from export_platform.cli.run_logs import run_logs
from export_platform.cli.text import shown
from export_platform.errors import validation_problems

if TYPE_CHECKING:
    from pydantic import ValidationError

JOB = "adhoc_export"
OP = "run_adhoc_export"
SHAPE = f"ops: {{{OP}: {{config: {{tenant: ..., dataset: ..., ...}}}}}}, as in examples/adhoc-request.yaml"


def _request(path: Path) -> dict[str, Any]:
    """The request in ``path``: the run config of adhoc_export, as ``dg launch -c`` takes it."""
    import yaml  # type: ignore[import-untyped]  # pyyaml, installed with Dagster, ships no types

    try:
        run_config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Refused(f"{path} is not YAML ({shown(str(exc).splitlines()[0])}): write {SHAPE}") from None
    request = run_config
    for key in ("ops", OP, "config"):
        request = request.get(key) if isinstance(request, dict) else None
    if not isinstance(request, dict):
        raise Refused(f"{path} holds no request: write {SHAPE}")
    return request


def _field_problems(error: ValidationError) -> list[str]:
    """Each problem pydantic found, on a line of its own led by its field (``formats[1]``); pydantic's
    own words do not quote the value, so those lines say what was given."""
    given = [
        "" if problem["type"] == "value_error" else f" (got {problem['input']!r})"
        for problem in error.errors()
    ]
    return [line + note for line, note in zip(validation_problems(error), given, strict=True)]


def request_problems(request: dict[str, Any]) -> list[str]:
    """Every mistake of ``request``, one line each: fields it does not have, values its fields refuse
    and a tenant the source does not have. Checks across fields (a range over a year, a filter the
    dataset does not take) run once every field is valid, as they need them."""
    from pydantic import ValidationError

    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.errors import UnknownTenant
    from export_platform.exports.adhoc import AdhocExportConfig

    fields = AdhocExportConfig.model_fields
    problems = [
        f"{name}: not a field of an ad-hoc request; the fields are {', '.join(fields)}"
        for name in request
        if name not in fields
    ]
    try:
        AdhocExportConfig(**{name: value for name, value in request.items() if name in fields})
    except ValidationError as exc:
        problems += _field_problems(exc)
    if not any(line.startswith("tenant:") for line in problems) and isinstance(request.get("tenant"), str):
        try:
            SourceDatabase(url=checked_source_url().raw).tenant(request["tenant"])
        except UnknownTenant as exc:
            problems.append(f"tenant: {exc}")
    return [shown(line) for line in problems]


@click.command(short_help="Export one tenant's dataset on demand, from a request file.")
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The request in YAML: the adhoc_export job's run config, as in examples/adhoc-request.yaml.",
)
def adhoc(config_file: Path) -> None:
    """Check an ad-hoc request whole, then run it: one tenant's dataset over a date range (or preset),
    filtered, in any of CSV, Excel and PDF, written to {tenant}/adhoc/{run_id}/.

    \b
    Example:
        export-platform adhoc --config examples/adhoc-request.yaml

    A request with mistakes is refused before a run exists, every mistake on a line of its own. The
    run executes in this process and is recorded in the Dagster instance in DAGSTER_HOME, each file in
    the export history. Exits 2 for a refused request, 1 if the run failed.
    """
    import dagster as dg

    require_dagster_home()
    request = _request(config_file)
    problems = request_problems(request)
    if problems:
        raise Refused(
            f"{config_file} is refused, nothing was run:\n" + "\n".join(f"  {line}" for line in problems)
        )
    with dg.DagsterInstance.get() as instance, run_logs("adhoc") as logs:
        try:
            result = logs.job(JOB).execute_in_process(
                run_config={**logs.run_config, "ops": {OP: {"config": request}}},
                instance=instance,
                raise_on_error=False,
            )
        except dg.DagsterInvalidConfigError as exc:
            raise Refused(
                f"{config_file}: refused by the job's config schema:\n"
                + "\n".join(f"  {shown(error.message)}" for error in exc.errors)
            ) from None
    if not result.success:
        error = first_step_error(result)
        if error is not None and error.error_class == "RequestRefused":
            raise Refused(f"{config_file}: {shown(error.message.removeprefix('RequestRefused: '))}")
        click.echo(failure(result), err=True)
        sys.exit(1)
    files = result.output_for_node(OP)
    click.echo(f"Exported {request['dataset']} for {request['tenant']} (run {result.run_id}):")
    for file in files:
        click.echo(
            f"    {file['format']:<5} {file['rows']:>9,} rows {file['bytes']:>12,} bytes  {file['uri']}"
        )
