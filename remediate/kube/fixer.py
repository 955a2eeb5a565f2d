"""The interface every fixer implements, and the per-file context it is given.

A fixer is a class in its own module under ``fixers/``. It looks at one object at a time and yields
:class:`~remediate.kube.findings.Finding` values, each with an optional fix built with the context's
:class:`~remediate.yaml.edits.Editor`. It is pure: no I/O, no state between calls, no text changed.
The module docstring is the fixer's documentation (``k8sfix --explain ID``), in the sections listed
in :data:`DOC_SECTIONS`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from remediate.kube import versions, workload_guard
from remediate.kube.findings import Finding, Severity
from remediate.kube.images import BUILT_IN, Catalog
from remediate.kube.index import RunIndex
from remediate.kube.k8s import BUILTIN_POD_KINDS, Container, Manifest, PodKind
from remediate.yaml import layout
from remediate.yaml.edits import Change, Editor, Uneditable
from remediate.yaml.model import Applicability, Fix

if TYPE_CHECKING:
    from remediate.yaml.document import Document, Node
    from remediate.yaml.source import Source

DOC_SECTIONS = ("What it does", "Why it matters", "Example", "Options", "Fix safety", "Limitations")


@dataclass
class Context:
    """What a fixer may consult besides the object: the file, and every object of the run.

    ``namespace`` is where this file's objects without a namespace live; ``index`` summarizes every
    object of the run (filled only when an enabled fixer sets ``needs_index``).
    """

    source: Source
    documents: list[Document]
    pod_kinds: tuple[PodKind, ...] = BUILTIN_POD_KINDS
    index: RunIndex = field(default_factory=RunIndex)
    namespace: str = "default"
    kubernetes_version: str | None = None
    from_stdin: bool = False
    """The file is read from stdin: there is no directory to add files to."""
    plans: dict[str, Any] = field(default_factory=dict)
    """Each fixer's plan for this file (see :meth:`plan`)."""
    images: Catalog = BUILT_IN
    """What is known of the images containers run (:mod:`remediate.kube.images`)."""
    applies: Callable[[Finding], bool] = lambda finding: (
        finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    )
    """Whether the run will apply a finding's fix (its class, the config's reclassification, the
    fixes refused earlier); :meth:`Fixer.sharing_one_fix` asks it."""

    @property
    def target_version(self) -> tuple[int, int]:
        """The Kubernetes ``(major, minor)`` the run targets (``--kubernetes-version``)."""
        return versions.target(self.kubernetes_version)

    def namespace_of(self, manifest: Manifest) -> str:
        """The namespace an object is applied to."""
        return manifest.namespace or self.namespace

    def plan(self, fixer: Fixer) -> Any:
        """``fixer``'s :meth:`~Fixer.plan_file` for this file, made on first use."""
        if fixer.id not in self.plans:
            self.plans[fixer.id] = fixer.plan_file(self)
        return self.plans[fixer.id]

    @cached_property
    def editor(self) -> Editor:
        """Edit builders for this file (layout detected on first use)."""
        is_json = self.source.name.endswith(".json") or self.source.text.lstrip()[:1] in ("{", "[")
        detected = layout.detect(self.documents, json=is_json, newline=self.source.newline)
        return Editor(self.source.text, detected, self.documents)


def _fix_of(title: str, changes: list[Change], applicability: Applicability) -> Fix:
    """The fix made of ``changes``; one change's tuples are shared, not copied (a change that appends a
    thousand policies is the fix of a thousand findings)."""
    if len(changes) == 1:
        (change,) = changes
        return Fix(title, change.edits, change.touches, change.adds, applicability)
    return Fix(
        title,
        tuple(edit for change in changes for edit in change.edits),
        tuple(touch for change in changes for touch in change.touches),
        tuple(new for change in changes for new in change.adds),
        applicability,
    )


class SetupProblem(Exception):
    """Options that cannot work (see :meth:`Fixer.setup`): ``option`` is the key, as written in the
    config under the fixer (``template``), and the message says what is wrong."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option
        self.fixer = ""
        """The fixer's id, filled in by whoever calls :meth:`Fixer.setup`."""


