"""How fast k8sfix runs over a corpus of real manifests, against the floors of merely parsing them.

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_corpus.py [CORPUS] [--rounds N]

CORPUS defaults to ``../shared/corpus/dev`` beside the checkout (its plain manifests: the charts of
``helm/`` are rendered by Helm, which ``bench_charts.py`` measures), else ``tests/corpus/dev``.
Each measurement runs in a fresh process, so start-up and imports count, as they do for a user,
and the peak memory (``ru_maxrss`` of the finished child processes: the largest one, pool workers
included) is that run's own. Printed for each: files, documents, wall seconds, CPU seconds (user +
system, all processes: steadier than wall time on a busy machine), documents per second, peak
memory, and the wall time as a multiple of the round-trip floor over the same files.

The C composer and k8sfix with one and two jobs, whose ratios are the targets, run in N rounds
(3 by default), one after the other in each round, so that a slow moment of a busy machine touches
all three: their rows give the median of the rounds (and the min-max wall seconds), and the ratios
at the end the median of the rounds' own ratios with their min-max.

- ``k8sfix --diff --jobs 1`` and ``--jobs 2``: the whole pipeline (index, find, fix, verify, diff),
  with ``--no-cache``; then ``--jobs 1`` twice with the cache, which the first of them fills (the
  index entries of files that did not change, what charts' values control) and the second uses.
- ``k8sfix --diff`` over the files it leaves unchanged: what a file with nothing to fix costs.
- ``ruamel round-trip``: ``YAML().load_all`` of every file, the loader k8sfix's splicing rivals.
- ``C composer``: ``YAML(typ="safe", pure=False).compose_all``, libyaml building node graphs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measure:
    name: str
    files: int
    documents: int
    seconds: float
    cpu: float
    peak_kib: int
    spread: tuple[float, float] | None = None
    """The min and max wall seconds of the rounds, for a measure taken in rounds (its seconds, CPU
    and peak are then the rounds' medians)."""

    def row(self, floor: Measure) -> str:
        """A line of the table; the last column is the wall time as a multiple of ``floor``'s."""
        rate = self.documents / self.seconds if self.seconds else float("inf")
        spread = f"{self.spread[0]:.2f}-{self.spread[1]:.2f}" if self.spread else ""
        times = self.seconds / floor.seconds
        return (
            f"{self.name:<30} {self.files:>6} {self.documents:>7} {self.seconds:>8.2f} {spread:>11}"
            f" {self.cpu:>8.2f} {rate:>7.0f} {self.peak_kib / 1024:>8.0f} {times:>7.2f}x"
        )


HEADER = (
    f"{'run':<30} {'files':>6} {'docs':>7} {'seconds':>8} {'min-max':>11} {'CPU s':>8} {'docs/s':>7}"
    f" {'peak MiB':>8} {'÷ r-t':>8}"
)


def in_rounds(name: str, files: int, documents: int, rounds: list[tuple[float, float, int]]) -> Measure:
    """A measure of the medians of ``rounds`` (wall seconds, CPU seconds, peak), with their spread."""
    walls = [wall for wall, _, _ in rounds]
    return Measure(
        name,
        files,
        documents,
        statistics.median(walls),
        statistics.median(cpu for _, cpu, _ in rounds),
        int(statistics.median(peak for _, _, peak in rounds)),
        (min(walls), max(walls)),
    )


def ratio(name: str, over: list[tuple[float, float, int]], under: list[tuple[float, float, int]]) -> str:
    """The median and min-max of the rounds' own ratios of wall seconds, ``over`` ÷ ``under``."""
    ratios = [a[0] / b[0] for a, b in zip(over, under, strict=True)]
    return f"{name}: {statistics.median(ratios):.2f}x (rounds: {min(ratios):.2f}-{max(ratios):.2f}x)"


def corpus_files(corpus: Path) -> list[str]:
    """The files k8sfix itself reads in ``corpus`` (same walk, same filters)."""
    sys.path.insert(0, str(ROOT))
    from remediate.run.files import expand

    return [c.path for c in expand([str(corpus)]) if c.error is None and c.skip is None]


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, int, bytes]:
    """Run ``argv`` (in ``cwd``) through a wrapper process that reports the wall time, the CPU time
    and the peak RSS of its children, and what it printed."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n"
        "seconds = time.perf_counter() - start\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "sys.stderr.write(json.dumps([seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss]))\n"
        "sys.stdout.buffer.write(done.stdout)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, env=env, check=True, cwd=cwd
    )
    seconds, cpu, peak = json.loads(done.stderr)
    return seconds, cpu, peak, done.stdout


def floor(mode: str, listing: Path) -> None:
    """In a child process: load every file listed, the way ``mode`` says; print the count of documents
    loaded and of files the loader refused."""
    from ruamel.yaml import YAML

    documents = refused = 0
    for path in listing.read_text().splitlines():
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8-sig", errors="replace")
        try:
            if mode == "roundtrip":
                documents += sum(1 for _ in YAML().load_all(text))
            else:
                documents += sum(1 for _ in YAML(typ="safe", pure=False).compose_all(text))
        except Exception:  # noqa: BLE001 - a file the loader refuses still cost its time
            refused += 1
    print(documents, refused)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--floor":
        floor(argv[1], Path(argv[2]))
        return 0
    rounds = 3
    if "--rounds" in argv:
        at = argv.index("--rounds")
        given = argv[at + 1] if at + 1 < len(argv) else ""
        if not given.isdigit() or int(given) < 1:
            print("bench_corpus.py: --rounds needs a whole number of rounds, 1 or more", file=sys.stderr)
            return 2
        rounds = int(given)
        argv = argv[:at] + argv[at + 2 :]
    default = ROOT.parent / "shared" / "corpus" / "dev"
    corpus = Path(argv[0]) if argv else default if default.is_dir() else ROOT / "tests" / "corpus" / "dev"
    files = corpus_files(corpus)
    print(f"corpus: {corpus}  ({os.cpu_count()} CPUs, {rounds} rounds)")
    with tempfile.TemporaryDirectory(prefix="k8sfix-bench-cache-") as cache:
        os.environ["K8SFIX_CACHE_DIR"] = cache  # the runs' own cache, empty at the start
        measures, ratios = whole_corpus(files, corpus, rounds)
        unchanged_floor, unchanged_compose, unchanged = unchanged_files(files, corpus)
    print(HEADER)
    for measure in measures:
        print(measure.row(measures[0]))
    for measure in (unchanged_floor, unchanged_compose, unchanged):
        print(measure.row(unchanged_floor))
    print("\n".join(ratios))
    return 0


K8SFIX = [sys.executable, "-m", "remediate", "--diff", "--quiet"]


def load(mode: str, files: list[str]) -> tuple[float, float, int, bytes]:
    """Time a floor (``roundtrip`` or ``compose``) over ``files``, in a child process."""
    listing = Path(os.environ.get("TMPDIR", "/tmp")) / f"k8sfix-bench-{os.getpid()}.txt"
    listing.write_text("\n".join(files) + "\n")
    try:
        return timed([sys.executable, str(Path(__file__).resolve()), "--floor", mode, str(listing)])
    finally:
        listing.unlink()


def whole_corpus(files: list[str], corpus: Path, rounds: int) -> tuple[list[Measure], list[str]]:
    """The two floors and k8sfix with one and two processes, over every file (the C composer and
    k8sfix without the cache in ``rounds`` rounds); and the ratios of the rounds."""
    seconds, cpu, peak, out = load("roundtrip", files)
    documents, refused = map(int, out.split())
    print(f"the round-trip loader refuses {refused} of the {len(files)} files")
    measures = [Measure("ruamel round-trip (load_all)", len(files), documents, seconds, cpu, peak)]
    composed = 0
    taken: dict[str, list[tuple[float, float, int]]] = {"compose": [], "1": [], "2": []}
    for _ in range(rounds):
        seconds, cpu, peak, out = load("compose", files)
        composed = int(out.split()[0])
        taken["compose"].append((seconds, cpu, peak))
        for jobs in ("1", "2"):
            seconds, cpu, peak, _ = timed([*K8SFIX, "--no-cache", "--jobs", jobs, str(corpus)])
            taken[jobs].append((seconds, cpu, peak))
    measures.append(in_rounds("C composer (compose_all)", len(files), composed, taken["compose"]))
    for jobs in ("1", "2"):
        measures.append(in_rounds(f"k8sfix --diff --jobs {jobs}", len(files), documents, taken[jobs]))
    seconds, cpu, peak, _ = timed([*K8SFIX, "--jobs", "1", str(corpus)])  # fills the cache
    measures.append(Measure("k8sfix --diff --jobs 1, 1st", len(files), documents, seconds, cpu, peak))
    seconds, cpu, peak, _ = timed([*K8SFIX, "--jobs", "1", str(corpus)])
    cached = Measure("k8sfix --diff --jobs 1, 2nd", len(files), documents, seconds, cpu, peak)
    measures.append(cached)
    compose = measures[1]
    ratios = [
        ratio("--jobs 2 speed-up over --jobs 1", taken["1"], taken["2"]),
        ratio("--jobs 1 ÷ C composer", taken["1"], taken["compose"]),
        f"--jobs 1 with the cache ÷ C composer (median): {cached.seconds / compose.seconds:.2f}x",
    ]
    return measures, ratios


def unchanged_files(files: list[str], corpus: Path) -> tuple[Measure, Measure, Measure]:
    """The two floors and k8sfix (one process) over the files k8sfix leaves as they are."""
    _, _, _, diff = timed([*K8SFIX, "--jobs", "2", str(corpus)])
    headers = [line[6:] for line in diff.decode("utf-8", "replace").splitlines() if line.startswith("+++ b/")]
    # diff paths are relative to the working directory, or from the root for files outside it
    changed = {os.path.abspath(h) if os.path.exists(h) else "/" + h for h in headers}
    unchanged = [path for path in files if os.path.abspath(path) not in changed]
    seconds, cpu, peak, out = load("roundtrip", unchanged)
    documents = int(out.split()[0])
    floor = Measure("round-trip, unchanged files", len(unchanged), documents, seconds, cpu, peak)
    seconds, cpu, peak, out = load("compose", unchanged)
    compose = Measure("C composer, unchanged files", len(unchanged), int(out.split()[0]), seconds, cpu, peak)
    seconds, cpu, peak, _ = timed([*K8SFIX, "--no-cache", "--jobs", "1", *unchanged])
    fixer = Measure("k8sfix --diff, unchanged files", len(unchanged), documents, seconds, cpu, peak)
    return floor, compose, fixer


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
