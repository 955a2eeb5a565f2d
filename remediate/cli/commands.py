"""What the command line does, apart from parsing it: run over files, list and explain fixers."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shutil
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from remediate.cli.exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from remediate.kube import kustomize, sandbox, skips, validation
from remediate.kube.findings import Finding
from remediate.kube.fixer import SetupProblem
from remediate.kube.index import (
    IndexedObject,
    Later,
    RunIndex,
    default_namespace,
    kustomization_entry,
    summarize,
)
from remediate.output import formats, report
from remediate.run import (
    bulk,
    charts,
    context_cache,
    cycles,
    delivery,
    files,
    registry,
    verdict_cache,
)
from remediate.run import config as configuration
from remediate.run import staged as staged_files
from remediate.run.results import FileResult, Problem, Status
from remediate.run.runner import Engine, Scope, decode, process, write_result
from remediate.yaml.document import parse_leading
from remediate.yaml.source import MAX_BYTES, InputError, Source, TooLarge, read_regular

if typing.TYPE_CHECKING:
    from remediate.run import chart_values


class RunOptions(typing.NamedTuple):
    paths: list[str]
    diff: bool = False
    write: bool = False
    select: list[str] | None = None
    ignore: list[str] | None = None
    config: str | None = None
    output_format: str = "text"
    """How findings are printed: text, json, sarif or github (see :mod:`remediate.output.formats`)."""
    stdin_filename: str | None = None
    quiet: bool = False
    verbose: bool = False
    """With ``--write``, print the fixed findings too (by default only what is left for a human)."""
    force_exclude: bool = False
    """Apply the excludes to the paths named too (pre-commit names each staged file)."""
    context_staged: bool = False
    """Consult the repository's manifests as git's index holds them (:mod:`remediate.run.staged`)."""
    cache: bool = True
    """Keep the index entries of context files between runs (:mod:`remediate.run.context_cache`)."""
    context: tuple[str, ...] = ()
    namespace: str | None = None
    values_files: tuple[str, ...] = ()
    """Helm values files to render charts with (:mod:`remediate.run.charts`)."""
    set_values: tuple[str, ...] = ()
    """Helm ``--set`` values to render charts with."""
    values_out: str | None = None
    """A values file to write a chart's values fixes to, the chart left as it is."""
    kubernetes_version: str | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    jobs: int | None = None
    """Worker processes; None: one per CPU."""
    report: str | None = None
    """Where to write the JSON run report (:mod:`remediate.output.run_report`)."""
    report_html: str | None = None
    """Where to write the HTML or Markdown migration report (:mod:`remediate.output.migration_report`)."""
    validate: bool = False
    """Report schema findings (:mod:`remediate.kube.validation`); fixes are schema-checked regardless."""
    strict: bool = False
    schema_dir: str | None = None
    unsafe_fixes: bool | None = None
    """Apply unsafe fixes too (None: as the config says; :mod:`remediate.run.applicability`). The
    run replaces None with what the config decided, so reports record what was done."""

    @property
    def fixing(self) -> bool:
        return self.diff or self.write


@dataclass(slots=True)
class Input:
    """A file named or found on the command line: its bytes, or why it cannot be read. A file on disk
    is read by the process that works on it (:attr:`unread`), in each pass that needs it: the index
    pass and the fixing pass may each read it, and fixes are written only over what the fixing pass
    read (:func:`remediate.run.files.write_atomic`)."""

    path: str
    name: str
    data: bytes | None = None
    error: str | None = None
    skip: str | None = None
    identity: tuple[int, int] | None = None
    """The file's ``(device, inode)``: a file reached by two names is read once."""
    status: files.Status | None = None
    """For a file not read yet: its status when it was listed, which tells the context cache
    whether the blob id it kept for the file still holds."""
    template: str | None = None
    """For a template of a Helm chart: its text (``data`` is what Helm rendered of it), which the
    findings' lines are shown in; the file is checked, never written."""
    result: FileResult | None = None
    """A result made already (a chart's fixed ``values.yaml``): shown, and written with ``--write``."""
    moved: frozenset[tuple] = frozenset()
    """For a template: the findings reported at the chart's values instead (their fixes go there)."""
    routable: Mapping[tuple, str] | None = None
    """For a template: the findings whose fixes a value controls, with its key (see
    :func:`charts.in_template`)."""
    unproven: Mapping[tuple, str] | None = None
    """For a template: the findings whose fixes a value controls but did not prove, with why."""
    edit: charts.TemplateEdit | None = None
    """For a template: the proven edit of its own text, for fixes no value controls."""
    staged: staged_files.StagedFile | None = None
    """For a staged manifest consulted (``--context-staged``): where git keeps it; ``data`` is
    read from there only when the context cache has no entries for it."""
    unread: bool = False
    """A file on disk not read yet: the process that works on it reads it (:func:`_loaded`), so
    that a run does not hold every file's bytes, nor send them to its workers."""


def _error(message: str) -> None:
    print(message, file=sys.stderr)


def _forget_earlier_runs() -> None:
    """A run reads the files as they are when it starts: what an earlier run in this process read
    (kustomizations, charts, links) or spent (template time budgets) does not carry over."""
    kustomize.forget()
    skips.forget()
    charts.forget()
    sandbox.forget()
    delivery.forget()


class Stop(Exception):
    """A reason the run cannot start; the message is the whole error line."""


def run(options: RunOptions) -> int:
    """Process every path; print findings, diffs and errors; return the exit code."""
    with cycles.tuned():
        return _run(options)


