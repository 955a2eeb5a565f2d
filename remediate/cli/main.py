"""The ``k8sfix`` command: a thin typer shell over :func:`run`.

Exit codes (pre-commit's contract): 0 nothing to fix; 1 findings remain, or files changed or would
change; 2 an error (unreadable or invalid input, bad config, a fix that failed verification) — the
other files are still processed.
"""

# No ``from __future__ import annotations`` here: typer reads the options from the annotations of
# :func:`main`, and evaluating them from strings cost every run 8 ms.
import gc
import os
import re
import sys
import typing
from enum import Enum
from typing import Annotated

import typer

from remediate import __version__
from remediate.cli.exits import EXIT_CLEAN, EXIT_ERROR

HELP = """Find and fix unsafe Kubernetes manifests, keeping every comment and line you did not ask to change.

PATH: files and directories to check (directories are walked; '-' reads stdin).

\b
Examples:
  k8sfix deploy/                    report findings (exit 1 if any)
  k8sfix --diff deploy/app.yaml     show the fixes as a unified diff, write nothing
  k8sfix --write deploy/            apply the safe fixes in place (atomic writes)
  k8sfix --diff --unsafe-fixes deploy/
                                    also the fixes that need a review
  cat app.yaml | k8sfix --write -   fix a stream: stdin to stdout
  k8sfix --explain image-pull-policy

\b
Exit codes: 0 nothing to fix; 1 findings remain or files changed/would change;
2 an error (invalid input, bad config, a fix that failed verification).
Config: each file's nearest .k8sfix.yaml, in its directory or above (see README). Opt an object out with the
annotation k8sfix.io/ignore: "image-pull-policy,..." or "all".
"""


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    rdjson = "rdjson"


CONTEXT: dict[str, typing.Any] = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, rich_markup_mode=None, context_settings=CONTEXT)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"k8sfix {__version__}")
        raise typer.Exit(EXIT_CLEAN)


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command(help=HELP)
def main(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="[PATH]...", show_default=False, hidden=True),  # HELP describes it
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print a unified diff of the fixes; write nothing.")
    ] = False,
    write: Annotated[bool, typer.Option("--write", "-w", help="Apply the fixes in place.")] = False,
    unsafe_fixes: Annotated[
        bool | None,
        typer.Option(
            "--unsafe-fixes/--no-unsafe-fixes",
            help=(
                "Also apply fixes that can break some workloads (a memory limit, a non-root user, "
                "a new NetworkPolicy); review them. Default: the config's unsafe-fixes, else only safe fixes."
            ),
            show_default=False,
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ID,...",
            help="Run only these fixers (ids or codes, comma-separated).",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(metavar="ID,...", help="Do not run these fixers.", show_default=False)
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(metavar="FILE", help="Config file (default: nearest .k8sfix.yaml).", show_default=False),
    ] = None,
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            help=(
                "How findings are printed: text, json, sarif (GitHub code scanning), github "
                "(workflow-command annotations) or rdjson (reviewdog: fixes as suggested changes)."
            ),
        ),
    ] = Format.text,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Also write a JSON report of the run (files, findings, fixes, totals) to this file.",
            show_default=False,
        ),
    ] = None,
    report_html: Annotated[
        str | None,
        typer.Option(
            "--report-html",
            metavar="FILE",
            help="Also write a migration report for reviewers: HTML for FILE.html, Markdown for FILE.md.",
            show_default=False,
        ),
    ] = None,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context",
            metavar="PATH",
            help=(
                "Other manifests (file or directory) to consult, e.g. NetworkPolicies and Services; "
                "never rewritten."
            ),
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            metavar="NAME",
            help=(
                "Namespace of objects that name none, and of Helm releases (default: the namespace "
                "of the outermost kustomization.yaml that builds the file, else 'default')."
            ),
            show_default=False,
        ),
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--values",
            "-f",
            metavar="FILE",
            help="Helm charts: render with this values file too (repeatable; later ones win, as helm -f).",
            show_default=False,
        ),
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Helm charts: render with this value (key=value, repeatable, as with helm --set).",
            show_default=False,
        ),
    ] = None,
    values_out: Annotated[
        str | None,
        typer.Option(
            "--values-out",
            metavar="FILE",
            help=(
                "Helm charts: write the chart's values fixes to FILE (created, or edited keeping its "
                "comments; rendered as the last --values file), and leave the chart as it is: for "
                "a chart you do not own. One chart per run."
            ),
            show_default=False,
        ),
    ] = None,
    kubernetes_version: Annotated[
        str | None,
        typer.Option(
            "--kubernetes-version",
            metavar="VERSION",
            help=(
                "Kubernetes version to target, e.g. 1.29 (default: the newest version k8sfix "
                "has schemas for)."
            ),
            show_default=False,
        ),
    ] = None,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help=(
                "Also validate every object against the Kubernetes schema of the target version "
                "(code K8S100)."
            ),
        ),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Validate (implies --validate) and fail unknown fields.")
    ] = False,
    schema_dir: Annotated[
        str | None,
        typer.Option(
            "--schema-dir",
            metavar="DIR",
            help=(
                "Validate (implies --validate) custom resources with the JSON schemas in this "
                "directory ({kind}_{version}.json)."
            ),
            show_default=False,
        ),
    ] = None,
    stdin_filename: Annotated[
        str | None, typer.Option(metavar="NAME", help="Name to report for '-' (stdin).", show_default=False)
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            metavar="GLOB",
            help=(
                "Read only files matching these globs (.gitignore syntax) in directories; "
                "default: *.yaml, *.yml, *.json."
            ),
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Leave out files and directories matching these globs (.gitignore syntax) in directories.",
            show_default=False,
        ),
    ] = None,
    context_staged: Annotated[
        bool,
        typer.Option(
            "--context-staged",
            help=(
                "Consult the repository's manifests as git's index holds them (what the commit will "
                "contain), not the working tree: the pre-commit hooks' context."
            ),
        ),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help=(
                "Parse every file again for what other files' fixes consult (names, labels, selectors, "
                "policies), learn again which values of a Helm chart control which fields, and "
                "validate every fixed value against the schema, instead of taking what earlier runs "
                "found in the same content from the user's cache directory (K8SFIX_CACHE_DIR)."
            ),
        ),
    ] = False,
    force_exclude: Annotated[
        bool,
        typer.Option(
            "--force-exclude",
            help="Apply --exclude and the config's excludes to the paths named too (pre-commit names files).",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Worker processes at most (default: one per CPU), one for every 24 files or every chart.",
            show_default=False,
        ),
    ] = None,
    list_fixers: Annotated[bool, typer.Option("--list-fixers", help="List the fixers and exit.")] = False,
    explain: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Print a fixer's documentation and exit.", show_default=False),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no summary and no notes.")] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="With --write, print the findings it fixed too (else only what is left)."
        ),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    from remediate.cli import commands

    if paths == ["help"] and not os.path.lexists("help"):  # "k8sfix help": what was meant
        command = typer.main.get_command(app)
        typer.echo(command.get_help(typer.Context(command, info_name="k8sfix", **CONTEXT)))
        raise typer.Exit(EXIT_CLEAN)
    if list_fixers:
        raise typer.Exit(commands.list_fixers())
    if explain:
        raise typer.Exit(commands.explain(explain))
    if diff and output_format in (Format.json, Format.sarif, Format.rdjson):
        typer.echo(
            f"k8sfix: error: --diff prints the diff on stdout, where --format {output_format.value}"
            " prints its document: use one (--report FILE writes the JSON report beside a diff)",
            err=True,
        )
        raise typer.Exit(EXIT_ERROR)
    if diff and write:
        typer.echo("k8sfix: error: --diff and --write cannot be combined", err=True)
        raise typer.Exit(EXIT_ERROR)
    if not paths:
        typer.echo("k8sfix: error: no PATH given (try: k8sfix --help)", err=True)
        raise typer.Exit(EXIT_ERROR)
    if values_out is not None and os.path.abspath(values_out) in [
        os.path.abspath(v) for v in (values or [])[:-1]
    ]:
        typer.echo(
            "k8sfix: error: --values-out FILE is rendered as the last values file: list it last", err=True
        )
        raise typer.Exit(EXIT_ERROR)
    if report_html:
        from remediate.output.migration_report import format_for

        try:
            format_for(report_html)
        except ValueError as exc:
            typer.echo(f"k8sfix: error: {exc}", err=True)
            raise typer.Exit(EXIT_ERROR) from None
    options = commands.RunOptions(
        paths=paths,
        diff=diff,
        write=write,
        select=_split(select),
        ignore=_split(ignore),
        config=config,
        output_format=output_format.value,
        stdin_filename=stdin_filename,
        quiet=quiet,
        verbose=verbose,
        force_exclude=force_exclude,
        context_staged=context_staged,
        cache=not no_cache,
        context=tuple(context or ()),
        namespace=namespace,
        values_files=tuple(values or ()),
        set_values=tuple(set_values or ()),
        values_out=values_out,
        kubernetes_version=kubernetes_version,
        include=_split(include),
        exclude=_split(exclude),
        jobs=jobs,
        report=report,
        report_html=report_html,
        validate=validate or strict or schema_dir is not None,
        strict=strict,
        schema_dir=schema_dir,
        unsafe_fixes=unsafe_fixes,
    )
    raise typer.Exit(commands.run(options))


