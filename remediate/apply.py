"""The only place where text changes: choose fixes that do not collide, then splice their edits."""

from __future__ import annotations

from collections.abc import Iterable

from remediate.model import Edit, Fix


def collides(first: Fix, second: Fix) -> bool:
    """True when two fixes cannot be applied in one pass.

    They collide when their edits overlap (an insertion strictly inside a replaced span counts;
    two insertions at one point do not, they are applied in order) or when one touches a path
    that contains, or is contained in, a path the other touches: two fixes setting
    ``securityContext`` would otherwise write the key twice.
    """
    for a in first.edits:
        for b in second.edits:
            if max(a.start, b.start) < min(a.end, b.end):
                return True
            if a.start == a.end and b.start < a.start < b.end:
                return True
            if b.start == b.end and a.start < b.start < a.end:
                return True
    for a in first.touches:
        for b in second.touches:
            if a.doc == b.doc and (a.path[: len(b.path)] == b.path or b.path[: len(a.path)] == a.path):
                return True
    return False


def choose(fixes: Iterable[Fix]) -> tuple[list[Fix], list[Fix]]:
    """Split fixes into those applied now (in the given order) and those that wait a pass."""
    chosen: list[Fix] = []
    waiting: list[Fix] = []
    for fix in fixes:
        (waiting if any(collides(fix, other) for other in chosen) else chosen).append(fix)
    return chosen, waiting


def apply(text: str, fixes: Iterable[Fix]) -> str:
    """Splice the edits of non-colliding ``fixes`` into ``text``."""
    ordered: list[tuple[int, int, int, Edit]] = []
    for order, fix in enumerate(fixes):
        for edit in fix.edits:
            ordered.append((edit.start, edit.end, order, edit))
    ordered.sort(key=lambda item: (item[0], item[1], item[2]))
    pieces: list[str] = []
    position = 0
    for start, end, _, edit in ordered:
        if start < position:
            raise ValueError(f"overlapping edits at offset {start}")
        pieces.append(text[position:start])
        pieces.append(edit.new)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
