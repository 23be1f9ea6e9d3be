"""Renderers: frames in, a file out. No Dagster, no storage, no tenants' business here."""
