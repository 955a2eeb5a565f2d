"""Finds the fixers: every module of the ``fixers`` package defines one :class:`Fixer` subclass
(modules whose names start with ``_`` hold what fixers share). Its id is its module's name with
dashes, and no two fixers share a code; anything else fails at start-up, naming the module.

This is the only module that imports ``fixers``. The order is stable (by code), so reports and
fixes come out the same on every run; fixers never depend on running before one another.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from functools import cache

from remediate.kube import unknown_ignores, validation
from remediate.kube.fixer import Fixer


@cache
def all_fixers() -> tuple[type[Fixer], ...]:
    """Every fixer class, ordered by code."""
    import fixers

    found: list[type[Fixer]] = []
    for module_info in pkgutil.iter_modules(fixers.__path__):
        if module_info.name.startswith("_"):  # what fixers share, not a fixer
            continue
        module = importlib.import_module(f"fixers.{module_info.name}")
        classes = [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Fixer) and value.__module__ == module.__name__
        ]
        if len(classes) != 1:
            raise RuntimeError(f"fixers/{module_info.name}.py must define exactly one Fixer subclass")
        fixer = classes[0]
        if fixer.id.replace("-", "_") != module_info.name:
            raise RuntimeError(
                f"fixer id {fixer.id!r} does not match its module fixers/{module_info.name}.py"
            )
        for other in found:
            if other.code == fixer.code:
                raise RuntimeError(f"fixers {other.id} and {fixer.id} both have the code {fixer.code}")
        found.append(fixer)
    return tuple(sorted(found, key=lambda fixer: fixer.code))


def by_id() -> dict[str, type[Fixer]]:
    """Fixer classes by id."""
    return {fixer.id: fixer for fixer in all_fixers()}


CHECKS_WITHOUT_FIXES = (validation, unknown_ignores)
"""The checks that find without fixing, each a module with ``ID``, ``CODE``, ``WHEN_ON`` and its
page as its docstring: the schema check of ``--validate``, and unknown names in
``k8sfix.io/ignore``."""


def checks() -> dict[str, str]:
    """Every check's id and code: the fixers', then :data:`CHECKS_WITHOUT_FIXES`."""
    return {
        **{fixer.id: fixer.code for fixer in all_fixers()},
        **{check.ID: check.CODE for check in CHECKS_WITHOUT_FIXES},
    }


def resolve(names: list[str]) -> list[str]:
    """Check ids for ``names`` (ids or codes in any case, the schema check's too); raise ValueError
    naming the unknown ones, and the nearest id to the first (a typo: ``image-pul-policy``)."""
    known = checks()
    codes = {code: check for check, code in known.items()}
    result, unknown = [], []
    for name in names:
        if name.lower() in known:
            result.append(name.lower())
        elif name.upper() in codes:
            result.append(codes[name.upper()])
        else:
            unknown.append(name)
    if unknown:
        near = nearest(unknown[0])
        hint = f"; did you mean {near}?" if near else ""
        raise ValueError(f"unknown fixer {', '.join(unknown)}{hint} (known: {', '.join(known)})")
    return result


def nearest(name: str) -> str | None:
    """The check id nearest to ``name`` (a typo: ``image-pul-policy``), if one is near enough."""
    near = difflib.get_close_matches(name.lower(), list(checks()), n=1)
    return near[0] if near else None