def _run(options: RunOptions) -> int:
    _forget_earlier_runs()
    verdicts = verdict_cache.open_cache(options.cache)
    try:
        engine = _engine(options, verdicts=verdicts)
    except Stop as stop:
        _error(str(stop))
        return EXIT_ERROR
    options = options._replace(unsafe_fixes=engine.settings.fix_policy.unsafe_fixes)
    problem = files.bad_glob(options.include, options.exclude)
    if problem:
        _error(f"k8sfix: error: {problem}")
        return EXIT_ERROR
    jobs = 1 if "-" in options.paths else options.jobs or bulk.default_jobs()
    with cycles.paused():
        in_context = list(files.expand(options.context)) if options.context else []
    expanded = files.expand(
        options.paths,
        options.include,
        options.exclude,
        _project_excludes(engine.settings, replaced=options.exclude is not None),
        force_exclude=options.force_exclude,
    )
    try:
        expanded_list = list(expanded)
        engines = _engines(options, engine, [c.path for c in expanded_list if c.error is None])
        candidates = _patches_listed_elsewhere(_nested_excludes(expanded_list, options, engines), in_context)
        _warn_of_empty_directories(options.paths, candidates)
        candidates, rendered = _charts(candidates, options, engine, jobs)
        inputs = [_read(candidate, options, now=False) for candidate in candidates] + rendered
        _engines(options, engine, [item.path for item in inputs if item.result is None], engines)
    except Stop as stop:
        _error(str(stop))
        return EXIT_ERROR
    needs_index = any(each.needs_index for each in (engine, *engines.by_config.values()))
    receiving = engine.receiving_files([item.name for item in inputs])  # stdin: by its --stdin-filename
    try:
        with cycles.paused():
            staged = _staged_context(inputs, in_context) if options.context_staged and needs_index else []
    except staged_files.NotARepository as problem:
        _error(f"k8sfix: error: --context-staged: {problem}")
        return EXIT_ERROR
    index = (
        _index(engine, options, inputs, in_context, receiving, jobs, staged) if needs_index else RunIndex()
    )
    many = len(inputs) >= cycles.SETTLE_FROM
    with cycles.settled() if many else contextlib.nullcontext():  # what is held from now on: kept
        return _check(options, engines, index, inputs, receiving, jobs, verdicts)


def _check(
    options: RunOptions,
    engines: Engines,
    index: RunIndex,
    inputs: list[Input],
    receiving: dict[str, str],
    jobs: int,
    verdicts: validation.Verdicts,
) -> int:
    """Check (and fix) every input against ``index``; print what is found; return the exit code."""
    exit_code = EXIT_CLEAN
    for path in options.context:  # a typo would hide the policies and Services it should show
        if not os.path.exists(path):
            _error(f"{path}:1:1: error: --context: no such file or directory")
            exit_code = EXIT_ERROR
    results: list[FileResult] = []  # kept only for what needs them all: a document, a report
    keep = options.output_format != "text" or bool(options.report or options.report_html)
    tally = report.Tally()
    for result in _results(engines, options, index, inputs, receiving, jobs):
        if keep:
            results.append(result)
        tally.add(result)
        exit_code = max(exit_code, _show(result, options))
    if options.output_format != "text":
        document = formats.render(
            options.output_format,
            results,
            fixing=options.fixing,
            written=options.write,
            unsafe=bool(options.unsafe_fixes),
        )
        print(document, end="" if document.endswith("\n") else "\n", file=_findings_stream(options))
    exit_code = max(exit_code, _write_reports(results, options))
    if isinstance(verdicts, verdict_cache.VerdictCache):
        verdicts.save()
    if not options.quiet:
        unsafe = bool(options.unsafe_fixes)
        _error(report.summary(tally, fixing=options.fixing, dry_run=options.diff, unsafe=unsafe))
    return exit_code


@dataclass
class Engines:
    """The engine of each config the run's files are under: a file's settings come from the
    nearest ``.k8sfix.yaml`` in its directory or above (as ruff and black find theirs), unless
    ``--config`` names one for all. ``main`` (``--config``'s, or the current directory's) is the
    engine of the run as a whole: which files are read, the index, charts, policy files."""

    main: Engine
    by_config: dict[str | None, Engine] = dataclasses.field(default_factory=dict)
    """The engines of the other configs (None: files with no config above them)."""
    config_of: dict[str, str | None] = dataclasses.field(default_factory=dict)
    """The nearest config of each directory that holds an input (None: none)."""

    def for_path(self, path: str) -> Engine:
        if path == "-" or not self.by_config:
            return self.main
        directory = os.path.dirname(os.path.abspath(path))
        if directory not in self.config_of:
            return self.main
        return self.by_config.get(self.config_of[directory], self.main)


def _engines(
    options: RunOptions, main: Engine, paths: typing.Iterable[str], engines: Engines | None = None
) -> Engines:
    """The engines of the configs nearest to ``paths`` (see :class:`Engines`), added to
    ``engines`` when given; :class:`Stop` when one cannot be used (its error names it)."""
    engines = engines or Engines(main)
    if options.config is not None:
        return engines
    found = configuration.find_config(Path(os.getcwd()))
    main_config = str(found) if found is not None else None
    for path in paths:
        if path == "-":
            continue
        directory = os.path.dirname(os.path.abspath(path))
        if directory in engines.config_of:
            continue
        nearest = configuration.find_config(Path(directory))
        config = str(nearest) if nearest is not None else None
        engines.config_of[directory] = config
        if config != main_config and config not in engines.by_config:
            engines.by_config[config] = _engine(options, Path(config) if config else None, main.verdicts)
    return engines


def _nested_excludes(
    candidates: list[files.Candidate], options: RunOptions, engines: Engines
) -> list[files.Candidate]:
    """The candidates without those that the ``exclude`` or ``extend-exclude`` of their own nearest
    config (one below the run's, :class:`Engines`) leaves out, relative to that config's directory,
    as ruff applies each configuration to the files under it. A file named on the command line is
    left out only with ``--force-exclude``, as with the run's own config."""
    named = {os.path.abspath(path) for path in options.paths}
    kept = []
    for candidate in candidates:
        engine = engines.for_path(candidate.path)
        if engine is not engines.main and candidate.error is None:
            project = _project_excludes(engine.settings, replaced=options.exclude is not None)
            explicit = os.path.abspath(candidate.path) in named and not options.force_exclude
            if project is not None and not explicit and project.match(candidate.path, is_dir=False):
                continue
        kept.append(candidate)
    return kept


