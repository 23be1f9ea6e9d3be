"""tenant_sensor keeps the tenant partitions equal to the active tenants, idles when nothing changed, and
refuses (telling the operators through a real SMTP server on 127.0.0.1) to drop many tenants at once."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from export_platform.automation.mailer import Mailer
from export_platform.automation.tenants import (
    MassTenantRemoval,
    plan_tenant_sync,
    sync_tenants,
    tenant_sensor,
)
from export_platform.datasets.source_database import SourceDatabase
from export_platform.partitions import TENANT_DIMENSION
from export_platform.source import schema
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl, create_engine
from export_platform_tests.support.mail_delivery import SENDER
from export_platform_tests.support.ports import free_port

OPERATOR = "ops@platform.example"
SEEDED = ["acme", "globex", "initech"]
STALE = [f"shop-{n:02d}" for n in range(1, 10)]  # partitions of tenants the source no longer lists


@pytest.fixture
def source(tmp_path) -> SourceDatabase:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=3, months=1, sales_per_day=1, end_month="2026-10"))
    return SourceDatabase(url=url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def set_active(source: SourceDatabase, slug: str, active: bool) -> None:
    engine = create_engine(source.source_url)
    with engine.begin() as conn:
        conn.execute(sa.update(schema.tenants).where(schema.tenants.c.id == slug).values(is_active=active))


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.defer = 0

    async def handle_DATA(self, server, session, envelope):
        if self.defer:
            self.defer -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


def evaluate(
    instance: dg.DagsterInstance, source: SourceDatabase, cursor: str | None, mailer: Mailer | None = None
):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"source": source, "mailer": mailer or Mailer()}
    )
    return tenant_sensor(context)


def partitions(instance: dg.DagsterInstance) -> list[str]:
    return sorted(instance.get_dynamic_partitions(TENANT_DIMENSION))


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(TENANT_DIMENSION, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(TENANT_DIMENSION, key)


def test_adds_then_idles_then_removes_deactivated(
    instance: dg.DagsterInstance, source: SourceDatabase
) -> None:
    first = evaluate(instance, source, None)
    assert isinstance(first, dg.SensorResult)
    apply(instance, first)
    assert sorted(instance.get_dynamic_partitions(TENANT_DIMENSION)) == ["acme", "globex", "initech"]

    second = evaluate(instance, source, first.cursor)
    assert isinstance(second, dg.SkipReason)

    set_active(source, "globex", False)
    third = evaluate(instance, source, first.cursor)
    assert isinstance(third, dg.SensorResult) and third.cursor != first.cursor
    apply(instance, third)
    assert sorted(instance.get_dynamic_partitions(TENANT_DIMENSION)) == ["acme", "initech"]


def test_unsafe_slugs_are_never_added() -> None:
    plan = plan_tenant_sync(["acme", "../etc", "Acme", "аcme", "new-shop"], known=["acme", "gone"])
    assert plan.add == ["new-shop"]
    assert plan.remove == ["gone"]
    assert plan.rejected == ["../etc", "Acme", "аcme"]


def test_sync_on_demand(instance: dg.DagsterInstance, source: SourceDatabase) -> None:
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["deleted-shop"])
    plan = sync_tenants(instance, source)
    assert plan.add == ["acme", "globex", "initech"] and plan.remove == ["deleted-shop"]
    assert sorted(instance.get_dynamic_partitions(TENANT_DIMENSION)) == ["acme", "globex", "initech"]


@pytest.mark.parametrize(
    ("current", "removed", "refused"),
    [
        (20, 2, False),  # exactly 10%
        (20, 3, True),  # 15%
        (30, 3, False),  # exactly 10%
        (30, 4, True),  # just over
        (19, 2, True),  # 10.5%
        (21, 2, False),  # 9.5%
        (3, 1, False),  # a third, but only one tenant
        (1, 1, False),  # the only tenant
        (3, 2, True),
        (3003, 3000, True),  # the source shows three tenants of 3,003
    ],
)
def test_a_mass_removal_is_withheld_and_new_tenants_still_added(
    current: int, removed: int, refused: bool
) -> None:
    known = [f"shop-{n:04d}" for n in range(current)]
    active = [*known[removed:], "new-shop"]
    gone = known[:removed]
    plan = plan_tenant_sync(active, known)
    assert plan.add == ["new-shop"]
    assert (plan.remove, plan.withheld) == (([], gone) if refused else (gone, []))
    assert (plan.refusal is not None) == refused
    confirmed = plan_tenant_sync(active, known, confirm_removals=True)
    assert (confirmed.add, confirmed.remove, confirmed.withheld, confirmed.refusal) == (
        ["new-shop"],
        gone,
        [],
        None,
    )


def test_the_threshold_is_more_than_one_tenant_and_more_than_a_tenth() -> None:
    for current in range(1, 41):
        known = [f"shop-{n:02d}" for n in range(current)]
        for removed in range(current + 1):
            refused = removed > 1 and Fraction(removed, current) > Fraction(1, 10)
            plan = plan_tenant_sync(known[removed:], known)
            assert bool(plan.withheld) == refused, (current, removed)
            assert len(plan.withheld) + len(plan.remove) == removed


def test_the_refusal_names_the_count_the_likely_causes_and_the_fix() -> None:
    known = [f"shop-{n:04d}" for n in range(3003)]
    plan = plan_tenant_sync([*known[:3], "new-a", "new-b", "new-c"], known)
    assert plan.refusal is not None
    assert f"{3000:,} of the {3003:,} tenant partitions" in plan.refusal
    assert "removed none, added 3" in plan.refusal
    for cause in ("reader role", "row-level-security", "restore is in progress", "--confirm-removals"):
        assert cause in plan.refusal


def test_a_mass_removal_fails_the_tick_keeps_the_partitions_and_tells_the_operators_once(
    instance: dg.DagsterInstance, source: SourceDatabase, inbox: tuple[Inbox, str]
) -> None:
    handler, smtp_url = inbox
    mailer = Mailer(smtp_url=smtp_url, sender=SENDER, operators=[OPERATOR])
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme", *STALE])
    handler.defer = 1  # the first notice is deferred by the mail server: the next tick sends it

    for sent in (0, 1, 1):
        current = len(partitions(instance))  # 10, then 12 once the first tick has added the new tenants
        with pytest.raises(MassTenantRemoval) as refused:
            evaluate(instance, source, None, mailer)
        assert len(handler.messages) == sent
        assert f"remove {len(STALE)} of the {current} tenant partitions" in str(refused.value)
        assert "reader role" in str(refused.value) and "restore is in progress" in str(refused.value)
        assert partitions(instance) == sorted([*SEEDED, *STALE])  # nobody removed, new tenants added

    notice = handler.messages[0]
    assert notice["To"] == OPERATOR
    assert notice["Subject"] == (
        f"Tenant sync refused: {len(STALE)} of {len(SEEDED) + len(STALE)} tenant partitions would be removed"
    )
    body = notice.get_content()
    assert "row-level-security" in body and all(slug in body.splitlines() for slug in STALE)

    # An operator confirms; the next tick succeeds and ends the episode, so the next one is told again.
    assert sync_tenants(instance, source, confirm_removals=True).remove == STALE
    settled = evaluate(instance, source, None, mailer)
    assert isinstance(settled, dg.SensorResult) and partitions(instance) == SEEDED
    set_active(source, "globex", False)
    set_active(source, "initech", False)
    with pytest.raises(MassTenantRemoval, match="remove 2 of the 3 tenant partitions"):
        evaluate(instance, source, settled.cursor, mailer)
    assert len(handler.messages) == 2 and "2 of 3" in handler.messages[1]["Subject"]
    assert partitions(instance) == SEEDED


def test_cli_sync_refuses_a_mass_removal_unless_confirmed(
    tmp_path: Path, source: SourceDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")  # the local defaults, without Dagster's warning about them
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme", *STALE])
    env = {**os.environ, "EXPORT_SOURCE_URL": source.url, "DAGSTER_HOME": str(home)}
    cli = str(Path(sys.executable).parent / "export-platform")

    def sync(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [cli, "tenants", "sync", *options], env=env, capture_output=True, text=True, timeout=300
        )

    refused = sync()
    assert refused.returncode == 1, refused.stderr
    assert refused.stdout.strip() == "tenants added: globex, initech; removed: none"
    [error] = refused.stderr.splitlines()  # one line, no traceback
    assert error.startswith(f"Error: refused to remove {len(STALE)} of the {len(STALE) + 1} ")
    assert error.endswith("run `export-platform tenants sync --confirm-removals`.")
    with dg.DagsterInstance.get() as instance:
        assert partitions(instance) == sorted([*SEEDED, *STALE])

    confirmed = sync("--confirm-removals")
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout.strip() == f"tenants added: none; removed: {', '.join(STALE)}"
    with dg.DagsterInstance.get() as instance:
        assert partitions(instance) == SEEDED


def test_monthly_close_exports_the_month_just_ended_for_every_tenant(instance: dg.DagsterInstance) -> None:
    import datetime as dt

    from export_platform.automation.monthly_close import monthly_close
    from export_platform.definitions import defs

    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    )
    assert isinstance(monthly_close(context), dg.SkipReason)  # no tenants yet
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme", "globex"])
    requests = monthly_close(context)
    assert [r.partition_key for r in requests] == ["2026-10|acme", "2026-10|globex"]
    assert len({r.run_key for r in requests}) == 2
    january = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2027, 1, 1, 6, tzinfo=dt.UTC)
    )
    assert monthly_close(january)[0].partition_key == "2026-12|acme"
    assert defs.resolve_schedule_def("monthly_close").job_name == "exports_job"


def test_weekly_summary_schedule_covers_every_tenant(instance: dg.DagsterInstance) -> None:
    import datetime as dt

    from export_platform.automation.weekly_summary import weekly_summary

    instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme", "globex"])
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC)
    )
    requests = weekly_summary(context)
    assert [r.partition_key for r in requests] == ["acme", "globex"]
    assert requests[0].run_key == "weekly-summary:2026-W48:acme"
