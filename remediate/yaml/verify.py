"""Hold every applied fix to its promise (black's equivalence check, for manifests).

After the edits are spliced, the new text is parsed again and each document is compared with the
one it came from. A document may differ only at the paths the applied fixes declared
(:class:`~remediate.yaml.model.Touch`), and each declared path must hold the declared value, read the
way Kubernetes reads it (or be gone, for a key a fix removes). Anything else, and the fix is not written.

The comparison is exact and fast: both documents are built as plain data with the declared paths
removed, then compared by ``repr`` (which, unlike ``==``, tells ``1`` from ``true`` and ``1.0``).
Only when they differ is deepdiff run, to name every unexpected path and value in the report.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from remediate.yaml.document import Document, parse
from remediate.yaml.model import DELETED, Fix, Touch, YamlPath
from remediate.yaml.source import InputError

_MISSING = object()


class VerificationError(Exception):
    """A fix's result was not what it declared; the message names the unexpected changes."""


def verify(
    before: list[Document], after_text: str, fixes: list[Fix], *, key_order: bool = True
) -> list[Document]:
    """Parse ``after_text`` and check it against ``before``; return its documents.

    ``key_order=False`` lets a declared mapping hold its keys in another order (what Helm's
    ``toYaml`` renders is sorted, whatever order a fix declared)."""
    try:
        after = parse(after_text)
    except InputError as exc:
        where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
        raise VerificationError(f"the fixed text does not parse{where}: {exc.message}") from None
    touches: dict[int, list[Touch]] = defaultdict(list)
    for fix in fixes:
        for touch in fix.touches:
            touches[touch.doc].append(touch)
    added = sorted(
        doc for doc, found in touches.items() if doc >= len(before) and any(t.path == () for t in found)
    )
    if len(after) != len(before) + len(added):
        raise VerificationError(
            f"the fixed text has {len(after)} documents, expected {len(before) + len(added)}"
        )
    for document in after:
        declared = touches.get(document.index, [])
        new = document.data
        if document.index >= len(before) or any(t.path == () for t in declared):  # a new or refilled document
            _check_declared(document.index, new, declared, key_order)
            continue
        old = before[document.index].data
        if not declared:
            if repr(old) != repr(new):
                raise VerificationError(_explain(document.index, old, new, []))
            continue
        _check_declared(document.index, new, declared, key_order)
        paths = sorted({t.path for t in declared}, key=_sort_key, reverse=True)
        old_rest, new_rest = _without(old, paths), _without(new, paths)
        if repr(old_rest) != repr(new_rest):
            raise VerificationError(_explain(document.index, old_rest, new_rest, paths))
    return after


def _sorted(value: Any) -> Any:
    """``value`` with the keys of every mapping in sorted order (leaves as they are)."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value, key=repr)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _check_declared(doc: int, data: Any, declared: list[Touch], key_order: bool = True) -> None:
    for touch in declared:
        found = _get(data, touch.path)
        if touch.value is DELETED:
            if found is not _MISSING:
                shown = _show(touch.path)
                raise VerificationError(f"document {doc + 1}: {shown} should be gone, but reads {found!r}")
            continue
        same = repr(found) == repr(touch.value) or (
            not key_order and repr(_sorted(found)) == repr(_sorted(touch.value))
        )
        if found is _MISSING or not same:
            shown = "nothing" if found is _MISSING else repr(found)
            raise VerificationError(
                f"document {doc + 1}: {_show(touch.path)} should read {touch.value!r}, but reads {shown}"
            )


def _get(data: Any, path: YamlPath) -> Any:
    for key in path:
        data = _child(data, key)
        if data is _MISSING:
            break
    return data


def _child(data: Any, key: str | int) -> Any:
    """``data[key]`` for a mapping's key or a list's index, else :data:`_MISSING`."""
    if isinstance(data, dict):
        return data.get(key, _MISSING)
    if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return _MISSING


def _sort_key(path: YamlPath) -> tuple[Any, ...]:
    return tuple((isinstance(part, int), part if isinstance(part, int) else str(part)) for part in path)


def _without(data: Any, paths: list[YamlPath]) -> Any:
    """A copy of ``data`` with each path removed (deepest list indices first, so none shift)."""
    data = _copy_along(data, paths)
    for path in paths:
        parent = _get(data, path[:-1])
        last = path[-1]
        if isinstance(parent, dict):
            parent.pop(last, None)
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            del parent[last]
    return data


def _copy_along(data: Any, paths: list[YamlPath]) -> Any:
    """Copy only the containers on the given paths, so removing keys leaves shared data intact."""
    root = {"": data}
    for path in paths:
        node: Any = root
        for key in ("", *path[:-1]):
            child = _child(node, key)
            if isinstance(child, dict):
                child = dict(child)
            elif isinstance(child, list):
                child = list(child)
            else:
                break
            node[key] = child
            node = child
    return root[""]


def _show(path: YamlPath) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path) or "."


def _explain(doc: int, old: Any, new: Any, declared: list[YamlPath]) -> str:
    from deepdiff import DeepDiff

    difference = DeepDiff(old, new, view="tree", ignore_order=False)
    changes = []
    for items in difference.values():
        for item in items:
            changes.append(f"{_show(tuple(item.path(output_format='list')))} ({item.t1!r} -> {item.t2!r})")
    listed = "; ".join(sorted(changes)[:5]) or "type or order only"
    allowed = ", ".join(_show(p) for p in declared) or "nothing"
    return f"document {doc + 1}: unexpected change at {listed} (declared: {allowed})"