_DISCOVER = Path("")
"""The config :func:`_engine` looks for: the nearest one above the current directory."""


def _engine(
    options: RunOptions, config: Path | None = _DISCOVER, verdicts: validation.Verdicts | None = None
) -> Engine:
    """The fixers of the run, from the config and the command line; :class:`Stop` when they cannot
    run. ``config``: the file to read (None: none; default: ``--config``, else the nearest one);
    ``verdicts``: the schema guard's passes, shared by the run's engines."""
    try:
        settings = configuration.load(
            configuration.discover(options.config) if config is _DISCOVER else config,
            select=options.select,
            ignore=options.ignore,
            kubernetes_version=options.kubernetes_version,
            unsafe_fixes=options.unsafe_fixes,
        )
    except configuration.ConfigError as exc:
        raise Stop(str(exc)) from None
    validate = settings.schema if settings.schema is not None else options.validate
    if not settings.enabled and not validate and settings.unknown_ignores is not True:
        raise Stop(
            "k8sfix: error: no fixer is selected (--select, --ignore and the config leave none), so nothing "
            "would be checked; k8sfix --list-fixers shows them"
        )
    schema = validation.SchemaCheck(validate, options.strict, options.schema_dir)
    problem = validation.setup_error(settings.kubernetes_version, schema)
    if problem:
        raise Stop(f"k8sfix: error: {problem}")
    try:
        return Engine(settings, schema, verdicts or validation.Verdicts())
    except SetupProblem as unusable:
        key = f"fixers.{unusable.fixer}.{unusable.option}"
        line, column = (settings.positions or {}).get(key, (1, 1))
        where = f"{settings.path or configuration.CONFIG_NAME}:{line}:{column}"
        raise Stop(f"{where}: error: {key}: {unusable}") from None


def _index(
    engine: Engine,
    options: RunOptions,
    inputs: list[Input],
    in_context: list[files.Candidate],
    receiving: dict[str, str],
    jobs: int,
    staged: list[Input] | None = None,
) -> RunIndex:
    """The index of every input, ``--context`` file (or staged manifest) and policy file of the
    run, each file once."""
    seen = {item.identity for item in inputs if item.identity is not None}
    context: list[Input] = []
    beside = [
        files.named(path)
        for path, directory in sorted(receiving.items())
        if os.path.lexists(path) and files.inside(path, directory)
    ]
    with cycles.paused():
        for candidate in [*in_context, *beside]:
            if candidate.identity is not None and candidate.identity not in seen:
                seen.add(candidate.identity)
                context.append(_read(candidate, options, now=False))
    index = RunIndex()
    consulted = inputs + context + (staged or [])
    found_in = _entries(engine.settings, options, consulted, len(inputs), jobs)
    with cycles.paused():
        for number, (found, problem) in enumerate(found_in):
            if isinstance(found, Later):
                index.add_later(found)
            else:
                index.add(found)
            if problem is not None and number >= len(inputs) and not options.quiet:  # inputs: later
                item = consulted[number]
                where = f"{report.shown_name(item.name)}:{problem.line or 1}:{problem.column or 1}"
                _error(f"{where}: note: --context file {problem.message}")
    return index


def _entries(
    settings: configuration.Settings, options: RunOptions, consulted: list[Input], inputs: int, jobs: int
) -> list[context_cache.Entry]:
    """The index entries of each file ``consulted``, in order (the first ``inputs`` are the run's
    own files, the rest its context); they come from the context cache when it has them, and go
    into it."""
    cache = _context_cache(settings, options, consulted[inputs:])
    found: dict[int, context_cache.Entry] = {}
    blobs: dict[int, str] = {}
    absolute = _absolute_paths(consulted) if cache is not None else []

    def key(number: int, blob: str) -> str:  # made again for a put, not kept from the get
        namespace = _default_namespace(consulted[number], options, absolute[number])
        return context_cache.ContextCache.key(blob, absolute[number], consulted[number].name, namespace)

    if cache is not None:
        with cycles.paused():
            for number, item in enumerate(consulted):
                blob = _blob(item, absolute[number], cache)
                if blob:
                    remake = functools.partial(_remade, item, settings, options)
                    entry = cache.get(key(number, blob), item.name, remake)
                    if entry is not None:
                        found[number] = entry
                    else:
                        blobs[number] = blob
    missing = [number for number in range(len(consulted)) if number not in found]
    unread = [number for number in missing if consulted[number].staged is not None]
    read = staged_files.read([typing.cast(staged_files.StagedFile, consulted[n].staged) for n in unread])
    for number, data in zip(unread, read, strict=True):
        consulted[number] = dataclasses.replace(consulted[number], data=data)
    worked = bulk.ordered_map(_index_work, (settings, options), [consulted[n] for n in missing], jobs=jobs)
    for number, (entry, blob) in zip(missing, worked, strict=True):
        found[number] = entry
        if cache is not None and number in blobs and blob == blobs[number]:
            cache.put(key(number, blob), entry)
    if cache is not None:
        cache.save()
    return [found[number] for number in range(len(consulted))]


def _remade(item: Input, settings: configuration.Settings, options: RunOptions) -> list[IndexedObject]:
    """The index entries of ``item`` made again, from the file: those the context cache kept for it
    are not as it writes them (a damaged cache file)."""
    if item.staged is not None and item.data is None:
        item = dataclasses.replace(item, data=staged_files.read([item.staged])[0])
    return _summaries(item, settings, options)[0]


def _blob(item: Input, absolute: str, cache: context_cache.ContextCache) -> str | None:
    """The git blob id of ``item``'s content (at the path ``absolute``): git's index gives a staged
    file's; that of a file on disk not read yet comes from the cache while the file's status (as
    it was listed) is unchanged, else it is read for it (and its bytes dropped: the pass that works
    on it reads it again, so a run does not hold every file). None for a file that cannot be read."""
    if item.staged is not None:
        return item.staged.blob
    if item.unread:
        return cache.blob_of(absolute, item.status)
    return None if item.data is None else context_cache.blob_id(item.data)


