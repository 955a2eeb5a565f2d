"""Whether a run's cost per file stays flat as a repository grows: a synthetic monorepo of N copies
of a corpus, each copy in its own folder (so its objects meet N times as many neighbours in the run's
index: the Services, policies and workloads of the same namespaces).

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_monorepo.py [CORPUS] [N ...]

CORPUS defaults to ``tests/corpus/dev``, N to ``1 4 16`` (16 copies of the test corpus are 24,400
files and take a few minutes). For each N, ``k8sfix --diff --jobs 1`` runs in a fresh process
(start-up and imports included, as for a user) and the table gives its files, wall and CPU seconds,
CPU milliseconds per file, peak memory of the process, and CPU per file as a multiple of N = 1's.

Then, as a pre-commit hook runs on a commit of one file, in the same repository made a git
repository with every file staged: ``k8sfix --force-exclude --context-staged FILE`` (the hooks'
command) and ``k8sfix --context . FILE``, each run once to fill the cache (this benchmark's own)
and then timed on a second run: what every later commit costs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_corpus import K8SFIX, ROOT, corpus_files, timed

HEADER = (
    f"{'copies':>6} {'files':>7} {'seconds':>8} {'CPU s':>8} {'CPU ms/file':>11} {'peak MiB':>8} {'÷ N=1':>7}"
)


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv and not argv[0].isdigit() else ROOT / "tests" / "corpus" / "dev"
    counts = [int(arg) for arg in argv if arg.isdigit()] or [1, 4, 16]
    print(f"corpus: {corpus}, copies: {counts}")
    print(HEADER)
    first: float | None = None
    commits: list[str] = []
    with tempfile.TemporaryDirectory(prefix="k8sfix-monorepo-") as scratch:
        os.environ["K8SFIX_CACHE_DIR"] = str(Path(scratch) / "cache")  # the runs' own cache
        for count in counts:
            repository = Path(scratch) / f"n{count}"
            for copy in range(count):
                shutil.copytree(corpus, repository / f"copy{copy}")
            files = len(corpus_files(repository))
            seconds, cpu, peak, _ = timed([*K8SFIX, "--jobs", "1", str(repository)])
            per_file = cpu / files * 1000
            first = first or per_file
            print(
                f"{count:>6} {files:>7} {seconds:>8.2f} {cpu:>8.2f} {per_file:>11.2f} {peak / 1024:>8.0f}"
                f" {per_file / first:>6.2f}x"
            )
            commits.append(f"{count:>6} {files:>7} {_commit_runs(repository)}")
            shutil.rmtree(repository)
    print("\na commit of one file, second run (the cache filled by the first):")
    print(f"{'copies':>6} {'files':>7} {'--context-staged s':>18} {'--context . s':>13}")
    print("\n".join(commits))
    return 0


def _commit_runs(repository: Path) -> str:
    """The wall seconds of the second of two runs of each pre-commit-like command, over one file of
    ``repository`` with every file staged."""
    git = ["git", "-C", str(repository), "-c", "core.autocrlf=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    target = str(min(repository.rglob("*.yaml")).relative_to(repository))
    seconds = []
    for context in (["--force-exclude", "--context-staged"], ["--context", "."]):
        command = [*K8SFIX, "--jobs", "1", *context, target]
        for _ in range(2):
            wall, _, _, _ = timed(command, cwd=repository)
        seconds.append(wall)
    return f"{seconds[0]:>18.2f} {seconds[1]:>13.2f}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
