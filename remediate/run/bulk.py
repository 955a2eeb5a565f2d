"""Many files at once: a process pool whose results come back in input order, and a progress bar.

``--jobs N`` spreads the files over N worker processes (:class:`concurrent.futures.ProcessPoolExecutor`).
Results are yielded in the order of the inputs, whatever order the workers finish in, so the output
of a parallel run is byte for byte that of ``--jobs 1``. Each worker receives the run's shared state
(the engine, the options, the cross-file index) once, when it starts, not with every file. A
worker is started only for every :data:`ITEMS_PER_WORKER` files: a run of a few files (a
pre-commit hook's), or ``--jobs 1``, stays in this process, with no pool and no start-up cost.

The progress bar (rich, imported only when shown) is drawn on stderr when stderr is a terminal and
more than one file is processed; lines printed meanwhile appear above it, and it is erased at the end.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_worker: tuple[Callable[[Any, Any], Any], Any] | None = None
"""In a worker process: the work function and the state it runs with."""


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


ITEMS_PER_WORKER = 24
"""Files a worker must have to be worth starting. A worker costs some 100 ms before its first file
(the fork, the run's state sent, the pool's own round trips), about what 20 files of a real
repository take to fix: measured on 2 CPUs over files of the shared corpus, ``--jobs 2`` is
slower than ``--jobs 1`` up to about 32 files and faster from about 48."""


def ordered_map(
    work: Callable[[Any, Item], Result],
    state: Any,
    items: Sequence[Item],
    *,
    jobs: int,
    progress: bool = False,
    per_worker: int | None = None,
) -> Iterator[Result]:
    """``work(state, item)`` for each item, in order; in up to ``jobs`` processes, one for every
    ``per_worker`` items (:data:`ITEMS_PER_WORKER` files by default), when that makes more than one.

    ``work`` must be a module-level function and ``state`` picklable (a worker may be started
    with the ``spawn`` method, which pickles them).
    """
    with _progress_bar(len(items), enabled=progress and len(items) > 1) as advance:
        workers = min(jobs, len(items) // (per_worker or ITEMS_PER_WORKER))
        if workers <= 1:
            for item in items:
                yield work(state, item)
                advance()
            return
        from concurrent.futures import ProcessPoolExecutor  # not imported by one-file runs

        pool = ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(work, state))
        try:
            for result in pool.map(_run, items, chunksize=_chunk_size(len(items), workers)):
                yield result
                advance()
        finally:  # on Ctrl-C or a closed pipe, files not yet started are not processed (nor written)
            pool.shutdown(wait=True, cancel_futures=True)


def _chunk_size(count: int, workers: int) -> int:
    """Files per task: enough to amortise the round trip, few enough to balance the workers."""
    return max(1, min(16, count // (workers * 8)))


def _start_worker(work: Callable[[Any, Any], Any], state: Any) -> None:
    global _worker
    _worker = (work, state)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool


def _run(item: Any) -> Any:
    assert _worker is not None, "the pool's initializer did not run"
    work, state = _worker
    return work(state, item)


@contextmanager
def _progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[], None]]:
    """A function that advances a bar of ``total`` steps on stderr (a no-op unless stderr is a terminal)."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("k8sfix"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        redirect_stdout=sys.stdout.isatty(),  # a diff piped to a file must not be drawn on the terminal
        redirect_stderr=True,
    )
    with bar:
        task = bar.add_task("files", total=total)
        yield lambda: bar.advance(task)