def _absolute_paths(items: list[Input]) -> list[str]:
    """``os.path.abspath`` of each item's path, each directory's made once (it asks the working
    directory every time: a quarter of a pre-commit run's index pass at 24,000 files); a staged
    manifest's is known already (git's top and the path below it)."""
    directories: dict[str, str] = {}
    absolute = []
    for item in items:
        if item.staged is not None:
            absolute.append(item.staged.absolute)
            continue
        path = item.path
        directory, name = os.path.split(path)
        if name in ("", os.curdir, os.pardir):  # not a file's name: the path made whole
            absolute.append(os.path.abspath(path))
            continue
        if directory not in directories:  # abspath normalizes: with a name, the path needs no more
            directories[directory] = os.path.join(os.path.abspath(directory or os.curdir), "")
        absolute.append(directories[directory] + name)
    return absolute


def _context_cache(
    settings: configuration.Settings, options: RunOptions, context: list[Input]
) -> context_cache.ContextCache | None:
    """The cache of the index entries of the run's files and context (None with ``--no-cache``, or
    without a cache directory given as an absolute path): the repository's, when the context is
    staged manifests, else the current directory's; runs over staged manifests, over context on disk
    and without context each have their own (checking one file, or ``--context .``, leaves the
    hooks' cache as it was)."""
    folder = context_cache.directory()
    if not options.cache or folder is None:
        return None
    top = next((item.staged.top for item in context if item.staged is not None), None)
    kind = "staged" if top is not None else "context" if context else "files"
    fingerprint = f"{context_cache.code_fingerprint()} {settings.pod_kinds!r}"
    return context_cache.ContextCache(folder, top or os.getcwd(), fingerprint, kind=kind)


def _default_namespace(item: Input, options: RunOptions, absolute: str | None = None) -> str:
    """The namespace of the objects of ``item`` that state none (``absolute``: its path, made
    absolute already)."""
    if item.path == "-":
        return options.namespace or "default"
    return default_namespace(absolute or item.path, options.namespace)


def _results(
    engines: Engines,
    options: RunOptions,
    index: RunIndex,
    inputs: list[Input],
    receiving: dict[str, str],
    jobs: int,
) -> typing.Iterator[FileResult]:
    """Each file's result, in the order of the inputs; the files other files add documents to come
    last, once they have them (:mod:`remediate.run.delivery`)."""
    deferred = frozenset(map(delivery.key, receiving)) if options.fixing else frozenset()
    held: dict[str, delivery.Held] = {}
    senders: list[FileResult] = []
    originals = {  # what the files other files add to hold now: their writes must find it there
        delivery.key(item.path): loaded.data
        for item in (inputs if deferred else ())  # no file's real path is needed without them
        if delivery.key(item.path) in deferred and (loaded := _loaded(item)).data is not None
    }
    state = (engines, options, index, deferred)
    for result in bulk.ordered_map(_work, state, inputs, jobs=jobs, progress=not options.quiet):
        key = delivery.key(result.name) if originals else None
        if key in originals:  # shown and written once it has what other files add
            held[key] = delivery.Held(result, originals[key])
        elif result.adds and options.fixing:  # shown once it is known whether its documents got there
            senders.append(result)
        else:
            yield result
    if options.fixing:
        everyone = senders + [entry.result for entry in held.values()]
        delivered, refused = delivery.deliver(everyone, held, receiving, write=options.write)
        yield from (delivery.unfixed(result, refused) for result in senders)
        yield from (delivery.unfixed(result, refused) for result in delivered)


def _staged_context(inputs: list[Input], in_context: list[files.Candidate]) -> list[Input]:
    """The staged manifests of the repository but the inputs (and the ``--context`` files, read
    as they are on disk), as inputs to consult."""
    named = {os.path.abspath(item.path) for item in inputs if item.path != "-"}
    named |= {os.path.abspath(candidate.path) for candidate in in_context}
    return [
        Input(found.path, found.path, staged=found)
        for found in staged_files.staged_manifests()
        if found.absolute not in named
    ]


def _project_excludes(settings: configuration.Settings, *, replaced: bool) -> files.ProjectExcludes | None:
    """The config's ``exclude`` (unless ``--exclude`` replaced it) and ``extend-exclude``."""
    patterns = (() if replaced else settings.exclude) + settings.extend_exclude
    return files.ProjectExcludes(settings.base, patterns) if settings.base and patterns else None


def _warn_of_empty_directories(paths: list[str], candidates: list[files.Candidate]) -> None:
    """Say so of each directory named that holds no file the run reads: a wrong directory, or
    manifests under other names than ``--include`` looks for, would otherwise pass as clean."""
    for path in paths:
        if path == "-" or not os.path.isdir(path):
            continue
        inside = os.path.abspath(path) + os.sep
        if not any(os.path.abspath(c.path).startswith(inside) for c in candidates):
            _error(f"k8sfix: warning: {path}: no YAML or JSON files here (--include names what is read)")


def _patches_listed_elsewhere(
    candidates: typing.Iterable[files.Candidate], in_context: list[files.Candidate]
) -> list[files.Candidate]:
    """Mark as skipped the inputs that a kustomization of the ``--context`` paths lists as a patch
    (a pre-commit run names a staged patch alone; the overlay that lists it may be anywhere)."""
    kustomizations = [c.path for c in in_context if os.path.basename(c.path) in kustomize.NAMES]
    return list(files.mark_patches(candidates, kustomizations))