class Fixer(abc.ABC):
    """Base class of fixers; subclasses set the class variables and implement :meth:`check`."""

    id: ClassVar[str]
    code: ClassVar[str]
    Options: ClassVar[type]
    writes: ClassVar[tuple[str, ...]]
    """The keys this fixer may add or change: every line it alters mentions one (corpus tests check)."""
    severity: ClassVar[Severity] = Severity.ERROR
    needs_index: ClassVar[bool] = False
    """True for fixers that read ``ctx.index`` (other objects of the run)."""
    rules: ClassVar[tuple[str, ...]] = ()
    """The fixer's rules, when it has several whose fixes differ in safety (each finding names one
    in ``Finding.rule``); the "Fix safety" section of the docstring has a bullet for each."""

    def __init__(self, options: Any = None, *, config_path: str | None = None):
        self.options = options if options is not None else self.Options()
        self.config_path = config_path
        """The config file the options come from (None: defaults); relative paths in options are
        relative to its directory."""

    @abc.abstractmethod
    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        """Yield the findings for one object."""

    def notes(self, manifest: Manifest, ctx: Context) -> Iterator[str]:
        """Notes on one object that are not findings: what the fixer leaves alone on purpose, and
        why (network-policy on a ``hostNetwork`` pod). None by default."""
        return iter(())

    def setup(self) -> None:
        """Read and check what the options name (a template file), once, before any file is read.

        Raise :class:`SetupProblem` when the options cannot work: that is a configuration error,
        not a finding on every object. Nothing to do by default.
        """
        return

    def plan_file(self, ctx: Context) -> Any:
        """Work a fixer does once per file, before :meth:`check` sees its objects, for fixers that
        decide for the whole file at once (network-policy plans every new policy of a file
        together). :meth:`check` reads the result as ``ctx.plan(self)``. None by default."""
        return None

    def receiving_files(self, paths: list[str]) -> dict[str, str]:
        """The files (normalized paths) this fixer's fixes of the files ``paths`` may add documents
        to, besides the files themselves, each with the directory it must stay inside (links
        resolved). The run consults them and writes them last (:mod:`remediate.run.delivery`). Most
        fixers change only the file they look at: none."""
        return {}

    def sharing_one_fix(
        self, findings: list[Finding], ctx: Context, build: Callable[[list[Finding]], list[Change]]
    ) -> list[Finding]:
        """``findings`` of one node whose fixes are parts of one change (a securityContext that
        several rules add keys to), with the parts this run applies made into one fix they share.

        Each finding keeps a fix of its own (its part alone) for the reports and for runs that
        apply only some of them; but fixes of one node collide, so applied one by one they would
        take a pass each. ``build`` makes the change of several findings together; each of them
        gets it as its fix, with its own title and class (the runner applies it once).
        """
        together = [finding for finding in findings if ctx.applies(finding)]
        if len(together) < 2:
            return findings
        try:
            combined = _fix_of("", build(together), Applicability.SAFE)
        except Uneditable:
            return findings
        shared = {
            id(finding): replace(
                finding,
                fix=combined._replace(title=finding.fix.title, applicability=finding.fix.applicability),
            )
            for finding in together
            if finding.fix is not None
        }
        return [shared.get(id(finding), finding) for finding in findings]

    def guard_findings(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        """Findings for what the workload guard says of this object in this fixer's fields: what
        the API server would reject or the kubelet not run, already so in the input (left for a
        human: :mod:`remediate.kube.workload_guard`)."""
        for problem in workload_guard.problems(manifest, ctx.pod_kinds, owner=self.id):
            if problem.reported:
                yield self.finding(manifest, problem.node, problem.message, rule=problem.rule)

    def finding(
        self,
        manifest: Manifest,
        node: Node,
        message: str,
        *,
        container: Container | None = None,
        fix: tuple[str, Callable[[], list[Change]]] | None = None,
        applicability: Applicability = Applicability.SAFE,
        rule: str = "",
    ) -> Finding:
        """A finding at ``node``; ``fix`` is (title, builder) and the builder may raise Uneditable.

        When it does, the finding has no fix and its message says why, so the user knows what to
        do by hand. ``applicability`` says how safe the fix is (the fixer's "Fix safety" section
        says why, case by case); ``rule`` is one of :attr:`rules` (empty for a fixer without).
        """
        assert rule in self.rules if self.rules else not rule, f"{self.id}: unknown rule {rule!r}"
        built: Fix | None = None
        if fix is not None:
            title, build = fix
            try:
                changes = build()
            except Uneditable as reason:
                message = f"{message} (not fixed automatically: {reason})"
            else:
                built = _fix_of(title, changes, applicability)
        return Finding(
            code=self.code,
            fixer=self.id,
            message=message,
            doc=manifest.document.index,
            path=node.path(),
            line=node.line + 1,
            column=node.column + 1,
            obj=manifest.ref,
            container=container.name if container else None,
            severity=self.severity,
            fix=built,
            rule=rule,
        )
