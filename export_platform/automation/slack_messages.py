"""A scheduled run's files as a Slack message, in the incoming-webhook format: ``text`` (what the
notification shows) and ``blocks`` (a header line, then each file's link, size and rows).

Slack reads ``&``, ``<`` and ``>`` in text as markup, so every value from a schedule or the source is
escaped before it goes in; links are Slack's ``<url|label>``."""

from __future__ import annotations

from typing import Any

from export_platform.automation.webhooks import DeliveredRun

MAX_FILE_BLOCKS = 45
"""Slack takes at most 50 blocks a message; the files past this are counted, not linked."""


def slack_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KB"
    for larger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{value:.1f} {unit}"


def slack_message(run: DeliveredRun) -> dict[str, Any]:
    """The message a Slack incoming webhook posts for ``run``."""
    headline = f"{run.schedule_name}: {run.tenant_name} exports for {run.period_label}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{slack_escaped(headline)}*"}}
    ]
    for f in run.files[:MAX_FILE_BLOCKS]:
        line = (
            f"<{f.url}|{slack_escaped(f.name)}> ({_size(f.size)}, {f.record_count} rows), "
            f"link valid until {f.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
    if len(run.files) > MAX_FILE_BLOCKS:
        more = len(run.files) - MAX_FILE_BLOCKS
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {more} more files"}]})
    return {"text": slack_escaped(f"{headline}: {len(run.files)} files"), "blocks": blocks}
