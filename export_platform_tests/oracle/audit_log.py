"""The audit log export recomputed from the month's audit events.

Rules: every event in the tenant's local month, by time then event ID, with its user when the user
belongs to the tenant; the category is the event type up to its first dot; the description reads
"<type> on <entity type> #<entity ID or ?> by <user>", each part only when known; the payload is
re-printed as one line of JSON with its keys sorted, or kept behind a mark when it is not JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.report import ExpectedReport, Row

TOP = 5


def readable(payload: str | None) -> str | None:
    if payload is None:
        return None
    try:
        parsed = json.loads(payload)
    except (ValueError, RecursionError):
        return "[invalid JSON] " + payload
    text = json.dumps(parsed, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate stays escaped


def description(event: dict, user: dict | None) -> str:
    text = event["event_type"]
    if event["entity_type"] is not None:
        entity_id = "?" if event["entity_id"] is None else event["entity_id"]
        text += f" on {event['entity_type']} #{entity_id}"
    if user is not None:
        text += f" by {user['name']}"
    return text


def every_event(event: dict) -> bool:
    return True


def event_rows(source: SourceOracle, month: str, keep: Callable[[dict], bool] = every_event) -> list[Row]:
    """The month's events that ``keep`` (given the source row) keeps, as the export lists them."""
    start, end, _ = source.month_bounds(month)
    users = {u["id"]: u for u in source.rows(schema.users)}
    events = sorted(
        (e for e in source.rows(schema.audit_events) if start <= e["occurred_at"] < end and keep(e)),
        key=lambda e: (e["occurred_at"], e["id"]),
    )
    rows = []
    for event in events:
        user = users.get(event["user_id"])
        rows.append(
            {
                "Event ID": event["id"],
                "Time": event["occurred_at"].astimezone(source.timezone),
                "Category": event["event_type"].split(".", 1)[0],
                "Event Type": event["event_type"],
                "Entity Type": event["entity_type"],
                "Entity ID": event["entity_id"],
                "User Email": user["email"] if user else None,
                "User": user["name"] if user else None,
                "IP Address": event["ip_address"],
                "User Agent": event["user_agent"],
                "Description": description(event, user),
                "Event Data": readable(event["event_data"]),
            }
        )
    return rows


def top(counts: Counter) -> list[tuple[str, int]]:
    """The five most frequent, ties by name."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def expected_audit_log(
    source: SourceOracle, month: str, keep: Callable[[dict], bool] = every_event
) -> ExpectedReport:
    rows = event_rows(source, month, keep)
    types = Counter(r["Event Type"] for r in rows)
    users = Counter(r["User Email"] for r in rows if r["User Email"] is not None)
    summary = [
        ("Events", len(rows)),
        ("Event types", len(types)),
        ("Users", len(users)),
        ("First event", min((r["Time"] for r in rows), default=None)),
        ("Last event", max((r["Time"] for r in rows), default=None)),
        *((f"Events: {t}", n) for t, n in top(types)),
        *((f"By user: {u}", n) for u, n in top(users)),
    ]
    return ExpectedReport({"Audit Logs": rows}, summary)
