"""YAML-aware edit builders: each returns the splices for one change and the path it touches.

An :class:`Editor` is bound to one file's text and :class:`~remediate.layout.Layout`. Its builders
never change text; they return a :class:`Change` (edits plus the :class:`~remediate.model.Touch`
they promise), which fixers wrap into a :class:`~remediate.model.Fix`. New entries go where a
careful human would put them: after a named sibling key or after the last entry, on their own
line, at the column of the mapping's keys, after any comment on the line they follow. Flow and
JSON collections get ``, key: value`` in their own style, on a new line when their entries are.

A builder raises :class:`Uneditable` rather than edit text that other places share (an anchor
used by an alias): a fix there would silently change every object that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remediate import render
from remediate.document import Document, Mapping, Node, Scalar, Sequence, content_end
from remediate.layout import Layout
from remediate.model import Edit, Touch


class Uneditable(Exception):
    """The change cannot be made safely by splicing; the message says why, for the finding."""


@dataclass(frozen=True)
class Change:
    """Edits that make one change, and what the change promises."""

    edits: tuple[Edit, ...]
    touches: tuple[Touch, ...]


class Editor:
    """Builds changes for one file."""

    def __init__(self, text: str, layout: Layout, documents: list[Document]):
        self.text = text
        self.layout = layout
        self._doc_of_root = {id(document.root): document.index for document in documents}
        self._documents = documents

    # -- mappings ------------------------------------------------------------------------------

    def insert_key(self, mapping: Mapping, key: str, value: Any, *, after: tuple[str, ...] = ()) -> Change:
        """Add ``key: value`` to ``mapping``, after the first of ``after`` present, else at the end."""
        self._check_editable(mapping)
        if key in mapping.own:
            raise Uneditable(f'"{key}" is already set here')
        anchor = next((mapping.own[name] for name in after if name in mapping.own), None)
        if anchor is None and mapping.pairs:
            anchor = mapping.pairs[-1][1]
        touch = self._touch(mapping, key, value)
        if mapping.flow:
            return Change((self._flow_insert(mapping, key, value, anchor),), (touch,))
        if not mapping.pairs:
            raise Uneditable("empty block mapping")  # the parser never produces one
        column = mapping.pairs[0][0].column
        position, prefix = self._after_line_of(content_end(anchor) if anchor is not None else mapping.end)
        lines = render.entry_lines(key, value, column, self.layout)
        return Change((Edit(position, position, prefix + self._join(lines)),), (touch,))

    def set_value(self, mapping: Mapping, key: str, value: Any) -> Change:
        """Give the existing entry ``key`` of ``mapping`` a new value, keeping the key's line."""
        self._check_editable(mapping)
        old = mapping.own.get(key)
        if old is None:
            raise Uneditable(f'"{key}" is not set here')
        self._check_editable(old)
        touch = self._touch(mapping, key, value)
        if not isinstance(old, Scalar) or old.anchor or old.tag:
            raise Uneditable(f'"{key}" holds an anchor, a tag or a collection')
        if old.style in ("|", ">"):
            raise Uneditable(f'"{key}" holds a block scalar')
        json_style = self.layout.json or old.style == '"' and mapping.flow
        if isinstance(value, (dict, list)) and value:
            if mapping.flow:
                new = render.flow(value, json_style=json_style)
                return Change((Edit(old.start, old.end, new),), (touch,))
            colon = self._colon_before(old)
            position, prefix = self._after_line_of(old.end)
            column = mapping.key_node(key).column  # type: ignore[union-attr]
            lines = render.entry_lines(key, value, column, self.layout)[1:]
            edits = (Edit(colon + 1, old.end, ""), Edit(position, position, prefix + self._join(lines)))
            return Change(edits, (touch,))
        new = render.scalar(value, json_style=json_style, quote=old.style)
        if old.start == old.end:  # an empty value: ``key:`` with nothing after it
            new = " " + new
        return Change((Edit(old.start, old.end, new),), (touch,))

    # -- sequences -----------------------------------------------------------------------------

    def append_item(self, sequence: Sequence, value: Any) -> Change:
        """Add ``value`` as the last item of ``sequence``."""
        self._check_editable(sequence)
        parent = sequence.parent
        touch = Touch(self._doc(sequence), sequence.path() + (len(sequence.items),), value)
        if parent is None:
            raise Uneditable("a document that is a sequence")
        if sequence.flow:
            close = sequence.end - 1
            if not sequence.items:
                new = render.flow(value, json_style=self.layout.json)
                return Change((Edit(close, close, new),), (touch,))
            last = sequence.items[-1]
            separator = self._flow_separator(sequence, [item.line for item in sequence.items], last.column)
            new = separator + render.flow(value, json_style=self.layout.json)
            return Change((Edit(last.end, last.end, new),), (touch,))
        column = sequence.column
        position, prefix = self._after_line_of(content_end(sequence.items[-1]))
        lines = render.sequence_lines([value], column, self.layout)
        return Change((Edit(position, position, prefix + self._join(lines)),), (touch,))

    # -- documents -----------------------------------------------------------------------------

    def append_document(self, value: dict[str, Any], comment: str | None = None) -> Change:
        """Add a new document at the end of the stream, after a ``---`` line."""
        if self.layout.json:
            raise Uneditable("a JSON file holds one object; add the new object to a YAML file")
        text = self.text
        newline = self.layout.newline
        prefix = "" if not text or text.endswith("\n") else newline
        lines = ["---"]
        if comment:
            lines.append(f"# {comment}")
        lines.extend(render.document(value, self.layout))
        touch = Touch(len(self._documents), (), value)
        if not text.strip():
            lines = lines[1:]
        return Change((Edit(len(text), len(text), prefix + self._join(lines)),), (touch,))

    # -- helpers -------------------------------------------------------------------------------

    def _check_editable(self, node: Node) -> None:
        if node.shared:
            raise Uneditable("it sits inside an anchor (&) that an alias (*) uses elsewhere")

    def _doc(self, node: Node) -> int:
        while node.parent is not None:
            node = node.parent
        return self._doc_of_root[id(node)]

    def _touch(self, mapping: Mapping, key: str, value: Any) -> Touch:
        return Touch(self._doc(mapping), mapping.path() + (key,), value)

    def _join(self, lines: list[str]) -> str:
        newline = self.layout.newline
        return "".join(line + newline for line in lines)

    def _after_line_of(self, offset: int) -> tuple[int, str]:
        """Where a new line goes after the line holding ``offset``, and text to put before it."""
        text = self.text
        if offset > 0 and text[offset - 1] == "\n":
            return offset, ""
        end = text.find("\n", offset)
        if end < 0:
            return len(text), self.layout.newline
        return end + 1, ""

    def _colon_before(self, node: Node) -> int:
        index = node.start - 1
        while index >= 0 and self.text[index] in " \t":
            index -= 1
        if index < 0 or self.text[index] != ":":
            raise Uneditable("no ':' before the value")
        return index

    def _flow_separator(self, node: Node, lines: list[int], column: int) -> str:
        if len(set(lines)) > 1 or (lines and lines[0] != node.line):
            return "," + self.layout.newline + " " * column
        return ", "

    def _flow_insert(self, mapping: Mapping, key: str, value: Any, anchor: Node | None) -> Edit:
        json_style = self.layout.json or any(k.style == '"' for k, _ in mapping.pairs if isinstance(k, Scalar))
        key_text = render.scalar(key, json_style=json_style)
        if anchor is None:
            opening = self.text.index("{", mapping.start)
            return Edit(opening + 1, opening + 1, f"{key_text}: {render.flow(value, json_style=json_style)}")
        keys = [k for k, _ in mapping.pairs]
        column = keys[-1].column
        separator = self._flow_separator(mapping, [k.line for k in keys], column)
        if separator != ", " and (isinstance(value, (dict, list)) and value and json_style):
            rendered = render.json_lines(value, column, self.layout)
        else:
            rendered = render.flow(value, json_style=json_style)
        return Edit(anchor.end, anchor.end, f"{separator}{key_text}: {rendered}")
