"""Keep the ``tenant`` partition dimension equal to the source's active tenants.

One bad look at the source (a login without the reader role, a row-level-security mistake, a restore
in progress) shows few or no tenants; applied blindly, it would drop every other tenant's partitions.
So a sync that would remove more than ``MAX_REMOVAL_PERCENT`` of the current partitions, and more than
one tenant, removes none until someone confirms it (``export-platform tenants sync --confirm-removals``).
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

import dagster as dg

from export_platform.automation.mailer import Mailer
from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import DeliveryRefused, ExportPlatformError, TransientDeliveryError
from export_platform.partitions import (
    TENANT_DIMENSION,
    InvalidPartitionKey,
    tenant_partitions,
    validate_tenant_slug,
)

log = logging.getLogger(__name__)

MAX_REMOVAL_PERCENT = 10
# Set in the instance while the operators have been told about the current refusal; cleared by the
# next tick that refuses nothing, so each episode is e-mailed once, not once a minute.
REFUSAL_NOTICE_KEY = "export_platform/tenant_sensor/refusal_notice"
NOTICE_LISTS_AT_MOST = 20


class MassTenantRemoval(ExportPlatformError):
    """A sync would remove too many tenants at once; it removed none."""


@dataclass(frozen=True)
class TenantSync:
    """A sync plan. ``withheld`` holds the removals refused as a mass removal (``remove`` is then empty);
    ``current`` is how many tenant partitions there were."""

    add: list[str]
    remove: list[str]
    rejected: list[str]
    withheld: list[str]
    current: int

    @property
    def requests(self) -> list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest]:
        requests: list = []
        if self.add:
            requests.append(tenant_partitions.build_add_request(self.add))
        if self.remove:
            requests.append(tenant_partitions.build_delete_request(self.remove))
        return requests

    @property
    def refusal(self) -> str | None:
        """Why the removals were withheld, with the likely causes and the fix; None when nothing was."""
        if not self.withheld:
            return None
        return (
            f"refused to remove {len(self.withheld):,} of the {self.current:,} tenant partitions at once "
            f"(more than {MAX_REMOVAL_PERCENT}%); removed none, added {len(self.add):,}. Likely causes: "
            "the source login lacks the reader role, a row-level-security policy hides tenant rows, or a "
            "restore is in progress. If the removals are intended, run "
            "`export-platform tenants sync --confirm-removals`."
        )


def is_mass_removal(removed: int, current: int) -> bool:
    """More than one tenant and more than ``MAX_REMOVAL_PERCENT`` of the ``current`` partitions
    (exactly that share is still allowed); integer arithmetic, so the edge is exact."""
    return removed > 1 and removed * 100 > current * MAX_REMOVAL_PERCENT


def plan_tenant_sync(
    active: Sequence[str], known: Sequence[str], *, confirm_removals: bool = False
) -> TenantSync:
    """What to add and remove so the partitions equal the valid active slugs. Invalid slugs are rejected
    rather than added: they would become storage paths. A mass removal (``is_mass_removal``) is
    withheld unless ``confirm_removals``: a source that suddenly lists few tenants is more likely
    misread than emptied. New tenants are still added then, since adding drops nobody's partitions."""
    valid, rejected = [], []
    for slug in active:
        try:
            valid.append(validate_tenant_slug(slug))
        except InvalidPartitionKey:
            rejected.append(slug)
    remove, withheld = sorted(set(known) - set(valid)), []
    if not confirm_removals and is_mass_removal(len(remove), len(set(known))):
        remove, withheld = [], remove
    return TenantSync(
        add=sorted(set(valid) - set(known)),
        remove=remove,
        rejected=sorted(rejected),
        withheld=withheld,
        current=len(set(known)),
    )


def fingerprint(slugs: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(slugs)).encode()).hexdigest()


