"""The cycle collector is off inside ``cycles.paused()`` and as it was after it, exception or not."""

from __future__ import annotations

import gc

import pytest

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
