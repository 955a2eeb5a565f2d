"""``--format rdjson``: findings in reviewdog's Diagnostic Format, fixes as suggested changes.

reviewdog (``reviewdog -f=rdjson``) posts each diagnostic as a review comment on the pull-request
line, and each ``suggestion`` as a change the reviewer applies with one click. One diagnostic per
finding that remains: its message (as in SARIF, with the command that fixes it), the file's path
relative to the repository root, the position (lines from 1, columns from 1 in UTF-8 bytes, as
the format counts them), the fixer's code, and, when the run did not write the fix, one
suggestion per splice (the range it replaces, end exclusive, empty for an insertion, and the new
text).
"""

from __future__ import annotations

import json
from typing import Any

from remediate.kube.findings import Finding
from remediate.output import formats
from remediate.run.results import FileResult
from remediate.yaml.source import Source

SEVERITY = {"error": "ERROR", "warning": "WARNING", "note": "INFO"}


def document(results: list[FileResult], *, written: bool, unsafe: bool = False) -> dict[str, Any]:
    """The rdjson document of a run."""
    diagnostics = []
    for result in results:
        lines = result.source.text.split("\n") if result.source is not None else []
        for finding in formats.open_findings(result, written=written):
            diagnostics.append(diagnostic(result, finding, lines, written=written, unsafe=unsafe))
    return {"source": {"name": "k8sfix"}, "diagnostics": diagnostics}


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def diagnostic(
    result: FileResult, finding: Finding, lines: list[str], *, written: bool, unsafe: bool
) -> dict[str, Any]:
    """One finding as a reviewdog diagnostic (``lines``: the file's, to count bytes in)."""
    path = formats.repository_path(result.name)
    column = _byte_column(lines, finding.line, finding.column)
    found: dict[str, Any] = {
        "message": formats.message(finding, written=written, unsafe=unsafe),
        "location": {"path": path, "range": {"start": {"line": finding.line, "column": column}}},
        "severity": SEVERITY.get(finding.severity.value, "ERROR"),
        "code": {"value": finding.code},
    }
    fix = finding.fix
    if fix is not None and fix.edits and not written and result.source is not None:
        found["suggestions"] = [
            {
                "range": {
                    "start": _position(result.source, lines, edit.start),
                    "end": _position(result.source, lines, edit.end),
                },
                "text": edit.new,
            }
            for edit in fix.edits
        ]
    return found


def _position(source: Source, lines: list[str], offset: int) -> dict[str, int]:
    line, column = source.position(offset)
    return {"line": line, "column": _byte_column(lines, line, column)}


def _byte_column(lines: list[str], line: int, column: int) -> int:
    """The column (from 1) in UTF-8 bytes of the character column ``column`` of ``line``."""
    if not 1 <= line <= len(lines):
        return column
    return len(lines[line - 1][: column - 1].encode("utf-8")) + 1
