"""Whether a run's cost per file stays flat as a repository grows: a synthetic monorepo of N copies
of a corpus, each copy in its own folder (so its objects meet N times as many neighbours in the run's
index: the Services, policies and workloads of the same namespaces).

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_monorepo.py [CORPUS] [N ...]

CORPUS defaults to ``tests/corpus/dev``, N to ``1 4 16`` (16 copies of the test corpus are 24,400
files and take a few minutes). For each N, ``k8sfix --diff --jobs 1`` runs in a fresh process
(start-up and imports included, as for a user) and the table gives its files, wall and CPU seconds,
CPU milliseconds per file, peak memory of the process, and CPU per file as a multiple of N = 1's.
"""

from __future__ import annotations

import shutil
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
    with tempfile.TemporaryDirectory(prefix="k8sfix-monorepo-") as scratch:
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
            shutil.rmtree(repository)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
