"""Text that users type and the platform later puts in an e-mail header, a log line or a terminal.

A carriage return or line feed in a header value starts a new header (or makes Python's e-mail package
refuse the whole message); in a terminal or a log it prints a line that looks like the platform's own;
an escape sequence recolours or clears the screen; a bidirectional override shows text in another
order than it is stored. So such fields are refused when they are saved (``refuse_control_characters``),
and text shown on a terminal is printed with those characters escaped (``escaped``), for values saved
before the rule or written by other means.
"""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL, the Unicode line and paragraph separators (str.splitlines
# breaks on them), and the bidirectional embeddings, overrides and isolates.
CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def control_character_problem(value: str, *, allow: str = "") -> str | None:
    """Why ``value`` may not be saved, naming its first control character and where it is; None when
    it holds none. ``allow`` lists characters the field may hold (a message body's line breaks)."""
    for position, char in enumerate(value, start=1):
        if char not in allow and _CONTROL.match(char):
            return (
                f"control characters are not allowed (U+{ord(char):04X} at character {position}); "
                "remove line breaks, tabs and escape characters"
            )
    return None


def refuse_control_characters(field: str, value: str | None, *, allow: str = "") -> str | None:
    """Return ``value`` unchanged, or raise ``ValueError`` naming ``field`` and the problem."""
    problem = None if value is None else control_character_problem(value, allow=allow)
    if problem:
        raise ValueError(f"{field}: {problem}")
    return value


def escaped(text: str) -> str:
    """``text`` with every control character written as an escape (``\\r``, ``\\n``, ``\\x1b``,
    ``\\u202e``), so it prints as one line that shows what is stored."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in _SHORT_ESCAPES:
            return _SHORT_ESCAPES[char]
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return _CONTROL.sub(escape, text)
