"""``--format github``: findings as GitHub Actions workflow commands, which annotate a pull request.

Each finding is one line ``::error file=PATH,line=L,col=C,title=CODE fixer::message`` (``::warning``
for findings of warning severity); a file k8sfix could not process is an ``::error`` titled
``k8sfix``. The runner splits a command at ``::`` and ``,`` and ends it at a newline, so values are
percent-encoded as GitHub's own toolkit (``@actions/core``) does it: in the message ``%``, ``\\r``
and ``\\n``; in property values also ``:`` and ``,``.
"""

from __future__ import annotations

from collections.abc import Iterator

from remediate.output import formats
from remediate.run.results import FileResult


def escape_data(text: str) -> str:
    """Encode a command's message (``%`` first, so the codes added after are not encoded again)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Encode a property value, which also must not contain the separators ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: object) -> str:
    """One workflow command line, e.g. ``command("error", "text", file="a.yaml", line=3)``."""
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{level} {rendered}::{escape_data(message)}"


def commands(results: list[FileResult], *, written: bool, unsafe: bool = False) -> Iterator[str]:
    """The annotations of a run: every finding the files still have, then every file error."""
    for result in results:
        path = formats.relative_path(result.name)
        for finding in formats.open_findings(result, written=written):
            yield command(
                finding.severity.value,
                formats.message(finding, written=written, unsafe=unsafe),
                file=path,
                line=finding.line,
                col=finding.column,
                title=f"{finding.code} {finding.fixer}",
            )
        for problem in result.errors:
            yield command(
                "error",
                problem.message,
                file=path,
                line=problem.line or 1,
                col=problem.column or 1,
                title="k8sfix",
            )
