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
    """Splice the edits of non-colliding ``fixes`` into ``text``.

    Insertions at one point go in fix order, except that more deeply indented lines go first: when
    a nested mapping ends where its parent does, lines added to the child must precede the parent's
    (``securityContext`` keys before a container's new ``imagePullPolicy``), whichever fix made them.
    """
    ordered: list[tuple[int, int, int, int, Edit]] = []
    for order, fix in enumerate(fixes):
        for edit in fix.edits:
            ordered.append((edit.start, edit.end, -_indent(text, edit), order, edit))
    ordered.sort(key=lambda item: item[:4])
    pieces: list[str] = []
    position = 0
    for start, end, _, _, edit in ordered:
        if start < position:
            raise ValueError(f"overlapping edits at offset {start}")
        pieces.append(text[position:start])
        pieces.append(edit.new)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _indent(text: str, edit: Edit) -> int:
    """The indentation of the lines an insertion adds (0 for replacements and text within a line)."""
    new = edit.new
    at_line_start = edit.start == 0 or text[edit.start - 1] == "\n"
    if edit.start != edit.end or not (at_line_start or new.startswith(("\n", "\r\n"))):
        return 0
    first = new.lstrip("\r\n")
    return len(first) - len(first.lstrip(" "))
