"""``--format``: which findings a machine-readable format reports, where they are, and the dispatch.

``text`` lines are printed per file as the run goes (:mod:`remediate.cli.commands`); the other
formats are one document printed at the end of the run: ``json``
(:func:`remediate.output.report.json_document`), ``sarif`` (:mod:`remediate.output.sarif`, for
GitHub code scanning) and ``github`` (:mod:`remediate.output.github`, workflow commands that
annotate a pull request).

SARIF and GitHub annotations describe the files as they are when k8sfix exits: after ``--write``
only the findings that are still there (positions are those of the file before the fix); otherwise
every finding. ``json`` keeps every finding and says which ones were fixed.
"""

from __future__ import annotations

import os
import posixpath

from remediate.kube.findings import Finding
from remediate.output.report import display_name, json_document
from remediate.run.results import FileResult
from remediate.yaml.model import Applicability


def open_findings(result: FileResult, *, written: bool) -> tuple[Finding, ...]:
    """The findings the file still has once the run is over."""
    return result.unfixed if written else result.findings


def message(finding: Finding, *, written: bool, unsafe: bool = False) -> str:
    """A finding's message for a reader who sees no diff: the object, the problem, and the fix
    k8sfix would make, with the command that makes it. ``written``: the run wrote its fixes, so a
    finding left with a safe fix (or an unsafe one, with ``unsafe``) is one whose fix failed."""
    text = f"{finding.obj.kind}/{finding.obj.name}: {finding.message}"
    fix = finding.fix
    if fix is None:
        return text
    if fix.applicability is Applicability.DISPLAY_ONLY:
        return f"{text} (a fix to consider: {fix.title})"
    if fix.applicability is Applicability.UNSAFE and not unsafe:
        return f"{text} (k8sfix --write --unsafe-fixes fixes it, for review: {fix.title})"
    return text if written else f"{text} (k8sfix --write fixes it: {fix.title})"


def repository_path(name: str) -> str:
    """A file's path with forward slashes relative to the root of the git repository that holds
    the current directory (the nearest one above with a ``.git``), as GitHub resolves SARIF paths
    wherever in the checkout k8sfix ran; else as :func:`relative_path` gives it."""
    from remediate.run.gitignore import repository_root

    root = repository_root(os.getcwd())
    absolute = os.path.abspath(name) if name != "-" else name
    if root is not None and os.path.isabs(absolute):
        inside = os.path.relpath(absolute, root)
        if not inside.startswith(os.pardir):
            return posixpath.normpath(inside.replace(os.sep, "/"))
    return relative_path(name)


def relative_path(name: str) -> str:
    """A file's path with forward slashes, relative to the current directory when it is inside it.

    GitHub resolves annotation and SARIF paths against the repository root, which is where a
    workflow runs k8sfix; a path outside the current directory stays absolute.
    """
    if os.path.isabs(name):
        inside = os.path.relpath(name)
        if not inside.startswith(os.pardir):
            name = inside
    return posixpath.normpath(display_name(name).replace(os.sep, "/"))


def render(
    output_format: str, results: list[FileResult], *, fixing: bool, written: bool, unsafe: bool = False
) -> str:
    """The end-of-run document of ``output_format`` (any format but ``text``)."""
    from remediate.output import github, rdjson, sarif  # they import this module's helpers

    if output_format == "json":
        return json_document(results, fixing=fixing)
    if output_format == "sarif":
        return sarif.dumps(sarif.log(results, written=written, unsafe=unsafe))
    if output_format == "rdjson":
        return rdjson.dumps(rdjson.document(results, written=written, unsafe=unsafe))
    if output_format == "github":
        return "".join(line + "\n" for line in github.commands(results, written=written, unsafe=unsafe))
    raise ValueError(f"no end-of-run document for format {output_format!r}")
