"""Render a jinja2 template that came with a repository, within bounds.

A ``.k8sfix.yaml`` committed to a repository can name a template of its own (network-policy's
``template``), and the repository is untrusted input: its template must not hang or exhaust the
run of whoever uses k8sfix, e.g. in a pre-commit hook. jinja2's sandbox already keeps a template
from reaching Python's internals and refuses a single ``range`` over 100,000 items; on top of it:

- every ``range`` of one rendering counts against :data:`MAX_ITEMS` items in all (nested loops
  multiply), and ``*`` and ``**`` refuse results larger than :data:`MAX_OUTPUT` characters or
  exponents beyond :data:`MAX_EXPONENT`;
- a rendering longer than :data:`MAX_SECONDS` is stopped (a timer signal, where the caller runs on
  a process's main thread, as k8sfix's workers do);
- its output is cut off past :data:`MAX_OUTPUT` characters;
- ``{% include %}``, ``{% import %}`` and ``{% extends %}`` find nothing: a template is one file.

A template that once went past a bound is not rendered again in that process: the next object
gets the same failure at once, so a template that loops forever costs one time limit, not one per
object. Every failure, jinja2's own or one of these, is a :class:`TemplateFailure` whose message
says what went wrong, never a Python exception from inside the engine.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from functools import cache
from typing import Any

MAX_ITEMS = 100_000
"""``range`` items one rendering may go through, all loops together."""
MAX_OUTPUT = 1_000_000
"""Characters a rendering (or one ``*`` of a string or list) may produce."""
MAX_EXPONENT = 1_000
MAX_SECONDS = 5.0


class TemplateFailure(Exception):
    """A template that does not compile or render; the message says why."""


class _Exceeded(TemplateFailure):
    """A template that went past a bound of the module docstring."""


_exceeded: dict[str, str] = {}
"""Templates that went past a bound, and how (see the module docstring)."""


class _Budget:
    """The ``range`` items left to one rendering."""

    def __init__(self) -> None:
        self.left = MAX_ITEMS

    def range(self, *bounds: int) -> range:
        items = range(*bounds)
        self.left -= len(items)
        if self.left < 0:
            raise _Exceeded(f"its loops go through more than {MAX_ITEMS:,} items")
        return items


@cache
def _environment() -> Any:
    from jinja2 import FunctionLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class Bounded(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise _Exceeded(f"an exponent above {MAX_EXPONENT}")
            if operator == "*":
                for sized, count in ((left, right), (right, left)):
                    if (
                        isinstance(sized, (str, list, tuple))
                        and isinstance(count, int)
                        and len(sized) * count > MAX_OUTPUT
                    ):
                        raise _Exceeded(f"a value longer than {MAX_OUTPUT:,} characters")
            return super().call_binop(context, operator, left, right)

    return Bounded(
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        loader=FunctionLoader(lambda name: None),  # include, import and extends find nothing
    )


@cache
def compiled(text: str) -> Any:
    """A template compiled once per process; jinja2 is imported only when one is used."""
    from jinja2 import TemplateError

    try:
        return _environment().from_string(text)
    except TemplateError as exc:
        raise TemplateFailure(_describe(exc)) from None


def render(text: str, variables: Mapping[str, Any]) -> str:
    """``text`` rendered with ``variables``, within the bounds of the module docstring."""
    if text in _exceeded:
        raise TemplateFailure(_exceeded[text])
    template = compiled(text)
    budget = _Budget()
    try:
        with _time_limit():
            pieces: list[str] = []
            size = 0
            for piece in template.generate(**variables, range=budget.range):
                size += len(piece)
                if size > MAX_OUTPUT:
                    raise _Exceeded(f"it renders more than {MAX_OUTPUT:,} characters")
                pieces.append(piece)
    except _Exceeded as exceeded:
        _exceeded[text] = str(exceeded)
        raise
    except TemplateFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a template does wrong is the template's failure
        raise TemplateFailure(_describe(exc)) from None
    return "".join(pieces)


def _describe(exc: Exception) -> str:
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    if isinstance(exc, TemplateNotFound):
        return f"it includes or imports {exc.name!r}; a template must be one file"
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.message} (line {exc.lineno})"
    if isinstance(exc, RecursionError):
        return "it recurses too deeply"
    return f"{type(exc).__name__}: {exc}" if type(exc).__module__ != "jinja2.exceptions" else str(exc)


class _time_limit:
    """Stop what runs inside after :data:`MAX_SECONDS` (only on the main thread, where signals go)."""

    def __enter__(self) -> None:
        self.armed = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, MAX_SECONDS)

    def __exit__(self, *exc_info: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    @staticmethod
    def _expire(signum: int, frame: object) -> None:
        raise _Exceeded(f"it took longer than {MAX_SECONDS:g} seconds to render")
