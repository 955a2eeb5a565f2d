"""A name in a `k8sfix.io/ignore` annotation that is no check: a typo that switches nothing off.

`k8sfix.io/ignore: image-pul-policy` reads like an opt-out, but no check has that id, so the
object is checked as if the annotation were not there, and its author believes it is not. Each name
that is no check id or code (nor `all`) is reported where the annotation is, with the nearest id
when one is near enough. Like ruff's `RUF102` (an unknown rule code in a `# noqa` comment).

There is no fix: which check was meant is for the author to say. On by default; `--ignore
unknown-ignore` (or `ignore:` in `.k8sfix.yaml`) switches it off, and an annotation that lists
`all` or `unknown-ignore` itself is not checked.

Example:

```yaml
metadata:
  annotations:
    k8sfix.io/ignore: image-pul-policy   # K8S101: no check is called image-pul-policy
```
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from remediate.kube.findings import Finding, Severity
from remediate.kube.ignore import ALL, ANNOTATION
from remediate.kube.k8s import Manifest, PodKind, manifests, pod_template
from remediate.yaml.document import Document, Mapping, Scalar

CODE = "K8S101"
ID = "unknown-ignore"
WHEN_ON = "On by default."
"""When the check runs (``--list-fixers`` says it)."""


def check(
    documents: list[Document],
    pod_kinds: tuple[PodKind, ...],
    checks: dict[str, str],
    nearest: Callable[[str], str | None],
) -> list[Finding]:
    """A finding for each name of a ``k8sfix.io/ignore`` annotation on an object (or its pod
    template) that is none of ``checks`` (id to code, matched in any case) nor ``all``, each once;
    none on an annotation that lists ``all`` or this check (an opt-out of this check too)."""
    known = {ALL, *(check_id.lower() for check_id in checks), *(code.lower() for code in checks.values())}
    found = []
    for manifest in manifests(documents):
        template = pod_template(manifest, pod_kinds)
        places = {id(node): node for node in (manifest.metadata, template and template.metadata) if node}
        for metadata in places.values():  # a Pod is its own template: its metadata counts once
            value = _annotation(metadata)
            if value is None:
                continue
            names = list(dict.fromkeys(_names(value.data)))  # each once, in their order
            if {ALL, ID, CODE.lower()} & {name.lower() for name in names}:
                continue
            for name in names:
                if name.lower() not in known:
                    found.append(_finding(manifest, value, name, nearest(name)))
    return found


def _annotation(metadata: Mapping) -> Scalar | None:
    """The text node of the annotation on a metadata mapping, if it has one."""
    annotations = metadata.get("annotations")
    value = annotations.get(ANNOTATION) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, Scalar) and isinstance(value.data, str) else None


def _names(text: str) -> Iterable[str]:
    return (part.strip() for part in text.split(",") if part.strip())


def _finding(manifest: Manifest, value: Scalar, name: str, near: str | None) -> Finding:
    hint = f"; did you mean {near}?" if near else ""
    return Finding(
        code=CODE,
        fixer=ID,
        message=f'{ANNOTATION} names "{name}", which is no check, so it switches nothing off{hint}',
        doc=manifest.document.index,
        path=value.path(),
        line=value.line + 1,
        column=value.column + 1,
        obj=manifest.ref,
        severity=Severity.WARNING,
    )
