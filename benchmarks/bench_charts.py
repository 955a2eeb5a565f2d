"""What ``k8sfix --write --unsafe-fixes`` does to Helm charts, and how long it takes, chart by chart.

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_charts.py [CHART...]

The charts default to ``tests/charts/*`` and ``tests/corpus/helm/*``. Each is copied to a temporary
directory and run in fresh processes, so start-up, imports and the render worker count, as they do
for a user. Printed for each chart:

- findings on the rendered objects before the run (``--unsafe-fixes``, so every fixable one
  counts) and after it, with what is left by fixer;
- where the fixes went: values keys set (``values.yaml``, or a subchart's through the parent's
  key), template lines edited, a NetworkPolicy template added;
- the wall time of the ``--write`` run (median of three, each from a fresh copy).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VALUES_KEY = re.compile(r"its fix sets values key (\S+?)(?: in \S+)?\)$")


def k8sfix(*args: str, cwd: Path) -> tuple[list[dict], float]:
    """The findings of a JSON run, and its wall time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "remediate", "--format", "json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    return json.loads(done.stdout or "{}").get("findings", []), seconds


def where_fixes_went(findings: list[dict]) -> Counter[str]:
    """What the applied fixes changed: values keys, template files, the policy template."""
    went: Counter[str] = Counter()
    for finding in findings:
        if not finding.get("fix_applied"):
            continue
        message = finding["message"]
        key = VALUES_KEY.search(message)
        if key:
            went[f"values {key.group(1)}"] += 1
        elif "its fix adds templates/networkpolicy.yaml" in message:
            went["new templates/networkpolicy.yaml"] += 1
        elif message.endswith("(in the template)"):
            went[f"template {finding['file'].split('/', 1)[1]}:{finding['line']}"] += 1
        else:
            went[finding["file"]] += 1
    return went


def measure(chart: Path) -> None:
    times = []
    for attempt in range(3):
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / chart.name
            shutil.copytree(chart, copy)
            if attempt == 0:
                before, _ = k8sfix("--unsafe-fixes", chart.name, cwd=Path(scratch))
            written, seconds = k8sfix("--write", "--unsafe-fixes", chart.name, cwd=Path(scratch))
            times.append(seconds)
            if attempt == 0:
                after, _ = k8sfix("--unsafe-fixes", chart.name, cwd=Path(scratch))
                went = where_fixes_went(written)
    left = Counter(finding["fixer"] for finding in after)
    print(f"## {chart.name}")
    fixable = sum(1 for finding in before if finding.get("fix_available"))
    print(f"findings before: {len(before)} ({fixable} fixable); after: {len(after)}", end="")
    print(f" ({', '.join(f'{fixer} {n}' for fixer, n in left.most_common())})" if left else "")
    for place, count in sorted(went.items()):
        print(f"  {count:3d} fixed in {place}")
    spread = f"min {min(times):.2f}, max {max(times):.2f}"
    print(f"time of --write --unsafe-fixes: {statistics.median(times):.2f} s ({spread})")
    print()


def main() -> None:
    charts = [Path(arg) for arg in sys.argv[1:]] or sorted(
        path.parent
        for pattern in ("tests/charts/*/Chart.yaml", "tests/corpus/helm/*/Chart.yaml")
        for path in ROOT.glob(pattern)
    )
    for chart in charts:
        measure(chart.resolve())


if __name__ == "__main__":
    main()
