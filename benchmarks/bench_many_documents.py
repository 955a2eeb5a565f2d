"""How the cost of one file grows with the documents in it: it should grow in proportion.

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_many_documents.py [COUNT ...]

For each COUNT (default 1000 2000 4000 8000) a file of that many Deployments, each a container with
a port and nothing else set (so every fixer has work: five fixes per Deployment, plus one
NetworkPolicy each), is fixed with ``k8sfix --diff --jobs 1`` in a fresh process. Printed: wall
seconds, CPU seconds, milliseconds per document, and the peak memory. A cost that grows with the
square of the file shows as milliseconds per document that double with each doubling of COUNT
(they did: 1,000 Deployments took 12 s and 10,000 over 300 s); the test suite holds the growth to
account by counting function calls instead of seconds (``tests/test_robustness.py``).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web{i}
spec:
  selector:
    matchLabels: {{app: web{i}}}
  template:
    metadata:
      labels: {{app: web{i}}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
"""


def measure(count: int, directory: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak memory (KiB) of ``k8sfix --diff`` on ``count`` Deployments."""
    path = directory / f"many-{count}.yaml"
    path.write_text("".join(DEPLOYMENT.format(i=i) for i in range(count)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "remediate", "--diff", "--quiet", "--jobs", "1", str(path)],
        stdout=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


def main(counts: list[int]) -> None:
    print(f"{'documents':>10} {'seconds':>8} {'CPU s':>8} {'ms/doc':>7} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as directory:
        for count in counts:
            wall, cpu, peak = measure(count, Path(directory))
            print(f"{count:>10} {wall:>8.2f} {cpu:>8.2f} {1000 * cpu / count:>7.2f} {peak / 1024:>9.0f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 2000, 4000, 8000])
