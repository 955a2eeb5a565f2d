"""What a YAML scalar means to Kubernetes, and plain Python data built from nodes.

The API server and kubectl read manifests with go-yaml v2 (through sigs.k8s.io/yaml), so k8sfix
resolves plain scalars exactly as go-yaml v2's ``resolve`` does, not by YAML 1.1 or 1.2 as written:

- booleans: ``y Y yes Yes YES true True TRUE on On ON`` and ``n N no No NO false False FALSE off
  Off OFF``; nulls: ``~ null Null NULL`` and the empty scalar;
- integers as Go's ``strconv.ParseInt(s, 0, 64)`` reads them once underscores are removed: decimal,
  ``0x1F``, ``0o17``, ``0b101``, and ``0400`` as octal (256); ``1:20`` is a string (go-yaml has no
  sexagesimal numbers), while ``08`` and ``1e3`` are floats (8.0, 1000.0);
- floats of the form ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?`` and ``.inf``/``.nan``
  (a node's data has a whole one as an integer: the API server gets it as JSON, where ``8080.0`` is
  ``8080``; see :func:`as_json_reads`);
- timestamps (``2023-10-01``) stay strings, as go-yaml gives them to code that decodes into
  ``interface{}``, which is what sigs.k8s.io/yaml does.

Mapping keys are what sigs.k8s.io/yaml turns them into on the way to JSON: text. A key ``1`` is
``"1"``, ``true`` (or ``y``, ``on``) is ``"true"``, so ``1`` and ``true`` in one mapping are two keys,
and ``1`` and ``"1"`` are one (a duplicate).
"""

from __future__ import annotations

import math
import re
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remediate.yaml.document import Node

_BOOL = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_GO_INT = re.compile(r"([-+]?)(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
"""What ``strconv.ParseInt(s, 0, 64)`` accepts: a sign, then a prefixed, octal or decimal number."""
_BASES = {"b": 2, "o": 8, "x": 16}
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
"""go-yaml's ``yamlStyleFloat``, tried after the integers."""
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
"""What ``strconv.ParseFloat`` accepts of a scalar starting with a dot (no underscores there)."""
_MAYBE_NOT_STRING = frozenset("0123456789+-.~nNyYtTfFoO")
"""go-yaml's resolve table: a plain scalar starting with anything else is a string."""
_INT64 = 2**63
_UINT64 = 2**64
_cache: dict[str, Any] = {}


def _number(text: str) -> int | float | None:
    """An integer or float as go-yaml reads a plain scalar starting with a digit or a sign."""
    plain = text.replace("_", "")
    match = _GO_INT.fullmatch(plain)
    if match:
        sign, digits = match.groups()
        if len(digits) > 1 and digits[1] in "bBoOxX":
            value = int(digits[2:], _BASES[digits[1].lower()])
        elif len(digits) > 1 and digits[0] == "0":
            value = int(digits, 8)
        else:
            value = int(digits)
        signed = -value if sign == "-" else value
        if -_INT64 <= signed < _INT64 or (not sign and value < _UINT64):  # ParseInt, then ParseUint
            return signed
    if _GO_FLOAT.fullmatch(plain):
        number = float(plain)
        if not math.isinf(number):  # ParseFloat fails with a range error: go-yaml keeps the string
            return number
    return None


def as_json_reads(value: Any) -> Any:
    """A value as the API server gets it: sigs.k8s.io/yaml writes go-yaml's float64 as JSON, where
    ``8080.0`` is ``8080``, an integer to every field (``08080`` is a port, ``1.0001e4`` a user id).
    (Mapping keys keep the float: sigs.k8s.io/yaml turns them into text from the float32.)"""
    if (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e21
    ):  # Go writes larger with an exponent
        return int(value)
    return value


def plain_value(text: str) -> Any:
    """The value of an untagged plain scalar, as go-yaml v2 (so Kubernetes) reads it."""
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
    elif text in _SPECIAL_FLOATS:
        value = _SPECIAL_FLOATS[text]
    elif text[0] == ".":
        value = float(text) if _DOT_FLOAT.fullmatch(text) else text
    elif text[0] in "0123456789+-":
        number = _number(text)
        value = text if number is None else number
    else:
        value = text
    if len(_cache) < 4096:
        _cache[text] = value
    return value


def key_text(value: Any) -> Any:
    """A mapping key as sigs.k8s.io/yaml writes it into JSON: strings as they are, numbers and
    booleans as their text (``1`` -> ``"1"``, ``true`` -> ``"true"``, ``1.5`` -> ``"1.5"``). A null
    key, which it refuses, stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float32_text(value)
    return value


def _go_float32_text(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 32)``, with go-yaml's names for the infinities and NaN."""
    if math.isnan(value):
        return ".nan"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # beyond float32: Go's conversion gives an infinity
        single = math.copysign(math.inf, value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    for precision in range(9):  # the shortest text that reads back as the same float32
        text = f"{abs(single):.{precision}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == abs(single):
            break
    mantissa, exponent = text.split("e")
    digits, power = mantissa.replace(".", "").rstrip("0") or "0", int(exponent)
    sign = "-" if single < 0 else ""
    if power < -4 or power >= 6:  # the shortest 'g' switches to %e outside these exponents
        tail = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if power < 0 else '+'}{abs(power):02d}"
    point = power + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


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
    r"""[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?   # 1e3, 6.02e23: floats
    |0[oO][0-7_]+|[-+]?0[xX][0-9a-fA-F_]+|[-+]?0[bB][01_]+              # 0o17 (YAML 1.2), hex, binary
    |[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?                       # 1:20 (sexagesimal, YAML 1.1)
    |[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?                          # dates: timestamps to YAML 1.1
    """,
    re.VERBOSE,
)
"""Plain scalars that some YAML reader Kubernetes users meet (YAML 1.1 and 1.2 tools such as
yq, PyYAML or ruamel.yaml, besides go-yaml behind kubectl) takes for a number or a timestamp."""


def is_plain_string(text: str) -> bool:
    """True when ``text`` written as a plain scalar reads back as that same string in go-yaml, YAML
    1.1 and YAML 1.2 alike (so ``y``, ``on``, ``0400``, ``1:20``, ``1e3``, ``0o17`` and ``2023-10-01``
    are not: a label value copied into a new selector must keep its quotes)."""
    return isinstance(plain_value(text), str) and not _NOT_STRING_ELSEWHERE.fullmatch(text)


def to_data(node: Node) -> Any:
    """Plain Python data (dict, list, str, int, ...) for a node, resolving aliases and merge keys.

    Aliased nodes become one shared object, so building is linear in the size of the text even for
    documents built to explode (the parser refuses those before anything walks them). Only nodes
    under an anchor (``shared``) can be reached twice, so only they are remembered once built.
    """
    from remediate.yaml.document import Alias, Mapping, Scalar, Sequence

    memo: dict[int, Any] = {}

    def build(node: Node) -> Any:
        while type(node) is Alias:
            node = node.target
        if type(node) is Scalar:
            return node.data
        if node.shared and id(node) in memo:
            return memo[id(node)]
        built: Any
        if type(node) is Mapping:
            built = {}
            for merged in reversed(node.merged()) if node.merges else ():
                built.update(build(merged))
            for key_node, value_node in node.pairs:
                if not key_node.is_merge_key:
                    built[key_node.key_value] = build(value_node)
        else:
            assert type(node) is Sequence
            built = [build(item) for item in node.items]
        if node.shared:
            memo[id(node)] = built
        return built

    return build(node)
