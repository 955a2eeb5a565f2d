"""The cycle collector as a run sets it (:mod:`remediate.run.cycles`): paused, tuned and settled for
the blocks that ask, and as it was after them, exception or not."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from remediate.cli.commands import RunOptions, run
from remediate.run import cycles


def test_the_collector_is_off_in_the_block_and_on_again_after_it() -> None:
    assert gc.isenabled()
    with cycles.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_an_exception() -> None:
    with pytest.raises(KeyError), cycles.paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with cycles.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """An object that can be put in a cycle and watched through a weak reference."""

    def __init__(self) -> None:
        self.other: object = None


def _cycle() -> weakref.ref[_Node]:
    """A weak reference to a node of a two-node cycle no one else holds."""
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_a_run_collects_its_youngest_objects_less_often_and_sets_the_collector_back() -> None:
    before = gc.get_threshold()
    with cycles.tuned():
        assert gc.get_threshold() == (cycles.YOUNG_OBJECTS, *before[1:])
    assert gc.get_threshold() == before


def test_settling_frees_the_garbage_there_is_and_freezes_only_for_the_block() -> None:
    """Garbage in cycles made before is freed at once, not frozen; what is held is frozen in the
    block and not after it, so what becomes garbage in the block is freed by a later collection."""
    gone = _cycle()
    kept = _Node()
    kept.other = kept
    held = weakref.ref(kept)
    with cycles.settled():
        assert gone() is None
        assert gc.get_freeze_count() > 0
        del kept  # frozen: not freed by a collection in the block
        gc.collect()
        assert held() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert held() is None


def test_a_run_over_many_files_settles_and_leaves_the_collector_as_it_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(cycles.SETTLE_FROM):
        (tmp_path / f"{number}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{number}}}\n"
        )
    frozen: list[int] = []
    real_freeze = gc.freeze

    def freeze() -> None:
        frozen.append(gc.get_freeze_count())
        real_freeze()

    monkeypatch.setattr(gc, "freeze", freeze)
    before = gc.get_threshold()
    assert run(RunOptions(paths=[str(tmp_path)], quiet=True, cache=False, jobs=1)) == 0
    assert frozen == [0]  # settled once, with nothing frozen before
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0 and gc.isenabled()


def test_objects_frozen_before_stay_frozen() -> None:
    """A process that froze its own objects keeps them so: settling does not thaw them (a frozen
    object in a cycle outlives a collection, until the process unfreezes it)."""
    kept = _Node()
    kept.other = kept
    held = weakref.ref(kept)
    gc.freeze()
    try:
        with cycles.settled():
            pass
        del kept
        gc.collect()
        assert held() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert held() is None
