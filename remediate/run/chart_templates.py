"""Fixing a Helm chart's template text where no value controls the field: unsafe fixes, proven by rendering.

A fix found on a rendered object that no values key controls (:mod:`remediate.run.chart_values`)
can still be made where a careful human would make it: in the template, when the template writes
the object's fields as plain YAML. The fix's promises (``Touch``: this path of this rendered
document becomes this value) are carried over to the template's text one at a time:

- the path is followed through the template's *literal* lines: a key is looked for only among the
  entries of its parent's block, at the column of that block's entries, and a list item is the
  item-th dash of its list; lines that are template actions (``{{ ... }}``) or comments never match;
- a missing key is inserted as new lines at the end of its parent's block, at the column of the
  parent's entries, after any ``{{ if }}``/``{{ with }}``/``{{ range }}`` opened in the block has been
  closed (never inside a branch), in the indentation style of the template;
- a key written with a literal value (``imagePullPolicy: IfNotPresent``, ``apiVersion:
  extensions/v1beta1``) gets the new value in its place, its quotes and trailing comment kept,
  and a mapping written literally gets the entries it lacks (one fix adds ``securityContext``,
  the next one a key inside it);
  a value written by a template action is never rewritten.

The template's documents are matched with what it renders by their order (a template whose
``---``-separated parts do not match the rendered documents one to one is not edited). Nothing of
this is trusted: the chart is rendered again from a copy with the edited template, and the edit is
kept only when the rendered objects differ from before exactly where the fixes promised (the
verifier of plain files), every other template renders as before, the workload guard finds nothing
new and ``helm lint`` gives no new warning. Template edits are always *unsafe* fixes: a template may
be rendered with values this run did not try.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from remediate.kube.findings import Finding
from remediate.kube.k8s import BUILTIN_POD_KINDS
from remediate.run.chart_values import NETWORK_POLICY, Checked, together
from remediate.run.charts import Release, Rendered, RenderError, child, item_could_render, render_changed
from remediate.run.runner import guard_refusals
from remediate.yaml.document import Document
from remediate.yaml.layout import Layout
from remediate.yaml.model import DELETED, Applicability, Touch
from remediate.yaml.render import entry_lines, scalar
from remediate.yaml.values import to_data
from remediate.yaml.verify import VerificationError, verify


@dataclass
class TemplateFix:
    """A template's proven edit: its new text, the findings it fixes, the chart rendered with it."""

    text: str
    fixed: list[Finding] = field(default_factory=list)
    rendered: Rendered | None = None


class Unplaceable(Exception):
    """A promise that cannot be carried over to the template's text safely."""


def candidates(entry: Checked, elsewhere: set[tuple]) -> list[Finding]:
    """The findings of a rendered template whose fixes could be made in its text: every fix but the
    display-only ones, those that add objects (a NetworkPolicy: a template of its own), those
    fixed ``elsewhere`` (in the values) and those of a Helm test hook (``helm.sh/hook: test``: a
    pod ``helm test`` runs once to check the release, such as ``helm create``'s ``wget`` of the
    Service, which a non-root user or a read-only root would make fail, not safer)."""
    hooks = {index for index, document in enumerate(entry.documents) if _is_test_hook(document)}
    return [
        finding
        for finding in entry.fixable
        if finding.doc not in hooks
        and finding.fix is not None
        and finding.fix.touches
        and not finding.fix.adds
        and finding.fix.applicability is not Applicability.DISPLAY_ONLY
        and finding.fixer != NETWORK_POLICY
        and finding.identity not in elsewhere
    ]


