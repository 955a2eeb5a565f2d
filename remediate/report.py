"""How results are shown: findings as text or JSON, fixes as a unified diff, and a summary."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from remediate.model import Finding
from remediate.runner import FileResult, Status


def display_name(name: str) -> str:
    return name.removeprefix("./")


def finding_line(result: FileResult, finding: Finding, *, fixing: bool) -> str:
    """``path:line:col: CODE message [fixer] (fixed|fixable)``."""
    if finding.identity in result.fixed and fixing:
        state = " (fixed)"
    elif finding.fix is not None:
        state = " (fixable)"
    else:
        state = ""
    return (
        f"{display_name(result.name)}:{finding.line}:{finding.column}: {finding.code} "
        f"{finding.obj.kind}/{finding.obj.name}: {finding.message} [{finding.fixer}]{state}"
    )


def finding_record(result: FileResult, finding: Finding, *, fixing: bool) -> dict[str, Any]:
    """One JSON record of ``--format json``."""
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
        "fix_applied": fixing and finding.identity in result.fixed,
        "fix": finding.fix.title if finding.fix is not None else None,
    }


def problem_lines(result: FileResult) -> list[str]:
    """Errors as ``path:line:col: message`` (line and column 1 when unknown)."""
    name = display_name(result.name)
    return [f"{name}:{p.line or 1}:{p.column or 1}: error: {p.message}" for p in result.errors]


def unified_diff(result: FileResult) -> str:
    """The change of one file as a unified diff that ``patch -p1`` applies."""
    assert result.source is not None and result.output is not None
    name = display_name(result.name)
    old = result.source.text.splitlines(keepends=True)
    new = result.output.splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, f"a/{name}", f"b/{name}", n=3):
        if line.startswith(("---", "+++")):
            lines.append(line.rstrip("\n") + "\n")
        elif line.endswith("\n"):
            lines.append(line)
        else:
            lines.append(line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def summary(results: Iterable[FileResult], *, fixing: bool, dry_run: bool = False) -> str:
    """One line for the end of a run, e.g. ``3 files: 1 changed, 2 unchanged; 4 findings, 4 fixed``."""
    results = list(results)
    statuses = Counter(r.status for r in results)
    findings = sum(len(r.findings) for r in results)
    fixed = sum(len(r.findings) - len(r.unfixed) for r in results) if fixing else 0
    labels = {Status.CHANGED: "would change"} if dry_run else {}
    parts = [f"{statuses[s]} {labels.get(s, s.value)}" for s in Status if statuses[s]]
    text = f"{len(results)} file{'s' if len(results) != 1 else ''}: {', '.join(parts) or 'none'}"
    text += f"; {findings} finding{'s' if findings != 1 else ''}"
    if fixing:
        text += f", {fixed} {'fixable' if dry_run else 'fixed'}"
    return text


def json_document(results: list[FileResult], *, fixing: bool) -> str:
    records = [finding_record(r, f, fixing=fixing) for r in results for f in r.findings]
    errors = [
        {"file": display_name(r.name), "line": p.line, "column": p.column, "message": p.message}
        for r in results
        for p in r.errors
    ]
    skipped = [{"file": display_name(r.name), "reason": r.note} for r in results if r.status is Status.SKIPPED]
    return json.dumps({"findings": records, "errors": errors, "skipped": skipped}, indent=2)
