"""The per-file pipeline: parse, find, fix until nothing changes, verify, and say what happened.

Outcomes are values (:class:`FileResult`), never exceptions: a file that cannot be read, parsed or
fixed safely is *failed* or *skipped* with a message, and the run goes on with the other files.

Fixing runs in passes. Each pass collects the fixes of every finding, applies those that do not
collide (:func:`remediate.yaml.apply.choose`), and verifies the result (:mod:`remediate.yaml.verify`); the
next pass finds again on the new text, which also picks up fixes that had to wait. It stops when a
pass applies nothing. Reaching :data:`MAX_PASSES` with fixes still to apply is a bug (a fix that
keeps finding something to do, whose output would change again on the next run): the file is left
as it was and the error says so. A batch that fails verification is split: each fix is tried alone,
those that fail are reported (naming the fixer) and the rest are applied.

A fixer that raises is a bug too: the file is left as it was, and the error names the fixer and
the object it was looking at; with ``K8SFIX_DEBUG=1`` in the environment it carries the traceback.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field, replace

from remediate.kube import ignore, skips, unknown_ignores, validation, workload_guard
from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer, SetupProblem
from remediate.kube.index import RunIndex, summarize
from remediate.kube.k8s import Manifest, is_fragment, manifests, undeclared_pod_template
from remediate.run import registry
from remediate.run.config import Settings
from remediate.run.results import FileResult, Problem, Status
from remediate.yaml import apply as applying
from remediate.yaml.document import Document, parse
from remediate.yaml.model import Fix, YamlPath
from remediate.yaml.source import InputError, Source
from remediate.yaml.verify import VerificationError, verify

MAX_PASSES = 4

DEBUG_VARIABLE = "K8SFIX_DEBUG"


class FixerCrash(Exception):
    """A fixer raised while it looked at an object (a bug in it): which fixer, which object."""

    def __init__(self, fixer: str, where: str, line: int, error: BaseException):
        super().__init__(f"{fixer} on {where}: {type(error).__name__}: {error}")
        self.fixer = fixer
        self.line = line


@dataclass
class Engine:
    """The fixers of a run, built once from :class:`Settings`."""

    settings: Settings
    schema: validation.SchemaCheck = field(default_factory=validation.SchemaCheck)
    """``--validate``'s settings; the schema guard on fixes runs whatever they are."""
    verdicts: validation.Verdicts = field(default_factory=validation.Verdicts)
    """The values the schema guard has passed (kept between runs by the CLI's engines)."""
    fixers: list[Fixer] = field(init=False)
    codes: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        classes = registry.by_id()
        self.fixers = [
            classes[fixer_id](self.settings.options.get(fixer_id), config_path=self.settings.path)
            for fixer_id in self.settings.enabled
        ]
        for fixer in self.fixers:
            try:
                fixer.setup()
            except SetupProblem as problem:  # options that cannot work: the caller reports them
                problem.fixer = fixer.id
                raise
        self.codes = {fixer.code: fixer.id for fixer in classes.values()}

    def receiving_files(self, paths: list[str]) -> dict[str, str]:
        """Files besides ``paths`` that fixes of ``paths`` may add documents to, each with the
        directory it must stay inside (see :mod:`remediate.run.delivery`)."""
        return {
            file: within for fixer in self.fixers for file, within in fixer.receiving_files(paths).items()
        }

    @property
    def needs_index(self) -> bool:
        """True when an enabled fixer looks at other objects of the run."""
        return any(fixer.needs_index for fixer in self.fixers)

    def find(
        self,
        source: Source,
        documents: list[Document],
        scope: Scope,
        rejected: frozenset[tuple] = frozenset(),
        *,
        shared: bool = True,
    ) -> list[Finding]:
        """Every finding of every enabled fixer, minus those the objects' annotations switch off.

        ``rejected`` are findings whose fixes will not be applied (refused before): fixers that
        share one fix among several findings leave them out of it. ``shared=False`` leaves every
        finding with its own part of such a fix (a chart's value may take some parts, not others)."""
        index = scope.index
        if self.needs_index:  # the file as it is now: a policy added in the last pass covers its pods
            current = summarize(source.name, documents, self.settings.pod_kinds, scope.namespace)
            index = index.with_file(source.name, current)
        ctx = Context(
            source,
            documents,
            self.settings.pod_kinds,
            index,
            scope.namespace,
            self.settings.kubernetes_version,
            from_stdin=scope.from_stdin,
            images=self.settings.images,
            applies=lambda finding: (
                shared and finding.identity not in rejected and self.applied_here(finding) is not None
            ),
        )
        found: list[Finding] = []
        for manifest in manifests(documents):
            if is_fragment(manifest, self.settings.pod_kinds):
                continue
            off = ignore.ignored(manifest, self.settings.pod_kinds, self.codes)
            if ignore.ALL in off:
                continue
            for fixer in self.fixers:
                if fixer.id not in off:
                    try:
                        found.extend(fixer.check(manifest, ctx))
                    except Exception as exc:
                        where = f"{manifest.kind or '?'}/{manifest.name or '?'}"
                        raise FixerCrash(fixer.id, where, manifest.node.line + 1, exc) from exc
        unique: dict[tuple, Finding] = {}
        for finding in found:  # an object reached twice through an alias is reported once
            unique.setdefault(finding.identity, finding)
        policy = self.settings.fix_policy
        return [policy.classify(finding) for finding in unique.values()]

    def notes(self, source: Source, documents: list[Document], scope: Scope) -> tuple[Problem, ...]:
        """The enabled fixers' notes on the objects of a file (:meth:`Fixer.notes`)."""
        ctx = Context(
            source,
            documents,
            self.settings.pod_kinds,
            scope.index,
            scope.namespace,
            self.settings.kubernetes_version,
            from_stdin=scope.from_stdin,
            images=self.settings.images,
        )
        found: list[Problem] = []
        for manifest in manifests(documents):
            if is_fragment(manifest, self.settings.pod_kinds):
                continue
            off = ignore.ignored(manifest, self.settings.pod_kinds, self.codes)
            for fixer in self.fixers:
                if ignore.ALL not in off and fixer.id not in off:
                    line, column = manifest.node.line + 1, manifest.node.column + 1
                    found.extend(
                        Problem(f"{fixer.id}: {note}", line, column) for note in fixer.notes(manifest, ctx)
                    )
        return tuple(found)

    def applied_here(self, finding: Finding) -> Fix | None:
        """The finding's fix when this run applies it (:mod:`remediate.run.applicability`) and it
        edits the finding's own file (not another one: see :func:`_elsewhere`)."""
        fix = self.settings.fix_policy.classify(finding).fix
        if fix is None or fix.adds or not self.settings.fix_policy.applies(fix):
            return None
        return fix


