"""``--format sarif``: findings as a SARIF 2.1.0 log that GitHub code scanning accepts.

One run; its tool is k8sfix with one rule per fixer (id = the fixer's code, e.g. ``K8S001``), whose
descriptions and help come from the fixer's docstring, the text ``k8sfix --explain`` prints, and
whose ``security-severity`` (with a ``security`` tag) makes GitHub show High or Medium instead of
"Error" (:data:`SECURITY_SEVERITY`). Each finding is a result at ``path:line:column`` (the path
relative to the repository root, found by its ``.git``, as GitHub resolves it, else to the
current directory, with forward slashes; columns count characters, hence ``columnKind:
unicodeCodePoints``), with its fix as SARIF ``fixes`` (the replacement text of each splice) when
the run did not write it. Files that could not be read, parsed or fixed are tool execution
notifications of the invocation, which is then not successful.

No ``partialFingerprints`` are written: GitHub's upload action computes them from the file's text.
``informationUri`` and ``helpUri`` come from the package's ``Homepage`` project URL when it has one.
"""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
import urllib.parse
from importlib import metadata
from typing import Any

from remediate import __version__
from remediate.kube.findings import Finding
from remediate.kube.fixer import DOC_SECTIONS, Fixer
from remediate.output import formats
from remediate.run import registry
from remediate.run.results import FileResult, Status
from remediate.yaml.model import Edit

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

SECURITY_SEVERITY = {
    "security-context": "8.0",
    "network-policy": "7.0",
    "deprecated-api": "6.0",
    "container-resources": "5.0",
    "container-probes": "4.0",
    "image-pull-policy": "3.0",
}
"""How GitHub ranks each fixer's findings (CVSS-like: 7.0 and up High, 4.0 to 6.9 Medium, below
Low): a container that can escalate to root or a pod open to all traffic is a security hole; no
memory limit lets one pod starve a node; a missing probe or a cached ``latest`` image is a
reliability risk."""


def log(
    results: list[FileResult], *, written: bool, homepage: str | None = None, unsafe: bool = False
) -> dict[str, Any]:
    """The SARIF log of a run; ``homepage`` defaults to the package's ``Homepage`` URL."""
    homepage = homepage or project_homepage()
    rules = [fixer_rule(fixer, homepage) for fixer in registry.all_fixers()]
    rule_index = {descriptor["id"]: index for index, descriptor in enumerate(rules)}
    findings = []
    for item in results:
        for finding in formats.open_findings(item, written=written):
            if finding.code not in rule_index:  # a check that is not a fixer, such as --validate's
                rule_index[finding.code] = len(rules)
                rules.append(check_rule(finding, homepage))
            findings.append(
                result_record(item, finding, rule_index[finding.code], written=written, unsafe=unsafe)
            )
    driver: dict[str, Any] = {"name": "k8sfix", "version": __version__, "semanticVersion": __version__}
    if homepage:
        driver["informationUri"] = homepage
    driver["rules"] = rules
    notifications = [
        notification(item, problem.message, problem.line, problem.column)
        for item in results
        for problem in item.errors
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [
                    {
                        "executionSuccessful": not any(r.status is Status.FAILED for r in results),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": findings,
            }
        ],
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def fixer_rule(fixer: type[Fixer], homepage: str | None) -> dict[str, Any]:
    """A fixer as a SARIF reportingDescriptor, documented by its module docstring."""
    doc = inspect.cleandoc(sys.modules[fixer.__module__].__doc__ or fixer.id)
    return rule(fixer.code, fixer.id, doc, fixer.severity.value, homepage)


def check_rule(finding: Finding, homepage: str | None) -> dict[str, Any]:
    """The descriptor of a check that is not a fixer, from one of its findings."""
    doc = f"Findings of k8sfix's {finding.fixer} check ({finding.code}); it has no automatic fix."
    return rule(finding.code, finding.fixer, doc, finding.severity.value, homepage)


def rule(code: str, check: str, doc: str, level: str, homepage: str | None) -> dict[str, Any]:
    """A SARIF reportingDescriptor: descriptions and help from the docstring ``doc``."""
    first_paragraph = doc_sections(doc).get("What it does", doc).split("\n\n")[0]
    descriptor: dict[str, Any] = {
        "id": code,
        "name": "".join(part.capitalize() for part in check.split("-")),
        "shortDescription": {"text": plain(doc.splitlines()[0])},
        "fullDescription": {"text": plain(" ".join(first_paragraph.split()))},
        "help": {"text": doc, "markdown": markdown(doc)},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["kubernetes", check]},
    }
    if check in SECURITY_SEVERITY:
        descriptor["properties"] = {
            "tags": ["security", "kubernetes", check],
            "security-severity": SECURITY_SEVERITY[check],
        }
    if homepage:
        descriptor["helpUri"] = f"{homepage}#fixers"
    return descriptor


