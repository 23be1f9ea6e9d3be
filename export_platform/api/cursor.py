"""Page cursors: where the last page ended, as an opaque string a client hands back unchanged."""

from __future__ import annotations

import base64
import datetime as dt
import json

from export_platform.api.problems import invalid
from export_platform.tracking.history_reads import HistoryPosition


def encode_cursor(position: HistoryPosition) -> str:
    text = json.dumps([position.created_at.isoformat(), position.id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> HistoryPosition:
    """The position ``cursor`` names; a 422 naming ``query.cursor`` if it is not one this API gave out."""
    try:
        created_at, entry_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = HistoryPosition(dt.datetime.fromisoformat(created_at), str(entry_id))
        if position.created_at.tzinfo is None:
            raise ValueError("a cursor's time has its zone")
    except (ValueError, TypeError):  # binascii.Error and JSON errors are ValueErrors
        raise invalid("query.cursor", "not a cursor this API gave out; pass next_cursor unchanged") from None
    return position
