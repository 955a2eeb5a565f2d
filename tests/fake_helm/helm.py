"""A stand-in for the ``helm`` binary, for the tests of k8sfix's fallback to it: ``helm template``
and ``helm lint`` with the options k8sfix passes (``--namespace``, ``--values``, ``--set``), made
with Helm's own engine (helm-python-sdk) and printed as the real commands print them: each
rendered template after ``---`` and a ``# Source: <chart>/templates/<file>`` line; each lint
message as ``[INFO]``, ``[WARNING]`` or ``[ERROR]`` then ``path: message``; ``Error: ...`` and exit
code 1 on failure. The tests write an executable ``helm`` that runs this file."""

from __future__ import annotations

import sys
from typing import Any

import helm_python

SEVERITIES = {1: "INFO", 2: "WARNING", 3: "ERROR"}


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _options(arguments: list[str]) -> tuple[list[str], str, dict[str, Any]]:
    """The positional arguments, the namespace and the values of the options."""
    positional, namespace, values = [], "default", {}
    pending = iter(arguments)
    for argument in pending:
        if argument == "--namespace":
            namespace = next(pending)
        elif argument == "--values":
            with open(next(pending), encoding="utf-8") as stream:
                values = _merged(values, helm_python.values_from_yaml(stream.read()) or {})
        elif argument == "--set":
            values = _merged(values, helm_python.parse_set_string(next(pending)))
        else:
            positional.append(argument)
    return positional, namespace, values


def main() -> int:
    command, *arguments = sys.argv[1:]
    positional, namespace, values = _options(arguments)
    try:
        if command == "template":
            name, root = positional
            rendered = helm_python.Chart.load(root).render(values or None, name=name, namespace=namespace)
            for source, text in sorted(rendered.items()):
                base = source.rsplit("/", 1)[-1]
                if text.strip() and not base.startswith("_") and base != "NOTES.txt":
                    print(f"---\n# Source: {source}\n{text.strip()}")
            return 0
        if command == "lint":
            linted = helm_python.lint(positional[0], values or None)
            for message in linted.get("messages") or []:
                print(
                    f"[{SEVERITIES.get(message['severity'], 'INFO')}] {message['path']}: {message['error']}"
                )
            return 1 if linted.get("errors") else 0
    except helm_python.HelmError as problem:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    print(f"Error: unknown command {command!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