def decode(name: str, data: bytes) -> Source | FileResult:
    """Decode a file, or the failed result saying why it cannot be read."""
    try:
        return Source.from_bytes(name, data)
    except InputError as exc:
        return FileResult(name, Status.FAILED, errors=(Problem(exc.message, exc.line, exc.column),))


@dataclass(frozen=True)
class Scope:
    """What a file is processed against: the run's index, and its objects' default namespace."""

    index: RunIndex = field(default_factory=RunIndex)
    namespace: str = "default"
    from_stdin: bool = False
    """The file is read from stdin (``-``): fixes cannot add documents to files beside it."""


def process(engine: Engine, source: Source, *, fix: bool, scope: Scope | None = None) -> FileResult:
    """Find (and with ``fix``, fix) the problems of one decoded file."""
    name = source.name
    try:
        documents = parse(source.text)
    except InputError as exc:
        if "{{" in source.text:
            return FileResult(
                name, Status.SKIPPED, source, skip_reason="a Helm/Go template ({{ }}), not YAML"
            )
        return FileResult(name, Status.FAILED, source, errors=(Problem(exc.message, exc.line, exc.column),))
    if not any(True for _ in manifests(documents)):
        note = None if not source.text.strip() else skips.not_an_object(documents)
        status = Status.UNCHANGED if note is None else Status.SKIPPED
        return FileResult(name, status, source, skip_reason=note, documents=len(documents))
    scope = scope or Scope()
    try:
        findings = engine.find(source, documents, scope)
        if not fix or not any(engine.applied_here(f) for f in findings):
            result = FileResult(name, Status.UNCHANGED, source, tuple(findings), documents=len(documents))
        else:
            result = _fix(engine, source, documents, findings, scope)
        if fix:
            result = _elsewhere(engine, result, findings)
        unchecked = (
            _undeclared_pod_templates(documents, engine.settings.pod_kinds)
            + _fragments(documents, engine.settings.pod_kinds)
            + engine.notes(source, documents, scope)
        )
        if unchecked:
            result = result._replace(notes=result.notes + unchecked)
        if engine.settings.unknown_ignores is not False:
            checks = registry.checks()
            typos = unknown_ignores.check(documents, engine.settings.pod_kinds, checks, registry.nearest)
            result = result._replace(findings=result.findings + tuple(typos))
        if engine.schema.enabled:
            found, fixed, remarks = validation.check_fixed(
                documents, result.output, engine.settings.kubernetes_version, engine.schema
            )
            notes = result.notes + tuple(Problem(*note) for note in remarks)
            found_all = result.findings + tuple(found)
            result = result._replace(findings=found_all, fixed=result.fixed | fixed, notes=notes)
        return result
    except Exception as exc:  # noqa: BLE001 - a bug in a fixer must not stop the run or touch the file
        return FileResult(name, Status.FAILED, source, errors=(_internal_error(exc),))