def sync_tenants(
    instance: dg.DagsterInstance, source: SourceDatabase, *, confirm_removals: bool = False
) -> TenantSync:
    """Apply the sync directly to an instance (the CLI's ``tenants sync``). A mass removal is withheld,
    as in ``plan_tenant_sync``, unless ``confirm_removals``; the caller reports ``refusal``."""
    plan = plan_tenant_sync(
        source.active_tenant_slugs(),
        instance.get_dynamic_partitions(TENANT_DIMENSION),
        confirm_removals=confirm_removals,
    )
    if plan.add:
        instance.add_dynamic_partitions(TENANT_DIMENSION, plan.add)
    for slug in plan.remove:
        instance.delete_dynamic_partition(TENANT_DIMENSION, slug)
    return plan


def compose_refusal_notice(plan: TenantSync, recipients: list[str]) -> EmailMessage:
    """The operators' notice of a withheld mass removal, naming the first tenants it would have removed."""
    email = EmailMessage()
    email["Subject"] = (
        f"Tenant sync refused: {len(plan.withheld):,} of {plan.current:,} tenant partitions would be removed"
    )
    email["To"] = ", ".join(recipients)
    shown = plan.withheld[:NOTICE_LISTS_AT_MOST]
    more = len(plan.withheld) - len(shown)
    lines = [f"tenant_sensor {plan.refusal}", "", "Tenants it would have removed:", *shown]
    email.set_content("\n".join(lines + ([f"... and {more:,} more"] if more else [])) + "\n")
    return email


def _forget_refusal_notice(instance: dg.DagsterInstance) -> None:
    storage = instance.daemon_cursor_storage
    if storage.get_cursor_values({REFUSAL_NOTICE_KEY}).get(REFUSAL_NOTICE_KEY):
        storage.set_cursor_values({REFUSAL_NOTICE_KEY: ""})


def _notify_operators_once(context: dg.SensorEvaluationContext, mailer: Mailer, plan: TenantSync) -> None:
    """E-mail the operators on the first refused tick of an episode; a failed send is retried next tick."""
    storage = context.instance.daemon_cursor_storage
    if storage.get_cursor_values({REFUSAL_NOTICE_KEY}).get(REFUSAL_NOTICE_KEY):
        return
    if not mailer.operators:
        context.log.warning("no operators to tell about the refused tenant sync (EXPORT_OPERATOR_EMAILS)")
        return
    try:
        mailer.send(compose_refusal_notice(plan, list(mailer.operators)))
    except (TransientDeliveryError, DeliveryRefused) as exc:
        context.log.error(f"could not e-mail the operators about the refused tenant sync: {exc}")
        return
    storage.set_cursor_values({REFUSAL_NOTICE_KEY: "sent"})


@dg.sensor(
    name="tenant_sensor",
    description=(
        "Keeps the tenant partitions equal to the active rows of the source's tenants table: adds new "
        "tenants, removes deleted or deactivated ones. Does nothing while the tenant list is unchanged. "
        f"A tick that would remove more than {MAX_REMOVAL_PERCENT}% of the tenants at once (and more than "
        "one) removes none, fails and e-mails the operators; `export-platform tenants sync "
        "--confirm-removals` applies it."
    ),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def tenant_sensor(
    context: dg.SensorEvaluationContext, source: SourceDatabase, mailer: Mailer
) -> dg.SensorResult | dg.SkipReason:
    active = source.active_tenant_slugs()
    current = fingerprint(active)
    if current == context.cursor:
        _forget_refusal_notice(context.instance)
        return dg.SkipReason("tenant list unchanged")
    plan = plan_tenant_sync(active, context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    for slug in plan.rejected:
        context.log.warning(f"ignoring tenant with an unsafe slug: {slug!r}")
    if plan.refusal:
        # A failed tick keeps its cursor, so the plan is made again next tick: add the new tenants now.
        if plan.add:
            context.instance.add_dynamic_partitions(TENANT_DIMENSION, plan.add)
        _notify_operators_once(context, mailer, plan)
        raise MassTenantRemoval(plan.refusal)
    _forget_refusal_notice(context.instance)
    context.log.info(f"tenants: +{plan.add} -{plan.remove}")
    return dg.SensorResult(dynamic_partitions_requests=plan.requests, cursor=current)
