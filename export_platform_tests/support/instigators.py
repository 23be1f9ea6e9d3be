"""The platform's schedules and sensors as an instance sees them: the code location loaded in this
process under its workspace name (``export_platform``), so its selector ids, which key the stored
on/off states, are the ones the daemon and the UI use."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

from export_platform_tests.support.project import PROJECT

LOCATION = "export_platform"
BUILT_IN_SCHEDULES = ("monthly_close", "retention_cleanup_daily", "weekly_summary")


@contextlib.contextmanager
def platform_repository(instance: dg.DagsterInstance) -> Iterator[RemoteRepository]:
    """The code location's repository as the workspace loads it."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="export_platform.definitions", working_directory=str(PROJECT)),
        location_name=LOCATION,
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace:
        location = workspace.create_request_context().get_code_location(LOCATION)
        (repository,) = location.get_repositories().values()
        yield repository


def running(instance: dg.DagsterInstance) -> dict[str, bool]:
    """Every schedule's and sensor's name, with whether it runs on ``instance`` now."""
    with platform_repository(instance) as repository:
        instigators = [*repository.get_schedules(), *repository.get_sensors()]
        return {
            instigator.name: instigator.get_current_instigator_state(
                instance.get_instigator_state(instigator.get_remote_origin_id(), instigator.selector_id)
            ).is_running
            for instigator in instigators
        }
