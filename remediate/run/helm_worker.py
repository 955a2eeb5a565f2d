"""The process that renders charts with the helm-python-sdk (``python -m remediate.run.helm_worker``).

Helm's template engine runs Go code in-process, and a chart is untrusted input: a template can loop
for as long as it likes, and nothing in Helm stops it. So k8sfix never renders in its own process:
it starts this worker once per run (when it meets a chart), sends it one request per line on stdin
and reads one answer per line on stdout, and kills it when an answer takes too long
(:class:`remediate.run.charts.Worker`).

A request is a JSON object: ``root`` (the chart's directory), ``defaults`` (values over the
chart's ``values.yaml``, or null), ``values_files``, ``overrides`` (values over those files, or
null: a values file k8sfix is writing), ``set_values``, ``name``, ``namespace`` and
``lint`` (true: ``helm lint`` the chart with the same values too). The answer is ``{"templates":
{path: text}, "lint": [problem, ...]}`` or ``{"error": message}`` (Helm's own). A lint problem is
a warning or an error of ``helm lint`` (``path: message``); its notes (``icon is recommended``)
are left out.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, mappings merged key by key (as Helm merges values files)."""
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Render one request (see the module docstring)."""
    import helm_python

    try:
        chart = helm_python.Chart.load(request["root"])
        values: dict[str, Any] = dict(request.get("defaults") or {})
        for path in request.get("values_files") or []:
            with open(path, encoding="utf-8") as stream:
                values = merged(values, helm_python.values_from_yaml(stream.read()) or {})
        values = merged(values, request.get("overrides") or {})
        for assignment in request.get("set_values") or []:
            values = merged(values, helm_python.parse_set_string(assignment))
        rendered = chart.render(values or None, name=request["name"], namespace=request["namespace"])
        answered: dict[str, Any] = {"templates": dict(rendered)}
        if request.get("lint"):
            answered["lint"] = _lint_problems(helm_python.lint(request["root"], values or None))
        return answered
    except OSError as exc:
        return {"error": f"cannot read: {exc.strerror}"}
    except helm_python.HelmError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a values file that is not UTF-8, say: the answer says why
        return {"error": f"{type(exc).__name__}: {exc}"}


LINT_WARNING = 2
"""The severity of a ``helm lint`` warning (1 is a note, 3 an error)."""


def _lint_problems(linted: dict[str, Any]) -> list[str]:
    """The warnings and errors of a ``helm_python.lint`` answer, as ``path: message`` texts."""
    problems = [
        f"{message.get('path', '')}: {message.get('error', '')}"
        for message in linted.get("messages") or []
        if int(message.get("severity", 0)) >= LINT_WARNING
    ]
    return problems + [str(error) for error in linted.get("errors") or []]


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when k8sfix ends (Ctrl-C while Go code runs)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def main() -> None:
    _die_with_parent()
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
