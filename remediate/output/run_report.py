"""``--report FILE``: a JSON record of a whole run, for dashboards and for the migration report.

The document (``schemaVersion`` 2) holds the tool and its version, the mode (``check``, ``diff`` or
``write``), the arguments of the run, totals, and one entry per file: its status, why it was
skipped, its errors, its findings (the records of ``--format json``) and its fixes (applied with
``--write``, proposed with ``--diff``, none in check mode). A ``--diff`` run writes nothing, and
says so: a file it would change is ``would_change`` (not ``changed``), a finding its diff fixes
``would_fix`` (not ``fix_applied``), and the totals count ``wouldFix`` (``fixed`` stays 0). Keys
are added in later versions without changing the meaning of existing ones; a change of meaning
raises ``schemaVersion`` (2: the ``--diff`` counts, which version 1 gave as done).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from remediate import __version__
from remediate.kube import skips
from remediate.output.report import display_name, finding_record
from remediate.run.results import FileResult, Status

SCHEMA_VERSION = 2
WOULD_CHANGE = "would_change"


def mode(*, diff: bool, write: bool) -> str:
    return "write" if write else "diff" if diff else "check"


def document(results: list[FileResult], options: Any) -> dict[str, Any]:
    """The run report of ``results``; ``options`` are the run's
    :class:`~remediate.cli.commands.RunOptions`."""
    run_mode = mode(diff=options.diff, write=options.write)
    files = [file_entry(result, mode=run_mode) for result in results]
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "k8sfix", "version": __version__},
        "mode": run_mode,
        "arguments": json.loads(json.dumps(options._asdict(), default=str)),
        "totals": totals(files, unsafe=bool(options.unsafe_fixes), mode=run_mode),
        "files": files,
    }


def file_entry(result: FileResult, *, mode: str) -> dict[str, Any]:
    """What happened to one file (``mode``: of the run, see :func:`mode`)."""
    fixes = [
        {
            "fixer": finding.fixer,
            "code": finding.code,
            "object": {
                "kind": finding.obj.kind,
                "namespace": finding.obj.namespace,
                "name": finding.obj.name,
            },
            "container": finding.container,
            "line": finding.line,
            "fix": finding.fix.title if finding.fix is not None else None,  # None: another fix solved it
            "applicability": finding.fix.applicability.value if finding.fix is not None else None,
        }
        for finding in result.findings
        if finding.identity in result.fixed
    ]
    return {
        "path": display_name(result.name),
        "status": WOULD_CHANGE if mode == "diff" and result.status is Status.CHANGED else result.status.value,
        "skipReason": result.skip_reason if result.status is Status.SKIPPED else None,
        "documents": result.documents,
        "errors": [{"line": p.line, "column": p.column, "message": p.message} for p in result.errors],
        "findings": [finding_record(result, finding, mode=mode) for finding in result.findings],
        "fixes": fixes,
    }


def totals(files: list[dict[str, Any]], *, unsafe: bool = False, mode: str = "write") -> dict[str, Any]:
    """Counts over file entries: files by status and skip reason, findings and fixes by fixer.

    ``fixable`` findings have a fix this run applies (a safe one; an unsafe one too with
    ``unsafe``), ``heldBack`` ones an unsafe fix it does not; ``fixed`` ones were fixed in the
    files (``--write``), ``wouldFix`` ones are fixed by the diff of a ``--diff`` run (``mode``);
    ``unfixed`` is the rest.
    """
    done = "wouldFix" if mode == "diff" else "fixed"
    applied = {"safe", "unsafe"} if unsafe else {"safe"}
    statuses = Counter(entry["status"] for entry in files)
    by_fixer: dict[str, dict[str, Any]] = {}
    for entry in files:
        for finding in entry["findings"]:
            counts = by_fixer.setdefault(
                finding["fixer"], {"code": finding["code"], "findings": 0, "fixed": 0, "wouldFix": 0}
            )
            counts["findings"] += 1
        for fix in entry["fixes"]:
            by_fixer[fix["fixer"]][done] += 1
    findings = sum(len(entry["findings"]) for entry in files)
    fixed = sum(len(entry["fixes"]) for entry in files)
    return {
        "files": len(files),
        **{status.value: statuses[status.value] for status in Status},
        WOULD_CHANGE: statuses[WOULD_CHANGE],
        "skipReasons": dict(
            Counter(skips.reason(entry["skipReason"]) for entry in files if entry["skipReason"])
        ),
        "errors": sum(len(entry["errors"]) for entry in files),
        "findings": findings,
        "fixable": sum(
            1 for entry in files for finding in entry["findings"] if finding["applicability"] in applied
        ),
        "heldBack": sum(
            1
            for entry in files
            for finding in entry["findings"]
            if finding["applicability"] == "unsafe"
            and not unsafe
            and not (finding["fix_applied"] or finding["would_fix"])
        ),
        "fixed": fixed if done == "fixed" else 0,
        "wouldFix": fixed if done == "wouldFix" else 0,
        "unfixed": findings - fixed,
        "byFixer": dict(sorted(by_fixer.items(), key=lambda item: item[1]["code"])),
    }


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