def _is_test_hook(document: Document) -> bool:
    data = to_data(document.root)
    metadata = data.get("metadata") if isinstance(data, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    hook = annotations.get("helm.sh/hook") if isinstance(annotations, dict) else None
    return isinstance(hook, str) and any(part.strip().startswith("test") for part in hook.split(","))


def fix_template(
    chart: Rendered,
    release: Release,
    changed: dict[str, str],
    template: str,
    text: str,
    entry: Checked,
    findings: list[Finding],
) -> TemplateFix | None:
    """The proven edit of ``template`` (its text ``text``) for as many of ``findings`` as prove
    together, ``chart`` being the chart as it renders now with the files ``changed`` (a fixed
    ``values.yaml``); None when no finding's fix can be made in the text."""
    documents = [to_data(document.root) for document in entry.documents]

    def proven(chosen: list[Finding]) -> TemplateFix | None:
        edited, made = _edited(text, chosen, documents)
        return _proven(chart, release, changed, template, edited, entry, made) if made else None

    _, made = _edited(text, findings, documents)
    together = proven(made)
    if together is not None or len(made) <= 1:
        return together
    alone = [finding for finding in made if proven([finding]) is not None]
    return proven(alone)


def _edited(text: str, findings: list[Finding], documents: list[Any]) -> tuple[str, list[Finding]]:
    """``text`` with the fixes of ``findings`` carried over one after the other, and the findings
    whose fixes changed it (one that cannot be carried over, or changes nothing, is passed over)."""
    made = []
    for finding in findings:
        assert finding.fix is not None
        try:
            candidate = _carried(text, finding.fix.touches, documents)
        except Unplaceable:
            continue
        if candidate != text:
            made.append(finding)
            text = candidate
    return text, made


def _proven(
    chart: Rendered,
    release: Release,
    changed: dict[str, str],
    template: str,
    text: str,
    entry: Checked,
    fixed: list[Finding],
) -> TemplateFix | None:
    """The edit, when the chart rendered with it changes exactly what the fixes promised and
    nothing else, the guard finds nothing new and lint no new problem; else None."""
    try:
        rendered = render_changed(chart.root, release, {**changed, template: text}, lint=True)
    except RenderError:
        return None
    if set(rendered.templates) != set(chart.templates) or rendered.new_lint(chart):
        return None
    if any(
        rendered.templates[other] != chart.templates[other] for other in chart.templates if other != template
    ):
        return None
    promise = together([finding.fix for finding in fixed if finding.fix is not None])
    if promise is None:
        return None
    try:
        after = verify(entry.documents, rendered.templates[template], [promise], key_order=False)
    except VerificationError:
        return None
    if guard_refusals(entry.documents, after, fixed, BUILTIN_POD_KINDS):
        return None
    return TemplateFix(text, fixed, rendered)


def _carried(text: str, touches: tuple[Touch, ...], documents: list[Any]) -> str:
    """``text`` with each promise carried over (see the module docstring); :class:`Unplaceable`
    when one cannot be."""
    for touch in touches:
        text = _carried_one(text, touch, documents)
    return text


ACTION = re.compile(r"\{\{-?\s*(if|with|range|define|block|end)\b")
KEY = re.compile(
    r"^(?P<indent> *)(?P<dash>(?:- +)*)"
    r"""(?P<key>[A-Za-z0-9_.\-/]+|"[^"]*"|'[^']*')\s*:(?:\s+|$)(?P<rest>.*)$"""
)
"""A line that writes a mapping key: its indentation, the dashes of list items it starts, the key
and the rest of the line."""
DOCUMENT_START = re.compile(r"^---(?:\s|$)")


def _carried_one(text: str, touch: Touch, documents: list[Any]) -> str:
    """``text`` with one promise carried over; ``documents``: the data of what it renders."""
    if touch.value is DELETED:
        raise Unplaceable("a deletion")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    parts = _documents(lines)
    if len(parts) != len(documents) or touch.doc >= len(parts):
        raise Unplaceable("the template's documents do not match what it renders")
    start, end = parts[touch.doc]
    block = _Block(start, end, _column_of(lines, start, end))
    node = documents[touch.doc]
    for depth, key in enumerate(touch.path):
        node = child(node, key)
        if isinstance(key, int):
            name = node.get("name") if isinstance(node, dict) else None
            block = _item(lines, block, key, name if isinstance(name, str) else None)
            continue
        found = _entry(lines, block, key)
        if found is None:
            missing = touch.path[depth:]
            if any(isinstance(part, int) for part in missing):
                raise Unplaceable("a list that the template does not write")
            return newline.join(_inserted(lines, block, missing, touch.value, _layout(lines)))
        line, column, rest = found
        if depth == len(touch.path) - 1 and isinstance(touch.value, dict):  # merged in, key by key
            for inner, value in touch.value.items():
                text = _carried_one(text, Touch(touch.doc, (*touch.path, inner), value), documents)
            return text
        if depth == len(touch.path) - 1:
            return newline.join(_replaced(lines, line, column, rest, touch.value))
        block = _value_block(lines, line, column, rest)
    raise Unplaceable("the path ends at a list item")


class _Block(NamedTuple):
    """Lines ``start``..``end`` (exclusive) whose entries' keys sit at ``column``; ``first`` is a
    line before ``start`` that holds the block's first entry (a list item's dash line), or None."""

    start: int
    end: int
    column: int | None
    first: int | None = None


def _documents(lines: list[str]) -> list[tuple[int, int]]:
    """The line ranges of the template's ``---``-separated parts that write YAML of their own."""
    bounds = [number for number, line in enumerate(lines) if DOCUMENT_START.match(line)]
    parts = []
    for start, end in zip([-1, *bounds], [*bounds, len(lines)], strict=True):
        if any(_is_literal(line) for line in lines[start + 1 : end]):
            parts.append((start + 1, end))
    return parts


def _is_literal(line: str) -> bool:
    content = line.strip()
    return bool(content) and not content.startswith(("{{", "#"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _column_of(lines: list[str], start: int, end: int) -> int | None:
    """The column of the first literal line of a block (its entries' keys), None when it has none."""
    for number in range(start, end):
        if _is_literal(lines[number]):
            match = KEY.match(lines[number])
            if match is None or match["dash"]:
                return None
            return len(match["indent"])
    return None


def _entries(lines: list[str], block: _Block) -> Iterator[tuple[int, str, int, str]]:
    """(line, key, column, rest of line) of each entry written literally in ``block``."""
    numbers = ([block.first] if block.first is not None else []) + list(range(block.start, block.end))
    for number in numbers:
        match = KEY.match(lines[number])
        if match is None or "{{" in lines[number][: match.start("rest")]:
            continue
        column = len(match["indent"]) + len(match["dash"])
        if column == block.column and (number == block.first or not match["dash"]):
            yield number, match["key"].strip("\"'"), column, match["rest"]


def _entry(lines: list[str], block: _Block, key: str) -> tuple[int, int, str] | None:
    found = [(number, column, rest) for number, name, column, rest in _entries(lines, block) if name == key]
    if len(found) > 1:
        raise Unplaceable(f"{key} is written twice (in branches of an if)")
    return found[0] if found else None


def _block_end(lines: list[str], after: int, limit: int, column: int, *, dashes_in: bool = False) -> int:
    """The line where the block below line ``after`` ends: the first literal line, before
    ``limit``, indented at most ``column`` (with ``dashes_in``, a key's value: the dashes of a list
    written at the key's own column do not end it)."""
    for number in range(after + 1, limit):
        line = lines[number]
        if not _is_literal(line) or _indent(line) > column:
            continue
        if dashes_in and _indent(line) == column and line.lstrip().startswith("- "):
            continue
        return number
    return limit


def _value_block(lines: list[str], line: int, column: int, rest: str) -> _Block:
    """The block of the value of the entry on ``line`` (key at ``column``)."""
    if rest.strip() and not rest.strip().startswith("#"):
        raise Unplaceable("a value written on the key's line")
    end = _block_end(lines, line, len(lines), column, dashes_in=True)
    inner = _first_literal(lines, line + 1, end)
    if inner is None:
        raise Unplaceable("a value the template writes with an action")
    match = KEY.match(lines[inner])
    if match is None:
        raise Unplaceable("a value the template writes with an action")
    if match["dash"]:
        return _Block(line + 1, end, None)  # a list: only _item reads it
    return _Block(line + 1, end, len(match["indent"]))


def _first_literal(lines: list[str], start: int, end: int) -> int | None:
    return next((number for number in range(start, end) if _is_literal(lines[number])), None)


def _item(lines: list[str], block: _Block, index: int, name: str | None = None) -> _Block:
    """The mapping of item ``index`` of the list in ``block``: the index-th dash at the list's
    column (its first key on the dash line); with the rendered item's ``name``, the one item whose
    ``name:`` can render it, when one alone can (an item switched off before it shifts indexes)."""
    dashes = []
    for number in range(block.start, block.end):
        match = KEY.match(lines[number]) if _is_literal(lines[number]) else None
        if _is_literal(lines[number]) and lines[number].lstrip().startswith("-"):
            dashes.append((_indent(lines[number]), number, match))
    if not dashes:
        raise Unplaceable("a list the template writes with an action")
    column = min(indent for indent, _, _ in dashes)
    at_column = [(number, match) for indent, number, match in dashes if indent == column]
    if name is not None:
        named = [item for item in at_column if item_could_render(lines, item[0], column, name)]
        if len(named) == 1:
            at_column, index = named, 0
    if index >= len(at_column) or at_column[index][1] is None:
        raise Unplaceable("a list item the template does not write as a mapping")
    number, match = at_column[index]
    assert match is not None
    end = _block_end(lines, number, block.end, column)
    return _Block(number + 1, end, len(match["indent"]) + len(match["dash"]), first=number)


def _inserted(
    lines: list[str], block: _Block, path: tuple[Any, ...], value: Any, layout: Layout
) -> list[str]:
    """``lines`` with the entry ``path[0]`` (holding the rest of ``path``, then ``value``) added at
    the end of ``block``, outside any branch opened in it."""
    if block.column is None:
        raise Unplaceable("a mapping with no literal entries")
    for key in reversed(path[1:]):
        value = {key: value}
    depth = 0
    last = block.first if block.first is not None else block.start - 1
    for number in range(block.start, block.end):
        for action in ACTION.finditer(lines[number]):
            depth += -1 if action.group(1) == "end" else 1
            if depth < 0:
                break
        if depth < 0:  # an end of a branch opened before the block: the block is over
            break
        if depth == 0 and lines[number].strip():
            last = number
    new = entry_lines(str(path[0]), value, block.column, layout)
    return lines[: last + 1] + new + lines[last + 1 :]


def _replaced(lines: list[str], line: int, column: int, rest: str, value: Any) -> list[str]:
    """``lines`` with the literal value of the entry on ``line`` set to ``value``."""
    if isinstance(value, (dict, list)) or "{{" in rest:
        raise Unplaceable("a value the template writes with an action or a collection")
    written, comment = re.match(r"^(.*?)(\s+#.*)?$", rest).groups()  # type: ignore[union-attr]
    if not written:
        raise Unplaceable("a value written below its key")
    quote = written[0] if written[0] in "\"'" else ""
    text = lines[line]
    head = text[: len(text) - len(rest)]
    return [*lines[:line], head + scalar(value, quote=quote) + (comment or ""), *lines[line + 1 :]]


def _layout(lines: list[str]) -> Layout:
    """The template's indentation habits: columns per mapping level and from a key to its list's
    dashes, from the first literal instance of each (2 and 2, as ``helm create`` writes, else)."""
    step = dash = None
    for number, line in enumerate(lines[:-1]):
        match = KEY.match(line) if _is_literal(line) else None
        if match is None or match["rest"].strip():
            continue
        below = _first_literal(lines, number + 1, min(len(lines), number + 5))
        if below is None:
            continue
        column = len(match["indent"]) + len(match["dash"])
        offset = _indent(lines[below]) - column
        if lines[below].lstrip().startswith("-"):
            dash = offset if dash is None and offset >= 0 else dash
        elif offset > 0 and step is None:
            step = offset
        if step is not None and dash is not None:
            break
    return Layout(step=step or 2, dash=2 if dash is None else dash)
