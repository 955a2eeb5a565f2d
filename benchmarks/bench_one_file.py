"""What a run over one file costs, as a pre-commit hook runs it, against the floor of importing ruamel.yaml.

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_one_file.py [FILE] [RUNS]

FILE defaults to ``examples/deployment.yml`` (the tutorial's manifest: two safe fixes to write),
RUNS to 15. Each command runs RUNS times in a fresh process, start-up and imports included, in the
order the rows give, one round after another (so a slow moment of a busy machine touches every
row); the table gives the median and the min-max of the wall times, and the median as a multiple
of the floor's:

- ``import ruamel.yaml``: a Python process that only imports the YAML library k8sfix builds on;
- ``k8sfix --diff --no-cache``: the run with nothing kept from earlier runs;
- ``k8sfix --diff``: the same run again, with the user's cache (this benchmark's own, filled by
  one run first): the schema guard's verdicts on the values the fixes write.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv and not argv[0].isdigit() else ROOT / "examples" / "deployment.yml"
    runs = next((int(arg) for arg in argv if arg.isdigit()), 15)
    k8sfix = [sys.executable, "-m", "remediate", "--diff", "--quiet"]
    rows = {
        "import ruamel.yaml": [sys.executable, "-c", "import ruamel.yaml"],
        "k8sfix --diff --no-cache": [*k8sfix, "--no-cache", str(target)],
        "k8sfix --diff": [*k8sfix, str(target)],
    }
    with tempfile.TemporaryDirectory(prefix="k8sfix-bench-cache-") as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "K8SFIX_CACHE_DIR": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules compiled once, not per run
        subprocess.run(rows["k8sfix --diff"], env=env, capture_output=True, check=False)  # fills the cache
        times: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(runs):
            for name, command in rows.items():
                start = time.perf_counter()
                subprocess.run(command, env=env, capture_output=True, check=False)
                times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["import ruamel.yaml"])
    print(f"{target}, {runs} runs each ({os.cpu_count()} CPUs)")
    print(f"{'run':<26} {'median ms':>9} {'min-max ms':>13} {'÷ import':>9}")
    for name, seconds in times.items():
        middle = statistics.median(seconds)
        spread = f"{min(seconds) * 1000:.0f}-{max(seconds) * 1000:.0f}"
        print(f"{name:<26} {middle * 1000:>9.0f} {spread:>13} {middle / floor:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
