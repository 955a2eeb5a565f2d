"""How results are shown: findings as text or JSON, fixes as a unified diff, and a summary."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from remediate.kube import skips
from remediate.kube.findings import Finding
from remediate.output import patch
from remediate.run import registry
from remediate.run.results import FileResult, Status
from remediate.yaml.model import Applicability
from remediate.yaml.source import BOM


def display_name(name: str) -> str:
    """A file's name as reports give it (``./`` dropped)."""
    return name.removeprefix("./")


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def shown_name(name: str) -> str:
    """A file's name in a line of text: control characters (a newline, a tab) as escapes such as
    ``\\n``, so that each finding or error stays one line that tools can split."""
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], display_name(name))


def diff_path(name: str) -> str:
    """The path in a diff's ``a/`` and ``b/`` headers: relative to the working directory when the
    file is under it (``patch -p1`` and ``git apply`` refuse absolute paths and ``..``), else from
    the root (such a diff applies with ``patch -p1`` from ``/``)."""
    absolute = os.path.abspath(name)
    relative = os.path.relpath(absolute)
    return absolute.lstrip("/") if relative.startswith("..") else relative


FIXABLE = {
    Applicability.SAFE: " (fixable)",
    Applicability.UNSAFE: " (fixable, unsafe)",
    Applicability.DISPLAY_ONLY: " (fix shown only)",
}
"""The text marker of a finding whose fix was not applied, by how safe the fix is."""

HELD_BACK = " (fixable with --unsafe-fixes)"
"""The marker of a finding whose fix is unsafe, in a run that applies only safe fixes."""


def finding_line(result: FileResult, finding: Finding, *, fixing: bool, unsafe: bool = False) -> str:
    """``path:line:col: CODE message [fixer] (fixed|fixable|...)``; ``unsafe``: the run applies
    unsafe fixes (else they are marked as needing ``--unsafe-fixes``)."""
    if finding.identity in result.fixed and fixing:
        state = " (fixed)"
    elif finding.fix is not None:
        held = finding.fix.applicability is Applicability.UNSAFE and not unsafe
        state = HELD_BACK if held else FIXABLE[finding.fix.applicability]
    else:
        state = ""
    return (
        f"{shown_name(result.name)}:{finding.line}:{finding.column}: {finding.code} "
        f"{finding.obj.kind}/{finding.obj.name}: {finding.message} [{finding.fixer}]{state}"
    )


def finding_record(result: FileResult, finding: Finding, *, mode: str) -> dict[str, Any]:
    """One JSON record of ``--format json``; ``mode``: ``check``, ``diff`` or ``write`` (a fix in
    the diff ``would_fix``, one written is ``fix_applied``)."""
    fixed = finding.identity in result.fixed
    return {
        "file": display_name(result.name),
        "line": finding.line,
        "column": finding.column,
        "fixer": finding.fixer,
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "object": {"kind": finding.obj.kind, "namespace": finding.obj.namespace, "name": finding.obj.name},
        "container": finding.container,
        "path": list(finding.path),
        "fix_available": finding.fix is not None,
        "fix_applied": mode == "write" and fixed,
        "would_fix": mode == "diff" and fixed,
        "fix": finding.fix.title if finding.fix is not None else None,
        "applicability": finding.fix.applicability.value if finding.fix is not None else None,
        "rule": finding.rule or None,
    }


def problem_lines(result: FileResult) -> list[str]:
    """Errors as ``path:line:col: message`` (line and column 1 when unknown)."""
    name = shown_name(result.name)
    return [f"{name}:{p.line or 1}:{p.column or 1}: error: {p.message}" for p in result.errors]


def unified_diff(result: FileResult) -> str:
    """The change of one file as a unified diff that ``patch -p1`` and ``git apply`` apply
    (:mod:`remediate.output.patch`)."""
    assert result.source is not None and result.output is not None
    name = diff_path(result.name)
    bom = BOM if result.source.bom else ""  # patch reads it as a part of the first line
    old = bom + result.source.real_text(result.source.text)
    new = bom + result.source.real_text(result.output)
    return patch.unified_diff(old, new, "/dev/null" if result.created else f"a/{name}", f"b/{name}")


@dataclass
class Tally:
    """What the summary counts, added up one result at a time, so that a run need not keep its
    results (a repository of 200,000 files)."""

    files: int = 0
    statuses: Counter[Status] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    fixed: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    """The findings left whose fix is unsafe, by fixer (what ``--unsafe-fixes`` would fix too)."""
    classes: Counter[Applicability] = field(default_factory=Counter)

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.statuses[result.status] += 1
        if result.status is Status.SKIPPED:
            self.skipped[skips.reason(result.skip_reason or "")] += 1
        for finding in result.findings:
            self.found[finding.fixer] += 1
            if finding.fix is not None:
                self.classes[finding.fix.applicability] += 1
            if finding.identity in result.fixed:
                self.fixed[finding.fixer] += 1
        for finding in result.unfixed:
            self.left[finding.fixer] += 1
            if finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE:
                self.held[finding.fixer] += 1


