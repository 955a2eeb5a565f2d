"""YAML-aware edit builders: each returns the splices for one change and the path it touches.

An :class:`Editor` is bound to one file's text and :class:`~remediate.yaml.layout.Layout`. Its builders
never change text; they return a :class:`Change` (edits plus the :class:`~remediate.yaml.model.Touch`
they promise), which fixers wrap into a :class:`~remediate.yaml.model.Fix`. New entries go where a
careful human would put them: after a named sibling key or after the last entry, on their own
line, at the column of the mapping's keys, after any comment on the line they follow. Flow and
JSON collections get ``, key: value`` in their own style, on a new line when their entries are.

A builder raises :class:`Uneditable` rather than edit text that other places share (an anchor
used by an alias): a fix there would silently change every object that uses it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from remediate.yaml import render
from remediate.yaml.document import Document, Mapping, Node, Scalar, Sequence, content_end, last_node
from remediate.yaml.layout import Layout
from remediate.yaml.model import DELETED, Edit, NewDocument, Touch
from remediate.yaml.values import to_data


class Uneditable(Exception):
    """The change cannot be made safely by splicing; the message says why, for the finding."""


class Change(NamedTuple):
    """Edits that make one change, and what the change promises; or the documents it adds to
    another file (see :class:`~remediate.yaml.model.NewDocument`)."""

    edits: tuple[Edit, ...]
    touches: tuple[Touch, ...]
    adds: tuple[NewDocument, ...] = ()


class Editor:
    """Builds changes for one file."""

    def __init__(self, text: str, layout: Layout, documents: list[Document]):
        self.text = text
        self.layout = layout
        self._doc_of_root = {id(document.root): document.index for document in documents}
        self._documents = documents

    # -- mappings ------------------------------------------------------------------------------

    def insert_key(
        self,
        mapping: Mapping,
        key: str,
        value: Any,
        *,
        after: tuple[str, ...] = (),
        inline: bool = False,
        first: bool = False,
    ) -> Change:
        """Add ``key: value`` to ``mapping``, after the first of ``after`` present, else at the end.

        ``first`` puts the entry before all others instead (in a block mapping: on the line after its
        parent key, above any comment of the first key). ``inline`` keeps a collection value on one
        line in a flow or JSON mapping whose entries are on lines of their own (it would otherwise be
        spread over indented lines).
        """
        self._check_editable(mapping)
        if key in mapping.own:
            raise Uneditable(f'"{key}" is already set here')
        anchor = next((mapping.own[name] for name in after if name in mapping.own), None)
        if anchor is None and mapping.pairs and not first:
            anchor = mapping.pairs[-1][1]
        touch = self._touch(mapping, key, value)
        if mapping.flow:
            return Change((self._flow_insert(mapping, key, value, anchor, inline),), (touch,))
        if not mapping.pairs:
            raise Uneditable("empty block mapping")  # the parser never produces one
        column = self._key_column(mapping)
        lines = render.entry_lines(key, value, column, self.layout)
        if anchor is None:
            return Change((self._lines_after(self._parent_key_end(mapping), lines),), (touch,))
        indentless = isinstance(anchor, Sequence) and not anchor.flow and anchor.column == column
        below = self._past_comments_of(content_end(anchor), column, items=indentless)
        return Change((self._lines_after(below, lines),), (touch,))

    def add_key(
        self, mapping: Mapping, key: str, value: Any, *, after: tuple[str, ...] = (), first: bool = False
    ) -> Change:
        """Like :meth:`insert_key`, but never the last entry of a flow mapping spread over lines.

        Where a flow or JSON mapping has its entries on lines of their own, a new last entry would add
        a comma to another key's line (or move a closing bracket), so the entry goes before the last
        one instead, on a line of its own: every changed line then names a key the fixer writes.
        """
        anchor = next((name for name in after if name in mapping.own), None)
        last = getattr(mapping.pairs[-1][0], "key_value", None) if mapping.pairs else None
        if is_spread(mapping) and not first and anchor in (None, last):
            if len(mapping.pairs) > 1:
                after, first = (str(getattr(mapping.pairs[-2][0], "key_value", "")),), False
            else:
                after, first = (), True
        return self.insert_key(mapping, key, value, after=after, first=first, inline=True)

    def set_value(self, mapping: Mapping, key: str, value: Any) -> Change:
        """Give the existing entry ``key`` of ``mapping`` a new value, keeping the key's line.

        The old value is a scalar (a null too), or an empty ``{}`` / ``[]`` that the new value fills.
        """
        self._check_editable(mapping)
        old = mapping.own.get(key)
        if old is None:
            raise Uneditable(f'"{key}" is not set here')
        self._check_editable(old)
        touch = self._touch(mapping, key, value)
        empty_flow = isinstance(old, (Mapping, Sequence)) and old.flow and is_empty(old)
        if not (isinstance(old, Scalar) or empty_flow) or old.anchor or old.tag:
            raise Uneditable(f'"{key}" holds an anchor, a tag or a collection')
        style = old.style if isinstance(old, Scalar) else ""
        if style in ("|", ">"):
            raise Uneditable(f'"{key}" holds a block scalar')
        json_style = self.layout.json or (style == '"' and mapping.flow)
        if isinstance(value, (dict, list)) and value:
            if mapping.flow:
                new = render.flow(value, json_style=json_style)
                return Change((Edit(old.start, old.end, new),), (touch,))
            colon = self._colon_before(old)
            column = mapping.key_node(key).column  # type: ignore[union-attr]
            lines = render.entry_lines(key, value, column, self.layout)[1:]
            return Change((Edit(colon + 1, old.end, ""), self._lines_after(old.end, lines)), (touch,))
        new = render.scalar(value, json_style=json_style, quote=style)
        if old.start == old.end:  # an empty value: ``key:`` with nothing after it
            new = " " + new
        return Change((Edit(old.start, old.end, new),), (touch,))

    def replace_entries(self, mapping: Mapping, keys: tuple[str, ...], new: dict[str, Any]) -> Change:
        """Remove the entries ``keys`` of ``mapping`` and write the entries of ``new`` in their place.

        This renames and restructures keys (``serviceName`` and ``servicePort`` become one ``service``
        entry). The new entries go where the first removed entry was, rendered in the mapping's style;
        the other removed entries disappear with their whole line (block style) or with their comma
        (flow style). A comment after the first removed entry stays on the first line of what
        replaces it; comments on the other removed lines go with them. With ``new`` empty the entries
        are just removed. The change promises the new values and that each removed key is gone.
        """
        self._check_editable(mapping)
        if not keys:
            raise ValueError("replace_entries needs at least one key to replace")
        for key in keys:
            if key not in mapping.own:
                raise Uneditable(f'"{key}" is not set here')
        for key in new:
            if key in mapping.own and key not in keys:
                raise Uneditable(f'"{key}" is already set here')
        removed = [i for i, (k, _) in enumerate(mapping.pairs) if getattr(k, "key_value", None) in keys]
        for index in removed:
            if _has_anchor(mapping.pairs[index][1]):
                raise Uneditable("a value it removes holds an anchor (&) that aliases may use")
        if len(removed) == len(mapping.pairs) and not new:
            raise Uneditable("it would leave the mapping empty")
        slot = removed[0] if new else None
        doc, path = self._doc(mapping), mapping.path()
        touches = [Touch(doc, path + (key,), DELETED) for key in keys if key not in new]
        touches += [Touch(doc, path + (key,), value) for key, value in new.items()]
        if mapping.flow:
            edits = self._flow_replace(mapping, removed, slot, new)
        else:
            edits = self._block_replace(mapping, removed, slot, new)
        return Change(tuple(edits), tuple(touches))

    def rename_key(self, mapping: Mapping, key: str, new_key: str) -> Change:
        """Rename the entry ``key`` of ``mapping`` to ``new_key``, keeping its value's text as it is.

        Only the key's own text changes (in its quoting style); the change promises that ``key`` is
        gone and that ``new_key`` holds the value ``key`` held.
        """
        self._check_editable(mapping)
        if key not in mapping.own:
            raise Uneditable(f'"{key}" is not set here')
        if new_key in mapping.own:
            raise Uneditable(f'"{new_key}" is already set here')
        key_node = mapping.key_node(key)
        if not isinstance(key_node, Scalar) or key_node.anchor or key_node.tag:
            raise Uneditable(f'the key "{key}" has an anchor or a tag')
        json_style = self.layout.json or key_node.style == '"'
        text = render.scalar(new_key, json_style=json_style, quote=key_node.style)
        doc, path = self._doc(mapping), mapping.path()
        value = to_data(mapping.own[key])
        touches = (Touch(doc, path + (key,), DELETED), Touch(doc, path + (new_key,), value))
        return Change((Edit(key_node.start, key_node.end, text),), touches)

    def remove_key(self, mapping: Mapping, key: str) -> Change:
        """Remove the entry ``key`` of ``mapping`` (see :meth:`replace_entries`)."""
        return self.replace_entries(mapping, (key,), {})

    # -- sequences -----------------------------------------------------------------------------

    def append_item(self, sequence: Sequence, value: Any) -> Change:
        """Add ``value`` as the last item of ``sequence``."""
        return self.append_items(sequence, [value])

    def append_items(self, sequence: Sequence, values: list[Any]) -> Change:
        """Add ``values`` after the last item of ``sequence``, in order, as one change (two changes
        appending to one sequence would each claim the same next index)."""
        self._check_editable(sequence)
        if not values:
            raise Uneditable("nothing to append")
        parent = sequence.parent
        doc, path, count = self._doc(sequence), sequence.path(), len(sequence.items)
        touches = tuple(Touch(doc, path + (count + i,), value) for i, value in enumerate(values))
        if parent is None:
            raise Uneditable("a document that is a sequence")
        if sequence.flow:
            close = sequence.end - 1
            rendered = [render.flow(value, json_style=self.layout.json) for value in values]
            if not sequence.items:
                return Change((Edit(close, close, ", ".join(rendered)),), touches)
            last = sequence.items[-1]
            separator = self._flow_separator(sequence, [item.line for item in sequence.items], last.column)
            return Change((Edit(last.end, last.end, "".join(separator + r for r in rendered)),), touches)
        lines = render.sequence_lines(values, sequence.column, self.layout)
        return Change((self._lines_after(content_end(sequence.items[-1]), lines),), touches)

    # -- documents -----------------------------------------------------------------------------

    def append_documents(self, documents: list[tuple[dict[str, Any], str | None]]) -> Change:
        """Add new documents (value, comment) at the end of the stream, each after a ``---`` line.

        A comment, which may have several lines, goes on the lines right after its ``---``. It is one
        change because two changes that append cannot be applied in one pass (each claims the next
        document index), so a fixer that adds several objects to a file adds them together. A file
        that ends with a bare ``---`` (an empty last document) gets the first new document there,
        after that marker, rather than a second ``---`` that would leave an empty document between.
        """
        if self.layout.json:
            raise Uneditable("a JSON file holds one object; add the new object to a YAML file")
        lines: list[str] = []
        touches: list[Touch] = []
        first = len(self._documents) - 1 if self._ends_with_empty_document() else len(self._documents)
        for value, comment in documents:
            lines.append("---")
            if comment:
                lines.extend(f"# {line}".rstrip() for line in comment.splitlines())
            lines.extend(render.document(value, self.layout))
            touches.append(Touch(first + len(touches), (), value))
        if not self.text.strip():
            return Change((Edit(0, len(self.text), self._join(lines[1:])),), tuple(touches))
        if first < len(self._documents):
            return Change((self._lines_after(len(self.text), lines[1:]),), tuple(touches))
        return Change((self._lines_after(len(self.text), lines),), tuple(touches))

    def _ends_with_empty_document(self) -> bool:
        """True when the text ends with a ``---`` line and nothing after it: an empty last document."""
        if len(self._documents) < 2:
            return False
        last = self._documents[-1]
        root = last.root
        empty = (
            isinstance(root, Scalar) and root.is_null and not root.value and not root.tag and not root.anchor
        )
        return empty and last.explicit_start and self.text[last.start :].rstrip() == "---"

    # -- helpers -------------------------------------------------------------------------------

    def _past_comments_of(self, offset: int, column: int, *, items: bool) -> int:
        """Past the comment lines right after the line of ``offset`` that belong to the value above
        rather than to an entry added at ``column``: those indented deeper, and, when that value is a
        sequence whose dashes sit at ``column`` (``items``), commented-out items and their lines
        (``# - name: B`` / ``#   value: 2``)."""
        text = self.text
        end = offset - 1 if offset > 0 and text[offset - 1] == "\n" else text.find("\n", offset)
        while end >= 0:
            line_end = text.find("\n", end + 1)
            line = text[end + 1 : line_end if line_end >= 0 else len(text)]
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            deeper = indent > column or (items and indent == column and _COMMENTED_ITEM.match(stripped))
            if not (stripped.startswith("#") and deeper):
                break
            offset, end = (line_end if line_end >= 0 else len(text)), line_end
        return offset

    def _key_column(self, mapping: Mapping) -> int:
        """The column of a block mapping's entries: its first key's, or that of the ``?`` before
        it when the key is written explicitly (``? name`` then ``: value``)."""
        key = mapping.pairs[0][0]
        line_start = self.text.rfind("\n", 0, key.start) + 1
        before = self.text[line_start : key.start].rstrip()
        return len(before) - 1 if before.endswith("?") else key.column

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

    def _lines_after(self, offset: int, lines: list[str]) -> Edit:
        """Insert whole lines after the line holding ``offset`` (after any comment on it).

        At the end of a file without a final newline the new lines go after a newline, and the file
        still ends without one.
        """
        text = self.text
        if offset > 0 and text[offset - 1] == "\n":
            return Edit(offset, offset, self._join(lines))
        end = text.find("\n", offset)
        if end < 0:
            self._check_no_block_scalar_at_end()
            newline = self.layout.newline
            return Edit(len(text), len(text), newline + newline.join(lines))
        return Edit(end + 1, end + 1, self._join(lines))

    def _parent_key_end(self, mapping: Mapping) -> int:
        """Where the key holding a block mapping ends, when the mapping starts on a later line."""
        parent = mapping.parent
        key_node = parent.key_node(mapping.key) if isinstance(parent, Mapping) else None
        if key_node is None or key_node.line >= mapping.line:
            raise Uneditable("no line above the mapping's first entry to insert after")
        return key_node.end

    def _check_no_block_scalar_at_end(self) -> None:
        """A block scalar (``|``, ``>``) that ends a file without a final newline would gain one in its
        text from a line added after it, unless it strips its final line break (``|-``)."""
        if not self._documents:
            return
        last = last_node(self._documents[-1].root)
        if isinstance(last, Scalar) and last.style in ("|", ">") and not self.text[last.end :].strip():
            header = re.match(r"[|>]([-+0-9]*)", self.text[last.start :])
            if header is None or "-" not in header.group(1):
                raise Uneditable("the file ends inside a block scalar (|, >) without a newline; add one")

    def _colon_before(self, node: Node) -> int:
        """The ':' of the entry whose value is ``node``; the value may be on the next line (Helm's
        ``toYaml`` writes ``resources:`` and ``{}`` below it), but no comment may sit in between."""
        index = node.start - 1
        while index >= 0 and self.text[index] in " \t\r\n":
            index -= 1
        if index < 0 or self.text[index] != ":":
            if "\n" in self.text[index + 1 : node.start]:
                raise Uneditable("a comment sits between the key and its value")
            raise Uneditable("no ':' before the value")
        return index

    def _block_replace(
        self, mapping: Mapping, removed: list[int], slot: int | None, new: dict[str, Any]
    ) -> list[Edit]:
        text = self.text
        edits = []
        for index in removed:
            key, value = mapping.pairs[index]
            end = content_end(value)
            if index == slot:
                column = key.column
                lines = []
                for new_key, new_value in new.items():
                    lines += render.entry_lines(new_key, new_value, column, self.layout)
                below = _first_child(value) if len(new) == 1 and len(lines) > 1 else None
                if below is not None and below.line > key.line:  # a block value: the key line keeps a comment
                    edits.append(Edit(key.start, text.index(":", key.end) + 1, lines[0][column:]))
                    start = text.rfind("\n", 0, below.start) + 1
                    edits.append(Edit(start, end, self.layout.newline.join(lines[1:])))
                    continue
                edits.append(Edit(key.start, end, lines[0][column:]))  # a comment after it stays there
                if len(lines) > 1:
                    edits.append(self._lines_after(end, lines[1:]))
                continue
            start = text.rfind("\n", 0, key.start) + 1
            if text[start : key.start].strip():
                raise Uneditable(f'"{_key_name(key)}" starts a line it shares with other text (a "- ")')
            stop = text.find("\n", end)
            if stop < 0:  # the last line of a file without a final newline: take the break before it
                edits.append(Edit(_line_break_before(text, key.start), len(text), ""))
                continue
            edits.append(Edit(start, stop + 1, ""))
        return self._settle_end(edits)

    def _settle_end(self, edits: list[Edit]) -> list[Edit]:
        """Removals that meet become one; one that ends a file without a final newline takes in the
        lines inserted where it starts or inside it, which then end the file, still without one."""
        removals = sorted(
            (edit for edit in edits if edit.new == "" and edit.start < edit.end), key=lambda e: e.start
        )
        others = [edit for edit in edits if edit not in removals]
        merged: list[Edit] = []
        for edit in removals:
            if merged and edit.start <= merged[-1].end:
                merged[-1] = Edit(merged[-1].start, max(merged[-1].end, edit.end), "")
            else:
                merged.append(edit)
        last = merged[-1] if merged else None
        if last is None or last.end != len(self.text) or self.text.endswith("\n"):
            return others + merged
        swallowed = [edit for edit in others if edit.start == edit.end and last.start <= edit.start]
        if not swallowed:
            return others + merged
        newline = self.layout.newline
        lines = "".join(edit.new for edit in swallowed).removesuffix(newline)
        at_break = self.text.startswith(("\n", "\r\n"), last.start)
        ending = Edit(last.start, last.end, (newline if at_break else "") + lines)
        return [edit for edit in others if edit not in swallowed] + merged[:-1] + [ending]

    def _flow_replace(
        self, mapping: Mapping, removed: list[int], slot: int | None, new: dict[str, Any]
    ) -> list[Edit]:
        pairs = mapping.pairs
        staying = [i for i in range(len(pairs)) if i not in removed or i == slot]
        json_style = self.layout.json or any(k.style == '"' for k, _ in pairs if isinstance(k, Scalar))
        separator = self._flow_separator(mapping, [k.line for k, _ in pairs], pairs[0][0].column)
        edits: list[Edit] = []
        deleted: list[tuple[int, int]] = []
        for index in removed:
            key, value = pairs[index]
            if index == slot:
                entries = [
                    f"{render.scalar(k, json_style=json_style)}: {render.flow(v, json_style=json_style)}"
                    for k, v in new.items()
                ]
                edits.append(Edit(key.start, value.end, separator.join(entries)))
                continue
            before = [i for i in staying if i < index]
            if before:  # take the separator before it: ", key: value"
                deleted.append((pairs[before[-1]][1].end, value.end))
            else:  # a leading entry: take it and the separator after it, up to the next staying key
                after = min(i for i in staying if i > index)
                deleted.append((key.start, pairs[after][0].start))
        for start, end in _union(deleted):
            edits.append(Edit(start, end, ""))
        return edits

    def _flow_separator(self, node: Node, lines: list[int], column: int) -> str:
        if len(set(lines)) > 1 or (lines and lines[0] != node.line):
            return "," + self.layout.newline + " " * column
        return ", "

    def _flow_insert(self, mapping: Mapping, key: str, value: Any, anchor: Node | None, inline: bool) -> Edit:
        json_style = self.layout.json or any(
            k.style == '"' for k, _ in mapping.pairs if isinstance(k, Scalar)
        )
        key_text = render.scalar(key, json_style=json_style)
        opening = self.text.index("{", mapping.start)
        if not mapping.pairs:
            return Edit(opening + 1, opening + 1, f"{key_text}: {render.flow(value, json_style=json_style)}")
        keys = [k for k, _ in mapping.pairs]
        column = keys[-1].column
        separator = self._flow_separator(mapping, [k.line for k in keys], column)
        if separator != ", " and (isinstance(value, (dict, list)) and value and json_style) and not inline:
            rendered = render.json_lines(value, column, self.layout)
        else:
            rendered = render.flow(value, json_style=json_style)
        if anchor is None:  # before the first entry
            entry = f"{key_text}: {rendered},"
            return Edit(opening + 1, opening + 1, separator[1:] + entry if separator != ", " else entry + " ")
        line_end = self.text.find("\n", anchor.end)
        rest = self.text[anchor.end : line_end if line_end >= 0 else len(self.text)]
        if separator != ", " and _COMMA_THEN_COMMENT.fullmatch(rest):
            # the anchor's line ends with its comma (and maybe a comment): a line of its own after it,
            # so the comment stays with the entry it was written for
            return self._lines_after(anchor.end, [" " * column + f"{key_text}: {rendered},"])
        return Edit(anchor.end, anchor.end, f"{separator}{key_text}: {rendered}")


_COMMENTED_ITEM = re.compile(r"#( ?- |   )")
"""A comment that reads as a commented-out sequence item, or a line of one."""

_COMMA_THEN_COMMENT = re.compile(r"[ \t]*,[ \t]*(#.*)?\r?")
"""What follows a flow entry's value on its line when another entry comes after it on a later line."""


def own_value(mapping: Mapping, key: str) -> Node | None:
    """The value ``mapping`` itself holds for ``key`` (aliases resolved), None when it has none.

    A value that only a merge key (``<<: *base``) brings in is refused: changing it would mean
    changing every object that merges the same base, and shadowing it would hide the base's value.
    """
    node = mapping.own.get(key)
    if node is None and mapping.get(key) is not None:
        raise Uneditable(
            f'"{key}" comes from a merge key (<<); change it where it is defined, or set it here'
        )
    return node.resolve() if node is not None else None


def is_empty(node: Node | None) -> bool:
    """Absent, null, ``{}`` or ``[]``: a value Kubernetes reads as not set, which a fix may fill."""
    if node is None:
        return True
    if isinstance(node, Scalar):
        return node.is_null
    if isinstance(node, Mapping):
        return not node.pairs
    return isinstance(node, Sequence) and not node.items


def is_spread(mapping: Mapping) -> bool:
    """True for a flow (or JSON) mapping whose entries are on lines of their own."""
    lines = {key.line for key, _ in mapping.pairs}
    return mapping.flow and bool(lines) and (len(lines) > 1 or min(lines) != mapping.line)


def _key_name(key: Node) -> str:
    """How a key reads in a message."""
    return key.value if isinstance(key, Scalar) else "?"


def _first_child(node: Node) -> Node | None:
    """The first key or item of a non-empty block collection."""
    if isinstance(node, Mapping) and not node.flow and node.pairs:
        return node.pairs[0][0]
    if isinstance(node, Sequence) and not node.flow and node.items:
        return node.items[0]
    return None


def _has_anchor(node: Node) -> bool:
    """True when ``node`` or anything inside it carries an anchor (``&name``)."""
    pending = [node]
    while pending:
        current = pending.pop()
        if current.anchor:
            return True
        if isinstance(current, Mapping):
            pending.extend(value for _, value in current.pairs)
        elif isinstance(current, Sequence):
            pending.extend(current.items)
    return False


def _line_break_before(text: str, offset: int) -> int:
    """Where the line break before the line holding ``offset`` starts (a CRLF's ``\\r`` included)."""
    start = text.rfind("\n", 0, offset)
    if start < 0:
        return 0
    return start - 1 if start > 0 and text[start - 1] == "\r" else start


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans merged into one (removals that share a separator)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
