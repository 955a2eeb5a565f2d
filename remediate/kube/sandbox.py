"""Render a jinja2 template that came with a repository, within bounds.

A ``.k8sfix.yaml`` committed to a repository can name a template of its own (network-policy's
``template``), and the repository is untrusted input: its template must not hang or exhaust the
run of whoever uses k8sfix, e.g. in a pre-commit hook. jinja2's sandbox already keeps a template
from reaching Python's internals and refuses a single ``range`` over 100,000 items; on top of it:

- every ``range`` of one rendering counts against :data:`MAX_ITEMS` items in all (nested loops
  multiply), and ``*`` and ``**`` refuse results larger than :data:`MAX_OUTPUT` characters or
  exponents beyond :data:`MAX_EXPONENT`;
- no filter, function or method gets a number above :data:`MAX_OUTPUT` (``center(3000000000)``),
  nor a format string with such a width (``"%03000000000d"``): they would allocate it first;
- compiling does not evaluate the template's constant parts (jinja2's optimizer would, and could
  run for ever doing it), and a rendering, or compiling, longer than :data:`MAX_SECONDS` is stopped
  (a timer signal, where the caller runs on a process's main thread, as k8sfix's workers do), as
  is a template once its renderings took :data:`MAX_TOTAL_SECONDS` in all;
- its output is cut off past :data:`MAX_OUTPUT` characters;
- ``{% include %}``, ``{% import %}`` and ``{% extends %}`` find nothing: a template is one file.

A template that once went past a bound is not rendered again in that process: the next object
gets the same failure at once, so a template that loops forever costs one time limit, not one per
object. Every failure, jinja2's own or one of these, is a :class:`TemplateFailure` whose message
says what went wrong, never a Python exception from inside the engine.
"""

from __future__ import annotations

import functools
import re
import signal
import threading
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

MAX_ITEMS = 100_000
"""``range`` items one rendering may go through, all loops together."""
MAX_OUTPUT = 1_000_000
"""Characters a rendering (or one ``*`` of a string or list) may produce."""
MAX_EXPONENT = 1_000
MAX_SECONDS = 5.0
MAX_TOTAL_SECONDS = 20.0
"""What one template's renderings may take in one process, all objects together."""

_WIDTH = re.compile(r"\d{7,}")
"""A number of seven digits or more in a format string: a width or precision of a million."""


class TemplateFailure(Exception):
    """A template that does not compile or render; the message says why."""


class _Exceeded(TemplateFailure):
    """A template that went past a bound of the module docstring."""


_exceeded: dict[str, str] = {}
"""Templates that went past a bound, and how (see the module docstring)."""
_spent: dict[str, float] = {}
"""Seconds each template's renderings took so far in this process."""


def forget() -> None:
    """Start the bounds afresh: the next run gives every template its whole time budget again."""
    _exceeded.clear()
    _spent.clear()


def _check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT:
            raise _Exceeded(f"a number above {MAX_OUTPUT:,} given to a filter, function or method")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _WIDTH.search(text):
        raise _Exceeded(f"a format string with a width or precision of {MAX_OUTPUT:,} or more")


def _guarded(function: Any) -> Any:
    """A filter that refuses the arguments :func:`_check_arguments` refuses (jinja2's own marks,
    such as ``pass_context``, are kept by ``functools.wraps``)."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        return function(*args, **kwargs)

    return guarded


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
        intercepted_binops = frozenset({"*", "**", "%"})

        def call(self, context: Any, function: Any, /, *args: Any, **kwargs: Any) -> Any:
            _check_arguments(args, kwargs)
            method = getattr(function, "__wrapped__", function)  # the sandbox wraps str.format
            if getattr(method, "__name__", "") in ("format", "format_map"):
                _check_format(getattr(method, "__self__", None))
            return super().call(context, function, *args, **kwargs)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise _Exceeded(f"an exponent above {MAX_EXPONENT}")
            if operator == "%":
                _check_format(left)
            if operator == "*":
                for sized, count in ((left, right), (right, left)):
                    if (
                        isinstance(sized, (str, list, tuple))
                        and isinstance(count, int)
                        and len(sized) * count > MAX_OUTPUT
                    ):
                        raise _Exceeded(f"a value longer than {MAX_OUTPUT:,} characters")
            return super().call_binop(context, operator, left, right)

    environment = Bounded(
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        optimized=False,  # no constant folding at compile time: it runs the template's code unbounded
        loader=FunctionLoader(lambda name: None),  # include, import and extends find nothing
    )
    environment.filters = {name: _guarded(function) for name, function in environment.filters.items()}
    return environment


@cache
def compiled(text: str) -> Any:
    """A template compiled once per process; jinja2 is imported only when one is used."""
    try:
        with _time_limit():
            return _environment().from_string(text)
    except TemplateFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - a template that cannot compile, however it fails, is the template's failure
        raise TemplateFailure(_describe(exc)) from None


def render(text: str, variables: Mapping[str, Any]) -> str:
    """``text`` rendered with ``variables``, within the bounds of the module docstring."""
    if text in _exceeded:
        raise TemplateFailure(_exceeded[text])
    template = compiled(text)
    budget = _Budget()
    started = time.monotonic()
    try:
        if _spent.get(text, 0.0) > MAX_TOTAL_SECONDS:
            raise _Exceeded(f"its renderings took more than {MAX_TOTAL_SECONDS:g} seconds in all")
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
    finally:
        _spent[text] = _spent.get(text, 0.0) + time.monotonic() - started
    return "".join(pieces)


def _describe(exc: Exception) -> str:
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    if isinstance(exc, TemplateNotFound):
        return f"it includes or imports {exc.name!r}; a template must be one file"
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.message} (line {exc.lineno})"
    if isinstance(
        exc, (RecursionError, SyntaxError, MemoryError)
    ):  # Python's own limits, compiling or running
        return "it nests or recurses too deeply, or is too large"
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
