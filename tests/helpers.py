"""Helpers shared by the tests: run the pipeline on text, and count lines a change did not intend."""

from __future__ import annotations

import difflib
from pathlib import Path

from remediate.run.config import load
from remediate.run.results import FileResult
from remediate.run.runner import Engine, process
from remediate.yaml.document import Mapping, parse
from remediate.yaml.source import Source


def engine_for(select: list[str] | None = None, config: Path | None = None) -> Engine:
    return Engine(load(config, select=select))


def fix_text(
    text: str, select: list[str] | None = None, name: str = "test.yaml", config: Path | None = None
) -> FileResult:
    return process(engine_for(select, config), Source.from_text(name, text), fix=True)


def fixed_or_same(result: FileResult) -> str:
    assert result.source is not None
    return result.output if result.output is not None else result.source.text


def noise_lines(old: str, new: str, keys: tuple[str, ...]) -> list[str]:
    """Lines removed or added by the change that mention none of ``keys``.

    A line altered in place (a flow mapping that gained ``, imagePullPolicy: Always``) counts as a
    fix line when its new text mentions a key; a line that lost or gained anything else is noise.
    Whole documents appended after the last original one (a fixer that adds objects) are fix
    content when their ``kind`` is one of ``keys``; everything before them is held to the line rule.
    """
    head, appended = _split_appended(old, new)
    return _changed_lines(old, head, keys) + _appended_noise(appended, keys)


def _split_appended(old: str, new: str) -> tuple[str, str]:
    """``new`` cut where the documents after ``old``'s last one start (``""`` when there are none).

    When ``old`` ends with an empty document (a bare ``---``), the first new document fills it: the
    cut is right after that ``---`` and the blank lines after it, kept as they were."""
    before = parse(old)
    documents = parse(new)
    last = before[-1] if before else None
    if last is not None and last.explicit_start and old[last.start :].rstrip() == "---" and len(before) > 1:
        refilled = documents[len(before) - 1]
        if refilled.root.end > refilled.root.start:  # something was written into it
            cut = refilled.start + len(old) - last.start
            return new[:cut], new[cut:]
    count = len(before)
    if len(documents) <= count:
        return new, ""
    start = documents[count].start
    return new[:start], new[start:]


def _appended_noise(appended: str, kinds: tuple[str, ...]) -> list[str]:
    """The lines of appended documents whose kind is not one of ``kinds``."""
    noise = []
    for document in parse(appended):
        root = document.root
        if not (isinstance(root, Mapping) and root.str("kind") in kinds):
            noise.extend("+" + line for line in appended[document.start : document.end].splitlines())
    return noise


def _changed_lines(old: str, new: str, keys: tuple[str, ...]) -> list[str]:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    noise = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        added = new_lines[j1:j2]
        removed = old_lines[i1:i2]
        for line in added:
            if not any(key in line for key in keys):
                noise.append("+" + line)
        for line in removed:
            if not any(key in line for key in keys) and not any(
                _grew_by_fix(line, candidate, keys) for candidate in added
            ):
                noise.append("-" + line)
    return noise


def _grew_by_fix(old: str, new: str, keys: tuple[str, ...]) -> bool:
    """True when ``new`` is ``old`` with inserted or replaced text that mentions a key."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    inserted = new[prefix : len(new) - suffix]
    return any(key in inserted for key in keys) or any(key in new for key in keys)