def _charts(
    candidates: list[files.Candidate], options: RunOptions, engine: Engine, jobs: int
) -> tuple[list[files.Candidate], list[Input]]:
    """The candidates without the templates of the charts they hold, and an input for each template
    the charts render (or, for a chart Helm cannot render, an error saying why). Without a renderer
    the templates stay skipped, with a note on how to check them. When fixing, a chart whose
    values control what its fixes change gets its ``values.yaml`` fixed
    (:mod:`remediate.run.chart_values`): an input that carries that result, and the templates as
    the fixed values render them."""
    roots: dict[str, str] = {}  # chart directory -> how the user's paths name it
    kept: list[files.Candidate] = []
    renderer = None
    for candidate in candidates:
        root = (
            charts.chart_root(candidate.path) if candidate.error is None and candidate.path != "-" else None
        )
        template = bool(candidate.skip and candidate.skip.startswith(skips.HELM_TEMPLATE) and root)
        if root is not None:
            renderer = renderer or charts.engine()
            if renderer is not None:
                shown = os.path.dirname(candidate.path) if not os.path.isabs(candidate.path) else root
                roots.setdefault(root, os.path.relpath(root) if not os.path.isabs(shown) else root)
        if template and renderer is None:
            candidate = candidate._replace(skip=f"{candidate.skip}: {charts.HOW_TO_ENABLE}")
        if not (template and renderer is not None):
            kept.append(candidate)
    release = charts.Release(
        tuple(options.values_files), tuple(options.set_values), options.namespace or "default"
    )
    rendered: list[Input] = []
    out = None
    if options.values_out is not None:
        out, release, problem = _values_out(options.values_out, release, list(roots.values()))
        if problem is not None:
            return kept, [problem]
        kept = [c for c in kept if os.path.abspath(c.path) != os.path.abspath(options.values_out)]
    state = (engine, release, options.fixing, out, options.cache)
    found = bulk.ordered_map(_chart_work, state, list(roots.items()), jobs=jobs, per_worker=CHARTS_PER_WORKER)
    for root, (inputs, values_fixed) in zip(roots, found, strict=True):
        rendered.extend(inputs)
        if values_fixed:  # the chart's values.yaml is one of the inputs
            kept = [c for c in kept if os.path.abspath(c.path) != os.path.join(root, "values.yaml")]
    return kept, rendered


CHARTS_PER_WORKER = 1
"""Charts a worker must have to be worth starting (:func:`remediate.run.bulk.ordered_map`): one. A
chart takes some 20 renders, about 0.4 s, to learn and fix, and a worker with the render worker it
starts costs less: on 2 CPUs, two charts of the corpus took 0.69-0.80 s with ``--jobs 2`` against
0.83-1.19 s with ``--jobs 1``, and its eight charts 1.8 s against 3.5 s."""


def _chart_work(
    state: tuple[Engine, charts.Release, bool, chart_values.OutFile | None, bool], chart: tuple[str, str]
) -> tuple[list[Input], bool]:
    """The inputs of the chart at ``root``, shown as ``shown`` (in this process or a worker): an
    error when Helm cannot render it, else an input for each template it renders and those whose
    results are made already (:class:`ChartFixes`); and whether its ``values.yaml`` is one of them."""
    engine, release, fixing, out, cache = state
    root, shown = chart
    name = os.path.join(shown, charts.CHART_FILE)
    missing = charts.missing_dependencies(root)
    if missing:
        message = (
            f"Helm cannot render the chart: its dependencies are not in charts/: {', '.join(missing)}"
            " (run helm dependency build, or vendor them)"
        )
        return [Input(name, name, error=message)], False
    try:
        rendered = charts.render(root, release, lint=True)
    except charts.RenderError as problem:
        message = f"Helm cannot render the chart: {problem}; pass the values it needs with --values or --set"
        return [Input(name, name, error=message)], False
    fixes = _chart_fixes(engine, root, shown, release, rendered, fixing=fixing, out=out, cache=cache)
    inputs = list(fixes.inputs)
    for relative, text in fixes.chart.templates.items():
        name = _template_name(root, shown, relative)
        try:
            with open(charts.template_path(root, relative), encoding="utf-8", errors="replace") as stream:
                template_text = stream.read(MAX_BYTES)
        except OSError:
            template_text = ""
        inputs.append(
            Input(
                name,
                name,
                text.encode(),
                template=template_text,
                moved=fixes.moved.get(relative, frozenset()),
                routable=fixes.routable.get(relative, {}),
                unproven=fixes.unproven.get(relative, {}),
                edit=fixes.edits.get(relative),
            )
        )
    return inputs, bool(fixes.inputs)


def _template_name(root: str, shown: str, relative: str) -> str:
    """How a template Helm names ``relative`` is shown: its file's path below the chart as the
    user's paths name it (an aliased subchart's templates are in the subchart's own folder)."""
    return os.path.normpath(os.path.join(shown, os.path.relpath(charts.template_path(root, relative), root)))


@dataclasses.dataclass
class ChartFixes:
    """What fixing a chart comes to: inputs whose results are made already (its ``values.yaml``, a
    new policy template), the chart to show the templates of (as fixed, when fixing), and by
    template the findings shown elsewhere (``moved``) or fixable in the values (``routable``)."""

    chart: charts.Rendered
    inputs: list[Input] = dataclasses.field(default_factory=list)
    moved: dict[str, frozenset[tuple]] = dataclasses.field(default_factory=dict)
    routable: dict[str, dict[tuple, str]] = dataclasses.field(default_factory=dict)
    unproven: dict[str, dict[tuple, str]] = dataclasses.field(default_factory=dict)
    edits: dict[str, charts.TemplateEdit] = dataclasses.field(default_factory=dict)
    """By template, the proven edit of its text (:mod:`remediate.run.chart_templates`)."""