def result_record(
    result: FileResult, finding: Finding, rule_index: int, *, written: bool, unsafe: bool = False
) -> dict[str, Any]:
    """A finding as a SARIF result."""
    obj = finding.obj
    qualified = "/".join(part for part in (obj.namespace, obj.kind, obj.name) if part)
    record = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": finding.severity.value,
        "message": {"text": formats.message(finding, written=written, unsafe=unsafe)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(result.name)},
                    "region": {"startLine": finding.line, "startColumn": finding.column},
                },
                "logicalLocations": [{"fullyQualifiedName": qualified, "kind": "object"}],
            }
        ],
        "properties": {
            "fixer": finding.fixer,
            "yamlPath": list(finding.path),
            "container": finding.container,
            "fixAvailable": finding.fix is not None,
            "applicability": finding.fix.applicability.value if finding.fix is not None else None,
            "rule": finding.rule or None,
        },
    }
    fix = finding.fix
    if fix is not None and fix.edits and not written and result.source is not None:
        record["fixes"] = [sarif_fix(result, fix.title, fix.edits)]
    return record


def sarif_fix(result: FileResult, title: str, edits: tuple[Edit, ...]) -> dict[str, Any]:
    """A fix as SARIF ``fixes`` give it: each splice of the file as the region it replaces (empty
    for an insertion) and the text put there."""
    assert result.source is not None
    replacements = []
    for edit in edits:
        start_line, start_column = result.source.position(edit.start)
        end_line, end_column = result.source.position(edit.end)
        region = {
            "startLine": start_line,
            "startColumn": start_column,
            "endLine": end_line,
            "endColumn": end_column,
        }
        replacements.append({"deletedRegion": region, "insertedContent": {"text": edit.new}})
    return {
        "description": {"text": title},
        "artifactChanges": [
            {"artifactLocation": {"uri": artifact_uri(result.name)}, "replacements": replacements}
        ],
    }


def notification(result: FileResult, message: str, line: int | None, column: int | None) -> dict[str, Any]:
    """A file k8sfix could not process, as a tool execution notification."""
    region = {"startLine": line or 1, "startColumn": column or 1}
    return {
        "level": "error",
        "message": {"text": message},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(result.name)}, "region": region}}
        ],
    }


def artifact_uri(name: str) -> str:
    """A URI reference for a file: relative to the repository root (``deploy/app.yaml``), or
    ``file:///abs/path`` outside it."""
    path = formats.repository_path(name)
    quoted = urllib.parse.quote(path, safe="/")
    return f"file://{quoted}" if path.startswith("/") else quoted


def doc_sections(doc: str) -> dict[str, str]:
    """The text of each fixer docstring section (``What it does:`` ...), dedented."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in doc.splitlines():
        heading = line.rstrip().removesuffix(":")
        if line.endswith(":") and heading in DOC_SECTIONS:
            current = sections.setdefault(heading, [])
        elif current is not None:
            current.append(line)
    return {name: textwrap.dedent("\n".join(lines)).strip() for name, lines in sections.items()}


def plain(text: str) -> str:
    """Docstring markup (````code````) as plain text."""
    return text.replace("``", "")


def markdown(doc: str) -> str:
    """A fixer docstring as Markdown: sections as headings, each option as a list item, and
    ``::`` literal blocks as YAML code blocks."""
    out: list[str] = []
    section, base, block = "", None, None  # current heading, its body's indent, a literal block's
    for line in doc.splitlines():
        indent = len(line) - len(line.lstrip())
        if block is not None and line.strip() and indent < block:
            while out[-1] == "":
                out.pop()
            out.extend(["```", ""])
            block = None
        if block is not None:
            if line.strip() or out[-1] != "```yaml":
                out.append(line[block:])
            continue
        heading = line.rstrip().removesuffix(":")
        text = line.strip().replace("``", "`")
        if line.endswith(":") and heading in DOC_SECTIONS:
            section, base = heading, None
            out.extend([f"## {heading}", ""])
        elif line.rstrip().endswith("::"):
            out.extend([text[:-1], "", "```yaml"])
            block = indent + 4
        else:
            if text and base is None:
                base = indent
            bullet = section == "Options" and text and indent == base
            out.append(f"- {text}" if bullet else text)
    if block is not None:
        out.append("```")
    return "\n".join(out).strip() + "\n"


def project_homepage() -> str | None:
    """The ``Homepage`` entry of ``[project.urls]`` in the installed package's metadata, if any."""
    try:
        urls = metadata.metadata("k8sfix").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "homepage" and url.strip():
            return url.strip()
    return None
