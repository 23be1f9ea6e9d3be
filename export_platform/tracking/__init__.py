"""Tracking: the platform tables and the export history."""
