"""Parse a YAML stream into documents of positioned nodes.

k8sfix finds what to fix on a node graph and edits the text, so every node carries the character
offsets of its text (``start``/``end``), its 0-based ``line``/``column``, and its place in the
document (``parent`` and ``key``), from which :meth:`Node.path` is derived.

The graph is composed here from the events of ruamel.yaml's C parser (libyaml) rather than by
ruamel's own composer: the loop below has no recursion, so deeply nested input is refused cleanly
at :data:`MAX_DEPTH` instead of crashing the process (ruamel's C composer segfaults on 100,000
nested ``[``); duplicate keys, alias bombs and recursive aliases are caught in the same single pass;
and on the shared corpus it is 2.7 times faster than ``YAML(typ='safe', pure=False).compose_all``.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from remediate.yaml.source import InputError
from remediate.yaml.values import as_json_reads, key_text, plain_value, scalar_value, to_data

MAX_DEPTH = 256
"""Deepest nesting accepted. Real manifests stay far below it (CRD schemas reach about 60)."""

MAX_ALIAS_EXPANSION = 1_000_000
"""Nodes an alias-expanded document may grow beyond its own size ('billion laughs' guard)."""


class Node:
    """A node of the composed graph; see the module docstring for the position attributes."""

    __slots__ = ("anchor", "column", "end", "key", "line", "parent", "shared", "size", "start", "tag")

    start: int
    end: int
    line: int
    column: int
    anchor: str | None
    tag: str | None
    parent: Node | None
    key: Any
    shared: bool
    size: int

    def _place(self, event: Any, tag: str | None) -> None:
        mark = event.start_mark
        self.start = mark.index
        self.line = mark.line
        self.column = mark.column
        self.anchor = event.anchor
        self.tag = tag
        self.parent = None
        self.key = None
        self.shared = False
        self.size = 1

    def path(self) -> tuple[Any, ...]:
        """Keys and indices from the document root to this node."""
        parts = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.key)
            node = node.parent
        return tuple(reversed(parts))

    def resolve(self) -> Node:
        """The node itself; an :class:`Alias` answers with the node it refers to."""
        return self


class Scalar(Node):
    """A scalar; ``value`` is its text after unquoting, ``style`` '' for plain or a quote/indicator."""

    __slots__ = ("data", "is_merge_key", "key_value", "style", "value")

    value: str
    style: str
    data: Any
    is_merge_key: bool
    key_value: Any
    """The key this scalar is, when it is a mapping key: the text Kubernetes makes of it (set only
    on keys, by the mapping that holds them)."""

    @property
    def is_null(self) -> bool:
        return self.data is None


class Mapping(Node):
    """A mapping. ``pairs`` keeps every entry in order; ``get`` sees merge keys (``<<``) too."""

    __slots__ = ("flow", "merges", "own", "pairs")

    pairs: list[tuple[Scalar, Node]]
    """Each entry's key and value nodes (a key is always a scalar: the parser refuses others)."""
    flow: bool
    own: dict[Any, Node]
    merges: tuple[Node, ...]
    """The values of this mapping's merge keys (``<<``), in order: empty for nearly every mapping,
    so that a lookup of a missing key does not scan the entries for them."""

    def get(self, key: Any) -> Node | None:
        """The value node for ``key`` (aliases resolved), looking through merge keys like Kubernetes."""
        node = self.own.get(key)
        if node is None and self.merges:
            for merged in self.merged():
                node = merged.get(key)
                if node is not None:
                    break
        return node.target if type(node) is Alias else node  # resolve(), without a call per lookup

    def key_node(self, key: Any) -> Node | None:
        """The key node of this mapping's own entry ``key``."""
        for key_node, _ in self.pairs:
            if getattr(key_node, "key_value", None) == key:
                return key_node
        return None

    def merged(self) -> list[Mapping]:
        """Mappings merged into this one with ``<<``, in precedence order."""
        result: list[Mapping] = []
        for value in self.merges:
            value = value.resolve()
            for source in value.items if isinstance(value, Sequence) else [value]:
                merged = source.resolve()
                if isinstance(merged, Mapping):
                    result.append(merged)
        return result

    def str(self, key: Any) -> str | None:
        """The value for ``key`` when it is a string scalar, else None."""
        node = self.get(key)
        if isinstance(node, Scalar) and isinstance(node.data, str):
            return node.data
        return None


