"""Measures of a fix's fidelity to the text it was given, independent of any fixer's key names.

- :func:`comments`: every comment of a YAML text, found from the parsed node positions (a ``#``
  at the start of a line or after whitespace is a comment unless it lies inside a scalar's span).
- :func:`lost_comments`: the comments of the input missing from the output.
- :func:`altered_lines`: lines of the input removed or altered in the output, other than a line
  that only gained text (a flow mapping gaining ``, imagePullPolicy: Always``) or a line whose
  difference lies inside a value the output changed (``IfNotPresent`` becoming ``Always``).

These complement :func:`tests.helpers.noise_lines`, which judges the *added* lines by the keys
each fixer declares it writes.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from remediate.yaml.document import Document, Mapping, Node, Scalar, Sequence, content_end
from remediate.yaml.document import parse as _parse
from remediate.yaml.values import to_data


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> list[Document]:
    """The documents of ``text``, parsed once however many measures read them (none changes them)."""
    return _parse(text)


_MISSING = object()
_HASH = re.compile(r"(?:^|(?<=[ \t\r\n]))#", re.MULTILINE)


def nodes(documents: list[Document]) -> Iterator[tuple[int, Node]]:
    """Every node written in the text (keys included; an alias is not followed), with its document."""
    for document in documents:
        pending: list[Node] = [document.root]
        while pending:
            node = pending.pop()
            yield document.index, node
            if isinstance(node, Mapping):
                for key, value in node.pairs:
                    pending.extend((key, value))
            elif isinstance(node, Sequence):
                pending.extend(node.items)


def comments(text: str, documents: list[Document] | None = None) -> list[str]:
    """The comments of ``text`` in order, each from its ``#`` to the end of its line (right-stripped)."""
    documents = parse(text) if documents is None else documents
    spans = sorted((node.start, node.end) for _, node in nodes(documents) if isinstance(node, Scalar))
    starts = [start for start, _ in spans]
    found = []
    for match in _HASH.finditer(text):
        position = match.start()
        inside = bisect.bisect_right(starts, position) - 1
        if inside >= 0 and spans[inside][0] <= position < spans[inside][1]:
            continue
        end = text.find("\n", position)
        found.append(text[position : len(text) if end < 0 else end].rstrip())
    return found


def lost_comments(old: str, new: str) -> list[str]:
    """Comments of ``old`` that ``new`` no longer has (as many times as they are missing)."""
    return list((Counter(comments(old)) - Counter(comments(new))).elements())


def altered_lines(old: str, new: str) -> list[str]:
    """Lines of ``old`` removed or altered in ``new``, except a line that only gained text and lost
    nothing but values the new text changed (a scalar, or an empty ``{}``/``[]``)."""
    old_lines, new_lines = old.split("\n"), new.split("\n")  # a CRLF file keeps its \r: a lost one is noise
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line) + 1)
    changed: list[tuple[int, int]] | None = None
    noise = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "insert"):
            continue
        candidates = new_lines[j1:j2]
        for number in range(i1, i2):
            line = old_lines[number]
            if number == len(old_lines) - 1 and line + "\r" in candidates:
                continue  # the last line, without a line ending, got the CRLF of a document appended after it
            changed = changed if changed is not None else changed_values(old, new)
            kept = _without_spans(line, starts[number], changed)
            if line.strip() and kept != line and not kept.strip():
                continue  # the whole line was values that changed
            if line.strip() and any(_grew(kept, candidate, kept != line) for candidate in candidates):
                continue
            noise.append(f"line {number + 1}: {line!r}")
    return noise


def _without_spans(line: str, offset: int, spans: list[tuple[int, int]]) -> str:
    """``line`` (starting at ``offset`` of its text) without the characters inside ``spans``, nor the blanks
    before them (``resources: {}`` may become ``resources:`` and a block)."""
    end = offset + len(line)
    for start, stop in reversed(spans):
        if start < end and stop > offset:
            a, b = max(start, offset) - offset, min(stop, end) - offset
            line = line[:a].rstrip(" ") + line[b:]
    return line


def _grew(old: str, new: str, replaced: bool) -> bool:
    """True when ``old`` is a subsequence of ``new`` and either a value was ``replaced`` or ``new`` gained
    more than blanks."""
    remaining = iter(new)
    if not all(char in remaining for char in old):  # consumes ``new`` up to each char: a subsequence test
        return False
    return replaced or bool((Counter(new) - Counter(old)).keys() - set(" \t\r"))


def changed_values(old: str, new: str) -> list[tuple[int, int]]:
    """Sorted spans of ``old`` a fix may rewrite: a value that reads differently at the same path of
    ``new`` (a scalar, an alias, or an empty ``{}``/``[]``), and a whole entry whose path ``new`` no longer
    has (a migration that moves a key, such as ``targetAverageUtilization`` becoming ``target``)."""
    new_documents = parse(new)
    spans = []
    for doc, node in nodes(parse(old)):
        if node.parent is None:  # keys and roots have no parent
            continue
        found = _data_at(new_documents[doc], node.path()) if doc < len(new_documents) else _MISSING
        if found is _MISSING:
            key = node.parent.key_node(node.key) if isinstance(node.parent, Mapping) else None
            spans.append((key.start if key is not None else node.start, content_end(node)))
        elif _replaceable(node) and repr(to_data(node)) != repr(found):
            spans.append((node.start, node.end))
    return sorted(spans)


def _data_at(document: Document, path: tuple[Any, ...]) -> Any:
    node: Node | None = document.root
    for key in path:
        node = node.resolve() if node is not None else None
        if isinstance(node, Mapping) and key in node.own:
            node = node.own[key]
        elif isinstance(node, Sequence) and isinstance(key, int) and key < len(node.items):
            node = node.items[key]
        else:
            return _MISSING
    return to_data(node)


def _replaceable(node: Node) -> bool:
    """A value a fix may rewrite in place: a scalar, an alias, or an empty flow collection (``{}``, ``[]``).

    A non-empty collection is not: a fix adds to it, and its lines must then only grow.
    """
    if isinstance(node, Mapping):
        return node.flow and not node.pairs
    if isinstance(node, Sequence):
        return node.flow and not node.items
    return True
