"""Python's cycle collector, set for a run: it walks less of what the run holds, and less often.

CPython frees an object as soon as its last reference goes; the cycle collector is for objects
that refer to one another (a parsed YAML tree, whose nodes know their parents), which only it can
free. By default it runs after every 700 objects made that could hold others, and now and then
walks every such object of the process. Over a repository it took a seventh of a run. Three
settings make it cheaper, none of them leaving garbage behind:

- :func:`tuned`: a run collects its youngest objects after :data:`YOUNG_OBJECTS` instead of 700,
  so that the tree of a file is mostly garbage by the time it is collected, not carried into the
  older generations (which are walked again and again);
- :func:`settled`: once the index is built, what the run holds to its end (the index, the engines,
  the caches) is frozen out of the collector's walks; they walked all of it, more of it the larger
  the repository, so the time per file grew with the repository;
- :func:`paused`: loops that make many objects and next to no cycles run without it. A pre-commit
  run over 24,400 manifests makes some 100,000 records before it checks a file (the staged files,
  their inputs, the cache's entries, the index's buckets), and the collections they set off took
  some 80 ms of a run of 0.7 s. The only parsing in those loops is of the kustomizations that place
  files in namespaces, each parsed once and kept (:mod:`remediate.kube.kustomize` caches them); the
  manifests are never parsed there: their trees would pile up.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_OBJECTS = 20_000
"""Objects made (net of those freed) between collections of the youngest generation during a run.
Measured over the test corpus, in time spent collecting: 0.84 s at Python's 700, 0.62 s at 5,000,
0.60 s at 20,000, and 1.02 s at 100,000, where each collection walks more than the caches hold;
at 20,000 the garbage waiting for a collection is a few megabytes."""


@contextmanager
def tuned() -> Iterator[None]:
    """Collect the youngest objects after :data:`YOUNG_OBJECTS`, for the block."""
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


SETTLE_FROM = 100
"""Files a run must have for :func:`settled` to be worth its collection (6 ms after start-up,
what two files take to check)."""


@contextmanager
def settled() -> Iterator[None]:
    """Free the garbage there is, then leave what is left out of every collection in the block
    (:func:`gc.freeze`; worker processes started by ``fork`` in it inherit that, and so do not
    write to the pages of the heap they share with the parent either). What stays is still freed
    as usual when its last reference goes. A process that froze objects of its own before (to fork
    workers of its own) keeps them frozen: the block then changes nothing."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def paused() -> Iterator[None]:
    """Switch the cycle collector off for the block (back on after it, if it was on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
