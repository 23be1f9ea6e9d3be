"""A worked example of a downstream code location: it waits for the platform's monthly CSV exports and
loads each into a Parquet table that analysts query across tenants and months."""
