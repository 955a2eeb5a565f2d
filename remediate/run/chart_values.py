"""Fixing a Helm chart in its ``values.yaml``, where the chart's owner would, proven by rendering.

A fix found on a rendered object (``securityContext`` lacks ``runAsNonRoot``) cannot be spliced
into the template's text, which Helm rewrites; but most charts take those fields from their values
(``{{- with .Values.securityContext }} {{- toYaml . | nindent 12 }}``), and the fix then belongs
there. Which values key controls which rendered field is learnt by rendering, not guessed from
names (charts call it ``securityContext``, ``containerSecurityContext``, gate it behind
``enabled``...): every mapping of the values gets a marker entry of its own and every text value
becomes a marker, the chart is rendered, and where a marker comes out is what that key controls
(:func:`controlled_places`).

A fix is moved to the values when every field it sets lies at or below a place a key controls:
the key's missing entries are added to ``values.yaml``, or the text value set (comments, order and
the commented hints of ``resources: {}`` kept: the text is edited, not rewritten). The result is
proven: the chart is rendered again with the new values, and each rendered object may differ from
before only where the applied fixes said (the verifier of plain files), the workload guard must
find nothing new, ``helm lint`` must give no warning or error it did not give before, and a key
that feeds several places (an init and a main container) is changed only when every place gets
what its own fix wanted. Otherwise nothing is changed, and the findings stay for a human.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from remediate.kube.findings import Finding
from remediate.kube.index import RunIndex, summarize
from remediate.kube.k8s import BUILTIN_POD_KINDS
from remediate.run import chart_gates, helm_worker, learning_cache
from remediate.run.charts import (
    Release,
    Rendered,
    RenderError,
    RenderStopped,
    child,
    render,
    subcharts,
    template_files,
    with_value,
    yaml_mapping,
)
from remediate.run.runner import Engine, Scope, guard_refusals
from remediate.yaml import apply as applying
from remediate.yaml.document import Document, Mapping, Scalar, parse
from remediate.yaml.edits import Change, Editor, Uneditable, is_empty
from remediate.yaml.layout import Layout, detect
from remediate.yaml.model import DELETED, Fix, Touch, YamlPath
from remediate.yaml.render import mapping_lines
from remediate.yaml.source import InputError, Source, read_regular
from remediate.yaml.values import to_data
from remediate.yaml.verify import VerificationError, verify

NETWORK_POLICY = "network-policy"
"""Its fixes add objects or label pods: never moved to values (:mod:`remediate.run.chart_policies`)."""

MARKER = "k8sfix-marker"
"""The key of the entry put into every values mapping to see where it is rendered."""

MAX_KEYS = 600
"""At most this many values keys are marked (a chart's values rarely hold more)."""

Place = tuple[str, int, YamlPath]
"""Where a values mapping is rendered: template path, document index, path of the mapping."""


@dataclass
class Checked:
    """One rendered template: its documents, the findings whose fixes this run applies, and every
    finding with a fix (those of unsafe fixes too, which a run without them holds back)."""

    documents: list[Document]
    findings: list[Finding]
    fixable: list[Finding] = field(default_factory=list)


@dataclass
class ValuesFix:
    """What fixing a chart's values came to: the new text of ``values.yaml``, the findings moved
    there (by template), and the chart rendered with it."""

    text: str
    fixed: dict[str, list[Finding]] = field(default_factory=dict)
    rendered: Rendered | None = None
    keys: dict[tuple, tuple[str, ...]] = field(default_factory=dict)
    """The values key each moved finding's fix went to, by the finding's identity."""
    routable: dict[str, dict[tuple, str]] = field(default_factory=dict)
    """By template, the findings whose fixes a value controls (applied or not): by identity, the
    values key (``image.pullPolicy``)."""
    unproven: dict[str, dict[tuple, str]] = field(default_factory=dict)
    """By template, the findings whose fixes a value controls but did not prove: by identity, why."""


def values_keys(values: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The key paths of ``values`` that can be marked, outermost first: its mappings (the top one
    excluded, null ones too) and its non-empty text leaves. Numbers, true/false and empty texts are
    left out: templates compute with them or test them (``if .Values.enabled``), and a marker there
    would change what is rendered, not just show where."""
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, dict) or value is None or (isinstance(value, str) and value):
            yield (*prefix, key)
        if isinstance(value, dict):
            yield from values_keys(value, (*prefix, key))


def is_leaf(values: dict[str, Any], key: tuple[str, ...]) -> bool:
    """True when ``key`` holds a text (not a mapping) in ``values``."""
    node: Any = values
    for part in key:
        node = node.get(part) if isinstance(node, dict) else None
    return isinstance(node, str)


def marked(values: dict[str, Any], keys: list[tuple[str, ...]]) -> dict[str, Any]:
    """A copy of ``values`` with each of ``keys`` marked with its number: a mapping gets a
    :data:`MARKER` entry, a leaf becomes the text ``<MARKER>-<number>``."""
    copy = _copy(values)
    for number, key in enumerate(keys):
        mapping = copy
        for part in key[:-1]:
            mapping = mapping[part]
        if isinstance(mapping.get(key[-1]), str):
            mapping[key[-1]] = f"{MARKER}-{number}"
            continue
        if mapping.get(key[-1]) is None:
            mapping[key[-1]] = {}
        mapping[key[-1]][MARKER] = number
    return copy


def _copy(value: Any) -> Any:
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def controlled_places(
    root: str, release: Release, values: dict[str, Any], *, cache: bool = True
) -> dict[tuple[str, ...], list[Place]]:
    """Where each values mapping is rendered, found by rendering the chart with every mapping
    marked. A marker can break a template (a mapping the template reads entry by entry, such as an
    image's ``registry`` and ``tag``): the templates that no longer render or parse are rendered
    again with half the markers, and so on, so that each key is learnt where it can be. With
    ``cache``, what an earlier run learnt of the same chart is taken (:mod:`remediate.run.learning_cache`)."""

    def learn() -> tuple[dict[tuple[str, ...], list[Place]], bool]:
        keys = list(values_keys(values))[:MAX_KEYS]
        places: dict[tuple[str, ...], list[Place]] = {}
        try:
            plain = render(root, release, values)
        except RenderError:
            return places, False
        shapes = {template: _shapes(text) for template, text in plain.templates.items()}
        budget = _Budget(time.monotonic() + LEARNING_SECONDS)
        _learn(root, release, values, keys, list(range(len(keys))), None, places, shapes, budget)
        return places, not budget.spent()  # a learning cut short is not what the chart says

    settings = (MAX_KEYS, MARKER)
    return learning_cache.remembered(
        learning_cache.LEARNING, root, release, values, settings, learn, cache=cache
    )


LEARNING_SECONDS = 60
"""How long learning a chart's values may take in all; a render that times out ends it too."""


@dataclass
class _Budget:
    """When learning must stop (a slow chart costs a bounded time, not a render per key)."""

    deadline: float

    def spent(self) -> bool:
        return time.monotonic() > self.deadline


def _shapes(text: str) -> list[Any] | None:
    """The shape of each document of a rendered template (see :func:`_shape`); None if it does
    not parse."""
    try:
        return [_shape(document.data) for document in parse(text)]
    except InputError:
        return None


def _shape(data: Any) -> Any:
    """``data`` with its leaves and markers taken out, and mappings left empty by that dropped:
    what a marker must not change. (A marker alone in a mapping counts as nothing:
    ``{{- with .Values.resources }}`` writes the key only for a mapping with something in it, and
    ``resources: {}`` is the same as no resources.)"""
    if isinstance(data, dict):
        shaped = {key: _shape(value) for key, value in data.items() if key != MARKER}
        return {key: value for key, value in shaped.items() if value != {}}
    if isinstance(data, list):
        return [_shape(item) for item in data]
    return None


def _learn(
    root: str,
    release: Release,
    values: dict[str, Any],
    keys: list[tuple[str, ...]],
    numbers: list[int],
    templates: set[str] | None,
    places: dict[tuple[str, ...], list[Place]],
    shapes: dict[str, list[Any] | None],
    budget: _Budget,
) -> None:
    """Render with the markers ``numbers`` and file where they come out in ``templates`` (all when
    None); halve the markers for the templates they broke: that no longer parse, or whose shape
    changed (a marker that enabled a container would put the others at other indexes)."""
    if not numbers or budget.spent():
        return
    broken: set[str] = set()
    try:
        rendered = render(root, release, marked(values, [keys[n] for n in numbers]))
    except RenderError as problem:
        rendered = None
        if isinstance(problem, RenderStopped):  # a mark that makes the chart slow, or a crash: learn no more
            budget.deadline = 0
    if rendered is not None:
        for template, text in rendered.templates.items():
            if templates is not None and template not in templates:
                continue
            try:
                documents = parse(text)
            except InputError:
                broken.add(template)
                continue
            if [_shape(document.data) for document in documents] != shapes.get(template):
                broken.add(template)
                continue
            for document in documents:
                for path, number in _markers(to_data(document.root), ()):
                    if isinstance(number, int) and 0 <= number < len(numbers):
                        places.setdefault(keys[numbers[number]], []).append((template, document.index, path))
    if rendered is not None:  # a template a marker switched off (``if eq .Values.kind "Deployment"``)
        broken |= {t for t in shapes if t not in rendered.templates and (templates is None or t in templates)}
    if (rendered is None or broken) and len(numbers) > 1:
        half = len(numbers) // 2
        subset = templates if rendered is None else broken  # a render error: the same templates again
        _learn(root, release, values, keys, numbers[:half], subset, places, shapes, budget)
        _learn(root, release, values, keys, numbers[half:], subset, places, shapes, budget)


LEAF_MARK = re.compile(rf"{MARKER}-(\d+)")


def _markers(data: Any, path: YamlPath) -> Iterator[tuple[YamlPath, Any]]:
    if isinstance(data, str) and (leaf := LEAF_MARK.fullmatch(data)):
        yield path, int(leaf.group(1))
    elif isinstance(data, dict):
        if MARKER in data:
            yield path, data[MARKER]
        for key, value in data.items():
            yield from _markers(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _markers(value, (*path, index))


class OutFile(NamedTuple):
    """A values file of the user's own to write the fixes to (``--values-out``), the chart left as
    it is: its text now (empty for a new file) and the release rendered without it (the file then
    goes over the release's values files, as the last ``-f``)."""

    source: Source
    release: Release


def fix_values(
    chart: Rendered,
    release: Release,
    values: Source,
    checked: dict[str, Checked],
    out: OutFile | None = None,
    *,
    cache: bool = True,
) -> ValuesFix | None:
    """The values fix of a chart's applied findings (see the module docstring), ``chart`` as it
    renders now (linted): with no ``rendered`` chart when none could be made; None when the values
    cannot be read. With ``out``, the fix's text is that of the values file ``out`` (the entries
    the chart's ``values.yaml`` would get, merged into it), proven as it would be rendered."""
    root = chart.root
    values_text = values.text
    try:
        values_documents = parse(values_text)
    except InputError:
        return None
    values_root = values_documents[0].root if values_documents else None
    if not isinstance(values_root, Mapping):
        return None
    subcharts = subchart_defaults(root)
    values_data = with_subcharts(to_data(values_root), subcharts)
    places = controlled_places(root, release, values_data, cache=cache)
    owners = {place: key for key, found in places.items() for place in found}
    leaves = {key for key in places if is_leaf(values_data, key)}
    gates = _gates(root, release, values_data, cache=cache) if out is None else {}
    for key, found in gates.items():
        owners.update({place: key for place in found if place not in owners})
    layout = detect(values_documents, json=values.text.lstrip()[:1] == "{", newline=values.newline)
    editor = Editor(values_text, layout, values_documents)
    probe = _Probe(root, release, values_data, {key for key in places})

    def routes_of(pick: str) -> list[tuple[str, Finding, dict[tuple[str, ...], dict[YamlPath, Any]]]]:
        found = []
        for template, entry in checked.items():
            for finding in getattr(entry, pick):
                if finding.fix is None or finding.fixer == NETWORK_POLICY:  # a policy: a template of its own
                    continue
                # a text the template writes: the key that renders there, not a mapping around it
                routed = probe.route(template, entry, finding.fix) or _route(
                    template, finding.fix, owners, leaves
                )
                if routed is not None:
                    for key in set(routed) & set(gates):  # a gate the fix switches on
                        routed[key][(chart_gates.SWITCH,)] = True
                    found.append((template, finding, routed))
        return found

    unseen = _unrendered_templates(root, checked)
    unseen_below = {
        name: _unrendered_templates(folder, checked, name) for name, (folder, _) in subcharts.items()
    }

    def read_unseen(key: tuple[str, ...]) -> bool:
        """True when a template left unrendered reads ``key`` (a subchart's as its own key)."""
        if any(f".Values.{'.'.join(key)}" in text for text in unseen):
            return True
        below = unseen_below.get(key[0], [])
        return len(key) > 1 and any(f".Values.{'.'.join(key[1:])}" in text for text in below)

    def seen_only(routes: list) -> list:
        """The routes whose keys no template left unrendered (switched off by default) reads: a
        change there would reach it unproven once it is switched on."""
        return [route for route in routes if not any(read_unseen(key) for key in route[2])]

    applied = seen_only(routes_of("findings"))
    outcome = _best(_attempt(chart, release, editor, values_root, checked, applied, out, gates), applied)
    routed_every = routes_of("fixable")
    every = seen_only(routed_every)
    proven_every = (
        outcome
        if len(every) == len(applied)
        else _best(_attempt(chart, release, editor, values_root, checked, every, out, gates), every)
    )
    outcome = outcome or ValuesFix(out.source.text if out is not None else values_text)
    if proven_every is not None:  # what a run with unsafe fixes would move there too, proven the same way
        outcome.routable = {
            template: {finding.identity: ".".join(proven_every.keys[finding.identity]) for finding in found}
            for template, found in proven_every.fixed.items()
        }
    outcome.unproven = _unproven(routed_every, outcome.routable, read_unseen)
    return outcome


def _unproven(
    routes: list[tuple[str, Finding, dict[tuple[str, ...], dict[YamlPath, Any]]]],
    proven: dict[str, dict[tuple, str]],
    read_unseen: Any,
) -> dict[str, dict[tuple, str]]:
    """By template, why each routed finding whose fix did not prove is left (see :class:`ValuesFix`)."""
    done = {identity for found in proven.values() for identity in found}
    left: dict[str, dict[tuple, str]] = {}
    for template, finding, routed in routes:
        if finding.identity not in done:
            name = ".".join(next(iter(routed)))
            why = OFF_BY_DEFAULT if any(read_unseen(key) for key in routed) else NOT_PROVEN
            left.setdefault(template, {})[finding.identity] = f"values key {name} sets this field, {why}"
    return left


OFF_BY_DEFAULT = "but a template switched off by default reads it too (it would change unproven)"
NOT_PROVEN = "but the chart rendered with the fix changes more than the fix, or fails the guard or lint"


def _unrendered_templates(root: str, checked: dict[str, Checked], subchart: str | None = None) -> list[str]:
    """The texts of the chart's templates that the release did not render (gated off), helpers and
    NOTES.txt aside (of the subchart in ``root``, named so in ``checked``, when ``subchart``)."""
    prefix = f"charts/{subchart}/" if subchart else ""  # as Helm names a subchart's templates
    return [
        text
        for relative, text in template_files(root)
        if f"{prefix}{relative}" not in checked
        and not relative.rsplit("/", 1)[-1].startswith("_")
        and not relative.endswith("/NOTES.txt")
    ]


def subchart_defaults(root: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The subcharts of the chart at ``root`` (:func:`remediate.run.charts.subcharts`), by the key
    the parent's values give them, with their folder and default values."""
    return {
        name: (folder, yaml_mapping(os.path.join(folder, "values.yaml")))
        for name, folder in subcharts(root).items()
    }


def with_subcharts(
    values: dict[str, Any], subcharts: dict[str, tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """The parent's values with each subchart's defaults under its key, the parent's own settings
    over them (what the subchart is rendered with): so that learning marks the subchart's keys
    too, as ``<subchart>.<key>`` of the parent."""
    merged = dict(values)
    for name, (_, defaults) in subcharts.items():
        own = values.get(name, {})
        if isinstance(own, dict):
            merged[name] = helm_worker.merged(defaults, own)
    return merged


def _best(attempt: Any, routes: list[tuple[str, Finding, dict]]) -> ValuesFix | None:
    """The proven fix of ``routes``: all their keys at once, else the keys that prove alone."""
    keys = list(dict.fromkeys(key for *_, routed in routes for key in routed))
    outcome = attempt(set(keys)) if keys else None
    if outcome is None and len(keys) > 1:  # one key that feeds an object no fix is for spoils the rest
        good = {key for key in keys if attempt({key}) is not None}
        outcome = attempt(good) if good else None
    return outcome


def _attempt(
    chart: Rendered,
    release: Release,
    editor: Editor,
    values_root: Mapping,
    checked: dict[str, Checked],
    routes: list[tuple[str, Finding, dict[tuple[str, ...], dict[YamlPath, Any]]]],
    out: OutFile | None,
    gates: dict[tuple[str, ...], list[Place]],
) -> Any:
    """A function that tries the fixes routed to a set of keys, returning the proven fix or None."""

    def attempt(keys: set[tuple[str, ...]]) -> ValuesFix | None:
        wanted: dict[tuple[str, ...], dict[YamlPath, Any]] = {}
        moved: dict[str, list[Finding]] = {}
        where: dict[tuple, tuple[str, ...]] = {}
        for template, finding, routed in routes:
            if not set(routed) <= keys or not _agrees(wanted, routed):
                continue
            for key, settings in routed.items():
                wanted.setdefault(key, {}).update(settings)
            moved.setdefault(template, []).append(finding)
            where[finding.identity] = next(iter(routed))
        if not wanted:
            return None
        text = _edited(editor, values_root, wanted, set(gates))  # in the chart's values: what agrees
        if text is not None and out is not None:
            text = _out_text(out.source, wanted, editor.layout)
        if text is None:
            return None
        switched = _switched_on(text, {key: gates[key] for key in wanted if key in gates})
        if switched is None:
            return None
        fix = _proven(chart, release, text, checked, moved, out, switched)
        if fix is not None:
            fix.keys = where
        return fix

    return attempt


@dataclass
class _Probe:
    """Text values no marker could learn, found by trying the fix's own value instead.

    A chart's ``values.schema.json`` may allow a text value only from a list (``pullPolicy``:
    ``Always``, ``IfNotPresent``, ``Never``): a marker there fails the schema, so the key is never
    learnt. For a fix that sets one rendered text (``imagePullPolicy: IfNotPresent`` becomes
    ``Always``), the unlearnt values keys holding that same text are tried one by one with the
    fix's value: the first whose render puts it at the field controls it (the proof then checks
    that nothing else moved). This comes before the marked mappings: a mapping rendered around the
    field (``{{ toYaml .Values.extraPodConfigs }}`` in the pod) would take a new entry there, but
    one that repeats a key the template writes itself."""

    root: str
    release: Release
    values: dict[str, Any]
    learnt: set[tuple[str, ...]]
    tried: dict[tuple[tuple[str, ...], str, str, int, YamlPath], bool] = field(default_factory=dict)

    def route(
        self, template: str, entry: Checked, fix: Fix
    ) -> dict[tuple[str, ...], dict[YamlPath, Any]] | None:
        if fix.adds or len(fix.touches) != 1 or not isinstance(fix.touches[0].value, str):
            return None
        touch = fix.touches[0]
        if touch.doc >= len(entry.documents):
            return None
        old = _at(to_data(entry.documents[touch.doc].root), touch.path)
        if not isinstance(old, str) or old == touch.value:
            return None
        for key in _text_leaves(self.values):
            if key in self.learnt or _at(self.values, key) != old:
                continue
            if self._moves(key, touch.value, template, touch.doc, touch.path):
                return {key: {(): touch.value}}
        return None

    def _moves(self, key: tuple[str, ...], value: str, template: str, doc: int, path: YamlPath) -> bool:
        """True when rendering with ``key`` set to ``value`` puts ``value`` at the field."""
        memo = (key, value, template, doc, path)
        if memo not in self.tried:
            self.tried[memo] = False
            try:
                rendered = render(self.root, self.release, with_value(self.values, key, value))
                documents = parse(rendered.templates.get(template, ""))
            except (RenderError, InputError):
                return False
            node = _at(to_data(documents[doc].root), path) if doc < len(documents) else None
            self.tried[memo] = node == value
        return self.tried[memo]


def _at(data: Any, path: YamlPath) -> Any:
    """What ``data`` holds at ``path`` (None where it holds nothing)."""
    for part in path:
        data = child(data, part)
    return data


def _text_leaves(values: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(values, dict):
        for key, value in values.items():
            if isinstance(key, str) and isinstance(value, str):
                yield (*prefix, key)
            elif isinstance(key, str):
                yield from _text_leaves(value, (*prefix, key))


GATE_SETTINGS = (chart_gates.MAX_GATES, chart_gates.SWITCH)
"""What the gates found depend on besides the chart and the release."""


def _gates(
    root: str, release: Release, values: dict[str, Any], *, cache: bool = True
) -> dict[tuple[str, ...], list[Place]]:
    """The gated mappings of the values and where they are rendered once on (:mod:`chart_gates`:
    a render for each gate); with ``cache``, kept in the learning cache as what
    :func:`controlled_places` learns is."""
    if not any(True for _ in chart_gates.switches_off(values)):
        return {}

    def learn() -> tuple[dict[tuple[str, ...], list[Place]], bool]:
        try:
            plain = render(root, release, values)
        except RenderError:
            return {}, False
        return chart_gates.gated_places(root, release, values, plain)

    return learning_cache.remembered(
        learning_cache.GATES, root, release, values, GATE_SETTINGS, learn, cache=cache
    )


def _switched_on(text: str, gates: dict[tuple[str, ...], list[Place]]) -> dict[str, list[Touch]] | None:
    """By template, the promises of the gates a values text switches on: at each of their places,
    the whole gated mapping of ``text`` (its switch aside), as the chart renders it then."""
    if not gates:
        return {}
    try:
        data = to_data(parse(text)[0].root)
    except (InputError, IndexError):
        return None
    touches: dict[str, list[Touch]] = {}
    for key, places in gates.items():
        node: Any = data
        for part in key:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or node.get(chart_gates.SWITCH) is not True:
            return None
        rendered = {name: value for name, value in node.items() if name != chart_gates.SWITCH}
        for template, doc, path in places:
            touches.setdefault(template, []).append(Touch(doc, path, rendered))
    return touches


def _route(
    template: str, fix: Fix, owners: dict[Place, tuple[str, ...]], leaves: set[tuple[str, ...]]
) -> dict[tuple[str, ...], dict[YamlPath, Any]] | None:
    """The values each field of ``fix`` needs, by controlling key (None: a field no key controls).
    A field takes the key of the innermost place holding it: a leaf (``image.pullPolicy``, in
    ``leaves``) that renders as the field itself is set; a mapping gets the field as an entry."""
    if fix.adds or not fix.touches:
        return None
    routed: dict[tuple[str, ...], dict[YamlPath, Any]] = {}
    for touch in fix.touches:
        if touch.value is DELETED:
            return None
        holding = [
            (len(place[2]), key, place[2])
            for place, key in owners.items()
            if place[0] == template and place[1] == touch.doc and touch.path[: len(place[2])] == place[2]
        ]
        if not holding:
            return None
        _, key, place_path = max(holding, key=lambda entry: entry[0])
        inner = touch.path[len(place_path) :]
        if key in leaves:
            if inner or isinstance(touch.value, (dict, list)):
                return None
            routed.setdefault(key, {})[()] = touch.value
            continue
        if not inner and not isinstance(touch.value, dict):
            return None
        for sub, value in _flattened(touch.value) if not inner else [((), touch.value)]:
            routed.setdefault(key, {})[(*inner, *sub)] = value
    return routed


def _flattened(value: dict[str, Any], prefix: YamlPath = ()) -> list[tuple[YamlPath, Any]]:
    """A mapping as (path, leaf) pairs: merged into the key's entries one leaf at a time."""
    pairs: list[tuple[YamlPath, Any]] = []
    for key, item in value.items():
        if isinstance(item, dict) and item:
            pairs.extend(_flattened(item, (*prefix, key)))
        else:
            pairs.append(((*prefix, key), item))
    return pairs


def _agrees(wanted: dict[tuple[str, ...], dict[YamlPath, Any]], routed: dict) -> bool:
    """True when ``routed`` asks nothing of a key that another fix asks otherwise."""
    return all(
        repr(wanted.get(key, {}).get(path, value)) == repr(value)
        for key, settings in routed.items()
        for path, value in settings.items()
    )


def _edited(
    editor: Editor,
    values_root: Mapping,
    wanted: dict[tuple[str, ...], dict[YamlPath, Any]],
    gated: Collection[tuple[str, ...]] = (),
) -> str | None:
    """``values.yaml``'s text with the wanted entries added below their keys; None when one of them
    is set already to something else, or cannot be edited safely. A key the file does not write
    (a subchart's, ``cache.resources``, which only the subchart's defaults hold) is added, with the
    mappings above it, once for all the entries that go below it."""
    text = editor.text
    changes: list[Change] = []
    added: dict[tuple[int, str], tuple[Mapping, str, Any]] = {}
    for key, settings in wanted.items():
        node: Any = values_root
        value = settings[()] if () in settings else _tree(settings)
        for depth, part in enumerate(key):
            child = node.get(part) if isinstance(node, Mapping) else None
            if child is None and isinstance(node, Mapping):  # written nowhere in the file: added
                nested = _nest(key[depth + 1 :], value)
                earlier = added.get((id(node), part))
                merged = nested if earlier is None else _put(earlier[2], (), nested)
                if merged is None:
                    return None
                added[(id(node), part)] = (node, part, merged)
                break
            if depth < len(key) - 1:
                node = child
                continue
            try:
                change = _set(editor, node, part, child, settings, value, switch=key in gated)
            except Uneditable:
                return None
            if change is None:
                return None
            changes.extend(change)
    try:
        changes.extend(editor.add_key(node, part, value) for node, part, value in added.values())
    except Uneditable:
        return None
    fixes = [Fix("values", change.edits, change.touches) for change in changes]
    try:
        return applying.apply(text, fixes)
    except ValueError:
        return None


def _set(
    editor: Editor,
    mapping: Any,
    key: str,
    target: Any,
    settings: dict[YamlPath, Any],
    value: Any,
    *,
    switch: bool = False,
) -> list[Change] | None:
    """The changes that give the entry ``key`` of ``mapping`` (now ``target``) the wanted value: a
    text set, an empty or null mapping filled, the missing entries merged in (with ``switch``, a
    gate's ``enabled: false`` turned on); None on a conflict."""
    if not isinstance(mapping, Mapping):
        return None
    if switch and isinstance(target, Mapping) and isinstance(target.get(chart_gates.SWITCH), Scalar):
        rest = {name: item for name, item in value.items() if name != chart_gates.SWITCH}
        merged = _merged_into(editor, target, rest)
        return None if merged is None else [editor.set_value(target, chart_gates.SWITCH, True), *merged]
    if () in settings:  # a leaf the field is rendered from: its value is the fix
        return [editor.set_value(mapping, key, value)] if isinstance(target, Scalar) else None
    if is_empty(target) or (isinstance(target, Scalar) and target.is_null):
        return [editor.set_value(mapping, key, value)]
    if isinstance(target, Mapping):
        return _merged_into(editor, target, value)
    return None


def _out_text(
    source: Source, wanted: dict[tuple[str, ...], dict[YamlPath, Any]], layout: Layout
) -> str | None:
    """The text of the values file ``source`` with the wanted entries merged in (a new file in the
    chart's indentation); None when the file sets one of them otherwise, or is not a mapping."""
    try:
        tree = _tree(
            {(*key, *path): value for key, settings in wanted.items() for path, value in settings.items()}
        )
    except AttributeError:  # one entry inside another's text value
        return None
    newline = source.newline
    if not source.text.strip():
        return newline.join(mapping_lines(tree, 0, layout._replace(newline=newline))) + newline
    try:
        documents = parse(source.text)
    except InputError:
        return None
    if len(documents) != 1 or not isinstance(documents[0].root, Mapping):
        return None
    editor = Editor(source.text, detect(documents, json=False, newline=newline), documents)
    try:
        changes = _merged_into(editor, documents[0].root, tree)
    except Uneditable:
        return None
    if changes is None:
        return None
    try:
        return applying.apply(source.text, [Fix("values", c.edits, c.touches) for c in changes])
    except ValueError:
        return None


def _tree(settings: dict[YamlPath, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, value in settings.items():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(str(part), {})
        node[str(path[-1])] = value
    return tree


def _merged_into(editor: Editor, mapping: Mapping, tree: dict[str, Any]) -> list[Change] | None:
    """Changes that add the entries of ``tree`` that ``mapping`` lacks; None on a conflict."""
    changes: list[Change] = []
    for key, value in tree.items():
        existing = mapping.get(key)
        if existing is None:
            changes.append(editor.add_key(mapping, key, value))
        elif isinstance(value, dict) and isinstance(existing, Mapping):
            inner = _merged_into(editor, existing, value)
            if inner is None:
                return None
            changes.extend(inner)
        elif repr(to_data(existing)) != repr(value):
            return None
    return changes


def _proven(
    chart: Rendered,
    release: Release,
    text: str,
    checked: dict[str, Checked],
    moved: dict[str, list[Finding]],
    out: OutFile | None = None,
    switched: dict[str, list[Touch]] | None = None,
) -> ValuesFix | None:
    """The fix, when the chart rendered with the new values (the chart's, or ``out``'s over the
    release's) changes exactly what the moved fixes promised, the workload guard finds nothing new
    and ``helm lint`` no new warning; else None."""
    try:
        data = to_data(parse(text)[0].root)
        if out is not None:
            rendered = render(chart.root, out.release, overrides=data, lint=True)
        else:
            rendered = render(chart.root, release, data, lint=True)
    except (InputError, RenderError, IndexError):
        return None
    if set(rendered.templates) != set(checked) or rendered.new_lint(chart):
        return None
    for template, entry in checked.items():
        fixes = [finding.fix for finding in moved.get(template, []) if finding.fix is not None]
        gate = (switched or {}).get(template)
        promise = together(fixes + ([Fix("gate", (), tuple(gate))] if gate else []))
        if promise is None:
            return None
        try:
            promises = [promise] if promise.touches else []
            after = verify(entry.documents, rendered.templates[template], promises, key_order=False)
        except VerificationError:
            return None
        if guard_refusals(entry.documents, after, moved.get(template, []), BUILTIN_POD_KINDS):
            return None
    return ValuesFix(text, moved, rendered)


def checked_templates(engine: Engine, rendered: Rendered, namespace: str) -> dict[str, Checked]:
    """Each rendered template's documents and the findings whose fixes this run applies, found
    with the chart's own objects as the run (its Services, its NetworkPolicies), each with a fix of
    its own rather than one shared by the findings of a node."""
    parsed: dict[str, list[Document]] = {}
    index = RunIndex()
    for template, text in rendered.templates.items():
        try:
            parsed[template] = parse(text)
        except InputError:
            continue
        index.add(summarize(template, parsed[template], engine.settings.pod_kinds, namespace))
    checked = {}
    for template, documents in parsed.items():
        source = Source.from_bytes(template, rendered.templates[template].encode())
        # each finding with its own part of a shared fix: a value may take some parts and not others
        # (the securityContext keys, not the emptyDir volumes of a read-only root filesystem)
        findings = engine.find(source, documents, Scope(index, namespace), shared=False)
        applied = [f for f in findings if engine.applied_here(f) is not None]
        checked[template] = Checked(documents, applied, [f for f in findings if f.fix is not None])
    return checked


def together(fixes: list[Fix]) -> Fix | None:
    """One promise for several fixes applied at once: fixes that each set a whole mapping (the
    requests fix and the limits fix each promise ``resources``) promise it merged, and one
    inside a mapping another sets is merged into it; None when two promise different values."""
    kept: list[Touch] = []
    for touch in sorted((t for fix in fixes for t in fix.touches), key=lambda t: len(t.path)):
        outer = next((k for k in kept if k.doc == touch.doc and touch.path[: len(k.path)] == k.path), None)
        if outer is None:
            kept.append(touch)
            continue
        merged = _put(outer.value, touch.path[len(outer.path) :], touch.value)
        if merged is None:
            return None
        kept[kept.index(outer)] = Touch(outer.doc, outer.path, merged)
    return Fix("values", (), tuple(kept))


def _put(value: Any, path: YamlPath, new: Any) -> Any:
    """``value`` with ``new`` merged in at ``path``; None where they disagree."""
    if not path:
        if isinstance(value, dict) and isinstance(new, dict):
            merged = dict(value)
            for key, item in new.items():
                inner = _put(merged[key], (), item) if key in merged else item
                if inner is None:
                    return None
                merged[key] = inner
            return merged
        return value if repr(value) == repr(new) else None
    if not isinstance(value, dict):
        return None
    head, rest = path[0], path[1:]
    inner = _put(value[head], rest, new) if head in value else _nest(rest, new)
    return None if inner is None else {**value, head: inner}


def _nest(path: YamlPath, value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


def key_lines(text: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """The line and column (from 1) of each mapping key of a values file, by key path."""
    try:
        documents = parse(text)
    except InputError:
        return {}
    found: dict[tuple[str, ...], tuple[int, int]] = {}
    pending: list[tuple[Any, tuple[str, ...]]] = [(documents[0].root, ())] if documents else []
    while pending:
        node, prefix = pending.pop()
        if isinstance(node, Mapping):
            for key_node, value in node.pairs:
                key = (*prefix, str(getattr(key_node, "key_value", "")))
                found[key] = (key_node.line + 1, key_node.column + 1)
                pending.append((value, key))
    return found


def values_source(root: str) -> Source | None:
    """The chart's ``values.yaml``, decoded; None when it has none that can be read."""
    path = os.path.join(root, "values.yaml")
    try:
        return Source.from_bytes(path, read_regular(path)[0])
    except (OSError, InputError):
        return None
