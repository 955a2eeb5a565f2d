"""What the command line does, apart from parsing it: run over files, list and explain fixers."""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from dataclasses import dataclass

from remediate import config as configuration
from remediate import files, registry, report
from remediate.document import parse
from remediate.index import IndexedObject, RunIndex, default_namespace, summarize
from remediate.runner import Engine, FileResult, Problem, Scope, Status, process, read
from remediate.source import InputError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class RunOptions:
    paths: list[str]
    diff: bool = False
    write: bool = False
    select: list[str] | None = None
    ignore: list[str] | None = None
    config: str | None = None
    json: bool = False
    stdin_filename: str | None = None
    quiet: bool = False
    context: list[str] = dataclasses.field(default_factory=list)
    namespace: str | None = None
    kubernetes_version: str | None = None

    @property
    def fixing(self) -> bool:
        return self.diff or self.write


@dataclass
class Input:
    """A file named or found on the command line, read once: its bytes, or why it cannot be read."""

    path: str
    name: str
    data: bytes | None = None
    error: str | None = None


def _error(message: str) -> None:
    print(message, file=sys.stderr)


def run(options: RunOptions) -> int:
    """Process every path; print findings, diffs and errors; return the exit code."""
    try:
        settings = configuration.load(
            configuration.discover(options.config),
            select=options.select,
            ignore=options.ignore,
            kubernetes_version=options.kubernetes_version,
        )
    except configuration.ConfigError as exc:
        _error(f"{exc}")
        return EXIT_ERROR
    engine = Engine(settings)
    inputs = [_read(candidate, options) for candidate in files.expand(options.paths)]
    index = RunIndex()
    if engine.needs_index:
        context = [_read(candidate, options) for candidate in files.expand(options.context)]
        for item in inputs + context:
            index.add(_summaries(item, settings, options))
    results: list[FileResult] = []
    exit_code = EXIT_CLEAN
    for item in inputs:
        result = _one(engine, item, options, index)
        results.append(result)
        exit_code = max(exit_code, _show(result, options))
    if options.json:
        print(report.json_document(results, fixing=options.fixing))
    if not options.quiet:
        _error(report.summary(results, fixing=options.fixing, dry_run=options.diff))
    return exit_code


def _read(candidate: files.Candidate, options: RunOptions) -> Input:
    if candidate.error:
        return Input(candidate.path, candidate.path, error=candidate.error)
    if candidate.path == "-":
        return Input("-", options.stdin_filename or "-", sys.stdin.buffer.read())
    try:
        data, _ = files.read_bytes(candidate.path)
    except OSError as exc:
        return Input(candidate.path, candidate.path, error=f"cannot read: {exc.strerror}")
    return Input(candidate.path, candidate.path, data)


def _summaries(item: Input, settings: configuration.Settings, options: RunOptions) -> list[IndexedObject]:
    """Index entries of a file; a file that cannot be read or parsed adds nothing (it is reported later)."""
    if item.data is None:
        return []
    source = read(item.name, item.data)
    if isinstance(source, FileResult):
        return []
    try:
        documents = parse(source.text)
    except InputError:
        return []
    namespace = default_namespace(item.path, options.namespace) if item.path != "-" else options.namespace or "default"
    return summarize(item.name, documents, settings.pod_kinds, namespace)


def _one(engine: Engine, item: Input, options: RunOptions, index: RunIndex) -> FileResult:
    if item.data is None:
        return FileResult(item.name, Status.FAILED, errors=(Problem(item.error or "cannot read"),))
    source = read(item.name, item.data)
    if isinstance(source, FileResult):
        return source
    namespace = default_namespace(item.path, options.namespace) if item.path != "-" else options.namespace or "default"
    result = process(engine, source, fix=options.fixing, scope=Scope(index, namespace))
    if item.path == "-" and options.write:
        sys.stdout.buffer.write(source.to_bytes(result.output))  # the fixed stream, or the input as it was
    elif options.write and result.output is not None:
        try:
            files.write_atomic(item.path, source.to_bytes(result.output), item.data)
        except (OSError, files.ChangedOnDisk) as exc:
            message = getattr(exc, "strerror", None) or str(exc)
            return dataclasses.replace(
                result,
                status=Status.FAILED,
                output=None,
                fixed=frozenset(),
                errors=result.errors + (Problem(f"not written: {message}"),),
            )
    return result


def _show(result: FileResult, options: RunOptions) -> int:
    """Print one file's outcome; return its exit code.

    Findings go to stdout, unless stdout carries a diff or a fixed stream: then to stderr.
    """
    for line in report.problem_lines(result):
        _error(line)
    if result.note and not options.quiet:
        _error(f"{report.display_name(result.name)}: note: skipped: {result.note}")
    if options.diff and result.output is not None:
        sys.stdout.write(report.unified_diff(result))
    if not options.json:
        stream = sys.stderr if options.diff or (options.write and "-" in options.paths) else sys.stdout
        for finding in result.findings:
            if options.diff and finding.identity in result.fixed:
                continue  # the diff shows it
            print(report.finding_line(result, finding, fixing=options.write), file=stream)
    if result.errors:
        return EXIT_ERROR
    if result.output is not None or result.unfixed or (result.findings and not options.fixing):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def list_fixers() -> int:
    for fixer in registry.all_fixers():
        summary = (sys.modules[fixer.__module__].__doc__ or "").strip().splitlines()[0]
        print(f"{fixer.code}  {fixer.id:<22} {summary}")
    return EXIT_CLEAN


def explain(name: str) -> int:
    """Print a fixer's docstring, the scanner checks it answers, and its option defaults."""
    from remediate.crosswalk import CROSSWALK

    try:
        (fixer_id,) = registry.resolve([name])
    except ValueError as exc:
        _error(f"k8sfix: error: {exc}")
        return EXIT_ERROR
    fixer = registry.by_id()[fixer_id]
    print(f"{fixer.id} ({fixer.code})\n")
    print((sys.modules[fixer.__module__].__doc__ or "").strip())
    rows = CROSSWALK.get(fixer.id, {})
    if rows:
        print("\nSame checks in other scanners:")
        for scanner, checks in rows.items():
            print(f"    {scanner}: {', '.join(checks)}")
    print("\nDefaults (.k8sfix.yaml):")
    print(f"    fixers:\n      {fixer.id}:\n        enabled: true")
    hints = typing.get_type_hints(fixer.Options)
    for field in dataclasses.fields(fixer.Options):
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[misc]
        print(f"        {field.name.replace('_', '-')}: {_yaml_value(default)}    # {_describe(hints[field.name])}")
    return EXIT_CLEAN


def _yaml_value(value: object) -> str:
    """Show an option default as it would be written in ``.k8sfix.yaml`` (JSON is YAML's flow style)."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, str) and value and value == value.strip() and not value[0] in "[]{}&*!|>'\"%@`#":
        return value
    return json.dumps(value)


def _describe(hint: object) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        return " | ".join(map(str, args))
    if typing.get_origin(hint) is tuple:
        return f"list of {_describe(args[0])}" if args else "list"
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))
