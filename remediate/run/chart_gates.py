"""Gates of a Helm chart's values: a mapping a template renders only when its ``enabled`` is true.

Many charts gate a block behind a switch in the block's own mapping::

    podSecurityContext:
      enabled: false
      fsGroup: 1001

    {{- if .Values.podSecurityContext.enabled }}
    securityContext: {{- omit .Values.podSecurityContext "enabled" | toYaml | nindent 8 }}
    {{- end }}

With the switch off nothing of the mapping is rendered, so marking it
(:func:`remediate.run.chart_values.controlled_places`) teaches nothing: where it would go is
learnt by rendering the chart with the switch on instead. A gate is kept only when turning it on
adds mappings and changes nothing else (no template appears or goes, no document, no value that
was rendered changes): each added mapping is then a place the gated key controls once enabled. A
fix routed there sets ``enabled: true`` too, and its proof expects the whole mapping to be
rendered there (what the chart's defaults bring with it, ``fsGroup: 1001``, included), so nothing
arrives that the proof has not seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from remediate.run.charts import Release, Rendered, RenderError, RenderStopped, render, with_value
from remediate.yaml.document import parse
from remediate.yaml.model import YamlPath
from remediate.yaml.source import InputError
from remediate.yaml.values import to_data

SWITCH = "enabled"
MAX_GATES = 40
"""At most this many switched-off gates are tried (one render each)."""

Place = tuple[str, int, YamlPath]


def switches_off(values: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The key paths of the mappings of ``values`` whose ``enabled`` is false (the mapping holding
    something else too: the settings it gates), outermost first."""
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        if not isinstance(key, str) or not isinstance(value, dict):
            continue
        if value.get(SWITCH) is False and len(value) > 1:
            yield (*prefix, key)
        yield from switches_off(value, (*prefix, key))


def gated_places(
    root: str, release: Release, values: dict[str, Any], plain: Rendered
) -> tuple[dict[tuple[str, ...], list[Place]], bool]:
    """Where each gated mapping of ``values`` is rendered once switched on (see the module
    docstring), ``plain`` being the chart rendered with ``values`` as they are; and whether every
    gate was tried (False when a render was stopped: it says nothing of the chart, so what was
    found is not all the chart says)."""
    before = _documents(plain)
    if before is None:
        return {}, True
    found: dict[tuple[str, ...], list[Place]] = {}
    complete = True
    for key in list(switches_off(values))[:MAX_GATES]:
        try:
            after = _documents(render(root, release, with_value(values, (*key, SWITCH), True)))
        except RenderStopped:
            complete = False
            continue
        except RenderError:
            continue
        if after is None or set(after) != set(before):
            continue
        places: list[Place] | None = []
        for template, documents in after.items():
            if places is None or len(documents) != len(before[template]):
                places = None
                break
            for index, (old, new) in enumerate(zip(before[template], documents, strict=True)):
                added = _added(old, new, ())
                if added is None:
                    places = None
                    break
                places.extend((template, index, path) for path in added)
        if places:
            found[key] = places
    return found, complete


def _documents(rendered: Rendered) -> dict[str, list[Any]] | None:
    try:
        return {t: [to_data(d.root) for d in parse(text)] for t, text in rendered.templates.items()}
    except InputError:
        return None


def _added(old: Any, new: Any, path: YamlPath) -> list[YamlPath] | None:
    """The paths of the mappings ``new`` has and ``old`` has not; None when ``new`` differs from
    ``old`` in any other way."""
    if isinstance(old, dict) and isinstance(new, dict):
        if not set(old) <= set(new):
            return None
        found: list[YamlPath] = []
        for key, value in new.items():
            if key not in old:
                if not isinstance(value, dict):
                    return None
                found.append((*path, key))
                continue
            inner = _added(old[key], value, (*path, key))
            if inner is None:
                return None
            found.extend(inner)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            inner = _added(before, after, (*path, index))
            if inner is None:
                return None
            found.extend(inner)
        return found
    return [] if old == new else None
