"""Objects the Kubernetes schema of the target version rejects (kubeval's and kubeconform's job).

It is also the guard that no fix breaks a schema.

``k8sfix --validate`` checks every object (each item of a ``kind: List`` too) against the JSON
schema of the target Kubernetes version (:mod:`remediate.kube.schemas`). Each problem is an ordinary
:class:`~remediate.kube.findings.Finding` with code ``K8S100`` and fixer id ``schema``, at the line and
column of the offending field: the error's JSON path is walked back through the document's nodes
(an unknown field points at its key, a missing field at the mapping that lacks it, a wrong value
at the value). ``--strict`` also fails unknown fields, as kubeconform's ``-strict`` does. An
apiVersion the target version does not serve (removed, such as ``extensions/v1beta1``
Deployments) is a finding at ``apiVersion``. A custom resource is validated with the JSON schema
``--schema-dir DIR`` holds for it (kubeconform's layout, ``DIR/rollout_v1alpha1.json``); without
one it is not validated and gets a note, not a finding. Objects annotated
``k8sfix.io/ignore: schema`` are not validated.

The guard (:func:`refusals`) runs on every fix, with or without ``--validate``: an object that was
valid before the fixes and is not after them, or an object a fix added that is not valid, means
a fixer has a bug. The file is then left as it is, and the error names the fixers whose fixes
touched that object. It is cheap: only the values the fixes touched are validated, each against
its part of the schema (the runner has verified that nothing else changed), by the strict schema
when the old value passes it (a misspelt key is the likeliest fixer bug), else by the ordinary one.
A value whose schema part cannot be found is judged with its parent, up to the whole object.

Fixes write the same values again and again, so the guard remembers which touched values it passed
(:class:`Verdicts`, under a digest of everything the verdict depends on: the target version, the
objects' kinds and apiVersions, the value's path and its value before and after the fix). A value
passed before is not validated again; the run layer keeps them between runs
(:mod:`remediate.run.verdict_cache`), so a pre-commit run that writes the usual values loads
neither jsonschema nor the schemas (about a tenth of a second). Only passes are remembered: a
refusal is always worked out again, with its message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from remediate.kube import ignore, schemas, versions
from remediate.kube.findings import Finding, Severity
from remediate.kube.k8s import Manifest, manifests
from remediate.yaml.document import Document, Mapping, Node, Sequence, parse
from remediate.yaml.model import Fix, YamlPath
from remediate.yaml.values import to_data

CODE = "K8S100"
ID = "schema"
WHEN_ON = "On with --validate or --select schema."
"""When the check runs (``--list-fixers`` says it)."""


class SchemaCheck(NamedTuple):
    """A run's schema settings: ``enabled`` reports schema findings (``--validate``)."""

    enabled: bool = False
    strict: bool = False
    schema_dir: str | None = None


class Verdicts:
    """The touched values the guard has passed, by :func:`verdict_key`, in this process.

    An engine holds one; :class:`remediate.run.verdict_cache.VerdictCache` also keeps them between
    runs. Only passes are kept: a value the guard refuses is judged again each time.
    """

    def __init__(self) -> None:
        self.learnt: set[str] = set()
        """Keys passed in this process."""

    def passed(self, key: str) -> bool:
        """True when the value of ``key`` was passed before."""
        return key in self.learnt

    def remember(self, key: str) -> None:
        """Keep that the value of ``key`` passed."""
        self.learnt.add(key)


class Note(NamedTuple):
    """A remark or refusal about a file at a 1-based position (the runner makes it a ``Problem``)."""

    message: str
    line: int
    column: int


def check(
    documents: list[Document], kubernetes_version: str | None, settings: SchemaCheck
) -> tuple[list[Finding], list[Note]]:
    """The schema findings of every object, and a note for each kind without a schema."""
    target = versions.target(kubernetes_version)
    catalog = schemas.catalog(target, settings.strict, settings.schema_dir)
    found: dict[tuple, Finding] = {}
    notes: list[Note] = []
    unknown: set[tuple[str, str]] = set()
    for manifest in manifests(documents):
        if _opted_out(manifest) or manifest.kind == "List":  # a List (kubectl's): its items are the objects
            continue
        try:
            schema = catalog.lookup(manifest.kind, manifest.api_version)
        except schemas.SchemaError as exc:
            notes.append(Note(f"{exc}", manifest.node.line + 1, manifest.node.column + 1))
            continue
        if isinstance(schema, schemas.NoSchema):
            if (manifest.kind, manifest.api_version) not in unknown:
                unknown.add((manifest.kind, manifest.api_version))
                notes.append(
                    Note(
                        f"{manifest.label} ({manifest.api_version}) not validated: "
                        f"no schema ({schema.reason})",
                        manifest.node.line + 1,
                        manifest.node.column + 1,
                    )
                )
            continue
        if isinstance(schema, schemas.NotServed):
            finding = _not_served(manifest, schema, target)
            found.setdefault(finding.identity, finding)
            continue
        for finding in _errors(manifest, schema, catalog):
            found.setdefault(finding.identity, finding)
    return sorted(found.values(), key=lambda f: (f.line, f.column, f.message)), notes


