"""export-platform: tenant-partitioned Dagster assets that export POS and ledger data."""
