"""The asset keys downstream users rely on, written out rather than read from the definitions."""

from __future__ import annotations

DATASET_KEYS = ["accounts", "audit_log", "bills", "customers", "inventory", "invoices", "sale_items", "sales"]
EXPORT_KEYS = sorted(
    [
        f"{d}_{f}"
        for d in ("sales", "customers", "inventory", "audit_log", "bills", "accounts", "invoices")
        for f in ("csv", "xlsx", "pdf")
    ]
    + ["sale_items_csv"]
)