def _values_out(
    path: str, release: charts.Release, charts_met: list[str]
) -> tuple[chart_values.OutFile | None, charts.Release, Input | None]:
    """The ``--values-out`` file as read (empty when it is new), the release to render with (the
    file as its last values file, when it exists), or an error input saying why it cannot be."""
    from remediate.run import chart_values  # a run without charts does not import them

    here = os.path.abspath(path)
    if len(charts_met) > 1:
        met = ", ".join(charts_met)
        message = (
            f"--values-out holds one chart's values, and the run met {len(charts_met)} ({met}): name one"
        )
        return None, release, Input(path, path, error=message)
    try:
        source = Source.from_bytes(path, read_regular(path)[0])
    except FileNotFoundError:
        source = Source(path, "")
    except OSError as problem:
        return None, release, Input(path, path, error=f"--values-out: cannot read: {problem.strerror}")
    except InputError as problem:
        return None, release, Input(path, path, error=f"--values-out: {problem.message}")
    without = tuple(name for name in release.values_files if os.path.abspath(name) != here)
    rendered = release._replace(values_files=(*without, path) if source.text.strip() else without)
    return chart_values.OutFile(source, release._replace(values_files=without)), rendered, None


def _chart_fixes(
    engine: Engine,
    root: str,
    shown: str,
    release: charts.Release,
    chart: charts.Rendered,
    *,
    fixing: bool,
    out: chart_values.OutFile | None = None,
    cache: bool = True,
) -> ChartFixes:
    """The fixes of a chart: in its values (:mod:`remediate.run.chart_values`), then a policy
    template (:mod:`remediate.run.chart_policies`), then in the templates' text what no value
    controls (:mod:`remediate.run.chart_templates`, unsafe), each proven by rendering. With
    ``out`` (``--values-out``), the values fixes go to that file and the chart is not changed;
    ``cache``: what the values control may come from an earlier run (:mod:`remediate.run.learning_cache`)."""
    from remediate.run import chart_policies, chart_values  # a run without charts does not import them

    outcome = ChartFixes(chart)
    values_path = os.path.join(root, "values.yaml")
    if not files.inside(values_path, root):  # a link out of the chart: never written through
        return outcome
    values = chart_values.values_source(root) if engine.fixers else None
    if values is None:
        return outcome
    checked = chart_values.checked_templates(engine, chart, release.namespace)
    fix = chart_values.fix_values(chart, release, values, checked, out, cache=cache)
    target = out.source if out is not None else values
    text, findings, after = target.text, [], chart
    lines = chart_values.key_lines(values.text if out is None or fix is None else fix.text)
    if fix is not None:
        outcome.routable, outcome.unproven = fix.routable, fix.unproven
        if fix.rendered is not None:
            text, after = fix.text, fix.rendered
            for template, moved in fix.fixed.items():
                for finding in moved:
                    key = fix.keys[finding.identity]
                    line, column = lines.get(key, (1, 1))
                    where = (
                        f"in {_template_name(root, shown, template)}; its fix sets values key {'.'.join(key)}"
                    )
                    where += f" in {out.source.name}" if out is not None else ""
                    findings.append((template, finding, line, column, where))
    if out is not None:
        return _values_out_result(outcome, out, text, findings, after, fixing=fixing)
    templates = os.path.join(root, "templates")
    inside = os.path.isdir(templates) and files.inside(templates, root)
    policy = chart_policies.propose(engine, root, release, after, text) if inside else None
    name = os.path.join(shown, "values.yaml")
    if policy is not None:
        text, after = policy.values_text, policy.rendered
        end = max(len(values.text.splitlines()), 1)
        for template, finding in policy.fixed:
            adds = f"its fix adds {chart_policies.TEMPLATE}, switched on by networkPolicy.enabled"
            where = f"in {_template_name(root, shown, template)}; {adds}"
            findings.append((template, finding, end, 1, where))
        new_name = os.path.join(shown, chart_policies.TEMPLATE)
        new = FileResult(
            new_name,
            Status.CHANGED if fixing else Status.UNCHANGED,
            Source(new_name, ""),
            output=policy.template if fixing else None,
            created=True,
        )
        outcome.inputs.append(Input(new_name, new_name, None, result=new))
    changed = {"values.yaml": text} if text != values.text else {}
    if policy is not None:
        changed[chart_policies.TEMPLATE] = policy.template
    elsewhere = {
        template: set(fix.routable.get(template, ())) if fix is not None else set() for template in checked
    }
    for template, finding, *_ in findings:
        elsewhere.setdefault(template, set()).add(finding.identity)
    later = checked if after is chart else chart_values.checked_templates(engine, after, release.namespace)
    applying = fixing and engine.settings.fix_policy.unsafe_fixes
    outcome.edits = _template_edits(root, shown, release, after, changed, later, elsewhere, apply=applying)
    if findings:
        source = Source.from_bytes(name, values.to_bytes(values.text))
        outcome.inputs.insert(0, _values_input(outcome, source, text, findings, after, fixing=fixing))
    return outcome


def _values_out_result(
    outcome: ChartFixes,
    out: chart_values.OutFile,
    text: str,
    findings: list[tuple[str, Finding, int, int, str]],
    after: charts.Rendered,
    *,
    fixing: bool,
) -> ChartFixes:
    """The chart's fixes when they go to the ``--values-out`` file: that file's result alone."""
    if findings:
        created = not os.path.lexists(out.source.name)
        outcome.inputs.append(
            _values_input(outcome, out.source, text, findings, after, fixing=fixing, created=created)
        )
    return outcome


def _values_input(
    outcome: ChartFixes,
    source: Source,
    text: str,
    findings: list[tuple[str, Finding, int, int, str]],
    after: charts.Rendered,
    *,
    fixing: bool,
    created: bool = False,
) -> Input:
    """The input of a values file a chart's fixes go to (``source`` as it is, ``text`` as fixed),
    its result made already: the moved findings at their values keys. When fixing, the chart is
    shown as the fixed values render it; else the moved findings are not shown at the templates."""
    shown_findings = tuple(
        dataclasses.replace(finding, line=line, column=column, message=f"{finding.message} ({where})")
        for _, finding, line, column, where in findings
    )
    result = FileResult(
        source.name,
        Status.CHANGED if fixing else Status.UNCHANGED,
        source,
        shown_findings,
        frozenset(f.identity for f in shown_findings) if fixing else frozenset(),
        text if fixing else None,
        documents=1,
        created=created,
    )
    if fixing:
        outcome.chart = after
    else:
        for template, finding, *_ in findings:
            outcome.moved[template] = outcome.moved.get(template, frozenset()) | {finding.identity}
    data = None if created else source.to_bytes(source.text)
    return Input(source.name, source.name, data, result=result)


