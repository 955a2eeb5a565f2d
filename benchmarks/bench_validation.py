"""What schema validation costs on a corpus of real manifests, against the time to fix it.

Run by hand from the repository root (it is not a test: timings depend on the machine)::

    python benchmarks/bench_validation.py [CORPUS]

CORPUS defaults to ``tests/corpus/dev``. Everything runs in this process, one file after another,
and CPU seconds are printed (steadier than wall time on a busy machine):

- ``fix``: every fixer on every file, as ``--write`` does, the schema guard included;
- ``guard``: the part of ``fix`` spent in the guard (:func:`remediate.kube.validation.refusals`);
- ``validate``: ``--validate``'s check of every object (parsing included), without fixers;
- ``kubernetes_validate.validate``: the package's own function on a sample of the same objects,
  which re-reads its JSON schemas on every call: why :mod:`remediate.kube.schemas` caches validators.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remediate.kube import validation  # noqa: E402 - after the path is set: run as a script
from remediate.kube.k8s import manifests  # noqa: E402
from remediate.run.config import load  # noqa: E402
from remediate.run.registry import all_fixers  # noqa: E402
from remediate.run.runner import Engine, decode, process  # noqa: E402
from remediate.yaml.document import parse  # noqa: E402
from remediate.yaml.source import InputError, Source  # noqa: E402


def sources(corpus: Path) -> list[Source]:
    found = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        source = decode(str(path), path.read_bytes())
        if isinstance(source, Source):
            found.append(source)
    return found


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "corpus" / "dev"
    files = sources(corpus)
    settings = load(None, select=[fixer.id for fixer in all_fixers()])
    real_refusals = validation.refusals
    guard = [0.0]

    def timed_refusals(*args):  # type: ignore[no-untyped-def]
        started = time.process_time()
        try:
            return real_refusals(*args)
        finally:
            guard[0] += time.process_time() - started

    validation.refusals = timed_refusals
    fixing = Engine(settings)
    process(fixing, files[0], fix=True)  # schemas and imports loaded before the clock starts
    started = time.process_time()
    for source in files:
        process(fixing, source, fix=True)
    fix_seconds = time.process_time() - started
    validation.refusals = real_refusals

    objects = 0
    started = time.process_time()
    for source in files:
        try:
            documents = parse(source.text)
        except InputError:
            continue
        validation.check(documents, None, validation.SchemaCheck(True))
        objects += sum(1 for _ in manifests(documents))
    validate_seconds = time.process_time() - started

    print(f"{len(files)} files, {objects} objects")
    print(f"fix (all fixers, guard included): {fix_seconds:6.2f} s CPU")
    print(f"  of which the schema guard:      {guard[0]:6.2f} s CPU ({100 * guard[0] / fix_seconds:.0f}%)")
    print(
        f"validate (--validate's check):    {validate_seconds:6.2f} s CPU "
        f"({validate_seconds / fix_seconds:.2f} x the time to fix)"
    )
    print(f"kubernetes_validate.validate:     {library_milliseconds(files):6.1f} ms CPU an object")


def library_milliseconds(files: list[Source], sample: int = 50) -> float:
    """The package's own ``validate()`` per object, on the first ``sample`` Deployments."""
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    data = []
    for source in files:
        try:
            documents = parse(source.text)
        except InputError:
            continue
        data.extend(validation.json_data(m.node) for m in manifests(documents) if m.kind == "Deployment")
        if len(data) >= sample:
            break
    started = time.process_time()
    for obj in data[:sample]:
        with contextlib.suppress(Exception):  # invalid or unknown: the time is what counts
            kubernetes_validate.validate(obj, version, strict=False)
    return 1000 * (time.process_time() - started) / len(data[:sample])


if __name__ == "__main__":
    main()