def run(argv: list[str]) -> int:
    """Run the command line with ``argv`` (without the program name) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        # Without standalone mode click returns the code of typer.Exit instead of exiting.
        code = command.main(args=argv, prog_name="k8sfix", standalone_mode=False)
        return code if isinstance(code, int) else EXIT_CLEAN
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # click's own exits (usage errors)
        return int(exc.code or 0)
    except Exception as exc:  # a bad option or value (typer's UsageError): said in k8sfix's words
        message = getattr(exc, "format_message", None)
        if message is None:
            raise
        typer.echo(f"k8sfix: error: {usage_message(message())} (try: k8sfix --help)", err=True)
        return EXIT_ERROR


def usage_message(message: str) -> str:
    """A usage error as one line: the option it is about, then what is wrong, in the same words
    whichever wording the command-line library uses ("'x' is not a valid integer", or pydantic's
    "Input should be a valid integer, unable to parse string as an integer")."""
    message = re.sub(
        r": (?:Input should be a valid integer.*|'.*' is not a valid integer(?: range)?\.?)$",
        ": expected a whole number",
        message,
    )
    message = re.sub(
        r": -?\d+ is not in the range x>=(-?\d+)\.?$", r": must be greater than or equal to \1", message
    )
    message = re.sub(r": Value error, ", ": ", message).replace(": Input should be ", ": must be ")
    return message.removeprefix("Invalid value for ").rstrip(".")


def entry() -> None:
    """Console-script entry point.

    Before the process exits, every object it made is frozen (:func:`gc.freeze`): the interpreter's
    exit then skips the garbage collection that would walk them all, only for the system to take the
    memory back anyway. That collection was a tenth of a one-file run (11 ms of 123)."""
    code = run(sys.argv[1:])
    gc.freeze()
    sys.exit(code)
