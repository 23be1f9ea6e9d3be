"""The command group every ``export-platform`` command hangs from: each command takes ``--verbose``,
and an error is printed as one or two lines, never a stack trace unless ``--verbose`` asks for one."""

from __future__ import annotations

from typing import Any

import click

from export_platform.cli.refusals import Refused
from export_platform.settings import SOURCE_URL_VAR

_VERBOSE = "export_platform.verbose"


def is_verbose() -> bool:
    """Whether the running command was given ``--verbose``."""
    return bool(click.get_current_context().meta.get(_VERBOSE))


def _remember_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_VERBOSE] = True  # shared by the contexts of the group and its commands


def verbose_option() -> click.Option:
    """``-v/--verbose``, taken by the group and by each command."""
    return click.Option(
        ["-v", "--verbose"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember_verbose,
        help="Print Dagster's logs here as well, and the stack trace of an unexpected error.",
    )


def _one_or_two_lines(error: Exception) -> click.ClickException:
    """``error`` as the exception click prints: ``Error: <message>``, exit status 2 for input the
    command refuses, 1 for anything else."""
    import sqlalchemy as sa

    from export_platform.errors import ExportPlatformError, MalformedUrl, UnknownTenant
    from export_platform.partitions import InvalidPartitionKey

    if isinstance(error, click.UsageError):  # click's own, which would add the usage and a blank line
        hint = f"\nTry '{error.ctx.command_path} --help' for help." if error.ctx else ""
        return Refused(error.format_message() + hint)
    if isinstance(error, MalformedUrl | UnknownTenant | InvalidPartitionKey):
        return Refused(str(error))
    if isinstance(error, sa.exc.OperationalError):  # raised outside the platform's own wrappers
        reason = (str(error.orig).strip().splitlines() or [""])[0]
        return click.ClickException(f"cannot open the source database ({SOURCE_URL_VAR}): {reason}")
    first_line = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, ExportPlatformError):
        return click.ClickException(first_line)
    return click.ClickException(
        f"{type(error).__name__}: {first_line} (run the command again with --verbose for the stack trace)"
    )


class Commands(click.Group):
    """A group whose commands all take ``--verbose`` and print errors as one or two lines."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(cmd, click.Group):
            cmd.params.append(verbose_option())
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.UsageError as error:
            raise _one_or_two_lines(error) from None
        except click.ClickException:
            raise
        except Exception as error:
            if ctx.meta.get(_VERBOSE):
                raise
            raise _one_or_two_lines(error) from None
