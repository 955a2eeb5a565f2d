"""Documents that fixes add to other files, written once every file of the run is processed.

A fix normally changes only the file it was found in. One kind adds whole documents to another
file: with network-policy's ``policy-file`` option, the new NetworkPolicies of a directory go to
one file there (created when missing) instead of the end of each workload's file. Files are fixed
in parallel and two of them may add to the same file, so a worker never writes such a file: each
result carries its :class:`~remediate.yaml.model.NewDocument` values, and :func:`deliver` then adds
them, file by file, in the order of the run.

The file is held to the same promises as any fix: documents are appended by splicing (nothing
already there changes, comments included), the result is verified, and it is written atomically
and only if it is still what was read (or, for a new file, if no file of that name appeared). It
must stay inside the directory it serves once links are resolved, and be a regular file (or
missing): a committed link from ``network-policies.yaml`` to ``/dev/null`` or to a file outside the
repository is refused, not written through.
A policy file that is also an input of the run is fixed like any other first; what it gets here
comes on top, in the same write and the same diff.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from remediate.kube.k8s import manifests
from remediate.run import files
from remediate.run.results import FileResult, Problem, Status
from remediate.run.runner import decode, write_result
from remediate.yaml import apply as applying
from remediate.yaml import layout
from remediate.yaml.document import Scalar, parse
from remediate.yaml.edits import Editor, Uneditable
from remediate.yaml.model import Fix, NewDocument
from remediate.yaml.source import InputError, Source, read_regular
from remediate.yaml.verify import VerificationError, verify


class Held(NamedTuple):
    """A result of the run whose file may receive documents: it is written here, not by the worker."""

    result: FileResult
    original: bytes
    """The bytes read at the start of the run (the changed-on-disk check compares them)."""


def forget() -> None:
    """Drop the real paths found: the next run resolves links as they are then."""
    key.cache_clear()


@cache
def key(path: str) -> str:
    """How files are matched up across the run: by their real path, whatever name reached them."""
    return os.path.realpath(path)


def deliver(
    results: Iterable[FileResult], held: dict[str, Held], within: dict[str, str], *, write: bool
) -> tuple[list[FileResult], set[str]]:
    """Add the documents the ``results`` carry to their files, and write them (with ``write``).

    ``held`` maps :func:`key` of input files that may receive documents to their results; each
    comes back, with what it received. Files that are not inputs are read here, or created.
    ``within`` maps each receiving file to the directory it must stay inside. Also returned: the
    :func:`key` of each file that did not get its documents (the findings they fix stay unfixed).
    """
    wanted: dict[str, tuple[str, list[NewDocument]]] = {}
    for result in results:
        for new in result.adds:
            wanted.setdefault(key(new.file), (os.path.normpath(new.file), []))[1].append(new)
    delivered: list[FileResult] = []
    refused: set[str] = set()
    for file, (path, documents) in wanted.items():
        result, added = _finish(path, documents, held.pop(file, None), within.get(path), write)
        delivered.append(result)
        if not added:
            refused.add(file)
    for entry in held.values():  # inputs that received nothing, written as the worker would have
        delivered.append(write_result(entry.result, entry.original) if write else entry.result)
    return delivered, refused


def unfixed(result: FileResult, refused: set[str]) -> FileResult:
    """``result`` without counting as fixed the findings whose documents a refused file did not get."""
    if not refused:
        return result
    failed = {
        f.identity
        for f in result.findings
        if f.fix is not None and any(key(new.file) in refused for new in f.fix.adds)
    }
    return result._replace(fixed=result.fixed - failed) if failed else result


def _finish(
    path: str, documents: list[NewDocument], held: Held | None, directory: str | None, write: bool
) -> tuple[FileResult, bool]:
    """One file: its result with the documents appended, written when asked; and whether it got them."""
    if directory is not None and not files.inside(path, directory):
        problem = _not_added(documents, f"it resolves to {os.path.realpath(path)}, outside {directory}")
        return FileResult(path, Status.FAILED, errors=(problem,)), False
    if held is None:
        opened = _open(path)
        if isinstance(opened, FileResult):
            return opened._replace(
                errors=tuple(_not_added(documents, p.message) for p in opened.errors)
            ), False
        base, original = opened
    else:
        base, original = held.result, held.original
    if base.status is Status.SKIPPED and base.source is not None and _holds_nothing(base.source):
        base = base._replace(status=Status.UNCHANGED, skip_reason=None)  # comments only: room for policies
    if base.source is None or base.status in (Status.FAILED, Status.SKIPPED):
        why = f"the file was {base.status.value}" + (f" ({base.skip_reason})" if base.skip_reason else "")
        return base._replace(status=Status.FAILED, errors=base.errors + (_not_added(documents, why),)), False
    text = base.output if base.output is not None else base.source.text
    try:
        text = _append(base.source.with_text(text), documents)
    except (InputError, Uneditable, VerificationError) as exc:  # its own fixes still stand
        why = getattr(exc, "message", None) or str(exc)
        return base._replace(status=Status.FAILED, errors=base.errors + (_not_added(documents, why),)), False
    output = text if text != base.source.text else None
    base = base._replace(status=Status.CHANGED if output is not None else base.status, output=output)
    if not write:
        return base, True
    done = write_result(base, original)
    return done, done.status is not Status.FAILED or base.status is Status.FAILED


def _holds_nothing(source: Source) -> bool:
    """True for a file of comments, blank lines and empty documents only."""
    try:
        documents = parse(source.text)
    except InputError:
        return False
    return all(isinstance(d.root, Scalar) and d.root.is_null for d in documents)


def _open(path: str) -> tuple[FileResult, bytes | None] | FileResult:
    """A file beside the inputs, as a result to build on; a missing file is a new, empty one."""
    if os.path.islink(path) and not os.path.exists(path):  # a link to nowhere: creating would follow it
        return FileResult(
            path, Status.FAILED, errors=(Problem("cannot read: a symbolic link to a missing file"),)
        )
    try:
        data, _ = read_regular(path)
    except FileNotFoundError:
        return FileResult(path, Status.UNCHANGED, Source(path, ""), created=True), None
    except OSError as exc:
        return FileResult(path, Status.FAILED, errors=(Problem(f"cannot read: {exc.strerror}"),))
    source = decode(path, data)
    if isinstance(source, FileResult):
        return source
    return FileResult(path, Status.UNCHANGED, source), data


def _append(source: Source, documents: list[NewDocument]) -> str:
    """The text with the documents appended, each once and none the file already has by name."""
    current = parse(source.text)
    present = {(m.kind, m.namespace or "default", m.name) for m in manifests(current)}
    unique: dict[tuple, NewDocument] = {}
    for new in documents:
        metadata = new.value.get("metadata") or {}
        key = (new.value.get("kind"), metadata.get("namespace") or "default", metadata.get("name"))
        if key not in present:
            unique.setdefault(key, new)
    if not unique:
        return source.text
    detected = layout.detect(current, json=False, newline=source.newline)
    editor = Editor(source.text, detected, current)
    change = editor.append_documents([(new.value, new.comment) for new in unique.values()])
    fix = Fix("add documents", change.edits, change.touches)
    text = applying.apply(source.text, [fix])
    verify(current, text, [fix])
    return text


def _not_added(documents: list[NewDocument], why: str) -> Problem:
    names = ", ".join(dict.fromkeys(str((d.value.get("metadata") or {}).get("name")) for d in documents))
    return Problem(f"{names} not added: {why}")
