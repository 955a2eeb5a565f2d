"""Kubernetes label selectors, with the API server's semantics.

A *label selector* (``matchLabels`` plus ``matchExpressions`` with In, NotIn, Exists and
DoesNotExist) selects a set of labels when every requirement holds; the empty selector ``{}``
selects everything. ``NotIn`` and ``DoesNotExist`` hold for labels that lack the key. A Service's
``spec.selector`` is a plain map: it selects labels that contain every pair, and a Service without
one selects no pods (its endpoints are managed by hand).

Selectors the API server rejects (an unknown operator, ``In``/``NotIn`` without values,
``Exists``/``DoesNotExist`` with values, a ``matchLabels`` that is not a map) select nothing here,
because the object that holds them is never created. Keys other than ``matchLabels`` and
``matchExpressions`` are ignored, as the API server drops unknown fields unless the client asks
for strict validation: ``podSelector: {app: web}`` selects every pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SET_OPERATORS = frozenset({"In", "NotIn"})
EXISTENCE_OPERATORS = frozenset({"Exists", "DoesNotExist"})

ANY = ("*",)
"""The hint of a selector that requires no label to be present (see :func:`requirement_hints`)."""


def requirement_hints(selector: Any) -> frozenset[Any]:
    """Labels a selected set must hold one of, to find candidates without trying every object.

    Every set of labels the selector selects contains one of the hints: a ``(key, value)`` pair, a
    key, or :data:`ANY` when the selector requires nothing present (``{}``, or only ``NotIn`` and
    ``DoesNotExist``). A selector that selects nothing has no hints. Candidates found by a hint
    still have to be checked with :func:`matches`.
    """
    if selector is None:
        return frozenset({ANY})
    if not isinstance(selector, Mapping):
        return frozenset()
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        return frozenset()
    if match_labels:
        return frozenset({min((label_text(k), label_text(v)) for k, v in match_labels.items())})
    for expression in expressions:
        if not isinstance(expression, Mapping):
            return frozenset()
        key, values = label_text(expression.get("key")), expression.get("values") or []
        if expression.get("operator") == "In" and isinstance(values, list) and values:
            return frozenset((key, label_text(value)) for value in values)
        if expression.get("operator") == "Exists" and not values:
            return frozenset({key})
    return frozenset({ANY})


def matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """True when the label selector ``selector`` selects ``labels`` (``None`` is the empty selector)."""
    if selector is None:
        return True
    if not isinstance(selector, Mapping):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        return False
    for key, value in match_labels.items():
        if labels.get(label_text(key)) != label_text(value):
            return False
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        return False
    return all(_requirement(expression, labels) for expression in expressions)


def _requirement(expression: Any, labels: Mapping[str, str]) -> bool:
    if not isinstance(expression, Mapping):
        return False
    key, operator = label_text(expression.get("key")), expression.get("operator")
    values = expression.get("values") or []
    if not isinstance(values, list):
        return False
    if operator in SET_OPERATORS:
        if not values:
            return False  # the API server requires values for In and NotIn
        present = key in labels and labels[key] in [label_text(v) for v in values]
        return present if operator == "In" else not present
    if operator in EXISTENCE_OPERATORS:
        if values:
            return False  # the API server refuses values for Exists and DoesNotExist
        return (key in labels) == (operator == "Exists")
    return False


def selector_pairs(selector: Any) -> frozenset[tuple[str, str]]:
    """A Service's ``spec.selector`` as the (key, value) label pairs a pod must have, as text."""
    if not isinstance(selector, Mapping):
        return frozenset()
    return frozenset((label_text(key), label_text(value)) for key, value in selector.items())


def label_text(value: Any) -> str:
    """Label keys and values are strings; ``true`` or ``1`` written unquoted compare as their text
    (go-yaml, so Kubernetes, reads ``on`` and ``y`` as ``true``), and null is the empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
