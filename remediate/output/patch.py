"""Unified diffs that ``patch -p1`` and ``git apply`` accept, made in time linear in the file.

- Lines are what those tools take for lines: text up to each ``\\n``, a ``\\r`` before it included,
  and nothing else (``str.splitlines`` also splits at U+2028, NEL or a lone ``\\r``, which would turn
  one line of the file into several of the diff). A last line without a newline is followed by the
  ``\\ No newline at end of file`` marker.
- File names are written as git writes them: C-quoted when they hold a control character, a double
  quote or a backslash, and followed by a tab when they hold a space, so that ``patch`` does not end
  the name at the space.
- A file of thousands of documents is compared document by document: a line ``---`` always starts
  a document (YAML allows it nowhere else), fixes never move one, and new documents come at the
  end, so the i-th document of the old text is compared with the i-th of the new, and the last one
  with everything that follows. Comparing whole files took difflib seconds for a file of a thousand
  documents, growing with the square of its size.
- A document too large for difflib (a ``kind: List`` of hundreds of items, a big JSON file) is
  compared line by line instead, resynchronising after each difference at the nearest place where
  a few lines agree again (:func:`_walk`): fixes insert or rewrite a few lines here and there, which
  this finds exactly, in time proportional to the document.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Iterator, Sequence

CONTEXT = 3
"""Lines of context around each change, as ``diff -u``."""

DIFFLIB_LINES = 2_000
"""Documents of more lines than this (old and new together) are compared by :func:`_walk`."""

SYNC = 3
"""Lines that must agree again for :func:`_walk` to resume after a difference."""

REACH = 2_000
"""How far :func:`_walk` looks ahead for the lines to agree again; beyond, lines are replaced."""

Opcode = tuple[str, int, int, int, int]

_MARKER = re.compile(r"---(?:[ \t\r]|$)")


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """The diff from ``old`` to ``new`` (texts with their real line breaks); names as in the headers
    (``a/path``, ``b/path``, or ``/dev/null``), quoted here."""
    before, after = lines_of(old), lines_of(new)
    lines = [f"--- {header_name(old_name)}\n", f"+++ {header_name(new_name)}\n"]
    for group in _grouped(_opcodes(before, after)):
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(_line(" ", line) for line in before[i1:i2])
                continue
            lines.extend(_line("-", line) for line in before[i1:i2])
            lines.extend(_line("+", line) for line in after[j1:j2])
    return "".join(lines)


def lines_of(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` only."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _line(prefix: str, line: str) -> str:
    return prefix + line if line.endswith("\n") else f"{prefix}{line}\n\\ No newline at end of file\n"


_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


_QUOTED = re.compile(r'[\x00-\x1f\x7f"\\]')
"""A character that makes git quote a name: a control character, a double quote or a backslash."""


def header_name(name: str) -> str:
    """A name for a ``---``/``+++`` line, quoted as git quotes it (see the module docstring)."""
    spaced = " " in name
    if _QUOTED.search(name):
        escaped = (
            _ESCAPES.get(ch) or (f"\\{ord(ch):03o}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch)
            for ch in name
        )
        name = '"' + "".join(escaped) + '"'
    return name + ("\t" if spaced else "")


def _documents(lines: list[str]) -> list[int]:
    """Where each document's lines start (0 first), cut at ``---`` lines."""
    return [0] + [number for number, line in enumerate(lines) if number and _MARKER.match(line)]


def _opcodes(before: list[str], after: list[str]) -> list[Opcode]:
    """difflib's opcodes for the two line lists, compared document by document."""
    old_starts, new_starts = _documents(before), _documents(after)
    pairs = min(len(old_starts), len(new_starts))
    old_bounds = old_starts[:pairs] + [len(before)]
    new_bounds = new_starts[:pairs] + [len(after)]
    codes: list[Opcode] = []
    for number in range(pairs):
        i0, i9 = old_bounds[number], old_bounds[number + 1]
        j0, j9 = new_bounds[number], new_bounds[number + 1]
        old, new = before[i0:i9], after[j0:j9]
        if old == new:
            codes.append(("equal", i0, i9, j0, j9))
            continue
        found: Sequence[Opcode] = (
            _walk(old, new)
            if len(old) + len(new) > DIFFLIB_LINES
            else difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        )
        codes.extend((tag, i0 + a1, i0 + a2, j0 + b1, j0 + b2) for tag, a1, a2, b1, b2 in found)
    return _joined(codes)


