"""Golden cases: ``golden/<fixer>/<case>.in.<ext>`` fixed with only that fixer must equal
``<case>.out.<ext>``, or stay byte-identical where no ``.out`` file exists, and its findings must be
those of ``<case>.findings`` (one ``line:column: CODE Kind/name: message (state)`` line each, in
the order found, then a ``line:column: note: message`` line for each note), so messages and
positions are reviewed like output. Every case also runs on
its own output, which must not change again (idempotence). ``<case>.config.yaml`` configures the
run, and ``<case>.context.yaml`` holds other objects of the run (like ``--context``: consulted by
cross-object fixers, never rewritten). ``pytest --update-goldens`` rewrites the ``.out`` and ``.findings``
files from the current behaviour; review them.

A case shows everything its fixer does: unsafe fixes are applied too, unless its config says
``unsafe-fixes: false`` (the cases of what a default run leaves alone). Each finding's line in
``.findings`` says whether its fix is safe or unsafe, so the classes are reviewed like the output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.kube.index import RunIndex, summarize
from remediate.run.config import load
from remediate.run.results import Status
from remediate.run.runner import Engine, Scope, process
from remediate.yaml.document import parse
from remediate.yaml.source import Source
from remediate.yaml.values import to_data
from tests.conftest import GOLDEN


def yaml_data(text: str) -> object:
    documents = parse(text)
    return to_data(documents[0].root) if documents else None


CASES = sorted(GOLDEN.glob("*/*.in.*"))


def findings_text(result: object) -> str:
    """The findings of a golden case's input as its ``.findings`` file holds them, then its notes
    (``line:column: note: message``)."""
    lines = []
    for finding in result.findings:  # type: ignore[attr-defined]
        if finding.identity in result.fixed:  # type: ignore[attr-defined]
            state = f"fixed, {finding.fix.applicability.value}" if finding.fix else "fixed"
        elif finding.fix is not None:
            state = f"fixable, {finding.fix.applicability.value}"
        else:
            state = "not fixable"
        where = f"{finding.obj.kind}/{finding.obj.name}"
        lines.append(
            f"{finding.line}:{finding.column}: {finding.code} {where}: {finding.message} ({state})\n"
        )
    for note in result.notes:  # type: ignore[attr-defined]
        lines.append(f"{note.line}:{note.column}: note: {note.message}\n")
    return "".join(lines)


def _paths(case: Path) -> tuple[Path, Path | None]:
    stem = case.name.split(".in.")[0]
    suffix = case.name.split(".in.")[1]
    config = case.with_name(f"{stem}.config.yaml")
    return case.with_name(f"{stem}.out.{suffix}"), config if config.exists() else None


def _run(case: Path, data: bytes) -> tuple[Source, object]:
    _, config = _paths(case)
    says = config is not None and "unsafe-fixes" in (yaml_data(config.read_text()) or {})
    settings = load(config, select=[case.parent.name], unsafe_fixes=None if says else True)
    engine = Engine(settings)
    source = Source.from_bytes(case.name, data)
    index = RunIndex()
    context = case.with_name(case.name.split(".in.")[0] + ".context.yaml")
    for name, text in [(case.name, source.text)] + (
        [(context.name, context.read_text())] if context.exists() else []
    ):
        index.add(summarize(name, parse(text), settings.pod_kinds, "default"))
    return source, process(engine, source, fix=True, scope=Scope(index, "default"))


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.name.split('.in.')[0]}" for p in CASES])
def test_golden(case: Path, update_goldens: bool) -> None:
    expected_path, _ = _paths(case)
    original = case.read_bytes()
    source, result = _run(case, original)
    assert not result.errors, result.errors
    assert result.status in (Status.CHANGED, Status.UNCHANGED), result
    produced = source.to_bytes(result.output) if result.output is not None else original
    if update_goldens:
        if produced == original:
            expected_path.unlink(missing_ok=True)
        else:
            expected_path.write_bytes(produced)
    expected = expected_path.read_bytes() if expected_path.exists() else original
    assert produced.decode() == expected.decode()
    assert produced == expected  # byte for byte: line endings and BOM too
    findings_path = case.with_name(case.name.split(".in.")[0] + ".findings")
    found = findings_text(result)
    if update_goldens:
        findings_path.write_text(found)
    assert found == findings_path.read_text(), f"{findings_path.name} differs"
    _, again = _run(case, produced)
    assert again.output is None, "not idempotent: a second run changed the output again"
    assert not again.errors


def test_every_fixer_has_golden_cases() -> None:
    from remediate.run.registry import all_fixers

    for fixer in all_fixers():
        cases = list((GOLDEN / fixer.id).glob("*.in.*"))
        assert len(cases) >= 3, f"golden/{fixer.id} needs cases that fix, leave alone and keep comments"
