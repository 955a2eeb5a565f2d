"""Helm charts: found in the paths of a run, rendered by Helm itself, checked on what they render.

A directory holding ``Chart.yaml`` is a chart, and its ``templates/`` are Go templates, not
manifests: fixing their text as YAML would fix what Helm rewrites before Kubernetes sees it. So the
chart is rendered, with Helm's own engine and never a home-made one, and the fixers look at the
objects it renders. Two engines are used, whichever is there first:

- the ``helm-python-sdk`` package (Helm's Go SDK through its C library, a few milliseconds a chart;
  ``pip install 'k8sfix[helm]'``), in a worker process started when a run meets a chart
  (:mod:`remediate.run.helm_worker`: a template that loops forever is killed, not waited for);
- the ``helm`` binary on ``PATH`` (``helm template``, ``helm lint``; the values a fix would give
  passed as values files of their own).

Without either, a chart's templates are skipped with a note that says how to check them.

The release is rendered as ``helm template`` does by default: release name ``release-name``, the
run's ``--namespace`` (else ``default``), the chart's ``values.yaml`` and the ``--values`` files and
``--set`` values of the command line, no cluster (``lookup`` finds nothing). Each rendered template
is checked as a file of its own, named by the template's path; a finding is shown at the template
line that writes the field it is about (:func:`template_line`). A fix goes to the chart's
``values.yaml`` where a value controls the field it changes (:mod:`remediate.run.chart_values`),
proven by rendering again; with ``--unsafe-fixes`` a fix no value controls is made in the
template's own text where it writes the field as plain YAML (:mod:`remediate.run.chart_templates`),
proven the same way; the other findings say which template to change.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, NamedTuple

from remediate.kube import kustomize
from remediate.run.results import FileResult, Status
from remediate.yaml.document import parse
from remediate.yaml.model import Applicability
from remediate.yaml.source import InputError, Source, read_regular
from remediate.yaml.values import to_data

CHART_FILE = "Chart.yaml"
RELEASE_NAME = "release-name"
"""The release name ``helm template`` uses when none is given."""

HOW_TO_ENABLE = "install k8sfix[helm] (the helm-python-sdk package) or put helm on PATH to check charts"

RENDER_TIMEOUT = 30
"""Seconds a render of one chart may take (a template may loop forever: a chart is untrusted)."""


class RenderError(Exception):
    """Helm could not render the chart; the message is Helm's own (template and line)."""


class RenderStopped(RenderError):
    """The render did not end with Helm's answer: it took longer than :data:`RENDER_TIMEOUT`, or
    the render worker died. Unlike Helm's own errors, it says nothing of the chart's values."""


class Release(NamedTuple):
    """How a chart is rendered: the values files and ``--set`` values of the run, the namespace."""

    values_files: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    namespace: str = "default"
    name: str = RELEASE_NAME


@dataclass
class Rendered:
    """A chart's rendered templates: the path of each below the chart's directory (subcharts'
    under ``charts/<name>/``), with the text Helm made of it (empty templates left out)."""

    root: str
    templates: dict[str, str] = field(default_factory=dict)
    lint: frozenset[str] | None = None
    """The warnings and errors ``helm lint`` gives the chart with these values (None: not linted)."""

    def new_lint(self, before: Rendered) -> frozenset[str]:
        """The lint problems of this rendering that ``before`` did not have (none when either was
        not linted)."""
        if self.lint is None or before.lint is None:
            return frozenset()
        return self.lint - before.lint


Values = dict[str, Any] | None
Renderer = Callable[[str, Release, Values, Values, bool], tuple[dict[str, str], list[str] | None]]
"""A way of rendering: (chart root, release, defaults, overrides, lint?) -> (templates, lint
problems or None)."""


def chart_root(path: str) -> str | None:
    """The outermost chart directory holding ``path`` (a parent chart renders its subcharts), up to
    the repository's top; None outside charts."""
    directory = os.path.abspath(path) if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return _outermost_chart(directory)


@cache
def _outermost_chart(directory: str) -> str | None:
    found = None
    for candidate in kustomize.ancestors(directory):
        if os.path.isfile(os.path.join(candidate, CHART_FILE)):
            found = candidate
    return found


def forget() -> None:
    """Drop what was seen of charts: the next run looks at the directories as they are then."""
    _outermost_chart.cache_clear()
    subcharts.cache_clear()
    WORKER.stop()


TEMPLATE_BYTES = 1_000_000
"""How much of one template file is read (a repository's chart may hold anything)."""


