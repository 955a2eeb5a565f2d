"""Helpers shared by the tests: run k8sfix as users do, run the pipeline on text, and count lines a
change did not intend."""

from __future__ import annotations

import concurrent.futures
import difflib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from remediate.run.config import load
from remediate.run.results import FileResult
from remediate.run.runner import Engine, process
from remediate.yaml.document import Mapping, parse
from remediate.yaml.source import Source

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Ran:
    """What a run of the command line gave: its exit code and the bytes it wrote."""

    returncode: int
    stdout: bytes
    stderr: bytes


def counted_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of workers of each process pool started from now on (pools still start)."""
    started: list[int] = []
    pool = concurrent.futures.ProcessPoolExecutor

    def counted(workers: int, **options: Any) -> concurrent.futures.ProcessPoolExecutor:
        started.append(workers)
        return pool(workers, **options)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)
    return started


MEASURED = """
import resource, runpy, sys
sys.argv = ["k8sfix", *sys.argv[1:]]
try:
    runpy.run_module("remediate", run_name="__main__")
finally:
    try:  # the peak of this process's own memory
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"max RSS {peak // 1024} MB", file=sys.stderr)
"""
"""A script that runs k8sfix with the arguments it is given, then prints its peak memory on stderr
(last line: ``max RSS <n> MB``). Linux's ``VmHWM``, not ``ru_maxrss``: a process started by a large
one (a test worker) inherits the parent's ``ru_maxrss`` across exec, which once made a run that
used 34 MB report 535 MB."""


def k8sfix(*args: str, cwd: Path, stdin: bytes | None = None, process: bool = False) -> Ran:
    """Run the command line as a user would, with ``args``, in ``cwd``.

    In this process (the command's own ``run``, with the working directory and the standard streams
    swapped), which is as real as a process for what the command does and a fraction of the cost;
    with ``process``, in a new Python process, for what only a process shows: its start-up, a run
    that could hang (a FIFO), memory, signals.
    """
    if process:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "remediate", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        return Ran(done.returncode, done.stdout, done.stderr)
    from remediate.cli.main import run

    out, err = io.BytesIO(), io.BytesIO()
    streams = (
        io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8", errors="surrogateescape"),
        io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape", newline="", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", errors="surrogateescape", newline="", write_through=True),
    )
    saved, directory = (sys.stdin, sys.stdout, sys.stderr), os.getcwd()
    try:
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = streams
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(directory)
    return Ran(code, out.getvalue(), err.getvalue())


def engine_for(
    select: list[str] | None = None, config: Path | None = None, *, unsafe: bool | None = True
) -> Engine:
    """The engine of a run: by default one that applies unsafe fixes too, as the tests of what a
    fixer does need (``unsafe=False``: a default run; None: as ``config`` says)."""
    return Engine(load(config, select=select, unsafe_fixes=unsafe))


def fix_text(
    text: str,
    select: list[str] | None = None,
    name: str = "test.yaml",
    config: Path | None = None,
    *,
    unsafe: bool | None = True,
) -> FileResult:
    """``text`` fixed (unsafe fixes too, unless ``unsafe`` says otherwise: see :func:`engine_for`)."""
    return process(engine_for(select, config, unsafe=unsafe), Source.from_text(name, text), fix=True)


def fixed_or_same(result: FileResult) -> str:
    assert result.source is not None
    return result.output if result.output is not None else result.source.text


_KEY = re.compile(r"""(?:^|[\s{,\[])(?:-\s+)?["']?([A-Za-z0-9_./-]+)["']?\s*:(?=\s|$)""")
"""A mapping key on a line of YAML or JSON: at the start, after ``- ``, ``{``, ``[`` or ``,``."""


def keys_in(line: str) -> set[str]:
    """The mapping keys a line of YAML or JSON writes (``name`` in ``- name: web``, not in
    ``namespace: prod``); comments are not looked at."""
    return set(_KEY.findall(line.split(" #", 1)[0]))


def noise_lines(old: str, new: str, keys: tuple[str, ...]) -> list[str]:
    """Lines removed or added by the change that write none of ``keys``.

    A line counts as a fix line when it writes one of the keys (as a key: ``name`` does not make
    ``namespace: prod`` a fix line), or when it writes no key at all and sits under one of them
    (``- ALL`` under ``drop:``); a line altered in place (a flow mapping that gained ``,
    imagePullPolicy: Always``) counts when what it gained writes a key. Anything else is noise.
    Whole documents appended after the last original one (a fixer that adds objects) are fix
    content when their ``kind`` is one of ``keys``; everything before them is held to the line rule.
    """
    head, appended = _split_appended(old, new)
    return _changed_lines(old, head, keys) + _appended_noise(appended, keys)


def _split_appended(old: str, new: str) -> tuple[str, str]:
    """``new`` cut where the documents after ``old``'s last one start (``""`` when there are none).

    When ``old`` ends with an empty document (a bare ``---``), the first new document fills it: the
    cut is right after that ``---`` and the blank lines after it, kept as they were."""
    before = parse(old)
    documents = parse(new)
    last = before[-1] if before else None
    if last is not None and last.explicit_start and old[last.start :].rstrip() == "---" and len(before) > 1:
        refilled = documents[len(before) - 1]
        if refilled.root.end > refilled.root.start:  # something was written into it
            cut = refilled.start + len(old) - last.start
            return new[:cut], new[cut:]
    count = len(before)
    if len(documents) <= count:
        return new, ""
    start = documents[count].start
    return new[:start], new[start:]


def _appended_noise(appended: str, kinds: tuple[str, ...]) -> list[str]:
    """The lines of appended documents whose kind is not one of ``kinds``."""
    noise = []
    for document in parse(appended):
        root = document.root
        if not (isinstance(root, Mapping) and root.str("kind") in kinds):
            noise.extend("+" + line for line in appended[document.start : document.end].splitlines())
    return noise


def _changed_lines(old: str, new: str, keys: tuple[str, ...]) -> list[str]:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    noise = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        added = new_lines[j1:j2]
        removed = old_lines[i1:i2]
        for number, line in enumerate(added, j1):
            written = keys_in(line)
            if written & set(keys) or (not written and _owner_keys(new_lines, number) & set(keys)):
                continue
            noise.append("+" + line)
        for line in removed:
            if not keys_in(line) & set(keys) and not any(
                _grew_by_fix(line, candidate, keys) for candidate in added
            ):
                noise.append("-" + line)
    return noise


def _owner_keys(lines: list[str], number: int) -> set[str]:
    """The keys of the line a line without one of its own belongs to: the nearest line above that
    is indented less (or as much, for the items of a list written flush with its key)."""
    line = lines[number]
    indent = len(line) - len(line.lstrip(" "))
    item = line.lstrip(" ").startswith("-")
    for above in reversed(lines[:number]):
        depth = len(above) - len(above.lstrip(" "))
        written = keys_in(above)
        if written and (
            depth < indent or (item and depth == indent and not above.lstrip(" ").startswith("-"))
        ):
            return written
        if depth < indent and above.strip():
            return set()
    return set()


def _grew_by_fix(old: str, new: str, keys: tuple[str, ...]) -> bool:
    """True when ``new`` is ``old`` with inserted or replaced text that mentions a key."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    inserted = new[prefix : len(new) - suffix]
    return bool(keys_in(" " + inserted.lstrip(", ")) & set(keys))


WEB_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
"""
"""A Deployment ``web`` selecting ``app: web``, for the kustomize trees of the tests."""


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path below ``root``: text) under ``root``, as a repository: with a ``.git``
    directory, so that k8sfix looks no higher for kustomizations or charts."""
    (root / ".git").mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root