def _note(manifest: Manifest, message: str) -> Problem:
    """A note at an object's first line."""
    return Problem(message, manifest.node.line + 1, manifest.node.column + 1)


def _undeclared_pod_templates(documents: list[Document], pod_kinds: tuple) -> tuple[Problem, ...]:
    """A note for each object of an unknown kind that has a pod template, whose pods no fixer sees."""
    return tuple(
        _note(
            manifest,
            f"{manifest.kind}/{manifest.name or '?'} ({manifest.api_version}) has a pod template at "
            "spec.template.spec that no fixer checks: declare its kind under pod-kinds in .k8sfix.yaml",
        )
        for manifest in manifests(documents)
        if undeclared_pod_template(manifest, pod_kinds)
    )


def _fragments(documents: list[Document], pod_kinds: tuple) -> tuple[Problem, ...]:
    """A note for each workload without ``metadata.name`` (nor ``generateName``), left unchecked."""
    return tuple(
        _note(
            manifest,
            f"{manifest.kind} without metadata.name is not checked: the API server takes no such object, "
            "so it is a part of one (a patch, a test's expectation) that a field added to would change",
        )
        for manifest in manifests(documents)
        if is_fragment(manifest, pod_kinds)
    )


def _internal_error(exc: Exception) -> Problem:
    """The error for a bug met while processing a file: what failed, and how to learn more."""
    crash = exc if isinstance(exc, FixerCrash) else None
    what = f" in {exc}" if crash else f": {type(exc).__name__}: {exc}"
    message = f"internal error{what}; file left unchanged (a bug in k8sfix: please report it"
    line = crash.line if crash else None
    if os.environ.get(DEBUG_VARIABLE):
        return Problem(f"{message})\n{traceback.format_exc().rstrip()}", line, 1 if line else None)
    return Problem(
        f"{message}, with the traceback that {DEBUG_VARIABLE}=1 prints)", line, 1 if line else None
    )


def write_result(result: FileResult, original: bytes | None) -> FileResult:
    """Write the result's output, if any, atomically over the file, which must still hold
    ``original`` (None: it must not exist yet, and is created); if it cannot be written, the
    result is failed and nothing of it counts as fixed."""
    from remediate.run import files  # a report run never writes

    if result.source is None or result.output is None:
        return result
    data = result.source.to_bytes(result.output)
    try:
        if original is None:
            files.create_atomic(result.name, data)
        else:
            files.write_atomic(result.name, data, original)
    except (OSError, files.ChangedOnDisk) as exc:
        message = getattr(exc, "strerror", None) or str(exc)
        problem = Problem(f"not written: {message}")
        return result._replace(
            status=Status.FAILED, output=None, fixed=frozenset(), errors=result.errors + (problem,)
        )
    return result


