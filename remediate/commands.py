"""What the command line does, apart from parsing it: run over files, list and explain fixers."""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass

from remediate import config as configuration
from remediate import files, registry, report
from remediate.runner import Engine, FileResult, Status, process, read

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

    @property
    def fixing(self) -> bool:
        return self.diff or self.write


def _error(message: str) -> None:
    print(message, file=sys.stderr)


def run(options: RunOptions) -> int:
    """Process every path; print findings, diffs and errors; return the exit code."""
    try:
        settings = configuration.load(
            configuration.discover(options.config), select=options.select, ignore=options.ignore
        )
    except configuration.ConfigError as exc:
        _error(f"{exc}")
        return EXIT_ERROR
    engine = Engine(settings)
    results: list[FileResult] = []
    exit_code = EXIT_CLEAN
    for candidate in files.expand(options.paths):
        result = _one(engine, candidate, options)
        results.append(result)
        exit_code = max(exit_code, _show(result, options))
    if options.json:
        print(report.json_document(results, fixing=options.fixing))
    if not options.quiet:
        _error(report.summary(results, fixing=options.fixing, dry_run=options.diff))
    return exit_code


def _one(engine: Engine, candidate: files.Candidate, options: RunOptions) -> FileResult:
    from remediate.runner import Problem

    name = candidate.path
    if candidate.error:
        return FileResult(name, Status.FAILED, errors=(Problem(candidate.error),))
    try:
        if name == "-":
            name = options.stdin_filename or "-"
            data = sys.stdin.buffer.read()
        else:
            data, _ = files.read_bytes(name)
    except OSError as exc:
        return FileResult(name, Status.FAILED, errors=(Problem(f"cannot read: {exc.strerror}"),))
    source = read(name, data)
    if isinstance(source, FileResult):
        return source
    result = process(engine, source, fix=options.fixing)
    if options.write and result.output is not None and candidate.path != "-":
        try:
            files.write_atomic(candidate.path, source.to_bytes(result.output), data)
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
    """Print one file's outcome; return its exit code."""
    for line in report.problem_lines(result):
        _error(line)
    if result.note and not options.quiet:
        _error(f"{report.display_name(result.name)}: note: skipped: {result.note}")
    if options.diff and result.output is not None:
        sys.stdout.write(report.unified_diff(result))
    if options.write and result.output is not None and result.name == (options.stdin_filename or "-") and "-" in options.paths:
        sys.stdout.buffer.write(result.source.to_bytes(result.output))  # type: ignore[union-attr]
    elif options.write and "-" in options.paths and result.output is None and result.source is not None:
        sys.stdout.buffer.write(result.source.to_bytes())
    if not options.json:
        to_stdout = not options.diff and not (options.write and "-" in options.paths)
        for finding in result.findings:
            if options.fixing and finding.identity in result.fixed and options.diff:
                continue
            line = report.finding_line(result, finding, fixing=options.write)
            print(line, file=sys.stdout if to_stdout else sys.stderr)
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
        shown = {True: "true", False: "false", None: "null"}.get(default, default) if not isinstance(default, (int, float)) or isinstance(default, bool) else default
        print(f"        {field.name.replace('_', '-')}: {shown}    # {_describe(hints[field.name])}")
    return EXIT_CLEAN


def _describe(hint: object) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        return " | ".join(map(str, args))
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))