def check_fixed(
    documents: list[Document], output: str | None, kubernetes_version: str | None, settings: SchemaCheck
) -> tuple[list[Finding], frozenset[tuple], list[Note]]:
    """:func:`check` on the input, plus the identities of its findings the fixed ``output`` no longer
    has (a fix that moved an object off a removed apiVersion fixes that finding too)."""
    found, notes = check(documents, kubernetes_version, settings)
    if output is None or not found:
        return found, frozenset(), notes
    remaining = {finding.identity for finding in check(parse(output), kubernetes_version, settings)[0]}
    return found, frozenset(f.identity for f in found if f.identity not in remaining), notes


def _opted_out(manifest: Manifest) -> bool:
    return bool(ignore.listed([manifest.metadata], ignore.ANNOTATION) & {ID, CODE, CODE.lower()})


def json_data(node: Node) -> Any:
    """An object's data as the API server reads it: go-yaml's values, every mapping key a string
    (:func:`remediate.yaml.values.to_data` makes them the text sigs.k8s.io/yaml makes; a null key, which
    it refuses, is "null" here, so that the schema reports it)."""
    return _string_keys(to_data(node))


def _string_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {"null" if key is None else key: _string_keys(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_string_keys(item) for item in data]
    return data


def _not_served(manifest: Manifest, schema: schemas.NotServed, target: tuple[int, int]) -> Finding:
    node = manifest.node.get("apiVersion") or manifest.node
    version = versions.show(target)
    if schema.served:
        message = (
            f"apiVersion {manifest.api_version} of {manifest.kind} is not served by Kubernetes "
            f"{version}; use {' or '.join(schema.served)}"
        )
    else:
        message = (
            f"Kubernetes {version} serves no {manifest.kind} in {manifest.api_version} (removed, or a typo)"
        )
    return _finding(manifest, node, node.path(), message)


def _errors(manifest: Manifest, validator: Any, catalog: schemas.Catalog) -> Iterator[Finding]:
    data = json_data(manifest.node)
    for error in validator.iter_errors(data):
        yield from _explain(manifest, error, catalog)


def _explain(
    manifest: Manifest, error: Any, catalog: schemas.Catalog, base: YamlPath = ()
) -> Iterator[Finding]:
    """Findings for one ``jsonschema`` error, each at the node it is about; ``base`` is where in the
    object the validated value is (``()``: the object itself)."""
    path = base + tuple(error.absolute_path)
    node, rest = node_at(manifest.node, path)
    where = show_path(path) or manifest.kind
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict) and not rest:
        for key in _unknown_keys(instance, error.schema):
            key_node = node.key_node(key) if isinstance(node, Mapping) else None
            strict = " (--strict)" if catalog.strict else ""
            yield _finding(
                manifest,
                key_node or node,
                path + (key,),
                f"{show_path(path + (key,))}: unknown field {key!r}{strict}",
            )
        return
    if error.validator == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield _finding(manifest, node, path + (key,), f"{where}: required field {key!r} is missing")
        return
    if error.validator == "type":
        expected = _types(error.validator_value)
        message = f"{where}: expected {expected}, got {_json_type(instance)} {_short(instance)}"
    elif error.validator in ("oneOf", "anyOf") and all(e.validator == "type" for e in error.context or ()):
        expected = " or ".join(sorted({_types(e.validator_value) for e in error.context}))
        message = f"{where}: expected {expected}, got {_json_type(instance)} {_short(instance)}"
    elif error.validator == "enum":
        allowed = ", ".join(repr(value) for value in error.validator_value if value is not None)
        message = f"{where}: {_short(instance)} is not one of {allowed}"
    else:
        message = f"{where}: {_short_text(error.message)}"
    yield _finding(manifest, node, path, message)


def _finding(manifest: Manifest, node: Node, path: YamlPath, message: str) -> Finding:
    return Finding(
        code=CODE,
        fixer=ID,
        message=message,
        doc=manifest.document.index,
        path=manifest.node.path() + path,
        line=node.line + 1,
        column=node.column + 1,
        obj=manifest.ref,
        severity=Severity.ERROR,
    )