def _template_edits(
    root: str,
    shown: str,
    release: charts.Release,
    chart: charts.Rendered,
    changed: dict[str, str],
    checked: dict[str, chart_values.Checked],
    elsewhere: dict[str, set[tuple]],
    *,
    apply: bool,
) -> dict[str, charts.TemplateEdit]:
    """The proven edits of the chart's own templates (not its subcharts': those are fixed through
    the values only), for the fixes that are not made ``elsewhere``; never of a template that is a
    link or lies outside the chart."""
    from remediate.run import chart_templates  # a run without charts does not import them

    edits: dict[str, charts.TemplateEdit] = {}
    for template, entry in checked.items():
        wanted = chart_templates.candidates(entry, elsewhere.get(template, set()))
        path = os.path.join(root, template)
        if (
            not wanted
            or template.startswith("charts/")
            or os.path.islink(path)
            or not files.inside(path, root)
        ):
            continue
        try:
            source = Source.from_bytes(_template_name(root, shown, template), read_regular(path)[0])
        except (OSError, InputError):
            continue
        fix = chart_templates.fix_template(chart, release, changed, template, source.text, entry, wanted)
        if fix is not None:
            identities = frozenset(finding.identity for finding in fix.fixed)
            edits[template] = charts.TemplateEdit(source, fix.text, identities, apply)
    return edits


def _read(candidate: files.Candidate, options: RunOptions, *, now: bool = True) -> Input:
    """The input of a candidate: read, or (``now`` False) to be read by :func:`_loaded` where it is
    worked on."""
    if candidate.error:
        return Input(candidate.path, candidate.path, error=candidate.error)
    if candidate.skip:
        return Input(candidate.path, candidate.path, skip=candidate.skip)
    if candidate.path == "-":
        return Input("-", options.stdin_filename or "-", sys.stdin.buffer.read(MAX_BYTES + 1))
    unread = Input(
        candidate.path, candidate.path, identity=candidate.identity, status=candidate.status, unread=True
    )
    return unread if not now else _loaded(unread)


def _loaded(item: Input) -> Input:
    """``item`` with its bytes, when it is a file not read yet (or why it cannot be read)."""
    if not item.unread:
        return item
    try:
        data, _ = read_regular(item.path)
    except TooLarge as exc:
        return Input(item.path, item.name, error=exc.strerror)
    except OSError as exc:
        return Input(item.path, item.name, error=f"cannot read: {exc.strerror}")
    return Input(item.path, item.name, data, identity=item.identity)


def _index_work(
    state: tuple[configuration.Settings, RunOptions], item: Input
) -> tuple[context_cache.Made, str | None]:
    """The index entries of one file, in this process or a worker (see :mod:`remediate.run.bulk`),
    and the blob id of the content they were made of (None: none was read). The cache keeps them
    only under that id: a file that changed since its id was taken (a file on disk edited during
    the run; a staged file whose content is not what git's index claims, crafted or cut at the
    size limit) has its entries made of other content, which must not be served for that id."""
    settings, options = state
    item = _loaded(item)
    blob = None if item.data is None else context_cache.blob_id(item.data)
    return _summaries(item, settings, options), blob


def _summaries(
    item: Input, settings: configuration.Settings, options: RunOptions
) -> tuple[list[IndexedObject], Problem | None]:
    """Index entries of a file, and why some or all of it could not be read (``read in part: ...``,
    ``not read: ...``): the documents before the first one that does not parse still count (a
    policy before a typo still covers its pods), whether or not they hold an object the index
    keeps."""
    item = _loaded(item)
    if item.data is None:
        return [], Problem(f"not read: {item.error or 'cannot read'}") if item.skip is None else None
    source = decode(item.name, item.data)
    if isinstance(source, FileResult):
        undecoded = source.errors[0]
        return [], Problem(f"not read: {undecoded.message}", undecoded.line, undecoded.column)
    documents, error = parse_leading(source.text)
    namespace = _default_namespace(item, options)
    read = "read in part" if documents else "not read"
    problem = Problem(f"{read}: {error.message}", error.line, error.column) if error else None
    found = summarize(item.name, documents, settings.pod_kinds, namespace)
    if item.path != "-" and os.path.basename(item.path) in kustomize.NAMES:
        found.append(kustomization_entry(item.name, item.path))
    return found, problem


def _work(state: tuple[Engines, RunOptions, RunIndex, frozenset[str]], item: Input) -> FileResult:
    """One file of a run, in this process or a worker (see :mod:`remediate.run.bulk`), with the
    engine of its nearest config."""
    engines, options, index, deferred = state
    write = options.write and delivery.key(item.path) not in deferred
    return _one(engines.for_path(item.path), item, options, index, write=write)


def _one(engine: Engine, item: Input, options: RunOptions, index: RunIndex, *, write: bool) -> FileResult:
    """Process one file; with ``write``, write its fixes (files that others add to are written later)."""
    item = _loaded(item)
    if item.skip:
        return FileResult(item.name, Status.SKIPPED, skip_reason=item.skip)
    if item.result is not None:
        return write_result(item.result, item.data) if write else item.result
    if item.data is None:
        return FileResult(item.name, Status.FAILED, errors=(Problem(item.error or "cannot read"),))
    source = decode(item.name, item.data)
    if isinstance(source, FileResult):
        if item.path == "-" and options.write:  # a stream k8sfix cannot read passes through as it came
            sys.stdout.buffer.write(item.data)
            shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)  # the rest of one too large to read
        return source
    scope = Scope(index, _default_namespace(item, options), from_stdin=item.path == "-")
    if item.template is not None:  # what a chart renders: checked, shown at its template's lines
        checked = process(engine, source, fix=False, scope=scope)
        left = tuple(f for f in checked.findings if f.identity not in item.moved)
        shown = charts.in_template(
            checked._replace(findings=left),
            item.template,
            item.routable,
            item.edit,
            item.unproven,
        )
        if write and item.edit is not None and shown.output is not None:
            return write_result(shown, item.edit.source.to_bytes(item.edit.source.text))
        return shown
    result = process(engine, source, fix=options.fixing, scope=scope)
    if item.path == "-" and options.write:
        sys.stdout.buffer.write(source.to_bytes(result.output))  # the fixed stream, or the input as it was
    elif write:
        return write_result(result, item.data)
    return result


