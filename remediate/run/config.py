"""The configuration file: which fixers run, their options, and extra pod-bearing kinds.

Each file is checked with the nearest ``.k8sfix.yaml`` in its directory or above (the run as a
whole with the current directory's), or the file given with ``--config``::

    select: [image-pull-policy]        # run only these fixers (ids or codes); default: all
    ignore: [container-probes]         # never run these
    kubernetes-version: "1.29"         # the cluster version to target (default: newest known)
    unsafe-fixes: false                # also apply fixes that can break some workloads
    extend-safe-fixes: [security-context/run-as-user]   # fixers or rules whose fixes count as safe
    extend-unsafe-fixes: [image-pull-policy]             # ... or as unsafe (remediate/run/applicability.py)
    exclude: [legacy/, "*.rendered.yaml"]   # .gitignore patterns from here (--exclude replaces)
    extend-exclude: [vendor/]          # ... always left out too
    pod-kinds:                         # custom kinds with a pod template, fixed like Deployments
      - kind: Rollout
        apiVersion: argoproj.io/v1alpha1   # optional: any version when omitted
        pod-spec-path: spec.template.spec
    fixers:
      image-pull-policy:
        enabled: true
        mode: tag-aware                # each fixer's options: see `k8sfix --explain ID`

Every key is checked: an unknown fixer, option or value is an error that names the file, line,
fixer and key, and lists what is allowed. Option names are the fields of the fixer's ``Options``
dataclass written with dashes; its defaults are the documented defaults.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, NamedTuple

from remediate.kube import images, unknown_ignores, validation, versions
from remediate.kube.k8s import BUILTIN_POD_KINDS, PodKind
from remediate.run import registry
from remediate.run.applicability import FixPolicy
from remediate.yaml.document import Mapping, Node, Scalar, Sequence, parse
from remediate.yaml.source import InputError, Source, read_regular
from remediate.yaml.values import to_data

CONFIG_NAME = ".k8sfix.yaml"


class ConfigError(Exception):
    """An invalid configuration; the message is a whole error line, ``path:line:col: error: ...``
    (or ``k8sfix: error: ...`` for a command-line value)."""


class Settings(NamedTuple):
    """What a run does: enabled fixer ids (in registry order), their options, the pod kinds."""

    enabled: tuple[str, ...]
    options: collections.abc.Mapping[str, Any]
    pod_kinds: tuple[PodKind, ...] = BUILTIN_POD_KINDS
    path: str | None = None
    kubernetes_version: str | None = None
    """The Kubernetes version to target (see :mod:`remediate.kube.versions`); None: the newest known."""
    schema: bool | None = None
    """The schema check (``K8S100``): True when ``select`` names it, False when ``ignore`` does,
    None when neither (then ``--validate`` decides)."""
    unknown_ignores: bool | None = None
    """The check of ``k8sfix.io/ignore`` names (``K8S101``): True when ``select`` names it, False
    when ``select`` leaves it out or ``ignore`` names it, None when neither (it is on, but a run
    that leaves it alone is still a run of no fixer)."""
    positions: collections.abc.Mapping[str, tuple[int, int]] | None = None
    """Where each fixer option is set in the file, ``"fixers.ID.KEY"`` -> 1-based (line, column),
    for errors found once the options are in use (a template that does not compile)."""
    fix_policy: FixPolicy = FixPolicy()
    """Which fixes are applied (``unsafe-fixes``, ``extend-safe-fixes``, ``extend-unsafe-fixes``)."""
    images: images.Catalog = images.BUILT_IN
    """What is known of images: the built-in table, after the config's ``images:`` entries."""
    exclude: tuple[str, ...] = ()
    """``.gitignore`` patterns of files to leave out, from :attr:`base` (``--exclude`` replaces them)."""
    extend_exclude: tuple[str, ...] = ()
    """Patterns left out as well, whatever ``--exclude`` says."""
    base: str | None = None
    """The directory of the config file, which its patterns are relative to."""