def template_files(root: str) -> Iterator[tuple[str, str]]:
    """The chart's files under ``templates/`` (relative path, text), in sorted order: regular files
    only, never through a link (a FIFO or a link out of the chart is not opened)."""
    for folder, folders, names in os.walk(os.path.join(root, "templates")):
        folders.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as stream:
                yield os.path.relpath(path, root), stream.read(TEMPLATE_BYTES)


@cache
def subcharts(root: str) -> dict[str, str]:
    """The subcharts of the chart at ``root`` that sit unpacked in its ``charts/`` folder (never
    through a link), by the name Helm gives them (the dependency's alias in ``Chart.yaml``, else
    the subchart's own name): the key of the parent's values they read, and the folder Helm names
    their templates by (``charts/<name>/templates/...``). Read once per run (every template's
    name is looked up in it; callers only read the mapping): :func:`forget` drops it."""
    aliases = _aliases(root)
    found: dict[str, str] = {}
    for path in _folders_in(os.path.join(root, "charts")):
        name = yaml_mapping(os.path.join(path, CHART_FILE)).get("name")
        if isinstance(name, str) and name:
            found[aliases.get(name, name)] = path
    return found


def missing_dependencies(root: str) -> list[str]:
    """The dependencies ``Chart.yaml`` lists that its ``charts/`` folder holds neither unpacked
    nor as an archive (``<name>-<version>.tgz``), as ``helm template`` refuses to render them."""
    dependencies = yaml_mapping(os.path.join(root, CHART_FILE)).get("dependencies")
    folder = os.path.join(root, "charts")
    names = {yaml_mapping(os.path.join(path, CHART_FILE)).get("name") for path in _folders_in(folder)}
    archives = os.listdir(folder) if os.path.isdir(folder) and not os.path.islink(folder) else []
    missing = []
    for dependency in dependencies if isinstance(dependencies, list) else []:
        name = dependency.get("name") if isinstance(dependency, dict) else None
        if not isinstance(name, str):
            continue
        packed = any(entry.startswith(f"{name}-") and entry.endswith(".tgz") for entry in archives)
        if name not in names and not packed:
            missing.append(name)
    return missing


def _folders_in(folder: str) -> Iterator[str]:
    """The folders directly in ``folder``, in sorted order, none through a link."""
    if os.path.islink(folder) or not os.path.isdir(folder):
        return
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if not os.path.islink(path) and os.path.isdir(path):
            yield path


def _aliases(root: str) -> dict[str, str]:
    """The alias of each dependency of the chart that has exactly one, by its chart name."""
    dependencies = yaml_mapping(os.path.join(root, CHART_FILE)).get("dependencies")
    named: dict[str, list[str]] = {}
    for dependency in dependencies if isinstance(dependencies, list) else []:
        if isinstance(dependency, dict) and isinstance(dependency.get("name"), str):
            named.setdefault(dependency["name"], []).append(
                str(dependency.get("alias") or dependency["name"])
            )
    return {name: aliases[0] for name, aliases in named.items() if len(aliases) == 1}


def template_path(root: str, relative: str) -> str:
    """The file below ``root`` of a template as Helm names it: a subchart's
    ``charts/<name>/templates/x.yaml`` is in the folder of the subchart of that name."""
    parts = relative.split("/")
    if len(parts) > 2 and parts[0] == "charts":
        folder = subcharts(root).get(parts[1])
        if folder is not None:
            return template_path(folder, "/".join(parts[2:]))
    return os.path.join(root, relative)


def yaml_mapping(path: str) -> dict[str, Any]:
    """The top mapping of the YAML file at ``path`` (a regular file, not a link), else {}."""
    try:
        if os.path.islink(path):
            return {}
        documents = parse(Source.from_bytes(path, read_regular(path)[0]).text)
    except (OSError, InputError):
        return {}
    data = to_data(documents[0].root) if documents else None
    return data if isinstance(data, dict) else {}


def engine() -> Renderer | None:
    """The renderer of this machine (see the module docstring), or None."""
    return _engine()


@cache
def _engine() -> Renderer | None:
    if importlib.util.find_spec("helm_python") is not None:  # found, not imported: the worker does
        return _render_with_sdk
    return _render_with_binary if shutil.which("helm") else None


