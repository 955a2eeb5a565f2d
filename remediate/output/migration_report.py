"""``--report-html FILE``: a migration report for the reviewer of a large pull request.

It is rendered from the run report (:mod:`remediate.output.run_report`) with a jinja2 template of
``remediate/output/templates/``: HTML when FILE ends in ``.html`` (autoescaped: names from manifests cannot
inject markup), Markdown when it ends in ``.md`` (table cells escaped, so a ``|`` or ``<`` in a name
cannot break the table). Every path given on the command line is a *repository*: the report gives
its totals, the list of changes (file, line, object, container, fixer, what was done), the findings
left for a human, and the files skipped or failed.
"""

from __future__ import annotations

import posixpath
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


def render(report: dict[str, Any], output_format: str) -> str:
    """The migration report of a run report as HTML or Markdown."""
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
    return template.render(report=report, repositories=repositories(report))


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: markup characters escaped, one line."""
    text = "" if value is None else str(value)
    for char in "\\`*_[]|":
        text = text.replace(char, "\\" + char)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())