@dataclass
class _Passes:
    """Where the passes of fixing got: the text, its documents, what is found in it, the findings
    whose fixes were applied, and the errors met."""

    text: str
    documents: list[Document]
    current: list[Finding]
    applied: list[Finding]
    errors: list[Problem]


GUARD_ROUNDS = 3
"""How often fixing starts over without the fixes the workload guard refused: each round refuses
at least one fixer on one object, and real files need one."""


def _fix(
    engine: Engine, source: Source, documents: list[Document], findings: list[Finding], scope: Scope
) -> FileResult:
    refused: dict[tuple, str] = {}
    for _ in range(GUARD_ROUNDS):
        done = _passes(engine, source, documents, findings, scope, set(refused))
        worse = guard_refusals(documents, done.documents, done.applied, engine.settings.pod_kinds)
        if not worse:
            break
        refused.update(worse)
    else:  # still refusing after the last round: write nothing
        done = _Passes(source.text, documents, findings, [], [])
    text, current, errors = done.text, done.current, done.errors
    version = engine.settings.kubernetes_version
    schema_refused = validation.refusals(
        documents, done.documents, done.applied, version, engine.schema, engine.verdicts
    )
    if schema_refused:  # a fix would break the schema of a valid object: write nothing
        errors.extend(Problem(*note) for note in schema_refused)
        text, current = source.text, findings
    remaining = {f.identity for f in current}
    fixed = frozenset(f.identity for f in findings if f.identity not in remaining)
    status = Status.CHANGED if text != source.text else Status.UNCHANGED
    if errors:
        status = Status.FAILED if text == source.text else status
    return FileResult(
        source.name,
        status,
        source,
        tuple(_refused(finding, refused) for finding in findings),
        fixed,
        text if text != source.text else None,
        tuple(errors),
        documents=len(documents),
    )


def guard_refusals(
    before: list[Document], after: list[Document], applied: list[Finding], pod_kinds: tuple
) -> dict[tuple, str]:
    """The applied findings whose fixes the workload guard refuses, each with why: for each object the
    fixes made worse (:mod:`remediate.kube.workload_guard`), those of the fixer and rule whose field
    the new problem is about (the fixer's other fixes when none is of that rule; every fixer that
    changed the object when that fixer did not)."""
    by_object: dict[tuple[int, YamlPath], list[Finding]] = {}
    old_objects = {(m.document.index, m.node.path()): m for m in manifests(before)}
    new_objects = {(m.document.index, m.node.path()): m for m in manifests(after)}
    in_document: dict[int, list[tuple[int, YamlPath]]] = {}
    for key in new_objects:
        in_document.setdefault(key[0], []).append(key)
    for finding in applied:
        touched = {
            key
            for touch in (finding.fix.touches if finding.fix else ())
            for key in in_document.get(touch.doc, ())
            if touch.path[: len(key[1])] == key[1]
        }
        for key in touched:
            by_object.setdefault(key, []).append(finding)
    refusals: dict[tuple, str] = {}
    for key, changed_by in by_object.items():
        old = old_objects.get(key)
        known = {p.key for p in workload_guard.problems(old, pod_kinds)} if old is not None else set()
        for problem in workload_guard.problems(new_objects[key], pod_kinds):
            if problem.key in known:
                continue
            owners = [f for f in changed_by if f.fixer == problem.owner]
            blamed = [f for f in owners if f.rule == problem.rule] or owners or changed_by
            for finding in blamed:
                refusals.setdefault(finding.identity, problem.message)
    return refusals


def _refused(finding: Finding, refused: dict[tuple, str]) -> Finding:
    """The finding, without its fix and saying why when the workload guard refused it."""
    reason = refused.get(finding.identity)
    if reason is None:
        return finding
    return replace(
        finding,
        fix=None,
        message=f"{finding.message} (not fixed: the workload guard refuses it: after the fix, {reason})",
    )


