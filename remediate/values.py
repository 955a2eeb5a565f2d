"""What a YAML scalar means to Kubernetes, and plain Python data built from nodes.

Kubernetes reads manifests with YAML 1.1 rules (``yes``/``on`` are booleans, ``0400`` is octal 256,
``1:30`` is sexagesimal 90); ruamel.yaml's default is YAML 1.2. k8sfix compares and renders values
the way the cluster will read them, so the resolution here follows YAML 1.1's implicit types.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remediate.document import Node

_BOOL = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
    re.VERBOSE,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)
_MAYBE_NOT_STRING = frozenset("0123456789+-.~nNyYtTfFoO<=")
_cache: dict[str, Any] = {}

STR_TAG = "tag:yaml.org,2002:str"


def _int(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-").replace("_", "")
    if ":" in digits:
        value = 0
        for part in digits.split(":"):
            value = value * 60 + int(part)
        return sign * value
    if digits.startswith("0b"):
        return sign * int(digits, 2)
    if digits.startswith("0x"):
        return sign * int(digits, 16)
    if len(digits) > 1 and digits[0] == "0":
        return sign * int(digits, 8)
    return sign * int(digits)


def _float(text: str) -> float:
    lowered = text.lower().replace("_", "")
    if lowered.endswith(".inf"):
        return float("-inf") if lowered[0] == "-" else float("inf")
    if lowered == ".nan":
        return float("nan")
    if ":" in lowered:
        sign = -1.0 if lowered[0] == "-" else 1.0
        value = 0.0
        for part in lowered.lstrip("+-").split(":"):
            value = value * 60 + float(part)
        return sign * value
    return float(lowered)


def plain_value(text: str) -> Any:
    """The value of an untagged plain scalar under YAML 1.1 (as Kubernetes reads it)."""
    if text and text[0] not in _MAYBE_NOT_STRING:
        return text
    try:
        return _cache[text]
    except KeyError:
        pass
    value: Any
    if text in _NULL:
        value = None
    elif text in _BOOL:
        value = _BOOL[text]
    elif _INT.match(text):
        value = _int(text)
    elif _FLOAT.match(text):
        value = _float(text)
    else:
        value = text
    if len(_cache) < 4096:
        _cache[text] = value
    return value


def scalar_value(value: str, style: str | None, tag: str | None) -> Any:
    """The value of a scalar given its text, its quoting style and its explicit tag, if any."""
    if tag is None or tag == "!":
        return plain_value(value) if not style and tag is None else value
    suffix = tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else None
    if suffix == "str" or suffix is None:
        return value
    resolved = plain_value(value)
    if suffix == "int" and isinstance(resolved, int) and not isinstance(resolved, bool):
        return resolved
    if suffix == "float" and isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
        return float(resolved)
    if suffix == "bool" and isinstance(resolved, bool):
        return resolved
    if suffix == "null" and resolved is None:
        return None
    return value


_NOT_STRING_ELSEWHERE = re.compile(
    r"""[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?   # 1e3, 6.02e23: floats to go-yaml
    |0[oO][0-7_]+|[-+]?0[xX][0-9a-fA-F_]+|[-+]?0[bB][01_]+              # 0o17 (YAML 1.2), hex, binary
    |[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?                       # 1:20 (sexagesimal, YAML 1.1)
    |[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?                          # dates: timestamps to go-yaml
    """,
    re.VERBOSE,
)
"""Plain scalars that some YAML reader Kubernetes users meet (YAML 1.1, 1.2, go-yaml behind
kubectl) takes for a number or a timestamp, whatever this project's resolver says."""


def is_plain_string(text: str) -> bool:
    """True when ``text`` written as a plain scalar reads back as that same string in YAML 1.1,
    YAML 1.2 and go-yaml alike (so ``yes``, ``on``, ``0400``, ``1e3``, ``0o17`` and ``2023-10-01``
    are not: a label value copied into a new selector must keep its quotes)."""
    if _NOT_STRING_ELSEWHERE.fullmatch(text):
        return False
    return isinstance(plain_value(text), str) and text.lower() not in ("y", "n")


def to_data(node: Node) -> Any:
    """Plain Python data (dict, list, str, int, ...) for a node, resolving aliases and merge keys.

    Aliased nodes become one shared object, so building is linear in the size of the text even for
    documents built to explode (the parser refuses those before anything walks them).
    """
    return _build(node, {})


def _build(node: Node, memo: dict[int, Any]) -> Any:
    from remediate.document import Alias, Mapping, Scalar

    while isinstance(node, Alias):
        node = node.target
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, Scalar):
        return node.data
    if isinstance(node, Mapping):
        result: dict[Any, Any] = {}
        memo[key] = result
        for merged in reversed(node.merged()):
            result.update(_build(merged, memo))
        for key_node, value_node in node.pairs:
            if not key_node.is_merge_key:
                result[_hashable(_build(key_node, memo))] = _build(value_node, memo)
        return result
    items: list[Any] = []
    memo[key] = items
    items.extend(_build(item, memo) for item in node.items)
    return items


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