def node_at(root: Node, path: Iterable[Any]) -> tuple[Node, tuple[Any, ...]]:
    """The deepest node along ``path`` from ``root``, and the part of the path it could not follow.

    Mapping keys are the text Kubernetes makes of them (a null key is "null" to the schema, see
    :func:`json_data`); aliases and merge keys are followed like Kubernetes follows them.
    """
    path = tuple(path)
    node = root.resolve()
    for depth, part in enumerate(path):
        child: Node | None = None
        if isinstance(node, Mapping):
            child = node.get(None if part == "null" and node.get(part) is None else part)
        elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node.items):
            child = node.items[part].resolve()
        if child is None:
            return node, path[depth:]
        node = child
    return node, ()


def show_path(path: Iterable[Any]) -> str:
    """``("spec", "containers", 0, "image")`` -> ``spec.containers[0].image``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _unknown_keys(instance: dict, schema: dict) -> list[str]:
    known = schema.get("properties", {})
    patterns = [re.compile(pattern) for pattern in schema.get("patternProperties", {})]
    return [key for key in instance if key not in known and not any(p.search(key) for p in patterns)]


def _types(value: Any) -> str:
    names = [value] if isinstance(value, str) else [name for name in value if name != "null"]
    return " or ".join(names) or "null"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _short(value: Any) -> str:
    """A value as the reader wrote it, abbreviated: ``'3'``, ``true``, ``null``, ``{...}``."""
    if isinstance(value, dict):
        return "{...}" if value else "{}"
    if isinstance(value, list):
        return "[...]" if value else "[]"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return _short_text(repr(value))


def _short_text(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def refusals(
    before: list[Document],
    after: list[Document],
    applied: list[Finding],
    kubernetes_version: str | None,
    settings: SchemaCheck,
    verdicts: Verdicts | None = None,
) -> list[Note]:
    """Why the fixed text must not be written: each touched object a fix made invalid, naming the fixers.

    ``applied`` are the findings whose fixes were applied; their touches say which objects changed.
    ``verdicts``: the values passed before (none: every value is validated).
    """
    touched: dict[int, list[tuple[YamlPath, Finding]]] = {}
    for finding in applied:
        fix: Fix | None = finding.fix
        for touch in fix.touches if fix else ():
            touched.setdefault(touch.doc, []).append((touch.path, finding))
    if not touched:
        return []
    target = versions.target(kubernetes_version)
    old_objects = {(m.document.index, m.node.path()): m for m in manifests(before)}
    notes: list[Note] = []
    for manifest in manifests([doc for doc in after if doc.index in touched]):
        prefix = manifest.node.path()
        by = [
            (path, finding)
            for path, finding in touched[manifest.document.index]
            if path[: len(prefix)] == prefix or prefix[: len(path)] == path
        ]
        if not by:
            continue
        old = old_objects.get((manifest.document.index, prefix))
        parts = _parts([path[len(prefix) :] if len(path) > len(prefix) else None for path, _ in by])
        problem = _broken(old, manifest, parts, target, settings.schema_dir, verdicts or Verdicts())
        if problem:
            fixers = ", ".join(sorted({finding.fixer for _, finding in by}))
            first = by[0][1]
            line, column = (old.node.line + 1, old.node.column + 1) if old else (first.line, first.column)
            notes.append(
                Note(
                    f"{fixers}: the fix would make {manifest.label} invalid against the Kubernetes "
                    f"{versions.show(target)} schema ({problem}); not written: a bug in the fixer (please "
                    "report it), or an option of it, such as a template, that gives invalid objects",
                    line,
                    column,
                )
            )
    return notes


def _parts(touches: list[YamlPath | None]) -> list[YamlPath]:
    """The values to validate for these touches (paths inside the object; None: the whole object),
    without those inside another one."""
    parts: list[YamlPath] = []
    for part in sorted({() if path is None else path for path in touches}, key=len):
        if not any(part[: len(kept)] == kept for kept in parts):
            parts.append(part)
    return parts


def _broken(
    old: Manifest | None,
    new: Manifest,
    parts: list[YamlPath],
    target: tuple[int, int],
    schema_dir: str | None,
    verdicts: Verdicts,
) -> str | None:
    """The first schema error a fix brought into ``new``, or None.

    Only the touched values are validated: the rest of the object is unchanged (the runner has
    verified that). Each is judged by the strict schema when its old value passes it (an unknown key
    is the likeliest fixer bug), else by the ordinary one; one that fails both before the fix is not
    judged. A value or object a fix added must pass the strict schema. An object without a schema,
    before or after, is not judged.

    A value passed before (``verdicts``) is not validated again. A pass is remembered only when the
    value itself was validated: one judged with its parent (no schema part for it) depends on the
    parent's other values too, which its key does not hold. With ``--schema-dir``, nothing is
    remembered or taken as passed, for any kind: that directory may change between runs, and its
    schemas may replace the built-in ones.
    """
    for part in parts:
        key = verdict_key(old, new, part, target) if schema_dir is None else None
        if key is not None and verdicts.passed(key):
            continue
        judged = _judge(old, new, part, target, schema_dir)
        if judged is None:
            return None
        problem, alone = judged
        if problem is not None:
            return problem
        if key is not None and alone:
            verdicts.remember(key)
    return None


def _judge(
    old: Manifest | None, new: Manifest, part: YamlPath, target: tuple[int, int], schema_dir: str | None
) -> tuple[str | None, bool] | None:
    """(the schema error the fix brought into the value at ``part``, or None; whether the value was
    validated alone, not with its parent); None when the object has no schema (see :func:`_broken`)."""
    alone = True
    for strict in (True, False):
        catalog = schemas.catalog(target, strict, schema_dir)
        check = _check(catalog, old, new, part)
        if check is None:
            return None
        old_validator, old_data, new_validator, new_data, base = check
        alone = alone and base == part
        if old_data is not None and _first_error(old_validator, old_data) is not None:
            continue  # invalid at this level already: judge by the looser schema
        error = _first_error(new_validator, new_data)
        if error is not None:
            found = next(_explain(new, error, catalog, base), None)
            return (found.message if found else error.message), alone
        break
    return None, alone


def verdict_key(old: Manifest | None, new: Manifest, part: YamlPath, target: tuple[int, int]) -> str | None:
    """A digest of everything the guard's verdict on the value at ``part`` depends on, when that
    value is validated alone: the target version, the kinds and apiVersions of the objects before
    and after the fixes, the path, and the value before (absent when the fix added it) and after.
    None when any of it is not JSON data, whose text alone tells every value apart (a value of
    another type would need a text of its own that no string could share): it is judged each time."""
    facts = [
        list(target),
        None if old is None else [old.kind, old.api_version],
        [new.kind, new.api_version],
        list(part),
        None if old is None else _value_at(old, part),
        _value_at(new, part),
    ]
    try:
        text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON data, or keys of mixed types
        return None
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _value_at(manifest: Manifest, part: YamlPath) -> list[Any]:
    """``["value", data]`` of the value at ``part`` of the object, ``["absent"]`` when it has none."""
    node, rest = node_at(manifest.node, part)
    return ["absent"] if rest else ["value", json_data(node)]


_first_errors: dict[tuple[int, str], Any] = {}
"""Verdicts by validator and value. Fixes write the same values again and again: on the shared
corpus the guard checks about 6,000 values, of which about 740 are distinct."""


def _first_error(validator: Any, data: Any) -> Any:
    """The first error of ``data`` against ``validator`` (validators live as long as the process)."""
    key = (id(validator), repr(data))
    if key in _first_errors:
        return _first_errors[key]
    error = next(validator.iter_errors(data), None)
    if len(_first_errors) < 20_000:
        _first_errors[key] = error
    return error


def _check(catalog: schemas.Catalog, old: Manifest | None, new: Manifest, part: YamlPath) -> tuple | None:
    """(old validator, old data, new validator, new data, where) for one touched value.

    The value alone when its schema is found (old data None when the fix added it); else its parent
    (a key the parent's schema does not know); at the top, the whole objects, each by the schema of
    its own kind and apiVersion (so a fix that moves an object to a newer apiVersion must give a
    valid object). None when there is no schema.
    """
    if part and old is not None and (old.kind, old.api_version) == (new.kind, new.api_version):
        validator = schemas.part_validator(catalog, new.kind, new.api_version, part)
        new_node, new_rest = node_at(new.node, part)
        if validator is None or new_rest:
            return _check(catalog, old, new, part[:-1])
        old_node, old_rest = node_at(old.node, part)
        return validator, None if old_rest else json_data(old_node), validator, json_data(new_node), part
    new_validator = _validator(catalog, new)
    old_validator = _validator(catalog, old) if old is not None else new_validator
    if new_validator is None or old_validator is None:
        return None
    return old_validator, json_data(old.node) if old else None, new_validator, json_data(new.node), ()


def _validator(catalog: schemas.Catalog, manifest: Manifest) -> Any:
    """The manifest's validator, or None when it has no usable schema."""
    try:
        found = catalog.lookup(manifest.kind, manifest.api_version)
    except schemas.SchemaError:
        return None
    return None if isinstance(found, (schemas.NoSchema, schemas.NotServed)) else found


def setup_error(kubernetes_version: str | None, settings: SchemaCheck) -> str | None:
    """Why ``--validate`` cannot run as asked (a version without schemas, a missing --schema-dir), or None."""
    if settings.schema_dir is not None and not os.path.isdir(settings.schema_dir):
        return f"--schema-dir {settings.schema_dir}: not a directory"
    if not settings.enabled:
        return None
    target = versions.target(kubernetes_version)
    if not schemas.supported(target):
        known = versions.known()
        return (
            f"--validate: kubernetes-validate has schemas for Kubernetes {versions.show(known[0])} to "
            f"{versions.show(known[-1])}, not {versions.show(target)}"
        )
    return None