def summary(
    results: Iterable[FileResult] | Tally, *, fixing: bool, dry_run: bool = False, unsafe: bool = False
) -> str:
    """The end of a run, on stderr: what happened to the files, then the findings by fixer.

    ::

        12 files scanned: 3 changed, 6 unchanged, 2 skipped, 1 failed
        skipped: 1 Helm template, 1 kustomize patch
        image-pull-policy:   3 fixed
        container-resources: 4 fixed, 1 remaining (1 fixable with --unsafe-fixes)
        container-probes:    0 fixed, 1 remaining
        in all: 7 fixed, 2 remaining
        1 more fix with --unsafe-fixes

    Fixing, there is one line per check that found something (in the order of their codes), as
    ruff's statistics give one per rule; with ``--diff`` nothing is written: "would change" and
    "would be fixed". Without a fixing mode the findings are counted by fixer, with how many ``--write``
    would fix. ``unsafe``: the run applies unsafe fixes; when it does not, the last line counts the
    fixes it held back.
    """
    tally = results if isinstance(results, Tally) else _tally(results)
    changed = "would change" if dry_run else "changed"
    counts = ", ".join(
        f"{tally.statuses[status]:,} {changed if status is Status.CHANGED else status.value}"
        for status in (Status.CHANGED, Status.UNCHANGED, Status.SKIPPED, Status.FAILED)
    )
    lines = [f"{_plural(tally.files, 'file')} scanned: {counts}"]
    if tally.skipped:
        lines.append(
            "skipped: " + ", ".join(f"{count:,} {reason}" for reason, count in _ranked(tally.skipped))
        )
    held = Counter() if unsafe else tally.held
    if fixing:
        lines.extend(_fixer_lines(tally, held, "would be fixed" if dry_run else "fixed"))
    else:
        classes = tally.classes
        fixable = classes[Applicability.SAFE] + (classes[Applicability.UNSAFE] if unsafe else 0)
        command = "--write --unsafe-fixes" if unsafe else "--write"
        lines.append(f"findings: {_by_fixer(tally.found)}; {fixable:,} fixable with {command}")
    if held:
        total = sum(held.values())
        noun = "fix" if total == 1 else "fixes"
        lines.append(f"{total:,} more {noun} with --unsafe-fixes" + ("" if fixing else f" {_listed(held)}"))
    return "\n".join(lines)


def _tally(results: Iterable[FileResult]) -> Tally:
    tally = Tally()
    for result in results:
        tally.add(result)
    return tally


def _fixer_lines(tally: Tally, held: Counter[str], done: str) -> list[str]:
    """One line per check that found something: how many of its findings were fixed (``done``) and
    how many remain, of which ``held`` were held back as unsafe; then the totals."""
    fixed, left = tally.fixed, tally.left
    order = {check: place for place, check in enumerate(registry.checks())}
    checks = sorted(fixed.keys() | left.keys(), key=lambda check: (order.get(check, len(order)), check))
    width = max((len(check) for check in checks), default=0) + 1
    lines = []
    for check in checks:
        counts = f"{fixed[check]:,} {done}"
        if left[check]:
            counts += f", {left[check]:,} remaining"
        if held[check]:
            counts += f" ({held[check]:,} fixable with --unsafe-fixes)"
        lines.append(f"{check + ':':<{width}} {counts}")
    total_left = sum(left.values())
    remaining = f", {total_left:,} remaining" if total_left else ""
    lines.append(f"in all: {sum(fixed.values()):,} {done}{remaining}")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Most first; ties by name, so the order does not depend on the order of the files."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _by_fixer(counts: Counter[str]) -> str:
    """``7 (container-resources 4, image-pull-policy 3)``, or ``0``."""
    total = sum(counts.values())
    if not total:
        return "0"
    return f"{total:,} {_listed(counts)}"


def _listed(counts: Counter[str]) -> str:
    """``(container-resources 4, image-pull-policy 3)``."""
    return f"({', '.join(f'{fixer} {count:,}' for fixer, count in _ranked(counts))})"


def json_document(results: list[FileResult], *, fixing: bool) -> str:
    mode = "write" if fixing else "check"  # a diff and this document never share stdout
    records = [finding_record(r, f, mode=mode) for r in results for f in r.findings]
    errors = [
        {"file": display_name(r.name), "line": p.line, "column": p.column, "message": p.message}
        for r in results
        for p in r.errors
    ]
    skipped = [
        {"file": display_name(r.name), "reason": r.skip_reason} for r in results if r.status is Status.SKIPPED
    ]
    notes = [
        {"file": display_name(r.name), "line": p.line, "column": p.column, "message": p.message}
        for r in results
        for p in r.notes
    ]
    return json.dumps({"findings": records, "errors": errors, "skipped": skipped, "notes": notes}, indent=2)
