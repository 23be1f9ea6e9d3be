"""Keep the ``tenant`` partition dimension equal to the source's active tenants."""

import hashlib
import logging
from dataclasses import dataclass

import dagster as dg

from export_platform.partitions import (
    TENANT_DIMENSION,
    InvalidPartitionKey,
    tenant_partitions,
    validate_tenant_slug,
)
from export_platform.resources import SourceDatabase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantSync:
    add: list[str]
    remove: list[str]
    rejected: list[str]

    @property
    def requests(self) -> list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest]:
        requests: list = []
        if self.add:
            requests.append(tenant_partitions.build_add_request(self.add))
        if self.remove:
            requests.append(tenant_partitions.build_delete_request(self.remove))
        return requests


def plan_tenant_sync(active: list[str], known: list[str]) -> TenantSync:
    """What to add and remove so the partitions equal the valid active slugs. Invalid slugs are rejected
    rather than added: they would become storage paths."""
    valid, rejected = [], []
    for slug in active:
        try:
            valid.append(validate_tenant_slug(slug))
        except InvalidPartitionKey:
            rejected.append(slug)
    return TenantSync(
        add=sorted(set(valid) - set(known)), remove=sorted(set(known) - set(valid)), rejected=sorted(rejected)
    )


def fingerprint(slugs: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(slugs)).encode()).hexdigest()


def sync_tenants(instance: dg.DagsterInstance, source: SourceDatabase) -> TenantSync:
    """Apply the sync directly to an instance (the CLI's ``tenants sync``)."""
    plan = plan_tenant_sync(source.active_tenant_slugs(), instance.get_dynamic_partitions(TENANT_DIMENSION))
    if plan.add:
        instance.add_dynamic_partitions(TENANT_DIMENSION, plan.add)
    for slug in plan.remove:
        instance.delete_dynamic_partition(TENANT_DIMENSION, slug)
    return plan


@dg.sensor(
    name="tenant_sensor",
    description=(
        "Keeps the tenant partitions equal to the active rows of the source's tenants table: adds new "
        "tenants, removes deleted or deactivated ones. Does nothing while the tenant list is unchanged."
    ),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def tenant_sensor(
    context: dg.SensorEvaluationContext, source: SourceDatabase
) -> dg.SensorResult | dg.SkipReason:
    active = source.active_tenant_slugs()
    current = fingerprint(active)
    if current == context.cursor:
        return dg.SkipReason("tenant list unchanged")
    plan = plan_tenant_sync(active, context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    for slug in plan.rejected:
        context.log.warning(f"ignoring tenant with an unsafe slug: {slug!r}")
    context.log.info(f"tenants: +{plan.add} -{plan.remove}")
    return dg.SensorResult(dynamic_partitions_requests=plan.requests, cursor=current)
