"""Every name another system or person relies on, in one reviewed snapshot per code location: asset
keys with their groups, partitions and checks, jobs, schedules and sensors. A rename (or a changed
partitions definition, which orphans every stored partition) fails here until the snapshot is updated
on purpose with ``pytest --snapshot-update``, so it shows up in review."""

from __future__ import annotations

import dagster as dg
import pytest

from export_platform.definitions import defs as platform_defs
from export_platform_downstream.definitions import defs as downstream_defs

CODE_LOCATIONS = {"export_platform": platform_defs, "downstream_example": downstream_defs}


def partitions_name(definition: dg.PartitionsDefinition | None) -> str:
    """A short name for a partitions definition, which the snapshot spells out once under that name."""
    if definition is None:
        return "unpartitioned"
    if isinstance(definition, dg.MultiPartitionsDefinition):
        return " x ".join(d.name for d in definition.partitions_defs)
    if isinstance(definition, dg.DynamicPartitionsDefinition):
        return definition.name
    return type(definition).__name__


def partitions(definition: dg.PartitionsDefinition) -> dict:
    """What decides the partition keys: a change here orphans every stored partition."""
    if isinstance(definition, dg.MultiPartitionsDefinition):
        dimensions = {d.name: partitions(d.partitions_def) for d in definition.partitions_defs}
        return {"type": "multi", "dimensions": dimensions}
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        return {
            "type": type(definition).__name__,
            "cron": definition.cron_schedule,
            "start": definition.start.isoformat(),
            "end": definition.end.isoformat() if definition.end else None,
            "fmt": definition.fmt,
            "timezone": definition.timezone,
            "end_offset": definition.end_offset,
        }
    if isinstance(definition, dg.DynamicPartitionsDefinition):
        return {"type": "dynamic", "name": definition.name}
    if isinstance(definition, dg.StaticPartitionsDefinition):
        return {"type": "static", "keys": definition.get_partition_keys()}
    raise TypeError(f"no description for {type(definition).__name__}: add one here")


def sensor_targets(sensor: dg.SensorDefinition) -> list[str]:
    """What a sensor launches: a job by name, or the assets an unnamed job selects."""
    if isinstance(sensor, dg.AutomationConditionSensorDefinition):
        return [f"assets {sensor.asset_selection}"]
    targets = []
    for target in sensor.targets:
        job = target.resolvable_to_job
        anonymous = job.name.startswith("__anonymous_asset_job")
        targets.append(f"assets {job.selection}" if anonymous else job.name)
    return sorted(targets)


def public_names(defs: dg.Definitions) -> dict:
    """What the snapshot holds; its serializer sorts every mapping, so only a real change shows."""
    graph = defs.resolve_asset_graph()
    jobs = [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]  # not Dagster's
    used = [graph.get(key).partitions_def for key in graph.get_all_asset_keys()]
    used += [job.partitions_def for job in jobs]
    named: dict[str, dict] = {}
    for definition in filter(None, used):
        name, described = partitions_name(definition), partitions(definition)
        assert named.setdefault(name, described) == described, f"two partitions definitions named {name}"
    assets = {
        key.to_user_string(): {
            "group": graph.get(key).group_name,
            "partitions": partitions_name(graph.get(key).partitions_def),
            "checks": [],
        }
        for key in graph.get_all_asset_keys()
    }
    for check in graph.asset_check_keys:
        assets[check.asset_key.to_user_string()]["checks"].append(check.name)
    for asset in assets.values():
        asset["checks"].sort()
    return {
        "partitions": named,
        "assets": assets,
        "jobs": {job.name: {"partitions": partitions_name(job.partitions_def)} for job in jobs},
        "schedules": {
            schedule.name: {
                "cron": schedule.cron_schedule,
                "timezone": schedule.execution_timezone,
                "job": schedule.job_name,
            }
            for schedule in defs.schedules or []
        },
        "sensors": {
            sensor.name: {"type": sensor.sensor_type.value, "targets": sensor_targets(sensor)}
            for sensor in defs.sensors or []
        },
    }


@pytest.mark.parametrize("location", sorted(CODE_LOCATIONS))
def test_public_names_match_the_snapshot(location: str, snapshot) -> None:
    assert public_names(CODE_LOCATIONS[location]) == snapshot