class Sequence(Node):
    """A sequence of nodes; ``items`` may hold :class:`Alias` occurrences."""

    __slots__ = ("flow", "items")

    items: list[Node]
    flow: bool


class Alias(Node):
    """An alias occurrence (``*name``): its own position, and the anchored node it refers to."""

    __slots__ = ("target",)

    target: Node

    def resolve(self) -> Node:
        return self.target


_UNBUILT = object()


@dataclass(eq=False)
class Document:
    """One document of a stream: its index, root node, and where its text starts and ends."""

    index: int
    root: Node
    start: int
    end: int
    explicit_start: bool
    """The document starts with a ``---`` marker."""
    _data: Any = field(default=_UNBUILT, repr=False)

    @property
    def data(self) -> Any:
        """The document as plain data (:func:`remediate.yaml.values.to_data`), built once: the
        verification of each pass compares a document with the one it came from."""
        if self._data is _UNBUILT:
            self._data = to_data(self.root)
        return self._data


def _mark_error(exc: Exception, text: str) -> InputError:
    position = getattr(exc, "position", None)
    if isinstance(position, int) and 0 <= position < len(text):  # the reader's error: a character
        character = text[position]
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        shown = "a NUL byte" if character == "\0" else f"the control character U+{ord(character):04X}"
        return InputError(
            f"invalid YAML: {shown} here; YAML allows no control characters (remove it)", line, column
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {context}, {problem}" if context else f"invalid YAML: {problem}"
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        message += " (a tab here: YAML allows only spaces for indentation and before values; replace it)"
    if mark is None:
        return InputError(message)
    return InputError(message, mark.line + 1, mark.column + 1)


_ESCAPE = re.compile(r"\\(?:u([dD][89a-fA-F][0-9a-fA-F]{2})|.)", re.DOTALL)
"""A backslash escape; group 1 is set for a ``\\uD800``-``\\uDFFF`` (UTF-16 surrogate) escape."""


def _mask_surrogates(text: str) -> tuple[str, list[int]]:
    """JSON text with its surrogate escapes replaced, and where they were.

    kubectl reads a manifest that starts with ``{`` as JSON, where ``"\\ud83d\\ude00"`` (a UTF-16
    surrogate pair) is a valid string; the YAML parser refuses surrogate escapes. Each one is replaced
    by an escape of the same length (a private-use character), so every offset stays the same, and
    the strings that held one are decoded from the original text as JSON (:func:`_json_string`).
    """
    if "\\u" not in text or text.lstrip(" \t\r\n")[:1] != "{":
        return text, []
    positions: list[int] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        positions.append(match.start())
        return f"\\u{int(match.group(1), 16) - 0xD800 + 0xE000:04X}"

    masked = _ESCAPE.sub(placeholder, text)
    return masked, positions


def _json_string(text: str, line: int, column: int) -> str:
    """A JSON string literal's value; an unpaired surrogate becomes U+FFFD, as Go's decoder makes it."""
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError("invalid JSON string escape", line + 1, column + 1) from None
    return re.sub("[\ud800-\udfff]", "\ufffd", value)


def parse_leading(text: str) -> tuple[list[Document], InputError | None]:
    """The documents of ``text`` up to the first one that cannot be parsed, and that error (None when
    there is none): for consulting what a broken file does say (a NetworkPolicy before a typo)."""
    documents: list[Document] = []
    try:
        for document in _compose(text):
            documents.append(document)  # noqa: PERF402 - one by one: those before an error are kept
    except Exception:
        try:
            parse(text)
        except InputError as exc:
            return documents, exc
        raise
    return documents, None


def parse(text: str) -> list[Document]:
    """Compose every document of ``text``; raise :class:`InputError` with a position on bad input."""
    try:
        return list(_compose(text))
    except InputError:
        raise
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels") from None
    except Exception as exc:  # the C parser raises ruamel's MarkedYAMLError subclasses
        if hasattr(exc, "problem_mark") or type(exc).__module__.startswith("ruamel"):
            raise _mark_error(exc, text) from None
        raise


def _compose(text: str) -> Iterator[Document]:
    """The documents of ``text``, composed from the parse events of libyaml, through ruamel.yaml's
    C parser itself (ruamel's ``YAML().parse`` wraps the same calls in a generator of its own, and
    its shared ``YAML`` instance keeps a record of every stream it parsed). This loop is where most
    of the parsing time goes, so it calls as little as it can."""
    from ruamel.yaml import events
    from ruamel.yaml.cyaml import CParser

    parsed, masked = _mask_surrogates(text)

    scalar_event = events.ScalarEvent
    mapping_start = events.MappingStartEvent
    sequence_start = events.SequenceStartEvent
    alias_event = events.AliasEvent
    mapping_end = events.MappingEndEvent
    sequence_end = events.SequenceEndEvent
    document_start = events.DocumentStartEvent
    document_end = events.DocumentEndEvent

    stack: list[Node] = []
    children: list[list[Node]] = []  # the nodes composed so far inside each open collection
    anchors: dict[str, Node] = {}
    aliased: list[Node] = []
    root: Node | None = None
    doc_start = 0
    explicit_start = False
    index = 0

    parser = CParser(parsed)
    next_event = parser.get_event
    try:
        while (event := next_event()) is not None:  # None after the stream's end
            kind = type(event)
            node: Node
            if kind is scalar_event:
                node = _scalar(event, text, masked)
                if node.anchor:
                    anchors[node.anchor] = node
                if children:
                    children[-1].append(node)
                else:
                    root = node
            elif kind is mapping_start or kind is sequence_start:
                node = _collection(event, kind is mapping_start, len(stack))
                if node.anchor:
                    anchors[node.anchor] = node
                    node.end = -1  # marks it incomplete: an alias to it now would be recursive
                if children:
                    children[-1].append(node)
                else:
                    root = node
                stack.append(node)
                children.append([])
            elif kind is mapping_end or kind is sequence_end:
                _finish(stack.pop(), children.pop(), event.end_mark.index)
            elif kind is alias_event:
                node = _alias(event, anchors)
                aliased.append(node.target)
                if children:
                    children[-1].append(node)
                else:
                    root = node
            elif kind is document_start:
                doc_start = event.start_mark.index
                explicit_start = bool(getattr(event, "explicit", False))
                root = None
                anchors = {}
                aliased = []
            elif kind is document_end:
                assert root is not None
                _check_expansion(root, aliased)
                for target in aliased:
                    _mark_shared(target)
                yield Document(index, root, doc_start, event.end_mark.index, explicit_start)
                index += 1
    finally:
        parser.dispose()


def _scalar(event: Any, text: str, masked: list[int]) -> Scalar:
    """The node of a scalar event (its value decoded from the JSON text where surrogates were masked)."""
    node = Scalar()
    tag = event.ctag  # ruamel's Tag (its ``tag`` property makes the text on every read)
    tag = None if tag is None else str(tag)
    node._place(event, tag)
    node.end = event.end_mark.index
    value = event.value
    if masked and bisect.bisect_left(masked, node.start) < bisect.bisect_left(masked, node.end):
        value = _json_string(text[node.start : node.end], node.line, node.column)
    node.value = value
    style = node.style = event.style or ""
    plain = not style and tag is None
    data = plain_value(value) if plain else scalar_value(value, style, tag)
    node.data = as_json_reads(data) if type(data) is float else data
    node.is_merge_key = plain and value == "<<"
    return node


def _collection(event: Any, mapping: bool, depth: int) -> Mapping | Sequence:
    """The (still empty) node of a mapping or sequence start; refused beyond :data:`MAX_DEPTH`."""
    node: Mapping | Sequence = Mapping() if mapping else Sequence()
    tag = event.ctag
    node._place(event, None if tag is None else str(tag))
    node.flow = bool(event.flow_style)
    if depth >= MAX_DEPTH:
        raise InputError(
            f"nesting deeper than {MAX_DEPTH} levels; refused before parsing further",
            node.line + 1,
            node.column + 1,
        )
    return node


def _finish(node: Node, items: list[Node], end: int) -> None:
    """Close a collection: its end, and its children with their places in it."""
    node.end = end
    if isinstance(node, Mapping):
        _finish_mapping(node, items)
        return
    assert isinstance(node, Sequence)
    node.items = items
    for position, item in enumerate(items):
        item.parent = node
        item.key = position
        node.size += item.size


def _alias(event: Any, anchors: dict[str, Node]) -> Alias:
    """The node of an alias event; refused when it names no anchor or one still being composed."""
    target = anchors.get(event.anchor)
    mark = event.start_mark
    if target is None:
        raise InputError(f"alias *{event.anchor} refers to no anchor", mark.line + 1, mark.column + 1)
    if target.end == -1:
        raise InputError(f"recursive alias *{event.anchor}", mark.line + 1, mark.column + 1)
    node = Alias()
    node._place(event, None)
    node.end = event.end_mark.index
    node.target = target
    node.size = target.size
    return node


def _finish_mapping(node: Mapping, items: list[Node]) -> None:
    pairs = list(zip(items[0::2], items[1::2], strict=True))  # a mapping's events come in key-value pairs
    own: dict[Any, Node] = {}
    merges: list[Node] = []
    size = 1
    for key_node, value in pairs:
        size += key_node.size + value.size
        if isinstance(key_node, Scalar):
            data = key_node.data  # a text key is its own key; others are read as Kubernetes reads keys
            key = (
                data
                if type(data) is str
                else key_text(scalar_value(key_node.value, key_node.style, key_node.tag))
            )
            key_node.key_value = key
            if key in own:
                first = next(earlier for earlier, _ in pairs if getattr(earlier, "key_value", None) == key)
                raise InputError(
                    f'duplicate key "{key_node.value}" (first defined at line {first.line + 1}, '
                    f"column {first.column + 1}); Kubernetes tools disagree on which one wins, "
                    "so remove one",
                    key_node.line + 1,
                    key_node.column + 1,
                )
            own[key] = value
            if key_node.is_merge_key:
                merges.append(value)
            value.parent = node
            value.key = key
        else:
            raise InputError(
                "a mapping or sequence is used as a key: not a Kubernetes manifest "
                "(a template's {{ }} read as YAML?)",
                key_node.line + 1,
                key_node.column + 1,
            )
    node.pairs = cast("list[tuple[Scalar, Node]]", pairs)  # every key is a scalar: checked above
    node.own = own
    node.merges = tuple(merges)
    node.size = size


def _check_expansion(root: Node, aliased: list[Node]) -> None:
    if not aliased:
        return
    if root.size > MAX_ALIAS_EXPANSION:
        raise InputError(
            f"aliases expand this document to {root.size:,} nodes (limit {MAX_ALIAS_EXPANSION:,}): "
            "refused as a likely 'billion laughs' alias bomb",
            root.line + 1,
            root.column + 1,
        )


def _mark_shared(target: Node) -> None:
    pending = [target]
    while pending:
        node = pending.pop()
        if node.shared:
            continue
        node.shared = True
        if isinstance(node, Mapping):
            pending.extend(value for _, value in node.pairs)
        elif isinstance(node, Sequence):
            pending.extend(node.items)
        elif isinstance(node, Alias):
            pending.append(node.target)


def content_end(node: Node) -> int:
    """Where the text of a node's content ends.

    A block collection's end mark points at the next token, past any comments and blank lines that
    follow it; the content really ends where its last value does.
    """
    return last_node(node).end


def last_node(node: Node) -> Node:
    """The node whose text comes last in a block collection (the node itself when it is flow or a leaf)."""
    while True:
        if isinstance(node, Mapping) and not node.flow and node.pairs:
            node = node.pairs[-1][1]
        elif isinstance(node, Sequence) and not node.flow and node.items:
            node = node.items[-1]
        else:
            return node
