"""Every real manifest of ``tests/corpus`` (see its SOURCES.tsv for origin and licence), fixed by
each fixer alone and by all of them: no crash, every output parses, no line changes that is not a
fix line, and a second run changes nothing. The figures are printed (``pytest -s`` shows them).

The corpus is fixed once per selection of fixers and test run (:func:`fixed_corpus`): the trust,
schema, security-context and resources tests read the same results. Tests that share one are in
one ``xdist_group``, so that parallel runs fix it once too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from remediate.run import runner
from remediate.run.config import load
from remediate.run.registry import all_fixers
from remediate.run.results import FileResult, Status
from remediate.run.runner import Engine, decode, process
from remediate.yaml.document import Document, parse
from remediate.yaml.source import InputError, Source
from remediate.yaml.values import to_data
from tests import helpers
from tests.conftest import CORPUS
from tests.fidelity import nodes
from tests.helpers import noise_lines

KNOWN_INVALID = {
    # A kube-linter test fixture with two apiVersion keys in one object: reported, never guessed at.
    "stackrox__kube-linter/tests__checks__cel.yml": "duplicate key",
}


@cache
def corpus_sources() -> tuple[Source, ...]:
    paths = sorted(p for p in (CORPUS / "dev").rglob("*") if p.is_file())
    sources = []
    for path in paths:
        source = decode(str(path.relative_to(CORPUS / "dev")), path.read_bytes())
        assert isinstance(source, Source), source
        sources.append(source)
    return tuple(sources)


ALL = tuple(fixer.id for fixer in all_fixers())


def fixed_corpus(
    select: tuple[str, ...], unsafe: bool = True, config: Path | None = None
) -> tuple[tuple[Source, FileResult], ...]:
    """Every corpus file with its result, fixed by the fixers ``select``, once per test run; with
    ``unsafe``, unsafe fixes are applied too (the fixers' whole output, which the trust tests hold
    to account), else only the safe ones (a default run); with ``config``, the options of that
    config file. (``functools.cache`` keys the arguments as written, so ``fixed_corpus(ALL)`` and
    ``fixed_corpus(ALL, True)`` would fix the corpus twice: the cached function takes every
    argument always.)"""
    return _fixed_corpus(select, unsafe, config)


@cache
def _fixed_corpus(
    select: tuple[str, ...], unsafe: bool, config: Path | None
) -> tuple[tuple[Source, FileResult], ...]:
    engine = Engine(load(config, select=list(select), unsafe_fixes=unsafe))
    started = time.perf_counter()
    with parsing_once():
        results = tuple((source, process(engine, source, fix=True)) for source in corpus_sources())
    if config is None:
        FIX_SECONDS[select, unsafe] = time.perf_counter() - started
    return results


@contextmanager
def parsing_once() -> Iterator[Callable[[str], list[Document]]]:
    """Within, a text is parsed once by the run's file reader (:func:`remediate.run.runner.process`),
    the noise check and the parse it gives: a corpus file once per test run
    (:func:`corpus_documents`), what the block parses once in it (an output, read again by the
    noise check and by the second run). A parse is a function of the text, and its documents are
    never changed, only read: the fixes are made to the text and parsed anew (a fix's verification
    parses on its own)."""
    known = dict(corpus_documents())

    def parse_once(text: str) -> list[Document]:
        documents = known.get(text)
        if documents is None:
            documents = known[text] = tuple(parse(text))
        return list(documents)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "parse", parse_once)
        patch.setattr(helpers, "parse", parse_once)
        yield parse_once


@cache
def corpus_documents() -> dict[str, tuple[Document, ...]]:
    """The documents of each corpus file that parses, by its text, parsed once per test run: each
    selection of :func:`fixed_corpus` starts from them (parsing is a sixth of a run of every fixer
    and nearly half of a run of one; see :func:`parsing_once`)."""
    parsed = {}
    for source in corpus_sources():
        try:
            parsed[source.text] = tuple(parse(source.text))
        except InputError:
            continue
    return parsed


FIX_SECONDS: dict[tuple[tuple[str, ...], bool], float] = {}
"""How long :func:`fixed_corpus` took for each selection (the figures print it)."""


def run_corpus(select: list[str]) -> dict[str, int]:
    engine = Engine(load(None, select=select, unsafe_fixes=True))
    writes = tuple(key for fixer in all_fixers() if fixer.id in select for key in fixer.writes)
    figures = {"files": 0, "documents": 0, "changed": 0, "failed": 0, "noise": 0, "findings": 0, "fixed": 0}
    problems: list[str] = []
    started = time.perf_counter()
    fixed = fixed_corpus(tuple(select))
    with parsing_once():
        _check_fixed(engine, fixed, writes, figures, problems)
    figures["milliseconds"] = round((time.perf_counter() - started) * 1000)
    print(f"\ncorpus with {','.join(select)}: {figures}")
    assert not problems, "\n".join(problems[:20])
    return figures


def _check_fixed(
    engine: Engine,
    fixed: tuple[tuple[Source, FileResult], ...],
    writes: tuple[str, ...],
    figures: dict[str, int],
    problems: list[str],
) -> None:
    """Count the results ``fixed`` into ``figures``, and what is wrong with them into ``problems``:
    an unexpected failure, an output that does not parse, noise, a second run that changes it."""
    for source, result in fixed:
        figures["files"] += 1
        figures["documents"] += result.documents
        figures["findings"] += len(result.findings)
        figures["fixed"] += len(result.findings) - len(result.unfixed)
        if result.status is Status.FAILED:
            figures["failed"] += 1
            expected = KNOWN_INVALID.get(source.name)
            if not expected or expected not in result.errors[0].message:
                problems.append(f"{source.name}: {result.errors}")
            continue
        if result.output is None:
            continue
        figures["changed"] += 1
        parse(result.output)  # raises if the output does not parse
        noise = noise_lines(source.text, result.output, writes)
        figures["noise"] += len(noise)
        problems.extend(f"{source.name}: noise {line!r}" for line in noise[:3])
        again = process(engine, source.with_text(result.output), fix=True)
        if again.output is not None:
            problems.append(f"{source.name}: a second run changed it again")


@pytest.mark.parametrize(
    "fixer", [pytest.param(f.id, marks=pytest.mark.xdist_group(f"corpus-{f.id}")) for f in all_fixers()]
)
def test_corpus_each_fixer(fixer: str) -> None:
    figures = run_corpus([fixer])
    assert figures["files"] == len(corpus_sources()) > 1000
    assert figures["noise"] == 0


@pytest.mark.xdist_group("corpus-all")
def test_corpus_all_fixers() -> None:
    figures = run_corpus(list(ALL))
    assert figures["noise"] == 0
    assert figures["failed"] == len(KNOWN_INVALID)


@pytest.mark.xdist_group("corpus-all")
def test_the_documents_every_selection_starts_from_are_left_as_parsed() -> None:
    """Fixing the corpus with every fixer changes none of the documents it started from (what
    :func:`corpus_documents` relies on), checked on every tenth file: their plain data and every
    node's place are what a new parse gives."""
    fixed_corpus(ALL)
    for text, kept in list(corpus_documents().items())[::10]:
        assert _places(list(kept)) == _places(parse(text))


def _places(documents: list[Document]) -> list[tuple[Any, ...]]:
    """Each document's offsets and plain data, and every node's offsets, line, column and path."""
    return [(d.start, d.end, repr(to_data(d.root))) for d in documents] + [
        (doc, node.start, node.end, node.line, node.column, node.path()) for doc, node in nodes(documents)
    ]


def test_corpus_has_its_licence_notes() -> None:
    rows = [row.split("\t") for row in (CORPUS / "SOURCES.tsv").read_text().splitlines()]
    assert rows[0] == ["repo", "commit", "path", "license"]
    listed = {f"{repo.replace('/', '__')}/{path.replace('/', '__')}" for repo, _, path, _ in rows[1:]}
    assert listed == {source.name for source in corpus_sources()}