def _walk(old: list[str], new: list[str]) -> list[Opcode]:
    """Opcodes for two long line lists, in one pass: equal lines are kept; at a difference, the
    nearest point where :data:`SYNC` lines agree again decides whether lines were inserted (the old
    line comes later in the new text) or removed (the new line comes later in the old); with neither
    within :data:`REACH`, the two lines are one replaced line."""
    in_new, in_old = _positions(new), _positions(old)
    codes: list[Opcode] = []
    i = j = 0
    while i < len(old) and j < len(new):
        if old[i] == new[j]:
            start_i, start_j = i, j
            while i < len(old) and j < len(new) and old[i] == new[j]:
                i, j = i + 1, j + 1
            codes.append(("equal", start_i, i, start_j, j))
            continue
        inserted = _resync(old, i, new, j, in_new)
        removed = _resync(new, j, old, i, in_old)
        if inserted is not None and (removed is None or inserted <= removed):
            codes.append(("insert", i, i, j, j + inserted))
            j += inserted
        elif removed is not None:
            codes.append(("delete", i, i + removed, j, j))
            i += removed
        else:
            codes.append(("replace", i, i + 1, j, j + 1))
            i, j = i + 1, j + 1
    if i < len(old) and j < len(new):
        codes.append(("replace", i, len(old), j, len(new)))
    elif i < len(old):
        codes.append(("delete", i, len(old), j, j))
    elif j < len(new):
        codes.append(("insert", i, i, j, len(new)))
    return codes


def _positions(lines: list[str]) -> dict[str, list[int]]:
    """Where each distinct line is, in order."""
    found: dict[str, list[int]] = {}
    for number, line in enumerate(lines):
        found.setdefault(line, []).append(number)
    return found


def _resync(
    first: list[str], i: int, second: list[str], j: int, in_second: dict[str, list[int]]
) -> int | None:
    """The smallest ``skip`` within :data:`REACH` such that ``second[j + skip:]`` agrees with
    ``first[i:]`` for :data:`SYNC` lines (or to the end of either): lines ``second[j:j + skip]``
    are then the ones inserted there."""
    width = min(SYNC, len(first) - i)
    places = in_second.get(first[i], [])
    for place in places[bisect.bisect_right(places, j) :]:
        if place - j > REACH:
            break
        if second[place : place + width] == first[i : i + width]:
            return place - j
    return None


def _joined(codes: list[Opcode]) -> list[Opcode]:
    """Neighbouring opcodes of one kind made one (as one comparison of the whole files would give)."""
    joined: list[Opcode] = []
    for code in codes:
        if code[1] == code[2] and code[3] == code[4]:
            continue
        if joined and joined[-1][0] == code[0]:
            tag, i1, _, j1, _ = joined[-1]
            joined[-1] = (tag, i1, code[2], j1, code[4])
        else:
            joined.append(code)
    return joined


def _grouped(codes: list[Opcode]) -> Iterator[list[Opcode]]:
    """The changes with :data:`CONTEXT` lines around them, in hunks (difflib's grouping)."""
    if not codes or all(code[0] == "equal" for code in codes):
        return
    codes = list(codes)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - CONTEXT), i2, max(j1, j2 - CONTEXT), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + CONTEXT), j1, min(j2, j1 + CONTEXT)
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * CONTEXT:
            group.append((tag, i1, min(i2, i1 + CONTEXT), j1, min(j2, j1 + CONTEXT)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - CONTEXT), max(j1, j2 - CONTEXT)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _range(start: int, stop: int) -> str:
    """A hunk's line range as ``diff -u`` writes it (1-based; an empty range names the line before)."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"