def _passes(
    engine: Engine,
    source: Source,
    documents: list[Document],
    findings: list[Finding],
    scope: Scope,
    rejected: set[tuple],
) -> _Passes:
    """Fix in passes until nothing more applies, leaving out the findings ``rejected``."""
    text = source.text
    current_docs = documents
    current = engine.find(source, documents, scope, frozenset(rejected)) if rejected else findings
    errors: list[Problem] = []
    applied: list[Finding] = []
    for passes in range(MAX_PASSES + 1):
        # findings that share one fix (every workload's policy goes in one appended block) offer it once
        offering: dict[tuple, tuple[Finding, Fix]] = {}
        sharing: dict[tuple, list[Finding]] = {}
        for finding in current:
            own = engine.applied_here(finding)
            if own is not None and finding.identity not in rejected:
                offering.setdefault(own.edits, (finding, own))
                sharing.setdefault(own.edits, []).append(finding)
        chosen = applying.choose(fix for _, fix in offering.values())
        if not chosen:
            break
        if passes == MAX_PASSES:  # still something to do after the last pass: the fixes do not settle
            pending = ", ".join(
                sorted({f.fixer for f in current if engine.applied_here(f) and f.identity not in rejected})
            )
            errors.append(
                Problem(
                    f"internal error: fixes of {pending} still apply after {MAX_PASSES} passes, so the "
                    "result would change again on the next run; file left unchanged (a bug in k8sfix: "
                    "please report it)"
                )
            )
            text, current_docs, current, applied = source.text, documents, findings, []
            break
        try:
            new_docs = verify(current_docs, applying.apply(text, chosen), chosen)
        except VerificationError:
            chosen, failures = _split(current_docs, text, chosen, offering)
            for finding, fix, reason in failures:
                rejected.add(finding.identity)
                errors.append(
                    Problem(
                        f"{finding.fixer}: fix '{fix.title}' failed verification and was not applied: "
                        f"{reason}",
                        finding.line,
                        finding.column,
                    )
                )
            if not chosen:
                break
            try:
                new_docs = verify(current_docs, applying.apply(text, chosen), chosen)
            except VerificationError:  # each verified alone, not together: one now, the rest next pass
                chosen = chosen[:1]
                new_docs = verify(current_docs, applying.apply(text, chosen), chosen)
        applied.extend(finding for fix in chosen for finding in sharing[fix.edits])
        text = applying.apply(text, chosen)
        current_docs = new_docs
        current = engine.find(source.with_text(text), current_docs, scope, frozenset(rejected))
    return _Passes(text, current_docs, current, applied, errors)


def _elsewhere(engine: Engine, result: FileResult, findings: list[Finding]) -> FileResult:
    """Count the findings whose fix adds documents to another file, and that this run applies, as
    fixed, and carry the documents (each once) for :mod:`remediate.run.delivery`, which writes them
    after the run."""
    policy = engine.settings.fix_policy
    moving = [(f, f.fix.adds) for f in findings if f.fix is not None and f.fix.adds and policy.applies(f.fix)]
    if not moving:
        return result
    shared = {id(adds): adds for _, adds in moving}  # the findings share one tuple: each counted once
    adds = tuple({id(new): new for group in shared.values() for new in group}.values())
    return result._replace(fixed=result.fixed | {f.identity for f, _ in moving}, adds=adds)


def _split(
    documents: list[Document], text: str, chosen: list[Fix], offering: dict[tuple, tuple[Finding, Fix]]
) -> tuple[list[Fix], list[tuple[Finding, Fix, str]]]:
    """Try each fix alone; return those that verify, and the finding, fix and reason of those that do not."""
    good: list[Fix] = []
    bad: list[tuple[Finding, Fix, str]] = []
    for candidate in chosen:
        try:
            verify(documents, applying.apply(text, [candidate]), [candidate])
        except VerificationError as exc:
            bad.append((offering[candidate.edits][0], candidate, str(exc)))
        else:
            good.append(candidate)
    return good, bad
