"""Python values to YAML (or JSON) text fragments, quoted so Kubernetes reads them back exactly.

Only new fragments are rendered here; existing text is never re-emitted. A string is written plain
only when it reads back as the same string in go-yaml (Kubernetes), YAML 1.1 and YAML 1.2 alike
(``y``, ``yes``, ``0400``, ``1:20``, ``1e3`` and ``null`` get quotes; see
:func:`remediate.yaml.values.is_plain_string`); otherwise it is double-quoted with JSON escapes, which
YAML reads the same way.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from remediate.yaml.layout import Layout
from remediate.yaml.values import is_plain_string

_PLAIN = re.compile(r"[A-Za-z0-9_/$][A-Za-z0-9_./$@=+-]*(?:[: ][A-Za-z0-9_./$@=+-]+)*")


_NOT_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
"""Characters JSON leaves as they are in a string but YAML does not: NEL (U+0085) and the line and
paragraph separators are line breaks to YAML (go-yaml folds them into a space inside quotes), the
others are not printable; each is written as a ``\\u`` escape, which YAML and JSON both read."""


def quoted(text: str) -> str:
    """``text`` double-quoted with JSON escapes, which YAML reads the same way."""
    return _escape_breaks(json.dumps(text, ensure_ascii=False))


def _escape_breaks(rendered: str) -> str:
    return _NOT_PRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", rendered)


class OneLine(dict):
    """A mapping written on one line in flow style even inside a block (``matchLabels: {app: web}``).

    It compares, and reads back, like the plain dict it holds; only its rendering differs.
    """


def scalar(value: Any, *, json_style: bool = False, quote: str = "") -> str:
    """Render a scalar; ``quote`` ('"' or "'") keeps the style of the text it replaces."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if quote == "'" and not json_style and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if json_style or quote == '"' or not _reads_back_plain(text):
        return quoted(text)
    return text


@functools.lru_cache(maxsize=4096)
def _reads_back_plain(text: str) -> bool:
    """True when ``text`` can be written unquoted (asked for the same few keys again and again)."""
    return bool(_PLAIN.fullmatch(text)) and is_plain_string(text)


def flow(value: Any, *, json_style: bool = False) -> str:
    """One-line flow rendering: ``{cpu: 100m, memory: 64Mi}`` (JSON when ``json_style``)."""
    if isinstance(value, dict):
        inner = ", ".join(
            f"{scalar(k, json_style=json_style)}: {flow(v, json_style=json_style)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v, json_style=json_style) for v in value) + "]"
    return scalar(value, json_style=json_style)


def json_lines(value: Any, column: int, layout: Layout) -> str:
    """Multi-line JSON for a value whose first line follows text at ``column``."""
    text = _escape_breaks(json.dumps(value, indent=layout.step, ensure_ascii=False))
    return text.replace("\n", layout.newline + " " * column)


def entry_lines(key: str, value: Any, column: int, layout: Layout) -> list[str]:
    """Lines of a block mapping entry ``key: value`` whose key starts at ``column``."""
    head = " " * column + scalar(key) + ":"
    if isinstance(value, dict) and value and not isinstance(value, OneLine):
        return [head] + mapping_lines(value, column + layout.step, layout)
    if isinstance(value, list) and value:
        return [head] + sequence_lines(value, column + layout.dash, layout)
    return [head + " " + flow(value)]


def mapping_lines(value: dict[str, Any], column: int, layout: Layout) -> list[str]:
    """Lines of a block mapping's entries, keys at ``column``."""
    lines: list[str] = []
    for key, item in value.items():
        lines.extend(entry_lines(key, item, column, layout))
    return lines


def sequence_lines(value: list[Any], column: int, layout: Layout) -> list[str]:
    """Lines of a block sequence, dashes at ``column``; mappings start on the dash line."""
    lines: list[str] = []
    for item in value:
        if isinstance(item, dict) and item:
            inner = mapping_lines(item, column + 2, layout)
            lines.append(" " * column + "- " + inner[0][column + 2 :])
            lines.extend(inner[1:])
        elif isinstance(item, list) and item:
            inner = sequence_lines(item, column + 2, layout)
            lines.append(" " * column + "- " + inner[0][column + 2 :])
            lines.extend(inner[1:])
        else:
            lines.append(" " * column + "- " + flow(item))
    return lines


def document(value: dict[str, Any], layout: Layout) -> list[str]:
    """Lines of a new top-level document."""
    return mapping_lines(value, 0, layout)
