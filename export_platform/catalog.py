"""What the platform offers: which datasets export to which formats. The export assets, tenants'
schedules, the ad-hoc job, the CLI and the consumer API all read this one table."""

FORMAT_NAMES: tuple[str, ...] = ("csv", "xlsx", "pdf")
"""Each format's name is its file extension and its export assets' key suffix."""

EXPORT_FORMATS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("sales", "customers", "inventory", "audit_log", "bills", "accounts", "invoices"), FORMAT_NAMES
    ),
    "sale_items": ("csv",),  # the sales workbook and report carry the line items already
}
"""The formats each dataset is exported to, in the order its export assets are listed."""

BUNDLE = "csv_bundle"
"""The workbook's sheets as CSV files in one zip: made on request (ad-hoc exports, schedules), not an
export asset; why is in ``render.csv_bundle``."""

REQUEST_FORMATS: dict[str, tuple[str, ...]] = {
    dataset: (*names, BUNDLE) if "xlsx" in names else names for dataset, names in EXPORT_FORMATS.items()
}
"""The formats a request (ad-hoc, schedule) may ask of each dataset: its export assets' formats, and
the CSV bundle wherever there is a workbook to bundle."""

REQUEST_FORMAT_NAMES: tuple[str, ...] = (*FORMAT_NAMES, BUNDLE)
