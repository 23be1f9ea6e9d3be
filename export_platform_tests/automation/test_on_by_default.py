"""The platform's automation runs as soon as the code location is loaded: on a fresh instance every
built-in schedule and sensor is running with nobody having touched a toggle, and one stopped by an
operator stays stopped."""

from __future__ import annotations

import dagster as dg

from export_platform_tests.support.instigators import BUILT_IN_SCHEDULES, platform_repository, running

SENSORS = (
    "export_delivery_sensor",
    "export_failure_notice_sensor",
    "export_schedule_sensor",
    "scheduled_export_retry_sensor",
    "tenant_sensor",
    "unfinished_export_sensor",
)


def test_every_schedule_and_sensor_runs_on_a_fresh_instance() -> None:
    with dg.instance_for_test() as instance:
        assert running(instance) == dict.fromkeys(BUILT_IN_SCHEDULES + SENSORS, True)


def test_a_stopped_schedule_stays_stopped() -> None:
    with dg.instance_for_test() as instance:
        with platform_repository(instance) as repository:
            schedule = repository.get_schedule("retention_cleanup_daily")
            instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
        states = running(instance)
    assert states.pop("retention_cleanup_daily") is False
    assert all(states.values())
