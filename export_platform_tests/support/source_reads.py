"""One tenant's reads of the source outside any snapshot, for tests that read it directly.

Product code reads only inside ``SourceDatabase.tenant_reads``, where every statement sees one
moment. A test that commits between two reads and expects the second to see it, or that computes a
dataset afresh to compare with what a run stored, wants each statement to see the database as of its
own start instead: that is these reads.
"""

from __future__ import annotations

from export_platform.datasets.source_database import TenantReads
from export_platform.source.url import SourceUrl


def reads_outside_a_snapshot(url: str, tenant: str) -> TenantReads:
    """``tenant``'s reads of the source at ``url``, each statement seeing the database as of its start."""
    return TenantReads(SourceUrl(url), tenant)
