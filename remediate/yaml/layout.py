"""How a file is laid out, so that new text looks like the text around it.

Detected once per file (a per-document scan went quadratic on large files): the indentation step of
nested mappings, whether sequences under a key are indented (``key:\\n  - a``) or flush
(``key:\\n- a``), and whether the file is JSON.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from remediate.yaml.document import Alias, Document, Mapping, Node, Sequence


class Layout(NamedTuple):
    """``step``: columns per mapping level; ``dash``: columns from a key to its sequence's dashes."""

    step: int = 2
    dash: int = 0
    json: bool = False
    newline: str = "\n"


def detect(documents: list[Document], *, json: bool, newline: str) -> Layout:
    """The most common indentation habits of a file's block (or multi-line JSON) collections."""
    steps: Counter[int] = Counter()
    dashes: Counter[int] = Counter()
    pending: list[Node] = [document.root for document in documents]
    seen = 0
    while pending and seen < 20_000:
        node = pending.pop()
        seen += 1
        if isinstance(node, Mapping):
            for key, value in node.pairs:
                if isinstance(value, Alias):
                    continue
                first = _first_child(value)
                if first is not None and first.line > key.line:
                    if isinstance(value, Mapping) or json:
                        steps[first.column - key.column] += 1
                    elif isinstance(value, Sequence) and not value.flow:
                        dashes[value.column - key.column] += 1
                pending.append(value)
        elif isinstance(node, Sequence):
            pending.extend(item for item in node.items if not isinstance(item, Alias))
    step = _most_common(steps, default=2, allowed=range(1, 9))
    dash = _most_common(dashes, default=0, allowed=range(9))
    return Layout(step=step, dash=dash, json=json, newline=newline)


def _first_child(node: Node) -> Node | None:
    if isinstance(node, Mapping):
        return node.pairs[0][0] if node.pairs else None
    if isinstance(node, Sequence):
        return node.items[0] if node.items else None
    return None


def _most_common(counts: Counter[int], *, default: int, allowed: range) -> int:
    for value, _ in counts.most_common():
        if value in allowed:
            return value
    return default