def find_config(start: Path) -> Path | None:
    """The nearest ``.k8sfix.yaml`` in ``start`` or a directory above it."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.exists() or candidate.is_symlink():
            return candidate  # a FIFO or a directory is read and refused, not passed over for a parent's
    return None


def load(
    path: Path | None,
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    kubernetes_version: str | None = None,
    unsafe_fixes: bool | None = None,
) -> Settings:
    """Settings from the config file at ``path`` (None: defaults), then the command line's values
    (``unsafe_fixes`` None: as the file says)."""
    root: Mapping | None = None
    name = _shown(path) if path else None
    if path is not None:
        try:
            source = Source.from_bytes(str(path), read_regular(str(path))[0])
            documents = parse(source.text)
        except OSError as exc:
            raise ConfigError(f"{name}:1:1: error: cannot read config: {exc.strerror}") from None
        except InputError as exc:
            raise ConfigError(f"{name}:{exc.line or 1}:{exc.column or 1}: error: {exc.message}") from None
        if documents and not (isinstance(documents[0].root, Scalar) and documents[0].root.is_null):
            if not isinstance(documents[0].root, Mapping):
                raise ConfigError(f"{name}:1:1: error: the config must be a mapping")
            root = documents[0].root
    settings = _settings(root, name, select, ignore)
    if kubernetes_version is not None:
        try:
            versions.check_known(kubernetes_version)
        except ValueError as exc:
            raise ConfigError(f"k8sfix: error: --kubernetes-version: {exc}") from None
        settings = settings._replace(kubernetes_version=kubernetes_version)
    if unsafe_fixes is not None:
        policy = settings.fix_policy._replace(unsafe_fixes=unsafe_fixes)
        settings = settings._replace(fix_policy=policy)
    if path is not None:
        settings = settings._replace(base=os.path.dirname(os.path.abspath(path)))
    return settings


def _settings(
    root: Mapping | None, name: str | None, select: list[str] | None, ignore: list[str] | None
) -> Settings:
    where = _Where(name or CONFIG_NAME)
    known = registry.by_id()
    every = list(registry.checks())
    if root is not None:
        where.allowed_keys(root, TOP_LEVEL_KEYS, "top level")
    chosen = every
    file_select = _names(root, "select", where) if root is not None else None
    file_ignore = (_names(root, "ignore", where) if root is not None else None) or []
    try:  # the command line's lists first, so that an error names the right culprit
        chosen = registry.resolve(select) if select is not None else chosen
        skipped = set(registry.resolve(ignore or []))
    except ValueError as exc:
        raise ConfigError(f"k8sfix: error: --select/--ignore: {exc}") from None
    for key, names in (("select", file_select if select is None else None), ("ignore", file_ignore)):
        try:
            resolved = registry.resolve(names or [])
        except ValueError as exc:
            raise where.error(_unknown_entry(root, key), f"{key}: {exc}") from None
        if key == "select" and names is not None:
            chosen = resolved
        elif key == "ignore":
            skipped |= set(resolved)
    options: dict[str, Any] = {}
    positions: dict[str, tuple[int, int]] = {}
    fixer_nodes = root.get("fixers") if root is not None else None
    if fixer_nodes is not None and not isinstance(fixer_nodes, Mapping):
        raise where.error(fixer_nodes, "fixers: expected a mapping of fixer id to options")
    for fixer_id, fixer_class in known.items():
        node = fixer_nodes.get(fixer_id) if fixer_nodes is not None else None
        enabled, options[fixer_id] = _fixer_options(fixer_id, fixer_class.Options, node, where)
        if isinstance(node, Mapping):
            for key_node, value_node in node.pairs:
                positions[f"fixers.{fixer_id}.{getattr(key_node, 'key_value', '')}"] = (
                    value_node.line + 1,
                    value_node.column + 1,
                )
        if not enabled:
            skipped.add(fixer_id)
    if fixer_nodes is not None:
        where.allowed_keys(fixer_nodes, set(known), "fixers")
    pod_kinds = BUILTIN_POD_KINDS
    kinds_node = root.get("pod-kinds") if root is not None else None
    if kinds_node is not None:
        pod_kinds = _pod_kinds(kinds_node, where) + BUILTIN_POD_KINDS
    enabled_ids = tuple(
        fixer.id for fixer in registry.all_fixers() if fixer.id in chosen and fixer.id not in skipped
    )
    named = select is not None or file_select is not None
    schema = False if validation.ID in skipped else (True if named and validation.ID in chosen else None)
    check_ignores = _named_check(unknown_ignores.ID, chosen, skipped, named=named)
    version = _kubernetes_version(root, where)
    policy = _fix_policy(root, where) if root is not None else FixPolicy()
    catalog = _images(root, where) if root is not None else images.BUILT_IN
    exclude = _patterns(root, "exclude", where) if root is not None else ()
    extend_exclude = _patterns(root, "extend-exclude", where) if root is not None else ()
    return Settings(
        enabled_ids,
        options,
        pod_kinds,
        name,
        version,
        schema=schema,
        unknown_ignores=check_ignores,
        positions=positions,
        fix_policy=policy,
        images=catalog,
        exclude=exclude,
        extend_exclude=extend_exclude,
    )


def _named_check(check: str, chosen: list[str], skipped: set[str], *, named: bool) -> bool | None:
    """A check that is on unless left out: False when ``ignore`` names it or a ``select`` leaves it
    out, True when a ``select`` names it, None when no list says (on by default)."""
    if check in skipped or check not in chosen:
        return False
    return True if named else None


def _patterns(root: Mapping, key: str, where: _Where) -> tuple[str, ...]:
    """A list of ``.gitignore`` patterns (``exclude``, ``extend-exclude``)."""
    from remediate.run.gitignore import valid_pattern

    node = root.get(key)
    if node is None:
        return ()
    value = to_data(node)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise where.error(node, f"{key}: expected a list of .gitignore patterns")
    for pattern in value:
        if not valid_pattern(pattern):
            raise where.error(node, f"{key}: {pattern!r} is not a .gitignore pattern")
    return tuple(value)


def _images(root: Mapping, where: _Where) -> images.Catalog:
    """The ``images:`` entries of the config (see :func:`remediate.kube.images.from_config`)."""
    node = root.get("images")
    if node is None:
        return images.BUILT_IN
    try:
        return images.from_config(to_data(node))
    except images.EntryError as exc:
        raise where.error(node, f"images: {exc}") from None


TOP_LEVEL_KEYS = {
    "select",
    "ignore",
    "pod-kinds",
    "fixers",
    "kubernetes-version",
    "unsafe-fixes",
    "extend-safe-fixes",
    "extend-unsafe-fixes",
    "images",
    "exclude",
    "extend-exclude",
}


def _fix_policy(root: Mapping, where: _Where) -> FixPolicy:
    """``unsafe-fixes`` and the lists that move fixes between classes, each entry a fixer (id or
    code) or ``fixer/rule``."""
    unsafe = root.get("unsafe-fixes")
    if unsafe is not None and not (isinstance(unsafe, Scalar) and isinstance(unsafe.data, bool)):
        raise where.error(unsafe, f"unsafe-fixes: expected true or false, got {to_data(unsafe)!r}")
    known = fix_classes_names()
    lists: dict[str, frozenset[str]] = {}
    for key in ("extend-safe-fixes", "extend-unsafe-fixes"):
        names = _names(root, key, where) or []
        for position, name in enumerate(names):
            if name not in known and name.upper() not in known:
                node = root.get(key)
                assert node is not None  # _names found the list there
                item = node.items[position] if isinstance(node, Sequence) else node
                raise where.error(
                    item, f"{key}: unknown fixer or rule {name!r} (known: {', '.join(sorted(known))})"
                )
        lists[key] = frozenset(name if name in known else name.upper() for name in names)
    return FixPolicy(
        unsafe_fixes=bool(unsafe.data) if isinstance(unsafe, Scalar) else False,
        extend_safe=lists["extend-safe-fixes"],
        extend_unsafe=lists["extend-unsafe-fixes"],
    )


def fix_classes_names() -> set[str]:
    """What ``extend-safe-fixes`` and ``extend-unsafe-fixes`` may name: every fixer's id and code,
    and ``fixer/rule`` for each of its rules."""
    names: set[str] = set()
    for fixer in registry.all_fixers():
        names |= {fixer.id, fixer.code, *(f"{fixer.id}/{rule}" for rule in fixer.rules)}
    return names


def _kubernetes_version(root: Mapping | None, where: _Where) -> str | None:
    node = root.get("kubernetes-version") if root is not None else None
    if node is None:
        return None
    text = node.value if isinstance(node, Scalar) else ""
    try:
        versions.check_known(text)
    except ValueError as exc:
        raise where.error(node, f"kubernetes-version: {exc}") from None
    return text


class _Where:
    """Turns a node into ``path:line:col`` for messages."""

    def __init__(self, name: str):
        self.name = name

    def error(self, node: Node, message: str) -> ConfigError:
        return ConfigError(f"{self.name}:{node.line + 1}:{node.column + 1}: error: {message}")

    def allowed_keys(self, mapping: Mapping, allowed: set[str], context: str) -> None:
        for key_node, _ in mapping.pairs:
            key = getattr(key_node, "key_value", None)
            if key not in allowed:
                raise self.error(
                    key_node, f"{context}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"
                )


def _unknown_entry(root: Mapping | None, key: str) -> Node:
    """The node of the first name under ``key`` that names no check (the list itself if none does)."""
    node = root.get(key) if root is not None else None
    assert node is not None
    known = registry.checks()
    codes = set(known.values())
    for item in node.items if isinstance(node, Sequence) else []:
        name = getattr(item.resolve(), "value", "")
        if name not in known and name.upper() not in codes:
            return item
    return node


def _names(root: Mapping, key: str, where: _Where) -> list[str] | None:
    node = root.get(key)
    if node is None:
        return None
    value = to_data(node)
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise where.error(node, f"{key}: expected a list of fixer ids")
    return value


def _fixer_options(fixer_id: str, options_class: type, node: Node | None, where: _Where) -> tuple[bool, Any]:
    if node is None or (isinstance(node, Scalar) and node.is_null):
        return True, options_class()
    if not isinstance(node, Mapping):
        raise where.error(node, f"fixers.{fixer_id}: expected a mapping of options")
    hints = typing.get_type_hints(options_class)
    fields = {f.name.replace("_", "-"): f.name for f in dataclasses.fields(options_class)}
    where.allowed_keys(node, set(fields) | {"enabled"}, f"fixers.{fixer_id}")
    enabled = True
    values: dict[str, Any] = {}
    for key_node, value_node in node.pairs:
        key = str(getattr(key_node, "key_value", ""))  # allowed_keys made sure it is one of them
        value = to_data(value_node)
        if key == "enabled":
            if not isinstance(value, bool):
                raise where.error(
                    value_node, f"fixers.{fixer_id}.enabled: expected true or false, got {value!r}"
                )
            enabled = value
            continue
        attribute = fields[key]
        try:
            values[attribute] = convert(value, hints[attribute])
        except TypeError as exc:
            raise where.error(value_node, f"fixers.{fixer_id}.{key}: {exc}") from None
    try:
        return enabled, options_class(**values)
    except (TypeError, ValueError) as exc:  # the Options' own checks (__post_init__) start with the key
        key = re.split(r"[:.\[]", str(exc), maxsplit=1)[0]
        raise where.error(node.own.get(key, node), f"fixers.{fixer_id}.{exc}") from None


def convert(value: Any, hint: Any) -> Any:
    """``value`` checked against a type hint; raise TypeError saying what was expected."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        if value not in args:
            raise TypeError(f"expected one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        return _one_of(value, hint, args)
    if origin in (list, tuple, dict):
        return _collection(value, origin, args)
    return _scalar(value, hint)


def _one_of(value: Any, hint: Any, args: tuple[Any, ...]) -> Any:
    """``value`` as the first member of a union that takes it."""
    for arg in args:
        try:
            return convert(value, arg)
        except TypeError:
            continue
    raise TypeError(f"expected {_describe(hint)}, got {value!r}")


def _collection(value: Any, origin: Any, args: tuple[Any, ...]) -> Any:
    """A list, tuple or dict, each item checked against its hint."""
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected a mapping, got {value!r}")
        key_hint, value_hint = args or (Any, Any)
        return {convert(k, key_hint): convert(v, value_hint) for k, v in value.items()}
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {value!r}")
    item_hint = args[0] if args else Any
    items = [convert(item, item_hint) for item in value]
    return tuple(items) if origin is tuple else items


def _scalar(value: Any, hint: Any) -> Any:
    """``value`` as a ``None``, ``bool``, ``int``, ``float`` or ``str`` (numbers are fine as strings)."""
    if hint is Any:
        return value
    if hint is type(None):
        if value is not None:
            raise TypeError("expected null")
        return None
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is float and number:
        return float(value)
    if hint is int and number and isinstance(value, int):
        return value
    if hint is str and (number or isinstance(value, str)):
        return str(value)
    raise TypeError(f"expected {_describe(hint)}, got {value!r}")


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _pod_kinds(node: Node, where: _Where) -> tuple[PodKind, ...]:
    if not isinstance(node, Sequence):
        raise where.error(node, "pod-kinds: expected a list of {kind, apiVersion, pod-spec-path}")
    kinds = []
    for item in node.items:
        item = item.resolve()
        if not isinstance(item, Mapping):
            raise where.error(item, "pod-kinds: each entry must be a mapping")
        where.allowed_keys(item, {"kind", "apiVersion", "pod-spec-path"}, "pod-kinds")
        kind, path = item.str("kind"), item.str("pod-spec-path")
        if not kind or not path:
            raise where.error(
                item, "pod-kinds: each entry needs kind and pod-spec-path (e.g. spec.template.spec)"
            )
        kinds.append(PodKind(kind, item.str("apiVersion"), tuple(path.split("."))))
    return tuple(kinds)


def _shown(path: Path) -> str:
    """The config's path as messages show it: relative to the working directory when it is below it."""
    if not path.is_absolute():
        return str(path)
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def discover(explicit: str | None) -> Path | None:
    """The config to use: ``--config``'s path, or the nearest ``.k8sfix.yaml``."""
    if explicit:
        return Path(explicit)
    return find_config(Path(os.getcwd()))
