"""The operational source database: its schema, demo data, and tenant-scoped Arrow reads."""
