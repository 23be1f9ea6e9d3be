"""How the command line reads lists from options and prints users' text."""

from __future__ import annotations


def shown(value: object) -> str:
    """A stored or typed value as printed: control characters escaped, so a value cannot print a line
    of its own, move the cursor or recolour the terminal. Every command printing users' text uses it."""
    from export_platform.plain_text import escaped

    return escaped("" if value is None else str(value))


def comma_separated(value: str | None) -> tuple[str, ...]:
    """An option's comma-separated items, stripped, empty ones left out."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())