def _show(result: FileResult, options: RunOptions) -> int:
    """Print one file's outcome; return its exit code.

    Findings go to stdout, unless stdout carries a diff or a fixed stream: then to stderr.
    """
    for line in report.problem_lines(result):
        _error(line)
    if result.skip_reason and not options.quiet:
        _error(f"{report.shown_name(result.name)}: note: skipped: {result.skip_reason}")
    name = report.shown_name(result.name)
    for note in result.notes if not options.quiet else ():
        _error(f"{name}:{note.line or 1}:{note.column or 1}: note: {note.message}")
    if options.diff and result.output is not None:
        sys.stdout.write(report.unified_diff(result))
    if options.output_format == "text":
        stream = _findings_stream(options)
        for finding in sorted(result.findings, key=lambda found: (found.line, found.column)):  # as read
            if finding.identity in result.fixed and (options.diff or not options.verbose):
                continue  # the diff shows it; a fixed one needs nobody (--verbose lists them)
            unsafe = bool(options.unsafe_fixes)
            print(report.finding_line(result, finding, fixing=options.write, unsafe=unsafe), file=stream)
    if result.errors:
        return EXIT_ERROR
    if result.output is not None or result.unfixed or (result.findings and not options.fixing):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _findings_stream(options: RunOptions) -> typing.TextIO:
    """stdout, unless it carries a diff or a fixed stream: then stderr."""
    return sys.stderr if options.diff or (options.write and "-" in options.paths) else sys.stdout


def _write_reports(results: list[FileResult], options: RunOptions) -> int:
    """Write ``--report`` and ``--report-html``; EXIT_ERROR when one cannot be written."""
    if not (options.report or options.report_html):
        return EXIT_CLEAN
    from remediate.output import migration_report, run_report

    document = run_report.document(results, options)
    outputs = []
    if options.report:
        outputs.append((options.report, run_report.dumps(document)))
    if options.report_html:
        html_format = migration_report.format_for(options.report_html)
        diffs = {
            report.display_name(result.name): report.unified_diff(result)
            for result in results
            if result.source is not None and result.output is not None
        }
        outputs.extend(migration_report.documents(document, html_format, options.report_html, diffs))
    code = EXIT_CLEAN
    for path, text in outputs:
        try:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as exc:
            _error(f"{path}:1:1: error: cannot write the report: {exc.strerror}")
            code = EXIT_ERROR
    return code


_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]+\.)?([^`]+)`")


def plain_doc(text: str) -> str:
    """A docstring as users read it: ``:mod:`~remediate.x``` becomes ``x`` and double backticks single."""
    return _ROLE.sub(r"`\1`", text).replace("``", "`")


def list_fixers() -> int:
    """One line per check: the fixers, then the checks without fixes (``registry.CHECKS_WITHOUT_FIXES``)."""
    for fixer in registry.all_fixers():
        summary = plain_doc((sys.modules[fixer.__module__].__doc__ or "").strip().splitlines()[0])
        print(f"{fixer.code}  {fixer.id:<22} {summary}")
    for check in registry.CHECKS_WITHOUT_FIXES:
        summary = plain_doc((check.__doc__ or "").strip().splitlines()[0])
        print(f"{check.CODE}  {check.ID:<22} {summary} {check.WHEN_ON}")
    return EXIT_CLEAN


def explain(name: str) -> int:
    """Print a fixer's docstring, the scanner checks it answers, and its option defaults."""
    from remediate.kube.crosswalk import CROSSWALK

    for check in registry.CHECKS_WITHOUT_FIXES:
        if name.lower() in (check.ID, check.CODE.lower()):
            print(f"{check.ID} ({check.CODE})\n\n{plain_doc((check.__doc__ or '').strip())}")
            return EXIT_CLEAN
    try:
        (fixer_id,) = registry.resolve([name])
    except ValueError as exc:
        _error(f"k8sfix: error: {exc}")
        return EXIT_ERROR
    fixer = registry.by_id()[fixer_id]
    print(f"{fixer.id} ({fixer.code})\n")
    print(plain_doc((sys.modules[fixer.__module__].__doc__ or "").strip()))
    rows = CROSSWALK.get(fixer.id, {})
    if rows:
        print("\nSame checks in other scanners:")
        for scanner, checks in rows.items():
            print(f"    {scanner}: {', '.join(checks)}")
    print("\nDefaults (.k8sfix.yaml):")
    print(f"    fixers:\n      {fixer.id}:\n        enabled: true")
    hints = typing.get_type_hints(fixer.Options)
    for field in dataclasses.fields(fixer.Options):
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[operator]
        name = field.name.replace("_", "-")
        print(f"        {name}: {_yaml_value(default)}    # {_describe(hints[field.name])}")
    return EXIT_CLEAN


def _yaml_value(value: object) -> str:
    """Show an option default as it would be written in ``.k8sfix.yaml`` (JSON is YAML's flow style)."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, str) and value and value == value.strip() and value[0] not in "[]{}&*!|>'\"%@`#":
        return value
    return json.dumps(value)


def _describe(hint: object) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        return " | ".join(map(str, args))
    if typing.get_origin(hint) is tuple:
        return f"list of {_describe(args[0])}" if args else "list"
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))
