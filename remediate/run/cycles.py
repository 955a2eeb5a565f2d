"""Python's cycle collector, switched off for bookkeeping that makes many objects and no cycles.

CPython frees an object as soon as its last reference goes; the cycle collector is for objects
that refer to one another (a parsed YAML tree, whose nodes know their parents), which only it can
free. It runs after every 700 objects made that could hold others, and now and then walks every
such object of the process. A pre-commit run over a repository of 24,400 manifests makes some
100,000 records before it checks a file (the staged files, their inputs, the cache's entries, the
index's buckets), none of them in a cycle, and the collections they set off took some 80 ms of a
run of 0.7 s. Such loops run in :func:`paused`; parsing never does (its trees would pile up).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
