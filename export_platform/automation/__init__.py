"""Sensors and schedules: tenant discovery now; export schedules, notices and retention later."""