def render(
    root: str,
    release: Release,
    defaults: Values = None,
    *,
    overrides: Values = None,
    lint: bool = False,
) -> Rendered:
    """Render the chart at ``root``; :class:`RenderError` with Helm's message when it cannot.

    ``defaults``: values over the chart's own ``values.yaml`` (what it would say after a fix),
    under the release's values files and ``--set`` values as the file would be. ``overrides``:
    values over the release's values files, under its ``--set`` values (what a values file written
    by ``--values-out`` would say). ``lint``: run ``helm lint`` with the same values too
    (:attr:`Rendered.lint`)."""
    renderer = engine()
    if renderer is None:
        raise RenderError(HOW_TO_ENABLE)
    templates, problems = renderer(root, release, defaults, overrides, lint)
    rendered = Rendered(root, lint=None if problems is None else frozenset(problems))
    for key, text in templates.items():
        relative = key.split("/", 1)[1] if "/" in key else key  # Helm names them <chart>/templates/...
        base = os.path.basename(relative)
        if text.strip() and not base.startswith("_") and base != "NOTES.txt":  # what Helm installs
            rendered.templates[relative] = text
    return rendered


PACKAGE_HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""The directory that holds the ``remediate`` package (for a checkout that is not installed)."""


def render_changed(root: str, release: Release, changed: dict[str, str], *, lint: bool = False) -> Rendered:
    """The chart at ``root`` rendered as it would be with the files ``changed`` (relative path ->
    new text: a fixed template, a new one, a new ``values.yaml``), from a copy of the chart in a
    temporary directory; :class:`RenderError` when it cannot be. Links are copied as links, and a
    changed file that is a link is replaced in the copy, so nothing is written through one."""
    with tempfile.TemporaryDirectory(prefix="k8sfix-chart-") as scratch:
        copy = os.path.join(scratch, os.path.basename(root))
        try:
            shutil.copytree(root, copy, symlinks=True)
            for relative, text in changed.items():
                path = os.path.join(copy, relative)
                if any(os.path.islink(folder) for folder in _folders(copy, relative)):
                    raise RenderError(f"{os.path.dirname(relative)} is a link")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if os.path.lexists(path):
                    os.unlink(path)
                with open(path, "x", encoding="utf-8", newline="") as stream:
                    stream.write(text)
        except (OSError, shutil.Error) as problem:  # a FIFO in the chart, say
            raise RenderError(f"cannot copy the chart: {problem}") from None
        rendered = render(copy, release, lint=lint)
    rendered.root = root
    return rendered


def _folders(root: str, relative: str) -> Iterator[str]:
    """The folders between ``root`` and the file ``relative`` below it, outermost first."""
    parts = relative.split("/")[:-1]
    for count in range(1, len(parts) + 1):
        yield os.path.join(root, *parts[:count])


WORKER_START = (
    "import sys; sys.path.insert(0, sys.argv[1]); from remediate.run.helm_worker import main; main()"
)
"""How the worker starts: isolated (``-I``), so that nothing of the directory k8sfix runs in (a
``helm_python.py`` in a scanned repository, ``PYTHONPATH``) is imported."""


WORKER_GOGC = "400"
"""The Go garbage collector's target for the worker, unless ``GOGC`` is set: a render makes much
short-lived garbage, and collecting at 400% growth instead of Go's 100% renders a chart about a
quarter faster (10.6 ms against 7.8 ms for alertmanager) for some 12 MB more memory."""


class Worker:
    """The render worker of a run (:mod:`remediate.run.helm_worker`), started on first use and
    killed when an answer takes longer than :data:`RENDER_TIMEOUT`."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.owner = os.getpid()
        """The process that started it: a process forked from that one (a worker of the run's
        pool, :mod:`remediate.run.bulk`) starts a worker of its own, and leaves that one alone."""

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.owner != os.getpid():
            self.process, self.owner = None, os.getpid()
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", WORKER_START, PACKAGE_HOME],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={"GOGC": WORKER_GOGC, **os.environ},
            )
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
        except OSError:
            self.stop()
            raise RenderStopped("the Helm render worker stopped") from None
        ready, _, _ = select.select([process.stdout], [], [], RENDER_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            if ready:
                raise RenderStopped("the Helm render worker stopped (a crash in Helm)")
            raise RenderStopped(f"Helm did not finish rendering within {RENDER_TIMEOUT} seconds")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        if self.process is not None and self.owner == os.getpid():
            self.process.kill()
            self.process.wait()
            self.process = None


WORKER = Worker()
atexit.register(WORKER.stop)


def _render_with_sdk(
    root: str, release: Release, defaults: Values, overrides: Values, lint: bool
) -> tuple[dict[str, str], list[str] | None]:
    answer = WORKER.ask(
        {
            "root": root,
            "defaults": defaults,
            "values_files": list(release.values_files),
            "overrides": overrides,
            "set_values": list(release.set_values),
            "name": release.name,
            "namespace": release.namespace,
            "lint": lint,
        }
    )
    if "error" in answer:
        raise RenderError(str(answer["error"]))
    return dict(answer["templates"]), answer.get("lint")


SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


LINT_LINE = re.compile(r"^\[(WARNING|ERROR)\] (.+)$", re.MULTILINE)


def _render_with_binary(
    root: str, release: Release, defaults: Values, overrides: Values, lint: bool
) -> tuple[dict[str, str], list[str] | None]:
    """``helm template`` (and ``helm lint``) of the chart; ``defaults`` and ``overrides`` are given
    as values files of their own (JSON, which YAML reads), the first and the last ``--values``."""
    with tempfile.TemporaryDirectory(prefix="k8sfix-values-") as scratch:
        options = ["--namespace", release.namespace]
        files = [_values_file(scratch, "defaults", defaults), *release.values_files]
        files.append(_values_file(scratch, "overrides", overrides))
        for path in filter(None, files):
            options += ["--values", path]
        for assignment in release.set_values:
            options += ["--set", assignment]
        done = _helm(["template", release.name, root, *options])
        if done.returncode != 0:
            raise RenderError(done.stderr.strip().removeprefix("Error: "))
        problems = None
        if lint:
            linted = _helm(["lint", root, *options])
            problems = [match.group(2) for match in LINT_LINE.finditer(linted.stdout + linted.stderr)]
    return _split_sources(done.stdout), problems


def _values_file(folder: str, name: str, values: Values) -> str | None:
    if values is None:
        return None
    path = os.path.join(folder, f"{name}.json")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(values, stream)
    return path


def _helm(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["helm", *arguments], capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderStopped(f"helm {arguments[0]} took more than {RENDER_TIMEOUT} seconds") from None


def _split_sources(stream: str) -> dict[str, str]:
    """``helm template``'s output split by its ``# Source:`` comments."""
    found: dict[str, str] = {}
    pieces = SOURCE.split(stream)
    for name, text in zip(pieces[1::2], pieces[2::2], strict=True):
        body = text.rstrip().removesuffix("---").strip("\n")
        found[name] = found.get(name, "") + ("---\n" if name in found else "") + body + "\n"
    return found


NOT_FIXED = "(a Helm chart, where no value sets this field: change the template)"
NO_POLICY_TEMPLATE = "(a Helm chart: add a NetworkPolicy template to it)"


class TemplateEdit(NamedTuple):
    """A proven edit of a template's own text (:mod:`remediate.run.chart_templates`): the template
    as read, its new text, the findings it fixes, and whether this run applies it."""

    source: Source
    text: str
    fixed: frozenset[tuple]
    applied: bool


def in_template(
    result: FileResult,
    template: str,
    routable: Mapping[tuple, str] | None = None,
    edit: TemplateEdit | None = None,
    unproven: Mapping[tuple, str] | None = None,
) -> FileResult:
    """The result of checking what a template rendered, as findings of the template: each at the
    line that writes its field; the rendered text is neither shown nor written. A fix that a value
    controls (``routable``, its key by identity: this run holds it back, as an unsafe one) is kept,
    so the counts say what ``--unsafe-fixes`` would fix in the values, and the finding names the
    key. A fix made in the template's text (``edit``, always an unsafe one) is kept too, and when
    the run applies it the result is the template's edit, shown and written as a plain file's is;
    any other fix is dropped, and the finding says which template to change, or (``unproven``,
    why by identity) why the value that sets the field was not changed."""
    findings = []
    edited = edit.fixed if edit is not None else frozenset()
    rendered = _rendered_documents(result)
    for finding in result.findings:
        document = rendered[finding.doc] if finding.doc < len(rendered) else None
        line, column = template_line(template, finding.path, document)
        if finding.fix is not None and finding.identity in (routable or {}):
            key = (routable or {})[finding.identity]
            message, fix = f"{finding.message} (its fix sets values key {key})", finding.fix
        elif finding.fix is not None and finding.identity in edited:
            message = f"{finding.message} (in the template)"
            fix = finding.fix._replace(applicability=Applicability.UNSAFE)
        else:
            why = NO_POLICY_TEMPLATE if finding.fixer == "network-policy" else NOT_FIXED
            if finding.identity in (unproven or {}):
                why = f"(a Helm chart: {(unproven or {})[finding.identity]}: change it by hand)"
            message = finding.message if finding.fix is None else f"{finding.message} {why}"
            fix = None
        findings.append(replace(finding, line=line, column=column, fix=fix, message=message))
    notes = tuple(note._replace(line=None, column=None) for note in result.notes)
    if edit is not None and edit.applied:
        return result._replace(
            findings=tuple(findings),
            notes=notes,
            source=edit.source,
            output=edit.text,
            fixed=edited,
            status=Status.CHANGED,
        )
    return result._replace(findings=tuple(findings), notes=notes, source=None, output=None, fixed=frozenset())


def _rendered_documents(result: FileResult) -> list[Any]:
    """The data of each document a template rendered (none when it does not parse)."""
    if result.source is None:
        return []
    try:
        return [to_data(document.root) for document in parse(result.source.text)]
    except InputError:
        return []


def template_line(template: str, path: tuple[Any, ...], rendered: Any = None) -> tuple[int, int]:
    """The line (from 1) of ``template`` that writes the field at ``path`` of a rendered object, as
    near as its text shows, and the column of its key: each key of the path is looked for on a line
    after the previous one, and the last one found wins (a key that comes from a value, ``toYaml
    .Values.x``, is not in the template, so the line of the template that includes it is the one
    shown). A list item is the one whose ``name:`` can render the rendered item's name (in
    ``rendered``, the object's data) when one alone can: items switched off by an ``if`` before
    it would put it at another index."""
    lines = template.splitlines() or [""]
    line = next((number for number, text in enumerate(lines) if re.match(r"\s*kind\s*:", text)), 0)
    on_item = False
    node = rendered
    for key in path:
        node = child(node, key)
        name = node.get("name") if isinstance(node, dict) and isinstance(node.get("name"), str) else None
        if isinstance(key, int):
            found = _item_line(lines, line, key, name)
        else:
            found = _key_line(lines, line, key, on_item)
        if found is None:
            break
        line, on_item = found, isinstance(key, int)
    text = lines[line]
    column = len(text) - len(text.lstrip(" -")) if text.strip() else 0
    return line + 1, column + 1


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _key_line(lines: list[str], after: int, key: str, on_item: bool) -> int | None:
    """The first line from ``after`` on (the line itself when it is a list item, which holds its
    first key) that writes ``key``."""
    pattern = re.compile(rf"^\s*(?:-\s+)?[\"']?{re.escape(key)}[\"']?\s*:")
    start = after if on_item else after + 1
    return next((n for n in range(start, len(lines)) if pattern.match(lines[n])), None)


def with_value(values: dict[str, Any], key: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``values`` with ``value`` at the key path ``key`` (the mappings on the way
    copied, the rest shared)."""
    if len(key) == 1:
        return {**values, key[0]: value}
    return {**values, key[0]: with_value(values[key[0]], key[1:], value)}


def child(node: Any, key: Any) -> Any:
    """What a mapping holds at ``key`` or a list at index ``key`` (None when nothing)."""
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


NAME_LINE = re.compile(r"^\s*(?:-\s+)?name\s*:\s*(.*?)\s*$")
ACTION_TEXT = re.compile(r"\{\{.*?\}\}")


def _could_render(written: str, name: str) -> bool:
    """True when the template text ``written`` (``{{ .Chart.Name }}-sidecar``) can render ``name``:
    its literal parts in order, anything where its actions are."""
    text = written.strip().strip("\"'")
    pattern = ".*".join(re.escape(part) for part in ACTION_TEXT.split(text))
    return re.fullmatch(pattern, name, re.DOTALL) is not None


def _item_line(lines: list[str], key_line: int, index: int, name: str | None = None) -> int | None:
    """The line of item ``index`` of the list written under the key on ``key_line`` (template
    actions and comments between them skipped), or None when the template does not write it;
    with the rendered item's ``name``, the one item whose ``name:`` can render it, if one alone can."""
    base = _indent(lines[key_line])
    items: list[tuple[int, int]] = []
    for number in range(key_line + 1, len(lines)):
        text = lines[number]
        content = text.lstrip(" ")
        if not content or content.startswith(("{{", "#")):
            continue
        if _indent(text) < base or (_indent(text) == base and not content.startswith("-")):
            break
        if content.startswith("- ") or content == "-":
            items.append((_indent(text), number))
    if not items:
        return None
    dash = min(indent for indent, _ in items)
    at_dash = [number for indent, number in items if indent == dash]
    if name is not None:
        named = [start for start in at_dash if item_could_render(lines, start, dash, name)]
        if len(named) == 1:
            return named[0]
    return at_dash[index] if index < len(at_dash) else None


def item_could_render(lines: list[str], start: int, dash: int, name: str) -> bool:
    """True when the list item starting on line ``start`` writes a ``name:`` that can render ``name``."""
    for number in range(start, len(lines)):
        text = lines[number]
        literal = text.strip() and not text.lstrip().startswith(("{{", "#"))
        if number > start and literal and _indent(text) <= dash:  # the next item, or the list's end
            return False
        match = NAME_LINE.match(text)
        if match and (number == start or _indent(text) > dash):
            return _could_render(match.group(1), name)
    return False
