"""``--report-html FILE``: a migration report for the reviewer of a large pull request.

It is rendered from the run report (:mod:`remediate.output.run_report`) and the run's diffs with a
jinja2 template of ``remediate/output/templates/``: HTML when FILE ends in ``.html`` (autoescaped:
names from manifests cannot inject markup), Markdown when it ends in ``.md`` (table cells escaped,
so a ``|`` or ``<`` in a name cannot break the table). Every path given on the command line is a
*repository*: the report gives its totals, then its files grouped by what the reviewer must do
with them, most demanding first, each file once, collapsible, with its diff:

1. **needs review**: the files with an unsafe fix (a memory limit, a non-root user, a new
   NetworkPolicy), which can change how a workload behaves;
2. **left for a human**: the files with findings k8sfix did not fix, each with its reason;
3. **safe fixes**: the files whose fixes are all safe, to skim.

The Markdown report is meant for the pull request's description, which GitHub cuts at 65,536
characters: when the whole report is longer, FILE holds the summary (totals by fixer and by
class, the files that need review) and points to ``FILE.details.md``, which holds the rest.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from remediate.output import run_report
from remediate.output.report import display_name

SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}
TEMPLATES = {"html": "migration-report.html.j2", "markdown": "migration-report.md.j2"}


def format_for(path: str) -> str:
    """``html`` or ``markdown`` from the file name; ValueError for any other suffix."""
    suffix = posixpath.splitext(path.lower())[1]
    if suffix not in SUFFIXES:
        raise ValueError(f"--report-html {path}: the name must end in .html or .md")
    return SUFFIXES[suffix]


def repositories(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's files grouped by the command-line path they were found under, with totals."""
    roots = [posixpath.normpath(display_name(path)) for path in report["arguments"]["paths"]]
    groups: dict[str, list[dict[str, Any]]] = {root: [] for root in roots}
    unsafe = bool(report["arguments"].get("unsafe_fixes"))
    for entry in report["files"]:
        groups.setdefault(_root_of(entry["path"], roots), []).append(entry)
    return [
        {"path": root, "totals": run_report.totals(files, unsafe=unsafe, mode=report["mode"]), "files": files}
        for root, files in groups.items()
        if files
    ]


def _root_of(path: str, roots: list[str]) -> str:
    normal = posixpath.normpath(path)
    inside = [
        root
        for root in roots
        if normal == root or normal.startswith(root + "/") or (root == "." and not normal.startswith("/"))
    ]
    return max(inside, key=len) if inside else normal


DESCRIPTION_LIMIT = 65_536
"""The characters GitHub keeps of a pull request's description."""

GROUPS = ("review", "left", "safe")
"""What a reviewer must do with a file, most demanding first (see the module docstring)."""


def grouped(files: list[dict[str, Any]], diffs: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The files of a repository by :data:`GROUPS`, each with its unsafe and safe fixes, the
    findings left, and its diff as (kind, line) pairs (kind: ``add``, ``del``, ``hunk`` or ````)."""
    groups: dict[str, list[dict[str, Any]]] = {group: [] for group in GROUPS}
    for entry in files:
        unsafe = [fix for fix in entry["fixes"] if fix["applicability"] == "unsafe"]
        safe = [fix for fix in entry["fixes"] if fix["applicability"] != "unsafe"]
        left = [f for f in entry["findings"] if not (f["fix_applied"] or f["would_fix"])]
        group = "review" if unsafe else "left" if left else "safe" if safe else None
        if group is None:
            continue
        diff = diffs.get(entry["path"], "")
        lines = [(_line_kind(line), line) for line in diff.splitlines()]
        runs = [len(run) for run in re.findall(r"`+", diff)]
        fence = "`" * max(3, max(runs, default=0) + 1)  # a Markdown fence no line of the diff closes
        groups[group].append(
            {**entry, "unsafe": unsafe, "safe": safe, "left": left, "diff": lines, "fence": fence}
        )
    return groups


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "head"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "")


def by_class(report: dict[str, Any]) -> dict[str, int]:
    """The fixes of the run by class, and the findings left."""
    fixes = [fix for entry in report["files"] for fix in entry["fixes"]]
    return {
        "unsafe": sum(1 for fix in fixes if fix["applicability"] == "unsafe"),
        "safe": sum(1 for fix in fixes if fix["applicability"] != "unsafe"),
        "left": report["totals"]["unfixed"],
    }


def documents(
    report: dict[str, Any], output_format: str, path: str, diffs: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """The files of the migration report at ``path``: one, or for a Markdown report longer than
    a pull-request description, its summary at ``path`` and the rest beside it."""
    diffs = diffs or {}
    if output_format == "html":
        return [(path, render(report, output_format, diffs))]
    whole = render(report, output_format, diffs)
    if len(whole) <= DESCRIPTION_LIMIT:
        return [(path, whole)]
    details = posixpath.splitext(path)[0] + ".details.md"
    summary = render(report, output_format, diffs, part="summary", details=posixpath.basename(details))
    return [(path, summary), (details, render(report, output_format, diffs, part="details"))]


def render(
    report: dict[str, Any],
    output_format: str,
    diffs: dict[str, str] | None = None,
    *,
    part: str = "all",
    details: str | None = None,
) -> str:
    """The migration report of a run report as HTML or Markdown (``part``: ``all``, or for a
    Markdown report split in two, its ``summary``, pointing to ``details``, or its ``details``)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("remediate.output", "templates"),
        autoescape=output_format == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["cell"] = markdown_cell
    template = environment.get_template(TEMPLATES[output_format])
    repos = repositories(report)
    for repo in repos:
        repo["groups"] = grouped(repo["files"], diffs or {})
    summary_files = [entry["path"] for repo in repos for entry in repo["groups"]["review"]]
    return template.render(
        report=report,
        repositories=repos,
        classes=by_class(report),
        review_files=summary_files,
        part=part,
        details=details,
    )


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: markup characters escaped, one line."""
    text = "" if value is None else str(value)
    for char in "\\`*_[]|":
        text = text.replace(char, "\\" + char)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())
